"""The execution snapshot: everything the engine needs to continue an execution.

A snapshot is plain data that serialises to JSON (it lives in Postgres). It holds *frames*:
one per running state-machine body. The top-level body is the frame "0"; a Parallel branch
or a Map iteration is a child frame of the frame whose Parallel/Map state spawned it, so a
whole execution, however parallel, is one snapshot owned by one partition.

Pending waits are indexed by id (task token, timer id, subscription id), which is what makes
every input event idempotent: an event whose id is not pending is stale and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from engine.errors import SnapshotError

SNAPSHOT_FORMAT = 1

# Execution statuses, as AWS names them.
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"
TERMINAL_STATUSES = frozenset({SUCCEEDED, FAILED, TIMED_OUT, ABORTED})

# Frame statuses.
READY = "ready"  # can run its current state now
WAITING = "waiting"  # blocked on a task, timer, message or children
DONE = "done"
FAILED_FRAME = "failed"
CANCELLED = "cancelled"


@dataclass
class Wait:
    """What a blocked frame waits for; ``kind`` is task, timer, message, retry or children."""

    kind: str
    token: str | None = None  # task token or subscription id
    timer: str | None = None  # the timer that ends this wait (a Wait state, retry interval, timeout)
    heartbeat_timer: str | None = None
    resource: str | None = None
    invocation: dict[str, Any] | None = None  # how the task was invoked (lambda shaping)
    heartbeat_seconds: int | None = None
    correlation: dict[str, Any] | None = None
    timeout_state: str | None = None  # Message TimeoutPath: the state to enter on timeout


@dataclass
class Fanout:
    """Progress of a Parallel or Map state running its children."""

    kind: str  # "parallel" | "map"
    total: int
    items: list[Any] = field(default_factory=list)  # the inputs not yet started, by index
    next_index: int = 0
    max_concurrency: int = 0  # 0: no limit
    running: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    finished: int = 0
    failures: int = 0
    tolerated_count: int | None = None
    tolerated_percentage: float | None = None
    state_input: Any = None  # the Parallel/Map state's raw input (ResultPath merges into it)
    child_executions: bool = False  # distributed Map in the service: iterations are executions


@dataclass
class Frame:
    """One running state-machine body (top level, Parallel branch or Map iteration)."""

    id: str
    scope: str
    state: str
    input: Any
    status: str = READY
    parent: str | None = None
    index: int = 0  # the branch or item index within the parent
    entered_event_id: int = 0
    entered_time: str = ""
    retry_counts: dict[str, int] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    wait: Wait | None = None
    fanout: Fanout | None = None
    map_item: dict[str, Any] | None = None  # $$.Map.Item for an iteration
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass
class Snapshot:
    """The durable state of one execution."""

    execution_id: str
    name: str
    status: str = RUNNING
    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start_time: str = ""
    stop_time: str | None = None
    seq: int = 0  # the last id handed out to a timer, task token or subscription
    event_count: int = 0  # history events emitted so far (AWS numbers them from 1)
    transitions: int = 0
    frames: dict[str, Frame] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)  # task token -> frame id
    timers: dict[str, dict[str, Any]] = field(default_factory=dict)  # timer id -> {frame, purpose, fire_at}
    subscriptions: dict[str, str] = field(default_factory=dict)  # subscription id -> frame id
    children: dict[str, list[Any]] = field(default_factory=dict)  # child execution id -> [frame id, index]
    root_scope: str = ""  # a child execution of a distributed Map runs its ItemProcessor
    parent_execution: str | None = None  # ... and reports its outcome to this execution
    format: int = SNAPSHOT_FORMAT

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (dicts, lists, scalars), sharing nothing with the snapshot."""
        plain: dict[str, Any] = _plain(self)
        return plain

    def copy(self) -> Snapshot:
        return Snapshot.from_json(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        if data.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(f"snapshot format {data.get('format')!r} is not {SNAPSHOT_FORMAT}")
        try:
            frames = {key: _frame_from_json(value) for key, value in data["frames"].items()}
            known = {f.name for f in fields(cls)}
            values = {k: v for k, v in data.items() if k in known and k != "frames"}
            return cls(frames=frames, **values)
        except (KeyError, TypeError) as exc:
            raise SnapshotError(f"malformed snapshot: {exc}") from exc


def _plain(value: Any) -> Any:
    """Deep copy into plain JSON data; much faster than dataclasses.asdict, which deep-copies via copy."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    names = _FIELD_NAMES.get(type(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    return value


def _frame_from_json(data: dict[str, Any]) -> Frame:
    values = dict(data)
    if values.get("wait") is not None:
        values["wait"] = Wait(**values["wait"])
    if values.get("fanout") is not None:
        values["fanout"] = Fanout(**values["fanout"])
    return Frame(**values)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in (Snapshot, Frame, Wait, Fanout)
}
