"""The engine's pure entry point: (definition, snapshot, event, now) -> transition.

``step`` never mutates its arguments, reads no clock and does no I/O: the same inputs give
the same transition, so a command can be replayed, and every event is idempotent. An event
that refers to nothing pending (a duplicate task result, a timer already cancelled, a second
Start) is stale and yields an unchanged snapshot with no effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine import events as ev
from engine.dataflow import MAX_PAYLOAD_BYTES, payload_size
from engine.definition import Definition
from engine.interpreter import Interpreter, TokenFactory
from engine.model import READY, Frame, Snapshot
from engine.states import basic, child_executions, message, task
from engine.timefmt import iso

__all__ = ["Transition", "apply_event", "new_snapshot", "step"]


@dataclass
class Transition:
    """The result of one step: the new snapshot, effects to carry out, history to record."""

    snapshot: Snapshot
    effects: list[ev.Effect] = field(default_factory=list)
    history: list[ev.HistoryEvent] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.history or self.effects)


def new_snapshot(execution_id: str, name: str | None = None, *, root_scope: str = "",
                 parent_execution: str | None = None) -> Snapshot:
    """An execution that has not started yet: feed it :class:`engine.events.Start`.

    A child execution of a distributed Map runs ``root_scope`` (its ItemProcessor's pointer) and
    reports to ``parent_execution``.
    """
    return Snapshot(execution_id=execution_id, name=name or execution_id.rsplit(":", 1)[-1],
                    root_scope=root_scope, parent_execution=parent_execution)


def step(definition: Definition, snapshot: Snapshot, event: ev.Event, now: float,
         *, context: dict[str, Any] | None = None, task_token: TokenFactory | None = None) -> Transition:
    """Apply ``event`` to a copy of ``snapshot`` at time ``now`` (POSIX seconds).

    Args:
        definition: the validated definition (see :func:`engine.load_definition`).
        snapshot: the execution's state; not modified.
        event: what happened.
        now: the current time, from the caller's clock.
        context: names for the context object: ``state_machine_id``, ``state_machine_name``, ``role_arn``.
        task_token: makes task tokens from (execution id, deterministic id); the default uses the id.
    """
    working = snapshot.copy()
    return apply_event(definition, working, event, now, context=context, task_token=task_token)


def apply_event(definition: Definition, snapshot: Snapshot, event: ev.Event, now: float,
                *, context: dict[str, Any] | None = None, task_token: TokenFactory | None = None) -> Transition:
    """Like :func:`step`, but updates ``snapshot`` in place (for callers that own it)."""
    it = Interpreter(definition, snapshot, now, context=context or {}, task_token=task_token)
    if not snapshot.finished:
        _dispatch(it, event)
        it.run()
    return Transition(snapshot, it.effects, it.history)


def _dispatch(it: Interpreter, event: ev.Event) -> None:
    snap = it.snapshot
    match event:
        case ev.Start():
            if not snap.frames and snap.event_count == 0:
                _start(it, event.input)
        case ev.TaskSucceeded():
            _on_task(it, snap.tasks.pop(event.token, None), task.task_succeeded, event.output)
        case ev.TaskFailed():
            _on_task(it, snap.tasks.pop(event.token, None), task.task_failed, event.error, event.cause)
        case ev.TaskHeartbeat():
            _on_task(it, snap.tasks.get(event.token), task.task_heartbeat)
        case ev.TimerFired():
            _timer_fired(it, event.timer_id)
        case ev.MessageDelivered():
            _on_task(it, snap.subscriptions.get(event.subscription_id), message.message_delivered, event.data)
        case ev.Stop():
            it.finish_execution("ABORTED", error=event.error, cause=event.cause)
        case ev.ChildExecutionFinished():
            child_executions.child_finished(it, event)


def _on_task(it: Interpreter, frame_id: str | None, handler: Any, *args: Any) -> None:
    """Hand an answer to the frame waiting for it; an answer nobody waits for is stale."""
    frame = _frame(it, frame_id)
    if frame is not None:
        it.guarded(frame, handler, *args)


def _frame(it: Interpreter, frame_id: str | None) -> Frame | None:
    return it.snapshot.frames.get(frame_id) if frame_id is not None else None


def _start(it: Interpreter, execution_input: Any) -> None:
    snap = it.snapshot
    snap.input = execution_input
    snap.start_time = iso(it.now)
    it.record("ExecutionStarted", {"input": execution_input})
    root = Frame(id="0", scope=snap.root_scope, state="", input=execution_input)
    timeout = it.definition.timeout_seconds
    if timeout is not None:
        snap.timers["execution_timeout"] = {"frame": None, "purpose": "execution_timeout",
                                            "fire_at": it.now + timeout}
        it.emit(ev.ScheduleTimer("execution_timeout", it.now + timeout, "execution_timeout"))
    if payload_size(execution_input) > MAX_PAYLOAD_BYTES:
        it.finish_execution("FAILED", error="States.DataLimitExceeded",
                            cause="The execution input exceeds the maximum number of bytes service limit.")
        return
    it.start_frame(root)


def _timer_fired(it: Interpreter, timer_id: str) -> None:
    timer = it.snapshot.timers.pop(timer_id, None)
    if timer is None:
        return  # cancelled or already fired: stale
    purpose = timer["purpose"]
    if purpose == "execution_timeout":
        it.finish_execution("TIMED_OUT")
        return
    frame = _frame(it, timer["frame"])
    if frame is None:
        return
    if purpose in ("task_timeout", "heartbeat_timeout"):
        task.task_timed_out(it, frame, purpose)
    elif purpose == "message_timeout":
        message.message_timed_out(it, frame)
    elif purpose == "wait":
        frame.wait = None
        frame.status = READY
        it.guarded(frame, basic.finish_wait)
    else:  # retry interval elapsed, or a parked frame may continue
        it.resume(frame)
