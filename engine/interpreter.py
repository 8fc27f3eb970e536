"""The interpreter: applies one event to an execution and runs it forward as far as it can.

It mutates a :class:`~engine.model.Snapshot` it owns and collects effects and history; the
pure entry point :func:`engine.step.step` wraps it. States are executed by the handlers in
``engine.states`` (one module per family), which call back into the few primitives here:
enter a state, leave it with an output, block on a wait, fail with an ASL error.

A step never waits: a chain of Pass/Choice states runs to completion inside one call, and a
Task, Wait, Message or timeout turns into effects and a blocked frame.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from engine import events as ev
from engine.context import EvalContext
from engine.dataflow import StateData
from engine.definition import Definition
from engine.errors import EvaluationError, StatesFailure
from engine.model import CANCELLED, DONE, FAILED_FRAME, READY, WAITING, Frame, Snapshot, Wait
from engine.timefmt import iso

#: Transitions one step may make before it parks the execution on an immediate timer, so a
#: state machine that loops without waiting cannot monopolise a worker.
MAX_TRANSITIONS_PER_STEP = 10_000

#: Makes a task token from (execution id, deterministic id); see Interpreter.new_task_token.
TokenFactory = Callable[[str, str], str]

_TOKEN_NAMESPACE = uuid.UUID("5a1f3c62-0d6b-4f3e-9d7e-2b8f0c6a9e41")


class Interpreter:
    """Runs one event against one execution snapshot."""

    def __init__(self, definition: Definition, snapshot: Snapshot, now: float, *, context: dict,
                 task_token: TokenFactory | None = None) -> None:
        self.definition = definition
        self.snapshot = snapshot
        self.now = now
        self.context = context  # {"state_machine_id", "state_machine_name", "role_arn"}
        self._task_token = task_token
        self.effects: list[ev.Effect] = []
        self.history: list[ev.HistoryEvent] = []
        self._ready: deque[str] = deque()
        self._transitions = 0

    # ------------------------------------------------------------------ ids and history

    def new_id(self) -> str:
        """A deterministic id (task token, timer, subscription): execution id + sequence."""
        seq = self.snapshot.next_seq()
        return str(uuid.uuid5(_TOKEN_NAMESPACE, f"{self.snapshot.execution_id}#{seq}"))

    def new_task_token(self) -> str:
        """A task token: the deterministic id, wrapped by the caller's factory if it has one.

        The service wraps it so that a token carries its execution id and an answer from any
        worker can be routed to the execution's partition without a lookup.
        """
        token = self.new_id()
        return self._task_token(self.snapshot.execution_id, token) if self._task_token else token

    def rng(self) -> random.Random:
        """A random source seeded by execution id and sequence, so replays draw the same values."""
        return random.Random(f"{self.snapshot.execution_id}#{self.snapshot.next_seq()}")

    def record(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        snap = self.snapshot
        snap.event_count += 1
        self.history.append(ev.HistoryEvent(snap.event_count, event_type, self.now, 0, details or {}))
        return snap.event_count

    def emit(self, effect: ev.Effect) -> None:
        self.effects.append(effect)

    # ------------------------------------------------------------------ evaluation context

    def eval_context(self, frame: Frame, state: dict[str, Any], **extra: Any) -> EvalContext:
        snap = self.snapshot
        state_ctx: dict[str, Any] = {"EnteredTime": frame.entered_time, "Name": frame.state}
        if state.get("Type") in ("Task", "Parallel", "Map", "Message"):
            state_ctx["RetryCount"] = sum(frame.retry_counts.values())
        context: dict[str, Any] = {
            "Execution": {
                "Id": snap.execution_id,
                "Input": snap.input,
                "StartTime": snap.start_time,
                "Name": snap.name,
                "RoleArn": self.context.get("role_arn", "arn:aws:iam::111111111111:role/stepstream"),
            },
            "StateMachine": {
                "Id": self.context.get("state_machine_id", ""),
                "Name": self.context.get("state_machine_name", ""),
            },
            "State": state_ctx,
        }
        if self.context.get("state_machine_type", "STANDARD") == "STANDARD":
            context["Execution"]["RedriveCount"] = 0  # express executions cannot be redriven
        context.update(extra)
        if frame.map_item is not None and "Map" not in context:
            context["Map"] = {"Item": frame.map_item}
        seed = f"{snap.execution_id}#{snap.event_count}#{frame.id}"
        return EvalContext(context, self.visible_variables(frame), state_name=frame.state, seed=seed)

    def visible_variables(self, frame: Frame) -> dict[str, Any]:
        """Variables a frame reads: its own over those of the frames that spawned it."""
        chain = [frame.variables]
        parent = frame.parent
        while parent is not None:
            outer = self.snapshot.frames[parent]
            chain.append(outer.variables)
            parent = outer.parent
        if len(chain) == 1:
            return frame.variables
        merged: dict[str, Any] = {}
        for scope in reversed(chain):
            merged.update(scope)
        return merged

    def state_data(self, frame: Frame, state: dict[str, Any], **extra: Any) -> StateData:
        language = self.definition.query_language(frame.scope, state)
        return StateData(state, language, frame.input, self.eval_context(frame, state, **extra))

    # ------------------------------------------------------------------ frame lifecycle

    def start_frame(self, frame: Frame) -> None:
        self.snapshot.frames[frame.id] = frame
        self.enter(frame, self.definition.scopes[frame.scope].start_at, frame.input)

    def enter(self, frame: Frame, name: str, data: Any) -> None:
        """Enter state ``name`` of the frame's scope with ``data`` as its raw input."""
        state = self.definition.state(frame.scope, name)
        frame.state = name
        frame.input = data
        frame.retry_counts = {}
        frame.wait = None
        frame.fanout = None
        frame.status = READY
        frame.entered_time = iso(self.now)
        frame.entered_event_id = self.record(f"{state['Type']}StateEntered", {"name": name, "input": data})
        self.snapshot.transitions += 1
        self._ready.append(frame.id)

    def resume(self, frame: Frame) -> None:
        """Run the frame's current state again (after a retry interval or continue timer)."""
        frame.status = READY
        frame.wait = None
        self._ready.append(frame.id)

    def leave(self, frame: Frame, output: Any, assigned: dict[str, Any] | None = None,
              next_state: str | None = None) -> None:
        """The current state is done with ``output``; go to its Next (or ``next_state``) or end."""
        state = self.definition.state(frame.scope, frame.state)
        if assigned:
            frame.variables = {**frame.variables, **assigned}
        self.record(f"{state['Type']}StateExited", {"name": frame.state, "output": output})
        target = next_state or state.get("Next")
        if target is None or (state.get("End") and next_state is None):
            self.frame_done(frame, output)
        else:
            self.enter(frame, target, output)

    def complete_state(self, frame: Frame, result: Any) -> None:
        """The current state produced ``result``: shape the output (or fail the state), then leave."""
        state = self.definition.state(frame.scope, frame.state)
        try:
            output, assigned = self.state_data(frame, state).finish(result)
        except StatesFailure as failure:
            self.fail_state(frame, failure)
            return
        self.leave(frame, output, assigned)

    def block(self, frame: Frame, wait: Wait) -> None:
        frame.status = WAITING
        frame.wait = wait

    def schedule_timer(self, frame: Frame, fire_at: float, purpose: str) -> str:
        timer_id = self.new_id()
        self.snapshot.timers[timer_id] = {"frame": frame.id, "purpose": purpose, "fire_at": fire_at}
        self.emit(ev.ScheduleTimer(timer_id, fire_at, purpose))
        return timer_id

    def cancel_timer(self, timer_id: str | None) -> None:
        if timer_id is not None and self.snapshot.timers.pop(timer_id, None) is not None:
            self.emit(ev.CancelTimer(timer_id))

    def frame_done(self, frame: Frame, output: Any) -> None:
        from engine.states import fanout

        frame.status = DONE
        frame.output = output
        if frame.parent is None:
            self.finish_execution("SUCCEEDED", output=output)
        else:
            fanout.child_finished(self, frame)

    def frame_failed(self, frame: Frame, error: str | None, cause: str | None) -> None:
        from engine.states import fanout

        frame.status = FAILED_FRAME
        frame.error, frame.cause = error, cause
        if frame.parent is None:
            self.finish_execution("FAILED", error=error, cause=cause)
        else:
            fanout.child_failed(self, frame)

    def cancel_frame(self, frame_id: str) -> None:
        """Drop a frame and everything it spawned, cancelling what they wait for."""
        snap = self.snapshot
        for child_id in [fid for fid, f in snap.frames.items() if f.parent == frame_id]:
            self.cancel_frame(child_id)
        frame = snap.frames.pop(frame_id, None)
        if frame is None:
            return
        frame.status = CANCELLED
        self.release_wait(frame)
        if frame.fanout is not None:
            from engine.states.fanout import abort_children

            abort_children(self, frame)  # child executions of a distributed Map are stopped

    def release_wait(self, frame: Frame) -> None:
        """Forget what the frame waits for: late answers to it become stale and are ignored."""
        wait, snap = frame.wait, self.snapshot
        frame.wait = None
        if wait is None:
            return
        if wait.kind == "task" and wait.token:
            snap.tasks.pop(wait.token, None)
        if wait.kind == "message" and wait.token and snap.subscriptions.pop(wait.token, None):
            corr = wait.correlation or {}
            self.emit(ev.Unsubscribe(wait.token, corr.get("key", ""), corr.get("value")))
        self.cancel_timer(wait.timer)
        self.cancel_timer(wait.heartbeat_timer)

    def finish_execution(self, status: str, *, output: Any = None, error: str | None = None,
                         cause: str | None = None) -> None:
        snap = self.snapshot
        if snap.finished:
            return
        for frame_id in [fid for fid, f in snap.frames.items() if f.parent is None]:
            self.cancel_frame(frame_id)
        for timer_id in list(snap.timers):
            self.cancel_timer(timer_id)
        snap.frames.clear()
        snap.status, snap.output, snap.error, snap.cause = status, output, error, cause
        snap.stop_time = iso(self.now)
        details: dict[str, Any] = {"output": output} if status == "SUCCEEDED" else {"error": error, "cause": cause}
        self.record(_FINISH_EVENTS[status], details)
        self.emit(ev.ExecutionFinished(status, output, error, cause))

    # ------------------------------------------------------------------ running

    def run(self) -> None:
        """Execute ready frames until every frame is blocked, finished, or the step budget is spent."""
        from engine.states import execute_state

        snap = self.snapshot
        while self._ready and not snap.finished:
            frame = snap.frames.get(self._ready.popleft())
            if frame is None or frame.status != READY:
                continue
            if self._transitions >= MAX_TRANSITIONS_PER_STEP:
                self._park(frame)
                continue
            self._transitions += 1
            try:
                execute_state(self, frame)
            except StatesFailure as failure:
                self.fail_state(frame, failure)

    def guarded(self, frame: Frame, handler: Any, *args: Any) -> None:
        """Run ``handler(self, frame, *args)``; an ASL error it raises fails the frame's state."""
        try:
            handler(self, frame, *args)
        except StatesFailure as failure:
            self.fail_state(frame, failure)

    def _park(self, frame: Frame) -> None:
        timer = self.schedule_timer(frame, self.now, "continue")
        self.block(frame, Wait(kind="continue", timer=timer))

    def fail_state(self, frame: Frame, failure: StatesFailure) -> None:
        """An ASL error in the frame's current state: Retry, Catch, or fail the frame."""
        from engine.states.errors import handle_error

        cause = failure.cause
        if isinstance(failure, EvaluationError):
            prefix = (f"An error occurred while executing the state '{frame.state}' "
                      f"(entered at the event id #{frame.entered_event_id}).")
            cause = f"{prefix} {cause}" if cause else prefix
        handle_error(self, frame, str(failure.error), cause)


_FINISH_EVENTS = {
    "SUCCEEDED": "ExecutionSucceeded",
    "FAILED": "ExecutionFailed",
    "TIMED_OUT": "ExecutionTimedOut",
    "ABORTED": "ExecutionAborted",
}
