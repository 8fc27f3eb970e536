"""Parallel and Map: states that run child frames inside the same execution snapshot.

Children are frames of this snapshot (one partition owns the whole execution), started in
index order and, for Map, at most MaxConcurrency at a time. A finished child is removed
from the snapshot and leaves only its output, so a large Map's snapshot holds just the
running iterations plus the results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import jsonata
from engine.definition import _escape
from engine.errors import EvaluationError, StatesError, StatesFailure
from engine.model import Fanout, Frame, Wait
from engine.payload import render_template
from engine.states import batching, child_executions
from engine.states.basic import compact_json

if TYPE_CHECKING:
    from engine.dataflow import StateData
    from engine.interpreter import Interpreter


def run_parallel(it: Interpreter, frame: Frame, state: dict[str, Any]) -> None:
    data = it.state_data(frame, state)
    branch_input = data.effective_input()
    count = len(state["Branches"])
    frame.fanout = Fanout("parallel", count, [branch_input] * count, results=[None] * count)
    it.record("ParallelStateStarted")
    it.block(frame, Wait(kind="children"))
    _spawn_more(it, frame)


def run_map(it: Interpreter, frame: Frame, state: dict[str, Any]) -> None:
    data = it.state_data(frame, state)
    effective = data.raw_input if data.jsonata else data.apply_path("InputPath", data.raw_input)
    items = _items(data, effective)
    inputs = [_item_input(it, frame, data, effective, index, item) for index, item in enumerate(items)]
    if "ItemBatcher" in state and inputs:
        inputs = batching.batch_inputs(data, effective, inputs)
    fan = Fanout("map", len(inputs), inputs, results=[None] * len(inputs),
                 max_concurrency=_max_concurrency(data, effective))
    fan.tolerated_count, fan.tolerated_percentage = _tolerance(data, effective)
    fan.child_executions = child_executions.enabled(it, state)
    frame.fanout = fan
    it.record("MapStateStarted", {"length": len(items)})
    if not items:
        _complete(it, frame)
        return
    it.block(frame, Wait(kind="children"))
    _spawn_more(it, frame)


def _items(data: StateData, effective: Any) -> list[Any]:
    state = data.state
    if data.jsonata:
        if "Items" not in state:
            return _require_array(effective, data)
        items = data.evaluate("Items", state["Items"])
        if not isinstance(items, list):
            expression = str(state["Items"]).strip()[2:-2].strip() if jsonata.is_expression(state["Items"]) else ""
            raise EvaluationError(
                StatesError.QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{expression}' specified for the field 'Items' returned an unexpected "
                f"result type. Expected 'array', but was '{_json_type(items)}' for value: {compact_json(items)}",
            )
        return items
    items = data.apply_path("ItemsPath", effective) if "ItemsPath" in state else effective
    return _require_array(items, data)


def _require_array(items: Any, data: StateData) -> list[Any]:
    if not isinstance(items, list):
        raise EvaluationError(
            StatesError.QUERY_EVALUATION_ERROR if data.jsonata else StatesError.RUNTIME,
            f"Map state input must be an array but was: {compact_json(items)}",
        )
    return items


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"


def _item_input(it: Interpreter, frame: Frame, data: StateData, effective: Any, index: int, item: Any) -> Any:
    state = data.state
    selector = state.get("ItemSelector", state.get("Parameters"))
    if selector is None:
        return item
    state_def = it.definition.state(frame.scope, frame.state)
    ctx = it.eval_context(frame, state_def, Map={"Item": {"Index": index, "Value": item}})
    if data.jsonata:
        binding = {"input": data.raw_input, "context": ctx.context_object}
        return jsonata.evaluate_template(selector, binding, ctx, field="ItemSelector")
    field = "ItemSelector" if "ItemSelector" in state else "Parameters"
    return render_template(selector, effective, ctx, field=field)


def _max_concurrency(data: StateData, effective: Any) -> int:
    state = data.state
    if "MaxConcurrencyPath" in state:
        path = state["MaxConcurrencyPath"]
        value = _parse_number(data.apply_path_value("MaxConcurrencyPath", path, effective), integer=True)
        if value is None or value < 0:
            raise _not_a_number("MaxConcurrencyPath", path, effective, data, "integer")
        return int(value)
    value = data.evaluate("MaxConcurrency", state.get("MaxConcurrency", 0))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EvaluationError(StatesError.QUERY_EVALUATION_ERROR,
                              f"The MaxConcurrency field must be a non-negative integer, but was: {value!r}")
    return value


def _tolerance(data: StateData, effective: Any) -> tuple[int | None, float | None]:
    """ToleratedFailureCount/Percentage, literal, JSONata, or read by their *Path forms.

    AWS parses a *Path value as Java would parse its text, so the string "1" is a valid count.
    """
    state = data.state
    count = _tolerance_field(data, effective, "ToleratedFailureCount", integer=True)
    percentage = _tolerance_field(data, effective, "ToleratedFailurePercentage", integer=False)
    if count is not None and count < 0:
        raise EvaluationError(StatesError.RUNTIME, "ToleratedFailureCount cannot be negative.")
    if percentage is not None and not 0 <= percentage <= 100:
        raise EvaluationError(StatesError.RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
    del state
    return (int(count) if count is not None else None), percentage


def _tolerance_field(data: StateData, effective: Any, field: str, *, integer: bool) -> float | None:
    state = data.state
    if field in state:
        value = _parse_number(data.evaluate(field, state[field]), integer=integer)
        if value is None:
            raise EvaluationError(StatesError.QUERY_EVALUATION_ERROR if data.jsonata else StatesError.RUNTIME,
                                  f"The {field} field is not a valid {'integer' if integer else 'number'}.")
        return value
    path_field = f"{field}Path"
    if path_field not in state:
        return None
    path = state[path_field]
    value = _parse_number(data.apply_path_value(path_field, path, effective), integer=integer)
    if value is None:
        raise _not_a_number(path_field, path, effective, data, "integer" if integer else "float")
    return value


def _parse_number(value: Any, *, integer: bool) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            return None
    if isinstance(value, int) or (isinstance(value, float) and not integer):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _not_a_number(field: str, path: str, effective: Any, data: StateData, kind: str) -> EvaluationError:
    value = data.apply_path_value(field, path, effective)
    text = value if isinstance(value, str) else compact_json(value)
    return EvaluationError(StatesError.RUNTIME,
                           f'The {field} field refers to value "{text}" which is not a valid {kind}: {path}')


def _spawn_more(it: Interpreter, frame: Frame) -> None:
    """Start children until the concurrency limit is reached or every child has started."""
    fan = frame.fanout
    assert fan is not None
    state = it.definition.state(frame.scope, frame.state)
    while fan.next_index < fan.total and (not fan.max_concurrency or len(fan.running) < fan.max_concurrency):
        index = fan.next_index
        fan.next_index += 1
        child_input = fan.items[index]
        fan.items[index] = None  # the child owns it now; keep the snapshot small
        if fan.kind == "map":
            it.record("MapIterationStarted", {"index": index})
        if fan.child_executions:
            fan.running.append(child_executions.start(it, frame, state, index, child_input))
            continue
        child = Frame(id=f"{frame.id}.{index}", scope=_child_scope(frame, state, index), state="",
                      input=child_input, parent=frame.id, index=index)
        fan.running.append(child.id)
        it.start_frame(child)


def _child_scope(frame: Frame, state: dict[str, Any], index: int) -> str:
    state_pointer = f"{frame.scope}/States/{_escape(frame.state)}"
    if state["Type"] == "Parallel":
        return f"{state_pointer}/Branches/{index}"
    return f"{state_pointer}/{'ItemProcessor' if 'ItemProcessor' in state else 'Iterator'}"


def child_finished(it: Interpreter, child: Frame) -> None:
    it.snapshot.frames.pop(child.id, None)
    iteration_succeeded(it, it.snapshot.frames[child.parent or ""], child.id, child.index, child.output)


def child_failed(it: Interpreter, child: Frame) -> None:
    it.snapshot.frames.pop(child.id, None)
    iteration_failed(it, it.snapshot.frames[child.parent or ""], child.id, child.index, child.error, child.cause)


def iteration_succeeded(it: Interpreter, parent: Frame, child_id: str, index: int, output: Any) -> None:
    """A branch or iteration (a frame, or a child execution) finished with ``output``."""
    fan = parent.fanout
    assert fan is not None
    fan.results[index] = output
    _retire(fan, child_id, failed=False)
    if fan.kind == "map":
        it.record("MapIterationSucceeded", {"index": index})
    _spawn_more(it, parent)
    if fan.finished == fan.total:
        _complete(it, parent)


def iteration_failed(it: Interpreter, parent: Frame, child_id: str, index: int, error: str | None,
                     cause: str | None) -> None:
    """A branch or iteration failed: tolerated (Map thresholds), or the whole state fails."""
    fan = parent.fanout
    assert fan is not None
    _retire(fan, child_id, failed=True)
    if fan.kind == "map":
        it.record("MapIterationFailed", {"index": index, "error": error})
    if _tolerated(fan):
        fan.results[index] = {"Error": error, "Cause": cause}
        _spawn_more(it, parent)
        if fan.finished == fan.total:
            _complete(it, parent)
        return
    failure = _fanout_failure(fan, error, cause)
    abort_children(it, parent)
    it.record(f"{'Map' if fan.kind == 'map' else 'Parallel'}StateFailed")
    it.fail_state(parent, failure)


def _retire(fan: Fanout, child_id: str, *, failed: bool) -> None:
    fan.running.remove(child_id)
    fan.finished += 1
    if failed:
        fan.failures += 1


def _tolerated(fan: Fanout) -> bool:
    if fan.kind != "map" or (fan.tolerated_count is None and fan.tolerated_percentage is None):
        return False
    if fan.tolerated_count is not None and fan.failures > fan.tolerated_count:
        return False
    return not (fan.tolerated_percentage is not None and fan.failures * 100.0 / fan.total > fan.tolerated_percentage)


def _fanout_failure(fan: Fanout, error: str | None, cause: str | None) -> StatesFailure:
    if fan.kind == "map" and (fan.tolerated_count is not None or fan.tolerated_percentage is not None):
        return StatesFailure(StatesError.EXCEED_TOLERATED_FAILURE_THRESHOLD.value,
                             "The specified tolerated failure threshold was exceeded")
    return StatesFailure(error or StatesError.BRANCH_FAILED.value, cause)


def abort_children(it: Interpreter, parent: Frame) -> None:
    """Cancel every running branch or iteration: child frames, and child executions (stopped)."""
    fan = parent.fanout
    if fan is None:
        return
    for child_id in list(fan.running):
        if not child_executions.stop(it, child_id):
            it.cancel_frame(child_id)
    parent.fanout = None


def _complete(it: Interpreter, frame: Frame) -> None:
    fan = frame.fanout
    assert fan is not None
    results = fan.results
    frame.fanout = None
    frame.wait = None
    it.record(f"{'Map' if fan.kind == 'map' else 'Parallel'}StateSucceeded")
    it.complete_state(frame, results)
