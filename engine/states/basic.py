"""Pass, Choice, Wait, Succeed and Fail: the states that need no outside party."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from engine.choice import match_rule
from engine.errors import EvaluationError, StatesError
from engine.jsonpath import PathNotFound, read_reference, to_json
from engine.model import Wait
from engine.payload import not_found_cause
from engine.timefmt import parse_timestamp

if TYPE_CHECKING:
    from engine.dataflow import StateData
    from engine.interpreter import Interpreter
    from engine.model import Frame


def run_pass(it: Interpreter, frame: Frame, state: dict[str, Any]) -> None:
    data = it.state_data(frame, state)
    if data.jsonata:
        output, assigned = data.finish(data.raw_input)
    else:
        result = state["Result"] if "Result" in state else data.effective_input()
        output, assigned = data.finish(result)
    it.leave(frame, output, assigned)


def run_succeed(it: Interpreter, frame: Frame, state: dict[str, Any]) -> None:
    output, assigned = it.state_data(frame, state).finish(None, has_result=False)
    it.leave(frame, output, assigned)


def run_choice(it: Interpreter, frame: Frame, state: dict[str, Any]) -> None:
    data = it.state_data(frame, state)
    subject = data.raw_input if data.jsonata else data.apply_path("InputPath", data.raw_input)
    for rule in state["Choices"]:
        if _rule_matches(data, rule, subject):
            output, assigned = _choice_output(data, rule)
            it.leave(frame, output, assigned, next_state=rule["Next"])
            return
    if "Default" not in state:
        raise EvaluationError(StatesError.NO_CHOICE_MATCHED, "No Matches!")
    output, assigned = data.finish(None, has_result=False)
    it.leave(frame, output, assigned, next_state=state["Default"])


def _rule_matches(data: StateData, rule: dict[str, Any], subject: Any) -> bool:
    if not data.jsonata:
        return match_rule(rule, subject, data.ctx)
    verdict = data.evaluate("Condition", rule["Condition"])
    if not isinstance(verdict, bool):
        raise EvaluationError(
            StatesError.QUERY_EVALUATION_ERROR,
            f"The Condition field of a Choice rule evaluated to {json.dumps(verdict)}, not a boolean.",
        )
    return verdict


def _choice_output(data: StateData, rule: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A matched rule's own Output/Assign take the place of the state's (AWS: per-rule fields)."""
    rule_fields: dict[str, Any] = {k: rule[k] for k in ("Output", "Assign") if k in rule}
    if not rule_fields:
        return data.finish(None, has_result=False)
    state_view = {k: v for k, v in data.state.items() if k not in ("Output", "Assign")}
    saved = data.state
    data.state = {**state_view, **rule_fields}
    try:
        return data.finish(None, has_result=False)
    finally:
        data.state = saved


def run_wait(it: Interpreter, frame: Frame, state: dict[str, Any]) -> None:
    data = it.state_data(frame, state)
    fire_at = _wait_deadline(it.now, data)
    if fire_at <= it.now:
        finish_wait(it, frame)
        return
    timer = it.schedule_timer(frame, fire_at, "wait")
    it.block(frame, Wait(kind="timer", timer=timer))


def finish_wait(it: Interpreter, frame: Frame) -> None:
    state = it.definition.state(frame.scope, frame.state)
    output, assigned = it.state_data(frame, state).finish(None, has_result=False)
    it.leave(frame, output, assigned)


def _wait_deadline(now: float, data: StateData) -> float:
    state = data.state
    if "Seconds" in state:
        return now + _seconds(data.evaluate("Seconds", state["Seconds"]), "Seconds", data)
    if "Timestamp" in state:
        return _timestamp(data.evaluate("Timestamp", state["Timestamp"]), data)
    effective = data.apply_path("InputPath", data.raw_input)
    if "SecondsPath" in state:
        path = state["SecondsPath"]
        value = _read(data, "SecondsPath", path, effective)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise EvaluationError(
                StatesError.RUNTIME,
                f"The SecondsPath parameter cannot be parsed as a long value: {path} == {_plain(value)}",
            )
        return now + value
    path = state["TimestampPath"]
    value = _read(data, "TimestampPath", path, effective)
    moment = parse_timestamp(value) if isinstance(value, str) and _rfc3339_shape(value) else None
    if moment is None:
        raise EvaluationError(
            StatesError.RUNTIME,
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time "
            f"format string: {path} == {_plain(value)}",
        )
    return moment


def _seconds(value: Any, field: str, data: StateData) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or int(value) != value:
        raise EvaluationError(
            StatesError.QUERY_EVALUATION_ERROR if data.jsonata else StatesError.RUNTIME,
            f"The {field} field must be a non-negative integer, but was: {_plain(value)}",
        )
    return float(value)


def _timestamp(value: Any, data: StateData) -> float:
    moment = parse_timestamp(value) if isinstance(value, str) and _rfc3339_shape(value) else None
    if moment is None:
        raise EvaluationError(
            StatesError.QUERY_EVALUATION_ERROR if data.jsonata else StatesError.RUNTIME,
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: "
            f"{_plain(value)}",
        )
    return moment


def _rfc3339_shape(text: str) -> bool:
    # AWS demands the extended format with seconds: yyyy-mm-ddThh:mm:ss[.fff](Z|±hh:mm).
    return len(text) >= 20 and text[4] == "-" and text[7] == "-" and text[10] == "T" and text[13] == ":"


def _read(data: StateData, field: str, path: str, source: Any) -> Any:
    try:
        return read_reference(path, source, data.ctx)
    except PathNotFound as exc:
        raise EvaluationError(StatesError.RUNTIME, not_found_cause(path, field, source)) from exc


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else _compact(value)


def _compact(value: Any) -> str:
    return to_json(value)


def run_fail(it: Interpreter, frame: Frame, state: dict[str, Any]) -> None:
    data = it.state_data(frame, state)
    error = _fail_field(data, "Error", frame.input)
    cause = _fail_field(data, "Cause", frame.input)
    it.frame_failed(frame, error, cause)


def _fail_field(data: StateData, field: str, source: Any) -> str | None:
    state = data.state
    if field in state:
        value = data.evaluate(field, state[field])
    elif f"{field}Path" in state:
        value = _read(data, f"{field}Path", state[f"{field}Path"], source)
    else:
        return None
    if value is None:
        return None
    return value if isinstance(value, str) else _compact(value)


def read_field_path(data: StateData, field: str, path: str, source: Any) -> Any:
    """Read a ``*Path`` field's value, failing as AWS does when the path finds nothing."""
    return _read(data, field, path, source)


def compact_json(value: Any) -> str:
    return _compact(value)
