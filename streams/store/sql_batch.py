"""The execution agent's reads and writes on Postgres: load executions, commit a batch, the outbox.

A batch is a handful of multi-row statements in one transaction, whatever its size: one
``SELECT ... FOR UPDATE`` to check offsets, then one statement per table (psycopg 3 sends an
executemany as a pipeline, so there is no round trip per row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.dialects.postgresql import insert

from streams.store.codec import canonical_json, from_datetime, to_datetime
from streams.store.errors import ConflictError
from streams.store.records import (
    BatchWrite,
    CommitResult,
    ExecutionRecord,
    ExecutionWrite,
    OutboxKey,
    OutboxRow,
    classify_writes,
    execution_columns,
    validate_batch,
)
from streams.store.schema import executions, history, outbox, subscriptions
from streams.store.sql_correlation import delete_timers, upsert_timer_rows

_EXECUTION_UPDATES = [c.name for c in executions.columns if c.name != "execution_id"]


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
        _write(conn, apply, to_datetime(batch.now))
    return CommitResult(tuple(w.execution_id for w in apply), tuple(replayed))


def _write(conn: Connection, writes: Sequence[ExecutionWrite], stamp: Any) -> None:
    _upsert_executions(conn, writes, stamp)
    _insert_history(conn, writes)
    _insert_outbox(conn, writes, stamp)
    _write_timers(conn, writes, stamp)
    _write_subscriptions(conn, writes, stamp)


def _upsert_executions(conn: Connection, writes: Sequence[ExecutionWrite], stamp: Any) -> None:
    new_rows, existing_rows = [], []
    for write in writes:
        row = execution_columns(write.snapshot)
        row["start_time"] = _maybe_datetime(row["start_time"])
        row["stop_time"] = _maybe_datetime(row["stop_time"])
        row.update(state_machine=write.state_machine, version=write.version, updated_at=stamp,
                   partition=write.partition, last_offset=write.last_offset, snapshot=write.snapshot)
        (new_rows if write.expected_offset is None else existing_rows).append(row)
    # executemany, not RETURNING: psycopg pipelines it, far cheaper than one huge multi-row VALUES statement.
    if new_rows:
        _insert_new_executions(conn, new_rows, writes)
    if existing_rows:
        stmt = insert(executions)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[executions.c.execution_id],
            set_={name: stmt.excluded[name] for name in _EXECUTION_UPDATES},
        ), existing_rows)  # these rows exist and are locked (FOR UPDATE) with the expected offset


def _insert_new_executions(conn: Connection, rows: list[dict[str, Any]], writes: Sequence[ExecutionWrite]) -> None:
    """A plain INSERT: a writer that created the same execution concurrently makes it fail, not overwrite."""
    try:
        conn.execute(insert(executions), rows)
    except IntegrityError as exc:  # the transaction is aborted either way: the caller rolls it back
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != "executions_pkey":
            raise
        new_ids = {row["execution_id"] for row in rows}
        raise ConflictError({w.execution_id: (None, None) for w in writes if w.execution_id in new_ids}) from exc


def _insert_history(conn: Connection, writes: Sequence[ExecutionWrite]) -> None:
    rows = [
        {"execution_id": h.execution_id, "event_id": h.event_id, "previous_event_id": h.previous_event_id,
         "type": h.type, "timestamp": to_datetime(h.timestamp), "details": h.details}
        for write in writes for h in write.history
    ]
    if rows:
        conn.execute(insert(history).on_conflict_do_nothing(), rows)


def _insert_outbox(conn: Connection, writes: Sequence[ExecutionWrite], stamp: Any) -> None:
    rows = [
        {"execution_id": o.execution_id, "command_offset": o.command_offset, "seq": o.seq,
         "partition": o.partition, "topic": o.topic, "key": o.key, "payload": o.payload, "created_at": stamp}
        for write in writes for o in write.outbox
    ]
    if rows:
        conn.execute(insert(outbox).on_conflict_do_nothing(), rows)


def _write_timers(conn: Connection, writes: Sequence[ExecutionWrite], stamp: Any) -> None:
    delete_timers(conn, [(w.execution_id, timer_id) for w in writes for timer_id in w.timers_removed])
    upsert_timer_rows(conn, [t for w in writes for t in w.timers_added], stamp)


def _write_subscriptions(conn: Connection, writes: Sequence[ExecutionWrite], stamp: Any) -> None:
    removed = [
        (k.correlation_key, canonical_json(k.correlation_value), k.subscription_id)
        for w in writes for k in w.subscriptions_removed
    ]
    if removed:
        key = tuple_(subscriptions.c.correlation_key, subscriptions.c.correlation_value_text,
                     subscriptions.c.subscription_id)
        conn.execute(delete(subscriptions).where(key.in_(removed)))
    added = [
        {"correlation_key": s.correlation_key, "correlation_value_text": canonical_json(s.correlation_value),
         "correlation_value": s.correlation_value, "subscription_id": s.subscription_id,
         "execution_id": s.execution_id, "created_at": stamp}
        for w in writes for s in w.subscriptions_added
    ]
    if added:
        conn.execute(insert(subscriptions).on_conflict_do_nothing(), added)


def _maybe_datetime(seconds: float | None) -> Any:
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
