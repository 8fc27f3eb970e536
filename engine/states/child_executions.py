"""Distributed Map iterations as child executions (in the service).

AWS runs each iteration of a DISTRIBUTED Map as its own child execution. When the caller
enables it (``context["child_executions"]``, as the Kafka service does), the engine does the same:
an iteration becomes a StartChildExecution effect (a new execution, keyed and partitioned by its
own id, so one huge Map spreads over every worker) and its outcome comes back as a
ChildExecutionFinished event. The local runner keeps iterations as frames of one snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import events as ev
from engine.definition import _escape

if TYPE_CHECKING:
    from engine.interpreter import Interpreter
    from engine.model import Frame

#: The error a child execution's non-success status becomes in the parent Map.
_STATUS_ERRORS = {"TIMED_OUT": "States.Timeout", "ABORTED": "States.Aborted"}


def enabled(it: Interpreter, state: dict[str, Any]) -> bool:
    processor = state.get("ItemProcessor") or {}
    mode = (processor.get("ProcessorConfig") or {}).get("Mode")
    return bool(it.context.get("child_executions")) and mode == "DISTRIBUTED"


def start(it: Interpreter, frame: Frame, state: dict[str, Any], index: int, child_input: Any) -> str:
    """Ask for iteration ``index`` to run as a child execution; returns the child's id."""
    label = state.get("Label") or frame.state
    child_id = f"{it.snapshot.execution_id}/{label}:{it.new_id()[:8]}-{index}"
    scope = f"{frame.scope}/States/{_escape(frame.state)}/ItemProcessor"
    it.snapshot.children[child_id] = [frame.id, index]
    it.emit(ev.StartChildExecution(child_id, scope, child_input, index))
    return child_id


def stop(it: Interpreter, child_id: str) -> bool:
    """Stop a running child execution; False when ``child_id`` is not one (a frame instead)."""
    if it.snapshot.children.pop(child_id, None) is None:
        return False
    it.emit(ev.StopChildExecution(child_id))
    return True


def child_finished(it: Interpreter, event: ev.ChildExecutionFinished) -> None:
    from engine.states import fanout

    entry = it.snapshot.children.pop(event.child_id, None)
    if entry is None:
        return  # stopped, or already reported: stale
    parent = it.snapshot.frames.get(entry[0])
    if parent is None or parent.fanout is None:
        return
    if event.status == "SUCCEEDED":
        fanout.iteration_succeeded(it, parent, event.child_id, entry[1], event.output)
    else:
        error = event.error or _STATUS_ERRORS.get(event.status, "States.TaskFailed")
        fanout.iteration_failed(it, parent, event.child_id, entry[1], error, event.cause)
