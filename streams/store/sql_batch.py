"""The execution agent's reads and writes on Postgres: load executions, commit a batch, the outbox.

A batch is a handful of statements in one transaction, whatever its size: one
``SELECT ... FOR UPDATE`` to check offsets, then a COPY per table for executions, history and
outbox (see :mod:`streams.store.sql_copy`), and executemany INSERT/DELETEs for the few timers
and subscriptions (psycopg 3 pipelines those, so there is no round trip per row). That is
about sixteen round trips; :class:`~streams.store.sql.SqlStore` sends small batches to
:mod:`streams.store.sql_small` instead (one statement, one round trip, the same behaviour).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Row, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from streams.store import sql_copy as copy
from streams.store.codec import canonical_json, dump_json, from_datetime, to_datetime
from streams.store.errors import ConflictError, StoreError
from streams.store.records import (
    BatchWrite,
    CommitResult,
    ExecutionRecord,
    ExecutionWrite,
    HistoryRow,
    OutboxKey,
    OutboxRow,
    classify_writes,
    execution_columns,
    validate_batch,
)
from streams.store.schema import executions, history, outbox, subscriptions
from streams.store.sql_correlation import delete_timers, subscription_params, upsert_timer_rows


def load_executions(conn: Connection, execution_ids: Iterable[str]) -> dict[str, ExecutionRecord]:
    ids = sorted(set(execution_ids))
    if not ids:
        return {}
    rows = conn.execute(select(executions).where(executions.c.execution_id.in_(ids)))
    return {row.execution_id: execution_record(row) for row in rows}


def execution_record(row: Row[Any]) -> ExecutionRecord:
    return ExecutionRecord(
        execution_id=row.execution_id,
        name=row.name,
        state_machine=row.state_machine,
        version=row.version,
        status=row.status,
        input=row.input,
        output=row.output,
        error=row.error,
        cause=row.cause,
        current_state=row.current_state,
        start_time=from_datetime(row.start_time),
        stop_time=from_datetime(row.stop_time),
        updated_at=row.updated_at.timestamp(),
        partition=row.partition,
        last_offset=row.last_offset,
        snapshot=row.snapshot,
        snapshot_format=row.snapshot_format,
        transitions=row.transitions,
    )


def commit_batch(conn: Connection, batch: BatchWrite) -> CommitResult:
    """Write a batch inside the caller's transaction (the caller commits or rolls back)."""
    validate_batch(batch)
    ids = sorted(w.execution_id for w in batch.executions)  # lock in a fixed order: no deadlocks between writers
    locked = conn.execute(
        select(executions.c.execution_id, executions.c.last_offset)
        .where(executions.c.execution_id.in_(ids))
        .order_by(executions.c.execution_id)
        .with_for_update()
    )
    stored: dict[str, int] = {row.execution_id: row.last_offset for row in locked}
    apply, replayed = classify_writes(batch.executions, stored)
    if apply:
        stamp = to_datetime(batch.now)
        rows = _BulkRows(apply, stamp)  # serialise everything first: a bad value fails before any write
        with copy.cursor(conn) as cur:
            try:
                _write_bulk(cur, rows, apply)
            except psycopg.Error as exc:
                raise copy.translate_errors("COPY (commit_batch)", exc) from exc
        _write_timers(conn, apply, stamp)
        _write_subscriptions(conn, apply, batch.now)
    return CommitResult(tuple(w.execution_id for w in apply), tuple(replayed))


class _BulkRows:
    """The executions, history and outbox rows of a batch as tuples in table column order."""

    def __init__(self, writes: Sequence[ExecutionWrite], stamp: datetime) -> None:
        self.new_executions: list[copy.Row] = []
        self.existing_executions: list[copy.Row] = []
        self.history: list[copy.Row] = []
        self.outbox: list[copy.Row] = []
        for write in writes:
            try:
                self._add(write, stamp)
            except StoreError as exc:
                raise StoreError(f"execution {write.execution_id!r}: {exc}") from exc

    def _add(self, write: ExecutionWrite, stamp: datetime) -> None:
        row = execution_row(write, stamp)
        (self.new_executions if write.expected_offset is None else self.existing_executions).append(row)
        self.history.extend(history_row(h) for h in write.history)
        self.outbox.extend(outbox_row_values(o, stamp) for o in write.outbox)


def execution_row(write: ExecutionWrite, stamp: datetime) -> copy.Row:
    """An ``executions`` row in column order, JSON as text (shared with :mod:`streams.store.sql_small`)."""
    c = execution_columns(write.snapshot)
    return (
        c["execution_id"], c["name"], write.state_machine, write.version, c["status"], _json(c["input"]),
        _json(c["output"]), c["error"], c["cause"], c["current_state"], _maybe_datetime(c["start_time"]),
        _maybe_datetime(c["stop_time"]), stamp, write.partition, write.last_offset, _json(write.snapshot),
        c["snapshot_format"], c["transitions"],
    )


def history_row(h: HistoryRow) -> copy.Row:
    """A ``history`` row in column order, JSON as text."""
    return (h.execution_id, h.event_id, h.previous_event_id, h.type, to_datetime(h.timestamp), dump_json(h.details))


def outbox_row_values(o: OutboxRow, stamp: datetime) -> copy.Row:
    """An ``outbox`` row in column order, stamped ``created_at``."""
    return (o.execution_id, o.command_offset, o.seq, o.partition, o.topic, o.key, o.payload, stamp)


def _write_bulk(cur: psycopg.Cursor[Any], rows: _BulkRows, writes: Sequence[ExecutionWrite]) -> None:
    if rows.new_executions and not copy.insert_new_executions(cur, rows.new_executions):
        # Another writer created one of these executions since the offsets were checked.
        new_ids = {row[0] for row in rows.new_executions}
        raise ConflictError({w.execution_id: (None, None) for w in writes if w.execution_id in new_ids})
    if rows.existing_executions:
        updated = copy.update_executions(cur, rows.existing_executions)
        if updated != len(rows.existing_executions):  # cannot happen while the rows are locked; never write past it
            raise StoreError(f"commit_batch: updated {updated} of {len(rows.existing_executions)} locked executions")
    copy.insert_or_skip(cur, history, rows.history)
    copy.insert_or_skip(cur, outbox, rows.outbox)


def _json(value: Any) -> str | None:
    # Refuse here what jsonb would refuse (NaN, NUL), rather than let it abort the whole COPY.
    return None if value is None else dump_json(value)


def _write_timers(conn: Connection, writes: Sequence[ExecutionWrite], stamp: Any) -> None:
    delete_timers(conn, [(w.execution_id, timer_id) for w in writes for timer_id in w.timers_removed])
    upsert_timer_rows(conn, [t for w in writes for t in w.timers_added], stamp)


def _write_subscriptions(conn: Connection, writes: Sequence[ExecutionWrite], now: float) -> None:
    removed = [
        (k.correlation_key, canonical_json(k.correlation_value), k.subscription_id)
        for w in writes for k in w.subscriptions_removed
    ]
    if removed:
        key = tuple_(subscriptions.c.correlation_key, subscriptions.c.correlation_value_text,
                     subscriptions.c.subscription_id)
        conn.execute(delete(subscriptions).where(key.in_(removed)))
    added = [subscription_params(s, now) for w in writes for s in w.subscriptions_added]
    if added:
        conn.execute(insert(subscriptions).on_conflict_do_nothing(), added)


def _maybe_datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else to_datetime(seconds)


# ---------------------------------------------------------------- the outbox


def pending_outbox(conn: Connection, partitions: Iterable[int], limit: int | None) -> list[OutboxRow]:
    wanted = sorted(set(partitions))
    if not wanted:
        return []
    stmt = (
        select(outbox)
        .where(outbox.c.partition.in_(wanted))
        .order_by(outbox.c.partition, outbox.c.command_offset, outbox.c.execution_id, outbox.c.seq)
        .limit(limit)
    )
    return [outbox_row(row) for row in conn.execute(stmt)]


def outbox_for(conn: Connection, execution_id: str, command_offset: int) -> list[OutboxRow]:
    stmt = (
        select(outbox)
        .where(outbox.c.execution_id == execution_id, outbox.c.command_offset == command_offset)
        .order_by(outbox.c.seq)
    )
    return [outbox_row(row) for row in conn.execute(stmt)]


def delete_outbox(conn: Connection, keys: Iterable[OutboxKey]) -> int:
    wanted = sorted(set(keys))
    if not wanted:
        return 0
    result = conn.execute(delete(outbox).where(tuple_(outbox.c.execution_id, outbox.c.command_offset).in_(wanted)))
    return int(result.rowcount)


def outbox_row(row: Row[Any]) -> OutboxRow:
    return OutboxRow(
        execution_id=row.execution_id,
        command_offset=row.command_offset,
        seq=row.seq,
        partition=row.partition,
        topic=row.topic,
        key=None if row.key is None else bytes(row.key),
        payload=bytes(row.payload),
        created_at=row.created_at.timestamp(),
    )
