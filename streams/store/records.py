"""The rows the store reads and writes, as small typed dataclasses shared by every implementation.

Times are POSIX seconds (float, UTC), like the engine's clock. Columns Postgres keeps as
``timestamptz`` hold microseconds, so those values come back rounded to the microsecond
(:func:`to_microseconds`); the in-memory store rounds the same way so both behave identically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.timefmt import parse_timestamp
from streams.store.errors import ConflictError, StoreError

#: (execution_id, command_offset): the effects of one applied command in the outbox.
OutboxKey = tuple[str, int]
#: (execution_id, timer_id): timer ids are unique within an execution (``execution_timeout`` is reused).
TimerKey = tuple[str, str]


@dataclass(frozen=True)
class StateMachineRecord:
    """One deployed version of a state machine."""

    name: str
    version: int
    definition: dict[str, Any]
    definition_hash: str
    created_at: float


@dataclass(frozen=True)
class ExecutionRecord:
    """An execution as stored: its snapshot (``Snapshot.to_json()``) plus columns for queries."""

    execution_id: str
    name: str
    state_machine: str
    version: int
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    current_state: str | None
    start_time: float | None
    stop_time: float | None
    updated_at: float
    partition: int
    last_offset: int
    snapshot: dict[str, Any]
    snapshot_format: int
    transitions: int


@dataclass(frozen=True)
class ExecutionSummary:
    """A line of ``list_executions`` (no snapshot, input or output: listing stays cheap)."""

    execution_id: str
    name: str
    state_machine: str
    version: int
    status: str
    start_time: float | None
    stop_time: float | None


@dataclass(frozen=True)
class HistoryRow:
    """One history event of an execution, numbered from 1 as AWS numbers them."""

    execution_id: str
    event_id: int
    type: str
    timestamp: float
    details: dict[str, Any] = field(default_factory=dict)
    previous_event_id: int = 0


@dataclass(frozen=True)
class OutboxRow:
    """An encoded Kafka record produced by command ``command_offset``, not yet confirmed published.

    ``partition`` is the commands-topic partition the command came from (who owns the row),
    not the destination partition; ``seq`` orders the records of one command.
    ``created_at`` is stamped by the store when the row is written.
    """

    execution_id: str
    command_offset: int
    seq: int
    partition: int
    topic: str
    key: bytes | None
    payload: bytes
    created_at: float = 0.0

    @property
    def command(self) -> OutboxKey:
        return (self.execution_id, self.command_offset)


@dataclass(frozen=True)
class TimerRow:
    """A pending timer; ``fire_at`` is POSIX seconds, kept exactly (double precision)."""

    execution_id: str
    timer_id: str
    partition: int
    fire_at: float
    purpose: str
    created_at: float = 0.0

    @property
    def key(self) -> TimerKey:
        return (self.execution_id, self.timer_id)


@dataclass(frozen=True)
class Subscription:
    """An execution waiting for a message with this correlation key and (typed JSON) value.

    ``created_at`` (when the execution started waiting) orders waiters, oldest first; the store
    stamps the time of the call when it is left at 0.
    """

    correlation_key: str
    correlation_value: Any
    subscription_id: str
    execution_id: str
    created_at: float = 0.0


@dataclass(frozen=True)
class SubscriptionKey:
    """What identifies a subscription: its correlation and its id."""

    correlation_key: str
    correlation_value: Any
    subscription_id: str


@dataclass(frozen=True)
class BufferedMessage:
    """A message that matched no subscription, kept until ``expires_at`` (POSIX seconds).

    ``created_at`` orders buffered messages, oldest first; 0 means "stamp the time of the call".
    """

    correlation_key: str
    correlation_value: Any
    message_id: str
    data: Any
    expires_at: float
    single_consumer: bool = True
    created_at: float = 0.0


@dataclass
class CorrelationWrite:
    """What a batch of the messages topic changed, applied by ``apply_correlation`` in one transaction.

    The correlation agent plans with ``find_subscriptions``/``find_buffered`` (which change
    nothing), publishes the deliveries, and only then writes this: a crash in between replays
    the batch against the unchanged store instead of losing a message.
    """

    subscriptions_added: list[Subscription] = field(default_factory=list)
    subscriptions_removed: list[str] = field(default_factory=list)  # subscription ids
    buffered_added: list[BufferedMessage] = field(default_factory=list)
    buffered_removed: list[str] = field(default_factory=list)  # message ids
    seen_ids: list[str] = field(default_factory=list)  # message ids to remember for de-duplication

    @property
    def empty(self) -> bool:
        return not (self.subscriptions_added or self.subscriptions_removed or self.buffered_added
                    or self.buffered_removed or self.seen_ids)


@dataclass(frozen=True)
class ExecutionWrite:
    """Everything one batch writes for one execution.

    Args:
        snapshot: ``Snapshot.to_json()`` after the last command of the batch for this execution.
        state_machine: the state machine name; ``version`` its deployed version.
        partition: the commands-topic partition that owns the execution.
        last_offset: the offset of the last command applied (stored; redeliveries at or below it are stale).
        expected_offset: the ``last_offset`` the agent loaded, None for an execution with no row yet.
            The store refuses the batch (:class:`ConflictError`) when the stored value differs,
            which fences a worker that lost its partition but still writes.
    """

    snapshot: dict[str, Any]
    state_machine: str
    version: int
    partition: int
    last_offset: int
    expected_offset: int | None = None
    history: Sequence[HistoryRow] = ()
    outbox: Sequence[OutboxRow] = ()
    timers_added: Sequence[TimerRow] = ()
    timers_removed: Sequence[str] = ()  # timer ids of this execution
    subscriptions_added: Sequence[Subscription] = ()
    subscriptions_removed: Sequence[SubscriptionKey] = ()

    @property
    def execution_id(self) -> str:
        execution_id: str = self.snapshot["execution_id"]
        return execution_id


@dataclass(frozen=True)
class BatchWrite:
    """What one batch of commands produced, written in one transaction; ``now`` stamps the rows."""

    executions: Sequence[ExecutionWrite]
    now: float


@dataclass(frozen=True)
class CommitResult:
    """The outcome of ``commit_batch``.

    ``replayed`` lists executions skipped because their stored ``last_offset`` already covers
    the write (the same batch committed again): nothing of theirs was written, and the
    agent should re-publish their outbox instead.
    """

    applied: tuple[str, ...]
    replayed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExpireResult:
    """How many rows ``expire`` removed."""

    buffered_messages: int
    seen_messages: int


def validate_batch(batch: BatchWrite) -> None:
    """Reject a malformed batch before anything is written, naming the offending row."""
    seen: set[str] = set()
    for write in batch.executions:
        execution_id = write.snapshot.get("execution_id")
        if not isinstance(execution_id, str) or not execution_id:
            raise StoreError(f"batch: a snapshot has no execution_id: {str(write.snapshot)[:200]}")
        if execution_id in seen:
            raise StoreError(f"batch: execution {execution_id!r} appears twice; merge its writes into one")
        seen.add(execution_id)
        if write.expected_offset is not None and write.last_offset <= write.expected_offset:
            raise StoreError(f"batch: execution {execution_id!r}: last_offset {write.last_offset} does not follow "
                             f"expected_offset {write.expected_offset}")
        _check_rows(execution_id, "history", write.history)
        _check_rows(execution_id, "outbox", write.outbox)
        _check_rows(execution_id, "timers_added", write.timers_added)
        _check_rows(execution_id, "subscriptions_added", write.subscriptions_added)


def classify_writes(
    writes: Sequence[ExecutionWrite], stored: Mapping[str, int]
) -> tuple[list[ExecutionWrite], list[str]]:
    """Split a batch by the stored ``last_offset`` of each execution: (to apply, replayed ids).

    Raises :class:`ConflictError` when any execution was changed by another writer since it was
    loaded (its stored offset is neither the expected one nor already past the write).
    """
    apply: list[ExecutionWrite] = []
    replayed: list[str] = []
    conflicts: dict[str, tuple[int | None, int | None]] = {}
    for write in writes:
        stored_offset = stored.get(write.execution_id)
        if stored_offset == write.expected_offset:
            apply.append(write)
        elif stored_offset is not None and stored_offset >= write.last_offset:
            replayed.append(write.execution_id)
        else:
            conflicts[write.execution_id] = (write.expected_offset, stored_offset)
    if conflicts:
        raise ConflictError(conflicts)
    return apply, replayed


def _check_rows(execution_id: str, what: str, rows: Sequence[Any]) -> None:
    for index, row in enumerate(rows):
        if row.execution_id != execution_id:
            raise StoreError(
                f"batch: {what}[{index}] of execution {execution_id!r} names execution {row.execution_id!r}"
            )


def execution_columns(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The query columns of ``executions`` derived from a snapshot (status, times, current state...)."""
    frames = snapshot.get("frames") or {}
    top = frames.get("0") or {}
    stop_time = snapshot.get("stop_time")
    return {
        "execution_id": snapshot["execution_id"],
        "name": snapshot.get("name") or snapshot["execution_id"],
        "status": snapshot.get("status", "RUNNING"),
        "input": snapshot.get("input"),
        "output": snapshot.get("output"),
        "error": snapshot.get("error"),
        "cause": snapshot.get("cause"),
        "current_state": top.get("state"),
        "start_time": parse_timestamp(snapshot.get("start_time") or ""),
        "stop_time": parse_timestamp(stop_time) if stop_time else None,
        "snapshot_format": int(snapshot.get("format", 0)),
        "transitions": int(snapshot.get("transitions", 0)),
    }
