"""The ``Store`` protocol: what the agents and the CLI need from the system of record.

:class:`~streams.store.sql.SqlStore` (Postgres) and :class:`~streams.store.memory.MemoryStore`
(a fake for fast tests) implement it with identical behaviour, pinned by one contract test
suite run against both. Methods are synchronous: the agents call them from a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

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
)

#: How long a message id is remembered for de-duplication by default (matches Settings).
DEFAULT_MESSAGE_RETENTION_SECONDS = 7 * 24 * 3600.0


@runtime_checkable
class Store(Protocol):
    """The system of record of one stepstream deployment."""

    # ---------------------------------------------------------------- lifecycle

    def migrate(self) -> None:
        """Bring the schema to the newest version (idempotent; a no-op for the in-memory store)."""

    def close(self) -> None:
        """Release connections."""

    # ---------------------------------------------------------------- state machines

    def deploy(self, name: str, definition: Mapping[str, Any], *, now: float | None = None) -> int:
        """Store a definition and return its version: the latest version when it is unchanged, else a new one."""

    def get_state_machine(self, name: str, version: int | None = None) -> StateMachineRecord | None:
        """One version of a state machine (the latest when ``version`` is None), or None."""

    def list_state_machines(self, *, all_versions: bool = False) -> list[StateMachineRecord]:
        """The latest version of every state machine (or every version), ordered by name and version."""

    # ---------------------------------------------------------------- the execution agent

    def load_executions(self, execution_ids: Iterable[str]) -> dict[str, ExecutionRecord]:
        """The stored executions among ``execution_ids``, by id (unknown ids are absent)."""

    def commit_batch(self, batch: BatchWrite) -> CommitResult:
        """Write everything a batch produced in one transaction, or nothing.

        Executions whose stored ``last_offset`` is at or past the write's are a replay and are
        skipped whole (see :class:`CommitResult`); any other mismatch with ``expected_offset``
        raises :class:`~streams.store.errors.ConflictError` and writes nothing.
        """

    def pending_outbox(self, partitions: Iterable[int], *, limit: int | None = None) -> list[OutboxRow]:
        """Unconfirmed outbox rows of these partitions, in publishing order."""

    def outbox_for(self, execution_id: str, command_offset: int) -> list[OutboxRow]:
        """The unconfirmed outbox rows one command produced, in order (to re-publish on redelivery)."""

    def delete_outbox(self, keys: Iterable[OutboxKey]) -> int:
        """Forget the outbox rows of these (execution id, command offset) pairs once published."""

    # ---------------------------------------------------------------- the timer agent

    def save_timers(self, timers: Iterable[TimerRow], *, now: float) -> None:
        """Insert timers, or move them when the (execution id, timer id) exists."""

    def delete_timers(self, keys: Iterable[TimerKey]) -> int:
        """Delete timers by (execution id, timer id); unknown ones are ignored."""

    def due_timers(self, partitions: Iterable[int], until: float, *, limit: int | None = None) -> list[TimerRow]:
        """Timers of these partitions with ``fire_at <= until``, soonest first."""

    def load_timers(self, partitions: Iterable[int]) -> list[TimerRow]:
        """Every timer of these partitions, soonest first (to rebuild after a rebalance)."""

    # ---------------------------------------------------------------- the correlation agent

    # A correlation agent either plans with find_correlations / seen_message_ids (or the
    # single-key find_* / message_seen) and writes the plan with
    # apply_correlation after publishing (a crash in between loses nothing), or uses the
    # single-row calls below, each its own transaction.

    def find_subscriptions(self, correlation_key: str, correlation_value: Any) -> list[Subscription]:
        """The waits on this key and value, oldest first; nothing changes."""

    def find_buffered(self, correlation_key: str, correlation_value: Any, now: float) -> list[BufferedMessage]:
        """The unexpired buffered messages for this key and value, oldest first; nothing changes."""

    def message_seen(self, message_id: str, now: float) -> bool:
        """Whether the message id was seen within the retention window; nothing changes."""

    def find_correlations(self, correlations: Iterable[tuple[str, Any]], now: float
                          ) -> dict[tuple[str, str], tuple[list[Subscription], list[BufferedMessage]]]:
        """For each (correlation key, value): its waits and its unexpired buffered messages; nothing changes.

        Keyed by ``(key, canonical_json(value))`` (:func:`streams.store.codec.canonical_json`), so
        ``42`` and ``42.0`` are one entry and ``"123"`` and ``123`` two. Both lists are oldest first,
        as :meth:`find_subscriptions` and :meth:`find_buffered` order them. Every requested
        correlation is in the result, with empty lists when nothing is stored. One query per
        table for the whole call (what the correlation agent plans a batch with).
        """

    def seen_message_ids(self, message_ids: Iterable[str], now: float) -> set[str]:
        """The ids among ``message_ids`` seen within the retention window (as :meth:`message_seen` decides).

        One query for the whole call; nothing changes.
        """

    def apply_correlation(self, write: CorrelationWrite, *, now: float) -> None:
        """Apply a messages-topic batch's changes in one transaction: additions first, then removals."""

    def add_subscription(self, subscription: Subscription, *, now: float) -> bool:
        """Register a wait; False when it was already registered."""

    def remove_subscription(self, correlation_key: str, correlation_value: Any, subscription_id: str) -> bool:
        """Drop a wait; False when there was none."""

    def take_subscriptions(self, correlation_key: str, correlation_value: Any, *, single: bool) -> list[Subscription]:
        """Remove and return the waits on this key and value: all of them, or only the oldest."""

    def buffer_message(self, message: BufferedMessage, *, now: float) -> bool:
        """Keep a message nobody waits for until it expires; False when that message id is already buffered."""

    def take_buffered(self, correlation_key: str, correlation_value: Any, now: float) -> BufferedMessage | None:
        """Remove and return the oldest unexpired buffered message for this key and value."""

    def mark_message_seen(self, message_id: str, now: float) -> bool:
        """Remember a message id; False when it was already seen within the retention window."""

    def expire(self, now: float) -> ExpireResult:
        """Housekeeping: drop expired buffered messages and message ids older than the retention."""

    # ---------------------------------------------------------------- queries (CLI)

    def describe(self, execution_id: str) -> ExecutionRecord | None:
        """One execution with its snapshot, or None."""

    def history(self, execution_id: str, *, after: int = 0, limit: int | None = None) -> list[HistoryRow]:
        """History events with ``event_id > after``, in order."""

    def list_executions(
        self,
        *,
        status: str | None = None,
        state_machine: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[ExecutionSummary]:
        """Executions, newest start first, filtered by status, state machine and ``start_time >= since``."""
