"""Run the Alembic migrations programmatically: no alembic.ini needed where the service runs."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"

# Any fixed number: workers starting together take turns migrating instead of racing on DDL.
_MIGRATION_LOCK_ID = 0x5757_0001


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at ``streams/migrations``, optionally bound to an open connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision the code knows about."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, None before the first migration."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, *, schema: str | None = None, revision: str = "head") -> None:
    """Upgrade to ``revision`` in one transaction; a database already there is left untouched."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        if schema is not None:
            # The search_path of the connection already names it; it just has to exist first.
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        command.upgrade(alembic_config(conn), revision)
