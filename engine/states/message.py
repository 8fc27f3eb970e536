"""The Message state (stepstream's extension): pause until a correlated external message arrives.

On entry the state subscribes to (CorrelationKey, correlation value) and, with a timeout,
schedules a timer. Whichever comes first wins and the other is withdrawn in the same step:
a delivery cancels the timer, a timeout unsubscribes, and a late arrival of the loser finds
no pending id and changes nothing. A timeout raises States.Timeout (Retry/Catch apply), or
with ``TimeoutPath`` goes to the named state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import events as ev
from engine.errors import EvaluationError, StatesError, StatesFailure
from engine.model import Wait
from engine.states.basic import compact_json, read_field_path

if TYPE_CHECKING:
    from engine.dataflow import StateData
    from engine.interpreter import Interpreter
    from engine.model import Frame


def run_message(it: Interpreter, frame: Frame, state: dict[str, Any]) -> None:
    data = it.state_data(frame, state)
    effective = data.raw_input if data.jsonata else data.apply_path("InputPath", data.raw_input)
    key = str(state["CorrelationKey"])
    value = _correlation_value(data, effective)
    subscription = it.new_id()
    it.snapshot.subscriptions[subscription] = frame.id
    wait = Wait(kind="message", token=subscription, correlation={"key": key, "value": value},
                timeout_state=state.get("TimeoutPath"))
    timeout = _timeout(data, effective)
    if timeout is not None:
        wait.timer = it.schedule_timer(frame, it.now + timeout, "message_timeout")
    it.block(frame, wait)
    it.record("MessageWaitStarted", {"correlationKey": key, "correlationValue": value})
    it.emit(ev.Subscribe(subscription, key, value, frame.state))


def _correlation_value(data: StateData, effective: Any) -> Any:
    state = data.state
    if "CorrelationValue" in state:
        return data.evaluate("CorrelationValue", state["CorrelationValue"])
    return read_field_path(data, "CorrelationValuePath", state["CorrelationValuePath"], effective)


def _timeout(data: StateData, effective: Any) -> float | None:
    state = data.state
    if "TimeoutSeconds" in state:
        value = data.evaluate("TimeoutSeconds", state["TimeoutSeconds"])
    elif "TimeoutSecondsPath" in state:
        value = read_field_path(data, "TimeoutSecondsPath", state["TimeoutSecondsPath"], effective)
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise EvaluationError(StatesError.RUNTIME,
                              f"The Message timeout must be a positive number of seconds, but was: "
                              f"{compact_json(value)}")
    return float(value)


def message_delivered(it: Interpreter, frame: Frame, message: Any) -> None:
    if frame.wait is not None and frame.wait.token is not None:
        it.snapshot.subscriptions.pop(frame.wait.token, None)
        frame.wait.token = None  # delivered: nothing to unsubscribe
    it.release_wait(frame)
    it.record("MessageReceived", {"data": message})
    it.complete_state(frame, message)


def message_timed_out(it: Interpreter, frame: Frame) -> None:
    timeout_state = frame.wait.timeout_state if frame.wait else None
    if frame.wait is not None:
        frame.wait.timer = None  # it fired: nothing to cancel
    it.release_wait(frame)
    it.record("MessageWaitTimedOut")
    if timeout_state:
        it.leave(frame, frame.input, next_state=timeout_state)
        return
    it.fail_state(frame, StatesFailure(StatesError.TIMEOUT.value, "The Message state timed out"))
