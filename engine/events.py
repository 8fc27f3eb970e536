"""What goes into the engine (events) and what comes out (effects and history).

Events are the commands of an execution, already decoded; effects are the engine's requests
to the world (run a task, schedule a timer, subscribe to a correlation, report the outcome).
All are small frozen dataclasses so they can be compared in tests and encoded on the bus.
Times are POSIX seconds (float, UTC), supplied by the caller: the engine never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------- events (input)


@dataclass(frozen=True)
class Start:
    """Start the execution with this input."""

    input: Any = None


@dataclass(frozen=True)
class TaskSucceeded:
    """A task (or a callback for ``.waitForTaskToken``) finished with ``output``."""

    token: str
    output: Any = None


@dataclass(frozen=True)
class TaskFailed:
    """A task failed with an ASL error name and cause."""

    token: str
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class TaskHeartbeat:
    """A task is still alive: its HeartbeatSeconds timer restarts."""

    token: str


@dataclass(frozen=True)
class TimerFired:
    """A timer the engine scheduled is due."""

    timer_id: str


@dataclass(frozen=True)
class MessageDelivered:
    """An external message matched a Message state's subscription."""

    subscription_id: str
    data: Any = None
    message_id: str | None = None


@dataclass(frozen=True)
class Stop:
    """Abort the execution (StopExecution)."""

    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class ChildExecutionFinished:
    """A child execution (a distributed Map iteration) ended."""

    child_id: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None


Event = Start | TaskSucceeded | TaskFailed | TaskHeartbeat | TimerFired | MessageDelivered | Stop | \
    ChildExecutionFinished

# ---------------------------------------------------------------- effects (output)


@dataclass(frozen=True)
class RunTask:
    """Invoke ``handler`` with ``payload``; answer with TaskSucceeded/TaskFailed(token).

    ``handler`` is the name handlers are registered under: the Lambda function name for
    Lambda resources, else the resource string itself. With ``wait_for_callback`` the
    handler's return value is ignored: the task ends when someone reports on ``token``.
    """

    token: str
    resource: str
    handler: str
    payload: Any
    state: str
    wait_for_callback: bool = False
    heartbeat_seconds: int | None = None


@dataclass(frozen=True)
class ScheduleTimer:
    """Deliver TimerFired(timer_id) at ``fire_at`` (never before)."""

    timer_id: str
    fire_at: float
    purpose: str


@dataclass(frozen=True)
class CancelTimer:
    """The timer no longer matters (its wait ended otherwise)."""

    timer_id: str


@dataclass(frozen=True)
class Subscribe:
    """Wait for a message with this correlation key and value."""

    subscription_id: str
    correlation_key: str
    correlation_value: Any
    state: str


@dataclass(frozen=True)
class Unsubscribe:
    """Stop waiting for that correlation (the wait ended otherwise)."""

    subscription_id: str
    correlation_key: str
    correlation_value: Any


@dataclass(frozen=True)
class ExecutionFinished:
    """The execution reached a terminal status."""

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class StartChildExecution:
    """Run a distributed Map iteration as its own execution: ``scope`` of this definition, with ``input``."""

    child_id: str
    scope: str
    input: Any
    index: int


@dataclass(frozen=True)
class StopChildExecution:
    """The parent no longer needs this child execution (the Map failed or the parent ended)."""

    child_id: str


Effect = RunTask | ScheduleTimer | CancelTimer | Subscribe | Unsubscribe | ExecutionFinished | \
    StartChildExecution | StopChildExecution


@dataclass(frozen=True)
class HistoryEvent:
    """One entry of the execution history, numbered from 1 as AWS numbers them."""

    id: int
    type: str
    timestamp: float
    previous_id: int = 0
    details: dict[str, Any] = field(default_factory=dict)
