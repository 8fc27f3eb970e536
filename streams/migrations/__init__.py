"""Alembic migrations of the stepstream Postgres schema (run them with ``SqlStore.migrate()``)."""
