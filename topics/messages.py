"""The records on stepstream's topics: one frozen dataclass per record type.

Each record has a stable ``id`` for de-duplication (derived from its fields, so a redelivered or
re-published record has the same id) and a ``partition_key`` (the Kafka record key, bytes).
:func:`topic_role` names the catalogue topic it travels on. Times are POSIX seconds (UTC floats).
Field values are JSON values; the codec (``topics.codec``) checks their types on the wire.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from topics.canonical import correlation_record_key
from topics.commands import (
    ChildExecutionFinished,
    Command,
    MessageDelivered,
    SendTaskFailure,
    SendTaskHeartbeat,
    SendTaskSuccess,
    StartExecution,
    StopExecution,
    TimerFired,
)
from topics.ids import parse_task_token

#: The history event types that end an execution.
TERMINAL_EVENT_TYPES = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})

_ACTIVITY_ARN = re.compile(r"^arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:activity:[^:]+$")


# ---------------------------------------------------------------- events (topic: events)


class HistoryLike(Protocol):
    """What :meth:`ExecutionEvent.from_history` reads (``engine.events.HistoryEvent`` fits)."""

    @property
    def id(self) -> int: ...

    @property
    def type(self) -> str: ...

    @property
    def timestamp(self) -> float: ...

    @property
    def previous_id(self) -> int: ...

    @property
    def details(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ExecutionEvent:
    """One history event of an execution, numbered from 1 as AWS numbers them."""

    execution_id: str
    event_id: int
    type: str
    timestamp: float
    details: dict[str, Any] = field(default_factory=dict)
    previous_event_id: int = 0

    @classmethod
    def from_history(cls, execution_id: str, event: HistoryLike) -> ExecutionEvent:
        """The wire form of an engine history event."""
        return cls(execution_id, event.id, event.type, event.timestamp, dict(event.details), event.previous_id)

    @property
    def terminal(self) -> bool:
        """True for ExecutionSucceeded, ExecutionFailed, ExecutionTimedOut and ExecutionAborted."""
        return self.type in TERMINAL_EVENT_TYPES

    @property
    def id(self) -> str:
        return f"{self.execution_id}#{self.event_id}"

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


@dataclass(frozen=True)
class ExecutionRejected:
    """A command that was refused: it refers to nothing (an unknown state machine or execution) or is malformed.

    ``key`` is the command's record key (its execution id); ``command_id`` is empty when the command
    could not be decoded.
    """

    key: str
    reason: str
    command_type: str
    command_id: str
    timestamp: float

    @property
    def id(self) -> str:
        # An undecodable command has no id of its own: the rejection time tells such rejections apart.
        return f"{self.key}#rejected:{self.command_id or repr(self.timestamp)}"

    @property
    def partition_key(self) -> bytes:
        return self.key.encode()


# ---------------------------------------------------------------- timers (topic: timers)


@dataclass(frozen=True)
class ScheduleTimer:
    """Ask the timer service for a TimerFired of ``timer_id`` at ``fire_at``, never before."""

    execution_id: str
    timer_id: str
    fire_at: float
    purpose: str

    @property
    def id(self) -> str:
        return f"{self.execution_id}#timer:{self.timer_id}"

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


@dataclass(frozen=True)
class CancelTimer:
    """The timer no longer matters; firing it anyway would be harmless (the engine ignores it)."""

    execution_id: str
    timer_id: str

    @property
    def id(self) -> str:
        return f"{self.execution_id}#timer:{self.timer_id}:cancel"

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


# ---------------------------------------------------------------- task requests (topics: tasks, activities)


@dataclass(frozen=True)
class TaskRequested:
    """Run a task: call ``handler`` with ``payload``, answer with SendTaskSuccess or SendTaskFailure.

    With ``wait_for_callback`` the handler's return value is ignored: the task ends when someone
    sends a result for ``task_token``. Activity and callback tasks go to the activities topic.
    """

    execution_id: str
    task_token: str
    resource: str
    handler: str
    payload: Any
    state: str
    heartbeat_seconds: int | None = None
    wait_for_callback: bool = False

    def __post_init__(self) -> None:
        owner, _ = parse_task_token(self.task_token)
        if owner != self.execution_id:
            raise ValueError(f"the task token belongs to {owner!r}, not to {self.execution_id!r}")

    @classmethod
    def from_effect(cls, execution_id: str, run_task: Any) -> TaskRequested:
        """The wire form of an engine ``RunTask`` effect.

        The service gives the engine :func:`~topics.ids.public_task_token` as its token factory,
        so the effect's token is already the public one.
        """
        return cls(execution_id, run_task.token, run_task.resource, run_task.handler, run_task.payload,
                   run_task.state, run_task.heartbeat_seconds, run_task.wait_for_callback)

    @property
    def external(self) -> bool:
        """For workers outside the service: an activity, or a ``.waitForTaskToken`` integration."""
        return self.wait_for_callback or bool(_ACTIVITY_ARN.match(self.resource))

    @property
    def id(self) -> str:
        return f"{self.execution_id}#task:{parse_task_token(self.task_token)[1]}"

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


# ---------------------------------------------------------------- correlation (topic: messages)


class _Correlated:
    correlation_key: str
    correlation_value: Any

    def __post_init__(self) -> None:
        correlation_record_key(self.correlation_key, self.correlation_value)  # refuse what has no key

    @property
    def partition_key(self) -> bytes:
        return correlation_record_key(self.correlation_key, self.correlation_value)


@dataclass(frozen=True)
class ExternalMessage(_Correlated):
    """A message for the executions waiting on (correlation key, value) in a Message state.

    Kept until ``ttl_seconds`` after ``sent_at`` if nobody waits yet (null: not kept). With
    ``single_consumer`` it resumes one waiting execution (the oldest subscription), else all.
    """

    correlation_key: str
    correlation_value: Any
    data: Any
    message_id: str
    sent_at: float
    ttl_seconds: float | None = None
    single_consumer: bool = False

    @classmethod
    def create(cls, key: str, value: Any, data: Any, *, message_id: str | None = None,
               ttl_seconds: float | None = None, single_consumer: bool = False,
               sent_at: float | None = None) -> ExternalMessage:
        """A message with a fresh UUID ``message_id`` and ``sent_at`` now unless given."""
        return cls(key, value, data, message_id or str(uuid.uuid4()),
                   time.time() if sent_at is None else sent_at, ttl_seconds, single_consumer)

    @property
    def id(self) -> str:
        return self.message_id


@dataclass(frozen=True)
class Subscribe(_Correlated):
    """An execution waits for a message with this correlation key and value."""

    correlation_key: str
    correlation_value: Any
    subscription_id: str
    execution_id: str
    created_at: float

    @property
    def id(self) -> str:
        return f"{self.execution_id}#subscription:{self.subscription_id}"


@dataclass(frozen=True)
class Unsubscribe(_Correlated):
    """The execution no longer waits (its wait ended otherwise: timeout, stop, catch)."""

    correlation_key: str
    correlation_value: Any
    subscription_id: str
    execution_id: str

    @property
    def id(self) -> str:
        return f"{self.execution_id}#subscription:{self.subscription_id}:cancel"


# ---------------------------------------------------------------- dead letters (topic: dead_letters)


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be decoded or applied, where it was, and why. Keyed by its original key."""

    topic: str
    partition: int
    offset: int
    key: str | None
    reason: str
    payload_text: str | None

    @classmethod
    def from_raw(cls, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                 reason: str) -> DeadLetter:
        """From the raw Kafka record; bytes that are not UTF-8 are kept as replacement characters."""
        return cls(topic, partition, offset, _text(key), reason, _text(value))

    @property
    def id(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"

    @property
    def partition_key(self) -> bytes | None:
        return None if self.key is None else self.key.encode()


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


Record = Command | ExecutionEvent | ExecutionRejected | ScheduleTimer | CancelTimer | TaskRequested | \
    ExternalMessage | Subscribe | Unsubscribe | DeadLetter

#: Every record type by its wire name.
RECORD_TYPES: dict[str, type[Record]] = {cls.__name__: cls for cls in (
    StartExecution, StopExecution, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat, TimerFired, MessageDelivered,
    ChildExecutionFinished, ExecutionEvent, ExecutionRejected, ScheduleTimer, CancelTimer, TaskRequested,
    ExternalMessage, Subscribe, Unsubscribe, DeadLetter,
)}

_TOPIC_ROLES: dict[type[Record], str] = {
    **dict.fromkeys((StartExecution, StopExecution, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat, TimerFired,
                     MessageDelivered, ChildExecutionFinished), "commands"),
    ExecutionEvent: "events", ExecutionRejected: "events",
    ScheduleTimer: "timers", CancelTimer: "timers",
    ExternalMessage: "messages", Subscribe: "messages", Unsubscribe: "messages",
    DeadLetter: "dead_letters",
}


def topic_role(record: Record) -> str:
    """The catalogue attribute of the topic ``record`` travels on (``"commands"``, ``"tasks"``...)."""
    if isinstance(record, TaskRequested):
        return "activities" if record.external else "tasks"
    return _TOPIC_ROLES[type(record)]
