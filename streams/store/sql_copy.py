"""Bulk writes with COPY: the execution agent's hot path.

Measured on the 2-core development machine, COPY writes a batch's rows about four times
faster than an executemany of INSERTs (psycopg pipelines those, but each row is still a
statement for the server and an adaptation round in Python). COPY cannot say ON CONFLICT, so:

* new executions are copied straight into ``executions``: a duplicate key means another writer
  created the execution meanwhile, which the caller turns into a conflict;
* existing executions (locked FOR UPDATE by the caller) are copied into a temporary staging
  table and applied with one ``UPDATE ... FROM``;
* history and outbox rows are copied inside a savepoint; only if a key already exists does the
  savepoint roll back and the rows go in again as ``INSERT ... ON CONFLICT DO NOTHING``.

Everything runs on the psycopg connection under the caller's SQLAlchemy transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError, StatementError

from streams.store.schema import executions

Row = tuple[Any, ...]

STAGE_TABLE = "stepstream_executions_stage"
# Per session and emptied at every commit; IF NOT EXISTS keeps it safe under a transaction-pooling proxy too.
_CREATE_STAGE = f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} (LIKE executions) ON COMMIT DELETE ROWS"
_EXECUTION_COLUMNS = [c.name for c in executions.columns]


def cursor(conn: Connection) -> psycopg.Cursor[Any]:
    """A psycopg cursor inside the SQLAlchemy connection's current transaction."""
    driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    return driver.cursor()


def translate_errors(statement: str, exc: psycopg.Error) -> StatementError:
    """Raise psycopg's errors as SQLAlchemy's (IntegrityError...), as every other store call does."""
    return DBAPIError.instance(statement, None, exc, psycopg.Error)


def copy_rows(cur: psycopg.Cursor[Any], table: Table | str, columns: Sequence[str], rows: Sequence[Row]) -> None:
    names = ", ".join(f'"{name}"' for name in columns)
    name = table if isinstance(table, str) else table.name
    with cur.copy(f'COPY "{name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def insert_new_executions(cur: psycopg.Cursor[Any], rows: Sequence[Row]) -> bool:
    """COPY rows of executions that have no row yet; False when one exists already (nothing written)."""
    try:
        copy_rows(cur, executions, _EXECUTION_COLUMNS, rows)
    except pg_errors.UniqueViolation:
        return False
    return True


def update_executions(cur: psycopg.Cursor[Any], rows: Sequence[Row]) -> int:
    """Apply rows to existing executions through the staging table; returns how many were updated."""
    cur.execute(_CREATE_STAGE)
    copy_rows(cur, STAGE_TABLE, _EXECUTION_COLUMNS, rows)
    assignments = ", ".join(f'"{name}" = s."{name}"' for name in _EXECUTION_COLUMNS[1:])
    cur.execute(
        f"UPDATE executions AS e SET {assignments} FROM {STAGE_TABLE} AS s "
        # Offsets only move forward, whoever writes.
        "WHERE e.execution_id = s.execution_id AND e.last_offset < s.last_offset"
    )
    return cur.rowcount


def insert_or_skip(cur: psycopg.Cursor[Any], table: Table, rows: Sequence[Row]) -> None:
    """Insert rows, skipping any whose primary key exists (a replay is harmless)."""
    if not rows:
        return
    columns = [c.name for c in table.columns]
    cur.execute("SAVEPOINT stepstream_copy")
    try:
        copy_rows(cur, table, columns, rows)
    except pg_errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT stepstream_copy")
        names = ", ".join(f'"{name}"' for name in columns)
        marks = ", ".join(["%s"] * len(columns))
        cur.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING', rows)
    else:
        cur.execute("RELEASE SAVEPOINT stepstream_copy")
