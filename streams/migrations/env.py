"""Alembic environment: runs the migrations on the connection ``streams.store.migrate`` hands over.

Programmatic use (``SqlStore.migrate()``) passes an open connection in
``config.attributes["connection"]``. The command line also works from this directory
(``alembic -c streams/migrations/alembic.ini upgrade head``), with the database taken from
``STEPSTREAM_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from streams.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("STEPSTREAM_DATABASE_URL")
    if not url:
        raise SystemExit("set STEPSTREAM_DATABASE_URL (postgresql+psycopg://...) to run migrations")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("stepstream migrations run online only (use SqlStore.migrate())")
_run_online()
