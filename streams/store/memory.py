"""An in-memory :class:`~streams.store.base.Store` for fast tests (like dramatiq's StubBroker).

It behaves like :class:`~streams.store.sql.SqlStore` down to the details the contract tests
pin: values go in and out as JSON copies (so a caller mutating a record changes nothing
stored), times held as ``timestamptz`` in Postgres are rounded to the microsecond, and a
failing ``commit_batch`` leaves nothing behind. One lock serialises every call, as the
database's transactions would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from streams.store.base import DEFAULT_MESSAGE_RETENTION_SECONDS
from streams.store.codec import definition_hash, json_copy, to_microseconds
from streams.store.errors import StoreError
from streams.store.memory_correlation import (
    Correlation,
    MemoryCorrelation,
    correlation,
    stamped_subscription,
)
from streams.store.records import (
    BatchWrite,
    CommitResult,
    ExecutionRecord,
    ExecutionSummary,
    ExecutionWrite,
    HistoryRow,
    OutboxKey,
    OutboxRow,
    StateMachineRecord,
    Subscription,
    TimerKey,
    TimerRow,
    classify_writes,
    execution_columns,
    validate_batch,
)


class MemoryStore(MemoryCorrelation):
    """A Store that keeps everything in dictionaries; nothing survives the process."""

    def __init__(self, *, message_retention_seconds: float = DEFAULT_MESSAGE_RETENTION_SECONDS) -> None:
        self.message_retention_seconds = message_retention_seconds
        self._lock = threading.RLock()
        self._machines: dict[str, list[StateMachineRecord]] = {}
        self._executions: dict[str, ExecutionRecord] = {}
        self._history: dict[str, dict[int, HistoryRow]] = {}
        self._outbox: dict[tuple[str, int, int], OutboxRow] = {}
        self._timers: dict[TimerKey, TimerRow] = {}
        self._subscriptions: dict[Correlation, dict[str, Subscription]] = {}
        self._buffered = {}
        self._seen = {}

    # ---------------------------------------------------------------- lifecycle

    def migrate(self) -> None:
        """Nothing to migrate in memory."""

    def close(self) -> None:
        """Nothing to release."""

    # ---------------------------------------------------------------- state machines

    def deploy(self, name: str, definition: Mapping[str, Any], *, now: float | None = None) -> int:
        """Store a definition; the same definition as the latest version returns that version."""
        digest = definition_hash(definition)
        with self._lock:
            versions = self._machines.setdefault(name, [])
            if versions and versions[-1].definition_hash == digest:
                return versions[-1].version
            record = StateMachineRecord(name, len(versions) + 1, json_copy(dict(definition)), digest,
                                        to_microseconds(time.time() if now is None else now))
            versions.append(record)
            return record.version

    def get_state_machine(self, name: str, version: int | None = None) -> StateMachineRecord | None:
        """One version (the latest when ``version`` is None), or None."""
        with self._lock:
            versions = self._machines.get(name, [])
            if version is None:
                return _copy_machine(versions[-1]) if versions else None
            found = [record for record in versions if record.version == version]
            return _copy_machine(found[0]) if found else None

    def list_state_machines(self, *, all_versions: bool = False) -> list[StateMachineRecord]:
        """Latest versions (or all), by name then version."""
        with self._lock:
            records = [
                _copy_machine(record)
                for name in sorted(self._machines)
                for record in (self._machines[name] if all_versions else self._machines[name][-1:])
            ]
        return records

    # ---------------------------------------------------------------- the execution agent

    def load_executions(self, execution_ids: Iterable[str]) -> dict[str, ExecutionRecord]:
        """The stored executions among these ids."""
        with self._lock:
            return {eid: _copy_execution(self._executions[eid]) for eid in set(execution_ids)
                    if eid in self._executions}

    def commit_batch(self, batch: BatchWrite) -> CommitResult:
        """Write a batch atomically: check offsets, build every row, then change the dictionaries."""
        validate_batch(batch)
        with self._lock:
            stored = {w.execution_id: self._executions[w.execution_id].last_offset
                      for w in batch.executions if w.execution_id in self._executions}
            apply, replayed = classify_writes(batch.executions, stored)
            rows = [_BatchRows.checked(write, batch.now) for write in apply]  # may raise: nothing changed yet
            for built in rows:
                self._apply(built)
        return CommitResult(tuple(w.execution_id for w in apply), tuple(replayed))

    def _apply(self, rows: _BatchRows) -> None:
        record = rows.execution
        self._executions[record.execution_id] = record
        events = self._history.setdefault(record.execution_id, {})
        for event in rows.history:
            events.setdefault(event.event_id, event)  # an existing event id wins, as ON CONFLICT DO NOTHING
        for row in rows.outbox:
            self._outbox.setdefault((row.execution_id, row.command_offset, row.seq), row)
        for key in rows.timers_removed:
            self._timers.pop(key, None)
        for timer in rows.timers_added:
            self._timers[timer.key] = timer
        for key, subscription_id in rows.subscriptions_removed:
            self._subscriptions.get(key, {}).pop(subscription_id, None)
        for key, subscription in rows.subscriptions_added:
            self._subscriptions.setdefault(key, {}).setdefault(subscription.subscription_id, subscription)

    def pending_outbox(self, partitions: Iterable[int], *, limit: int | None = None) -> list[OutboxRow]:
        """Unconfirmed rows of these partitions by partition, command offset, execution, seq."""
        wanted = set(partitions)
        with self._lock:
            rows = sorted((r for r in self._outbox.values() if r.partition in wanted), key=_outbox_order)
        return rows if limit is None else rows[:limit]

    def outbox_for(self, execution_id: str, command_offset: int) -> list[OutboxRow]:
        """The rows one command produced, by seq."""
        with self._lock:
            rows = [r for r in self._outbox.values() if r.command == (execution_id, command_offset)]
        return sorted(rows, key=lambda r: r.seq)

    def delete_outbox(self, keys: Iterable[OutboxKey]) -> int:
        """Forget the rows of these commands."""
        wanted = set(keys)
        with self._lock:
            gone = [key for key, row in self._outbox.items() if row.command in wanted]
            for key in gone:
                del self._outbox[key]
        return len(gone)

    # ---------------------------------------------------------------- the timer agent

    def save_timers(self, timers: Iterable[TimerRow], *, now: float) -> None:
        """Insert or move timers."""
        created = to_microseconds(now)
        with self._lock:
            for timer in timers:
                self._timers[timer.key] = replace(timer, created_at=created)

    def delete_timers(self, keys: Iterable[TimerKey]) -> int:
        """Delete timers by key."""
        with self._lock:
            return sum(self._timers.pop(key, None) is not None for key in set(keys))

    def due_timers(self, partitions: Iterable[int], until: float, *, limit: int | None = None) -> list[TimerRow]:
        """Timers due by ``until``, soonest first."""
        due = [t for t in self.load_timers(partitions) if t.fire_at <= until]
        return due if limit is None else due[:limit]

    def load_timers(self, partitions: Iterable[int]) -> list[TimerRow]:
        """All timers of these partitions, soonest first."""
        wanted = set(partitions)
        with self._lock:
            found = [t for t in self._timers.values() if t.partition in wanted]
        return sorted(found, key=lambda t: (t.fire_at, t.execution_id, t.timer_id))

    # ---------------------------------------------------------------- queries

    def describe(self, execution_id: str) -> ExecutionRecord | None:
        """One execution, or None."""
        with self._lock:
            record = self._executions.get(execution_id)
            return None if record is None else _copy_execution(record)

    def history(self, execution_id: str, *, after: int = 0, limit: int | None = None) -> list[HistoryRow]:
        """History events after ``after``, in order."""
        with self._lock:
            events = self._history.get(execution_id, {})
            found = [replace(events[i], details=json_copy(events[i].details)) for i in sorted(events) if i > after]
        return found if limit is None else found[:limit]

    def list_executions(
        self,
        *,
        status: str | None = None,
        state_machine: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[ExecutionSummary]:
        """Executions, newest start first."""
        with self._lock:
            found = [
                r for r in self._executions.values()
                if (status is None or r.status == status)
                and (state_machine is None or r.state_machine == state_machine)
                and (since is None or (r.start_time is not None and r.start_time >= to_microseconds(since)))
            ]
        # Like ORDER BY start_time DESC, execution_id (Postgres puts NULLs first in descending order).
        found.sort(key=lambda r: r.execution_id)
        found.sort(key=lambda r: (r.start_time is not None, -(r.start_time or 0.0)))
        return [
            ExecutionSummary(r.execution_id, r.name, r.state_machine, r.version, r.status, r.start_time, r.stop_time)
            for r in found[:limit]
        ]


class _BatchRows:
    """The rows one ExecutionWrite turns into, built (and JSON-checked) before anything changes."""

    def __init__(self) -> None:
        self.execution: ExecutionRecord
        self.history: list[HistoryRow] = []
        self.outbox: list[OutboxRow] = []
        self.timers_added: list[TimerRow] = []
        self.timers_removed: list[TimerKey] = []
        self.subscriptions_added: list[tuple[Correlation, Subscription]] = []
        self.subscriptions_removed: list[tuple[Correlation, str]] = []

    @classmethod
    def checked(cls, write: ExecutionWrite, now: float) -> _BatchRows:
        try:
            return cls.build(write, now)
        except StoreError as exc:
            raise StoreError(f"execution {write.execution_id!r}: {exc}") from exc

    @classmethod
    def build(cls, write: ExecutionWrite, now: float) -> _BatchRows:
        rows = cls()
        stamp = to_microseconds(now)
        snapshot = json_copy(write.snapshot)
        columns = execution_columns(snapshot)
        rows.execution = ExecutionRecord(
            **columns, state_machine=write.state_machine, version=write.version, updated_at=stamp,
            partition=write.partition, last_offset=write.last_offset, snapshot=snapshot)
        rows.history = [replace(h, timestamp=to_microseconds(h.timestamp), details=json_copy(h.details))
                        for h in write.history]
        rows.outbox = [replace(o, created_at=stamp) for o in write.outbox]
        rows.timers_removed = [(write.execution_id, timer_id) for timer_id in write.timers_removed]
        rows.timers_added = [replace(t, created_at=stamp) for t in write.timers_added]
        rows.subscriptions_removed = [(correlation(k.correlation_key, k.correlation_value), k.subscription_id)
                                      for k in write.subscriptions_removed]
        rows.subscriptions_added = [(correlation(s.correlation_key, s.correlation_value),
                                     stamped_subscription(s, now)) for s in write.subscriptions_added]
        return rows


def _outbox_order(row: OutboxRow) -> tuple[int, int, str, int]:
    return (row.partition, row.command_offset, row.execution_id, row.seq)


def _copy_machine(record: StateMachineRecord) -> StateMachineRecord:
    return replace(record, definition=json_copy(record.definition))


def _copy_execution(record: ExecutionRecord) -> ExecutionRecord:
    return replace(record, snapshot=json_copy(record.snapshot), input=json_copy(record.input),
                   output=json_copy(record.output))


