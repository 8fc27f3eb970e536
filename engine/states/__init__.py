"""State handlers: one function per state type, dispatched by ``Type``.

A handler runs the frame's current state and ends in exactly one of: ``it.leave`` (done, with
an output), ``it.block`` (waiting for a task, timer, message or children), ``it.frame_failed``
(a Fail state), or raising :class:`~engine.errors.StatesFailure` (the interpreter applies
Retry/Catch). Handlers never sleep, read clocks or do I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.states import basic, fanout, message, task

if TYPE_CHECKING:
    from engine.interpreter import Interpreter
    from engine.model import Frame

Handler = Callable[["Interpreter", "Frame", dict[str, Any]], None]

HANDLERS: dict[str, Handler] = {
    "Pass": basic.run_pass,
    "Choice": basic.run_choice,
    "Wait": basic.run_wait,
    "Succeed": basic.run_succeed,
    "Fail": basic.run_fail,
    "Task": task.run_task,
    "Parallel": fanout.run_parallel,
    "Map": fanout.run_map,
    "Message": message.run_message,
}


def execute_state(it: Interpreter, frame: Frame) -> None:
    state = it.definition.state(frame.scope, frame.state)
    HANDLERS[state["Type"]](it, frame, state)
