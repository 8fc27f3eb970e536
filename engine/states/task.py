"""The Task state: ask a handler for a result, with timeouts, heartbeats and Lambda shapes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import events as ev
from engine import resources
from engine.dataflow import check_result_size
from engine.errors import EvaluationError, StatesError, StatesFailure
from engine.model import Wait
from engine.states.basic import compact_json

if TYPE_CHECKING:
    from engine.dataflow import StateData
    from engine.interpreter import Interpreter
    from engine.model import Frame


def run_task(it: Interpreter, frame: Frame, state: dict[str, Any]) -> None:
    token = it.new_task_token()
    data = it.state_data(frame, state, Task={"Token": token})
    task_input = data.effective_input()
    resource = str(data.evaluate("Resource", state["Resource"]))
    invocation = resources.resolve(resource, task_input)
    timeout = _seconds_field(data, "TimeoutSeconds")
    heartbeat = _seconds_field(data, "HeartbeatSeconds")
    it.snapshot.tasks[token] = frame.id
    wait = Wait(kind="task", token=token, resource=resource, invocation=dict(vars(invocation)),
                heartbeat_seconds=heartbeat)
    if timeout is not None:
        wait.timer = it.schedule_timer(frame, it.now + timeout, "task_timeout")
    if heartbeat is not None:
        wait.heartbeat_timer = it.schedule_timer(frame, it.now + heartbeat, "heartbeat_timeout")
    it.block(frame, wait)
    prefix = invocation.history_prefix
    it.record(f"{prefix}Scheduled", {"resource": resource, "input": invocation.payload, "token": token})
    it.record(f"{prefix}Started", {"resource": resource})
    it.emit(ev.RunTask(token, resource, invocation.handler, invocation.payload, frame.state,
                       invocation.wait_for_callback, heartbeat))


def task_succeeded(it: Interpreter, frame: Frame, output: Any) -> None:
    wait = frame.wait
    assert wait is not None and wait.invocation is not None
    invocation = resources.Invocation(**wait.invocation)
    it.release_wait(frame)
    check_result_size(output, resources.data_limit_owner(invocation))  # the caller fails the state on raise
    result = resources.shape_result(invocation, output)
    it.record(f"{invocation.history_prefix}Succeeded", {"output": result})
    it.complete_state(frame, result)


def task_failed(it: Interpreter, frame: Frame, error: str | None, cause: str | None) -> None:
    wait = frame.wait
    assert wait is not None and wait.invocation is not None
    invocation = resources.Invocation(**wait.invocation)
    name, shaped_cause = resources.shape_error(invocation, error, cause)
    it.record(f"{invocation.history_prefix}Failed", {"error": name, "cause": shaped_cause})
    it.fail_state(frame, StatesFailure(name, shaped_cause))


def task_timed_out(it: Interpreter, frame: Frame, purpose: str) -> None:
    wait = frame.wait
    assert wait is not None and wait.invocation is not None
    invocation = resources.Invocation(**wait.invocation)
    error = StatesError.HEARTBEAT_TIMEOUT if purpose == "heartbeat_timeout" else StatesError.TIMEOUT
    it.record(f"{invocation.history_prefix}TimedOut", {"error": error.value})
    it.fail_state(frame, StatesFailure(error.value, None))


def task_heartbeat(it: Interpreter, frame: Frame) -> None:
    """Restart the heartbeat timer: the worker is alive."""
    wait = frame.wait
    if wait is None or wait.heartbeat_seconds is None:
        return
    it.cancel_timer(wait.heartbeat_timer)
    wait.heartbeat_timer = it.schedule_timer(frame, it.now + wait.heartbeat_seconds, "heartbeat_timeout")


def _seconds_field(data: StateData, field: str) -> int | None:
    """TimeoutSeconds/HeartbeatSeconds, or their *Path form read from the state's input."""
    state = data.state
    if field in state:
        value = data.evaluate(field, state[field])
        source = f"The {field} field"
    elif f"{field}Path" in state:
        path = state[f"{field}Path"]
        effective = data.apply_path("InputPath", data.raw_input)
        value = data.apply_path_value(f"{field}Path", path, effective)
        source = f"The {field}Path field refers to value"
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        error = StatesError.QUERY_EVALUATION_ERROR if data.jsonata else StatesError.RUNTIME
        raise EvaluationError(error, f"{source} {compact_json(value)} which is not a positive integer")
    return value
