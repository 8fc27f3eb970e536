"""The Postgres :class:`~streams.store.base.Store`: SQLAlchemy 2 Core on psycopg 3, one transaction per call.

Synchronous on purpose: the agents call it from a worker thread, and a pooled sync engine is
the simplest thing that keeps a transaction per batch. The queries live in
:mod:`streams.store.sql_batch` and :mod:`streams.store.sql_small` (execution agent: large
batches with COPY, small ones in one round trip) and :mod:`streams.store.sql_correlation`
(timer and correlation agents); this class owns the engine and the transactions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, Row, create_engine, func, insert, select, text
from sqlalchemy.pool import NullPool

from streams.store import sql_batch as batch_sql
from streams.store import sql_correlation as corr_sql
from streams.store import sql_small
from streams.store.base import DEFAULT_MESSAGE_RETENTION_SECONDS
from streams.store.codec import definition_hash, dump_json, from_datetime, to_datetime
from streams.store.errors import StoreError
from streams.store.records import (
    BatchWrite,
    BufferedMessage,
    CommitResult,
    CorrelationWrite,
    ExecutionRecord,
    ExecutionSummary,
    ExpireResult,
    HistoryRow,
    OutboxKey,
    OutboxRow,
    StateMachineRecord,
    Subscription,
    TimerKey,
    TimerRow,
    validate_batch,
)
from streams.store.schema import executions, history, state_machines

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_DEPLOY_LOCK_CLASS = 0x5757  # first key of pg_advisory_xact_lock(int, int): deploys of one name take turns


class SqlStore:
    """The system of record on Postgres.

    Args:
        url: a SQLAlchemy URL, ``postgresql+psycopg://user:password@host:port/db``.
        pool_size: pooled connections (0: no pool, a connection per call).
        schema: a Postgres schema to use instead of ``public`` (created by :meth:`migrate`);
            tests use one per test, deployments may use one per environment.
        message_retention_seconds: how long ``mark_message_seen`` remembers a message id.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        schema: str | None = None,
        message_retention_seconds: float = DEFAULT_MESSAGE_RETENTION_SECONDS,
        echo: bool = False,
    ) -> None:
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise StoreError(f"schema {schema!r}: expected a lower-case SQL identifier")
        self.schema = schema
        #: Batches of at most this many executions are written in one round trip (:mod:`streams.store.sql_small`),
        #: larger ones with COPY (:mod:`streams.store.sql_batch`); both behave the same.
        self.small_batch_max = sql_small.SMALL_BATCH_MAX if sql_small.supported() else -1
        self.message_retention_seconds = message_retention_seconds
        connect_args: dict[str, Any] = {}
        if schema is not None:
            connect_args["options"] = f"-csearch_path={schema}"
        pool: dict[str, Any] = {"poolclass": NullPool} if pool_size == 0 else {"pool_size": pool_size}
        # No pre-ping: it costs a round trip per checkout on the agents' hot paths. A connection
        # that died (Postgres restarted) fails its statement, SQLAlchemy then discards the whole
        # pool, and the agents retry the batch (every store write is fenced or idempotent).
        self.engine: Engine = create_engine(url, connect_args=connect_args, pool_pre_ping=False, echo=echo,
                                           json_serializer=dump_json, **pool)

    def _reading(self) -> Connection:
        """A connection for reads, in autocommit: no BEGIN before, and no ROLLBACK when it returns.

        A ROLLBACK costs a round trip, and psycopg answers it by dropping every statement the
        connection had prepared (DEALLOCATE ALL, another round trip). The next commit_batch on
        that connection then parsed its long statement again. In the worker this made a 1.5 ms
        commit take 4 ms. Reads that span statements see the committed state of each statement's
        moment: the agents' own writes to those rows are never in flight while they read them.
        """
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    # ---------------------------------------------------------------- lifecycle

    def migrate(self) -> None:
        """Alembic upgrade to head; idempotent, and safe when several workers start at once."""
        from streams.store import migrate as migrations  # alembic loads only when asked to migrate

        migrations.upgrade(self.engine, schema=self.schema)

    def close(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    # ---------------------------------------------------------------- state machines

    def deploy(self, name: str, definition: Mapping[str, Any], *, now: float | None = None) -> int:
        """Store a definition; the same definition as the latest version returns that version."""
        digest = definition_hash(definition)
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:cls, hashtext(:name))"),
                         {"cls": _DEPLOY_LOCK_CLASS, "name": name})
            latest = conn.execute(
                select(state_machines.c.version, state_machines.c.definition_hash)
                .where(state_machines.c.name == name)
                .order_by(state_machines.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.definition_hash == digest:
                return int(latest.version)
            version = 1 if latest is None else latest.version + 1
            conn.execute(insert(state_machines).values(
                name=name, version=version, definition=dict(definition), definition_hash=digest,
                created_at=to_datetime(time.time() if now is None else now)))
            return int(version)

    def get_state_machine(self, name: str, version: int | None = None) -> StateMachineRecord | None:
        """One version (the latest when ``version`` is None), or None."""
        stmt = select(state_machines).where(state_machines.c.name == name)
        if version is not None:
            stmt = stmt.where(state_machines.c.version == version)
        stmt = stmt.order_by(state_machines.c.version.desc()).limit(1)
        with self._reading() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _machine(row)

    def list_state_machines(self, *, all_versions: bool = False) -> list[StateMachineRecord]:
        """Latest versions (or all), by name then version."""
        table, newest = state_machines, state_machines.alias("newest")
        stmt = select(table).order_by(table.c.name, table.c.version)
        if not all_versions:
            latest = select(func.max(newest.c.version)).where(newest.c.name == table.c.name).scalar_subquery()
            stmt = stmt.where(table.c.version == latest)
        with self._reading() as conn:
            return [_machine(row) for row in conn.execute(stmt)]

    # ---------------------------------------------------------------- the execution agent

    def load_executions(self, execution_ids: Iterable[str]) -> dict[str, ExecutionRecord]:
        """The stored executions among these ids."""
        with self._reading() as conn:
            return batch_sql.load_executions(conn, execution_ids)

    def commit_batch(self, batch: BatchWrite) -> CommitResult:
        """Write a batch in one transaction (see :meth:`streams.store.base.Store.commit_batch`)."""
        if len(batch.executions) <= self.small_batch_max:
            validate_batch(batch)
            params = sql_small.parameters(batch)
            if params is not None:
                with self.engine.connect() as conn:
                    return sql_small.commit_batch(conn, batch, params)
        with self.engine.begin() as conn:
            return batch_sql.commit_batch(conn, batch)

    def pending_outbox(self, partitions: Iterable[int], *, limit: int | None = None) -> list[OutboxRow]:
        """Unconfirmed rows of these partitions, in publishing order."""
        with self._reading() as conn:
            return batch_sql.pending_outbox(conn, partitions, limit)

    def outbox_for(self, execution_id: str, command_offset: int) -> list[OutboxRow]:
        """The rows one command produced, by seq."""
        with self._reading() as conn:
            return batch_sql.outbox_for(conn, execution_id, command_offset)

    def delete_outbox(self, keys: Iterable[OutboxKey]) -> int:
        """Forget the rows of these commands."""
        with self.engine.begin() as conn:
            return batch_sql.delete_outbox(conn, keys)

    # ---------------------------------------------------------------- the timer agent

    def save_timers(self, timers: Iterable[TimerRow], *, now: float) -> None:
        """Insert or move timers."""
        with self.engine.begin() as conn:
            corr_sql.upsert_timer_rows(conn, timers, to_datetime(now))

    def delete_timers(self, keys: Iterable[TimerKey]) -> int:
        """Delete timers by key."""
        with self.engine.begin() as conn:
            return corr_sql.delete_timers(conn, keys)

    def due_timers(self, partitions: Iterable[int], until: float, *, limit: int | None = None) -> list[TimerRow]:
        """Timers due by ``until``, soonest first."""
        with self._reading() as conn:
            return corr_sql.load_timers(conn, partitions, until, limit)

    def load_timers(self, partitions: Iterable[int]) -> list[TimerRow]:
        """All timers of these partitions, soonest first."""
        with self._reading() as conn:
            return corr_sql.load_timers(conn, partitions, None, None)

    # ---------------------------------------------------------------- the correlation agent

    def find_subscriptions(self, correlation_key: str, correlation_value: Any) -> list[Subscription]:
        """The waits on the key and value, oldest first."""
        with self._reading() as conn:
            return corr_sql.find_subscriptions(conn, correlation_key, correlation_value)

    def find_buffered(self, correlation_key: str, correlation_value: Any, now: float) -> list[BufferedMessage]:
        """Unexpired buffered messages for the key and value, oldest first."""
        with self._reading() as conn:
            return corr_sql.find_buffered(conn, correlation_key, correlation_value, now)

    def message_seen(self, message_id: str, now: float) -> bool:
        """Whether the id was seen within the retention window."""
        with self._reading() as conn:
            return corr_sql.message_seen(conn, message_id, now, self.message_retention_seconds)

    def find_correlations(self, correlations: Iterable[tuple[str, Any]], now: float
                          ) -> dict[tuple[str, str], tuple[list[Subscription], list[BufferedMessage]]]:
        """Waits and unexpired buffered messages of many (key, value) pairs, one statement per table."""
        wanted = list(correlations)
        if not wanted:
            return {}
        with self._reading() as conn:
            return corr_sql.find_correlations(conn, wanted, now)

    def seen_message_ids(self, message_ids: Iterable[str], now: float) -> set[str]:
        """The ids among these seen within the retention window, in one statement."""
        wanted = list(message_ids)
        if not wanted:
            return set()
        with self._reading() as conn:
            return corr_sql.seen_message_ids(conn, wanted, now, self.message_retention_seconds)

    def apply_correlation(self, write: CorrelationWrite, *, now: float) -> None:
        """Apply a messages-topic batch's changes in one transaction."""
        with self.engine.begin() as conn:
            corr_sql.apply_correlation(conn, write, now, self.message_retention_seconds)

    def add_subscription(self, subscription: Subscription, *, now: float) -> bool:
        """Register a wait unless it exists."""
        with self.engine.begin() as conn:
            return corr_sql.add_subscription(conn, subscription, now)

    def remove_subscription(self, correlation_key: str, correlation_value: Any, subscription_id: str) -> bool:
        """Drop a wait."""
        with self.engine.begin() as conn:
            return corr_sql.remove_subscription(conn, correlation_key, correlation_value, subscription_id)

    def take_subscriptions(self, correlation_key: str, correlation_value: Any, *, single: bool) -> list[Subscription]:
        """Remove and return all waits on the key and value, or the oldest one."""
        with self.engine.begin() as conn:
            return corr_sql.take_subscriptions(conn, correlation_key, correlation_value, single)

    def buffer_message(self, message: BufferedMessage, *, now: float) -> bool:
        """Keep a message until it expires, unless its id is already buffered."""
        with self.engine.begin() as conn:
            return corr_sql.buffer_message(conn, message, now)

    def take_buffered(self, correlation_key: str, correlation_value: Any, now: float) -> BufferedMessage | None:
        """Remove and return the oldest unexpired message for the key and value."""
        with self.engine.begin() as conn:
            return corr_sql.take_buffered(conn, correlation_key, correlation_value, now)

    def mark_message_seen(self, message_id: str, now: float) -> bool:
        """Remember a message id; False if seen within the retention window."""
        with self.engine.begin() as conn:
            return corr_sql.mark_message_seen(conn, message_id, now, self.message_retention_seconds)

    def expire(self, now: float) -> ExpireResult:
        """Drop expired buffered messages and old message ids."""
        with self.engine.begin() as conn:
            return corr_sql.expire(conn, now, self.message_retention_seconds)

    # ---------------------------------------------------------------- queries

    def describe(self, execution_id: str) -> ExecutionRecord | None:
        """One execution, or None."""
        return self.load_executions([execution_id]).get(execution_id)

    def history(self, execution_id: str, *, after: int = 0, limit: int | None = None) -> list[HistoryRow]:
        """History events after ``after``, in order."""
        stmt = (
            select(history)
            .where(history.c.execution_id == execution_id, history.c.event_id > after)
            .order_by(history.c.event_id)
            .limit(limit)
        )
        with self._reading() as conn:
            return [
                HistoryRow(r.execution_id, r.event_id, r.type, r.timestamp.timestamp(), r.details, r.previous_event_id)
                for r in conn.execute(stmt)
            ]

    def list_executions(
        self,
        *,
        status: str | None = None,
        state_machine: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[ExecutionSummary]:
        """Executions, newest start first."""
        t = executions
        stmt = select(t.c.execution_id, t.c.name, t.c.state_machine, t.c.version, t.c.status, t.c.start_time,
                      t.c.stop_time)
        if status is not None:
            stmt = stmt.where(t.c.status == status)
        if state_machine is not None:
            stmt = stmt.where(t.c.state_machine == state_machine)
        if since is not None:
            stmt = stmt.where(t.c.start_time >= to_datetime(since))
        stmt = stmt.order_by(t.c.start_time.desc(), t.c.execution_id).limit(limit)
        with self._reading() as conn:
            return [
                ExecutionSummary(r.execution_id, r.name, r.state_machine, r.version, r.status,
                                 from_datetime(r.start_time), from_datetime(r.stop_time))
                for r in conn.execute(stmt)
            ]


def _machine(row: Row[Any]) -> StateMachineRecord:
    return StateMachineRecord(row.name, row.version, row.definition, row.definition_hash, row.created_at.timestamp())
