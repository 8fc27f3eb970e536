"""The commands of stepstream (topic ``commands``, key: execution id): what changes an execution.

Clients send StartExecution, StopExecution and the task answers; the service's timer and
correlation agents send TimerFired and MessageDelivered. Each command has a stable ``id`` (a
re-published command has the same one) and a ``partition_key`` (the execution id, UTF-8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from topics.ids import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    execution_id_for,
    new_execution_name,
    parse_task_token,
)

__all__ = [
    "Command",
    "ChildExecutionFinished",
    "MessageDelivered",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "SendTaskSuccess",
    "StartExecution",
    "StopExecution",
    "TimerFired",
]


@dataclass(frozen=True)
class StartExecution:
    """Start an execution (AWS StartExecution). Starting an existing execution id again is a no-op."""

    state_machine: str
    input: Any
    execution_name: str | None
    version: int | None
    execution_id: str
    parent_execution_id: str | None = None
    root_scope: str | None = None

    @classmethod
    def create(cls, state_machine: str, input: Any, *, name: str | None = None, version: int | None = None,
               region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> StartExecution:
        """A start whose execution id is derived from the state machine and ``name`` (a UUID if None)."""
        name = new_execution_name() if name is None else name
        execution_id = execution_id_for(state_machine, name, region=region, account=account)
        return cls(state_machine, input, name, version, execution_id)

    @property
    def id(self) -> str:
        return f"{self.execution_id}#start"

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


@dataclass(frozen=True)
class StopExecution:
    """Abort a running execution (AWS StopExecution); it ends with ExecutionAborted."""

    execution_id: str
    error: str | None = None
    cause: str | None = None

    @property
    def id(self) -> str:
        return f"{self.execution_id}#stop"

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


class _TokenCommand:
    """Shared by the task answers: the token names the execution, which is the record key."""

    task_token: str

    def __post_init__(self) -> None:
        parse_task_token(self.task_token)  # refuse a token that cannot be routed

    @property
    def execution_id(self) -> str:
        return parse_task_token(self.task_token)[0]

    @property
    def engine_token(self) -> str:
        return parse_task_token(self.task_token)[1]

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


@dataclass(frozen=True)
class SendTaskSuccess(_TokenCommand):
    """A task (or a ``.waitForTaskToken`` callback) succeeded with ``output``."""

    task_token: str
    output: Any

    @property
    def id(self) -> str:
        return f"{self.execution_id}#task:{self.engine_token}:result"


@dataclass(frozen=True)
class SendTaskFailure(_TokenCommand):
    """A task failed with an error name and a cause (both optional, as in AWS)."""

    task_token: str
    error: str | None = None
    cause: str | None = None

    @property
    def id(self) -> str:
        return f"{self.execution_id}#task:{self.engine_token}:result"


@dataclass(frozen=True)
class SendTaskHeartbeat(_TokenCommand):
    """The worker of a task is alive: its HeartbeatSeconds timer restarts.

    ``sent_at`` tells heartbeats of one task apart (each one counts), so their ids differ.
    """

    task_token: str
    sent_at: float | None = None

    @property
    def id(self) -> str:
        return f"{self.execution_id}#task:{self.engine_token}:heartbeat@{self.sent_at!r}"


@dataclass(frozen=True)
class TimerFired:
    """The timer service: timer ``timer_id`` of the execution is due (sent at or after ``fire_at``)."""

    execution_id: str
    timer_id: str
    fire_at: float

    @property
    def id(self) -> str:
        return f"{self.execution_id}#timer:{self.timer_id}:fired"

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


@dataclass(frozen=True)
class MessageDelivered:
    """The correlation service: an external message matched the execution's subscription."""

    execution_id: str
    subscription_id: str
    data: Any
    message_id: str | None = None

    @property
    def id(self) -> str:
        return f"{self.execution_id}#subscription:{self.subscription_id}:delivered"

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


@dataclass(frozen=True)
class ChildExecutionFinished:
    """The service: a child execution (an iteration of a distributed Map) ended; sent to its parent."""

    execution_id: str
    child_execution_id: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None

    @property
    def id(self) -> str:
        return f"{self.execution_id}#child:{self.child_execution_id}"

    @property
    def partition_key(self) -> bytes:
        return self.execution_id.encode()


Command = StartExecution | StopExecution | SendTaskSuccess | SendTaskFailure | SendTaskHeartbeat | TimerFired | \
    MessageDelivered | ChildExecutionFinished
