"""Hypothesis properties of the pure engine: determinism, JSON round trips, idempotency."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import events as ev
from engine.model import Snapshot
from tests.unit.helpers import T0

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@st.composite
def pass_choice_machines(draw: st.DrawFn) -> dict[str, Any]:
    """Random chains of Pass/Wait/Task states ending in a Choice between Succeed and Fail."""
    count = draw(st.integers(1, 6))
    states: dict[str, Any] = {}
    for i in range(count):
        kind = draw(st.sampled_from(["Pass", "Wait", "Task"]))
        state: dict[str, Any] = {"Type": kind, "Next": f"S{i + 1}"}
        if kind == "Pass":
            state["Result"] = draw(json_values)
            state["ResultPath"] = draw(st.sampled_from(["$.r", "$", None]))
        elif kind == "Wait":
            state["Seconds"] = draw(st.integers(0, 100))
        else:
            state["Resource"] = "work"
            state["ResultPath"] = "$.t"
        states[f"S{i}"] = state
    states[f"S{count}"] = {"Type": "Choice", "Default": "Ok",
                           "Choices": [{"Variable": "$.r", "IsPresent": True, "Next": "Bad"}]}
    states["Ok"] = {"Type": "Succeed"}
    states["Bad"] = {"Type": "Fail", "Error": "HadR"}
    return {"StartAt": "S0", "States": states}


def _drive(definition: dict[str, Any], execution_input: Any) -> list[Any]:
    """Run with the pure step, answering tasks and timers; return every transition's output."""
    loaded = engine.load_definition(definition)
    snapshot = engine.new_snapshot("prop")
    trace: list[Any] = []
    pending: list[ev.Event] = [ev.Start(execution_input)]
    now = T0
    while pending:
        event = pending.pop(0)
        # Round-trip through JSON each time, as the service does through Postgres.
        snapshot = Snapshot.from_json(json.loads(json.dumps(snapshot.to_json())))
        transition = engine.step(loaded, snapshot, event, now)
        snapshot = transition.snapshot
        trace.append((transition.effects, [(h.type, h.details) for h in transition.history]))
        for effect in transition.effects:
            if isinstance(effect, ev.RunTask):
                pending.append(ev.TaskSucceeded(effect.token, {"ran": effect.state}))
            elif isinstance(effect, ev.ScheduleTimer):
                now = max(now, effect.fire_at)
                pending.append(ev.TimerFired(effect.timer_id))
    trace.append((snapshot.status, snapshot.output, snapshot.error))
    return trace


@settings(max_examples=60, deadline=None)
@given(pass_choice_machines(), json_values)
def test_same_inputs_give_the_same_transitions(definition: dict[str, Any], execution_input: Any) -> None:
    execution_input = {"in": execution_input}
    first = _drive(definition, execution_input)
    assert first == _drive(definition, execution_input)
    assert first[-1][0] in ("SUCCEEDED", "FAILED")


@settings(max_examples=60, deadline=None)
@given(pass_choice_machines(), json_values)
def test_snapshots_round_trip_through_json(definition: dict[str, Any], execution_input: Any) -> None:
    loaded = engine.load_definition(definition)
    transition = engine.step(loaded, engine.new_snapshot("rt"), ev.Start({"in": execution_input}), T0)
    encoded = json.dumps(transition.snapshot.to_json())
    assert Snapshot.from_json(json.loads(encoded)).to_json() == transition.snapshot.to_json()


@settings(max_examples=40, deadline=None)
@given(pass_choice_machines(), json_values)
def test_replaying_an_applied_event_changes_nothing(definition: dict[str, Any], execution_input: Any) -> None:
    loaded = engine.load_definition(definition)
    first = engine.step(loaded, engine.new_snapshot("idem"), ev.Start({"in": execution_input}), T0)
    for effect in first.effects:
        if isinstance(effect, ev.RunTask):
            done = engine.step(loaded, first.snapshot, ev.TaskSucceeded(effect.token, 1), T0 + 1)
            replay = engine.step(loaded, done.snapshot, ev.TaskSucceeded(effect.token, 1), T0 + 2)
            assert not replay.changed
            assert replay.snapshot.to_json() == done.snapshot.to_json()


@settings(max_examples=200, deadline=None)
@given(st.recursive(json_values, lambda inner: st.dictionaries(
    st.sampled_from(["StartAt", "States", "Type", "Next", "End", "A", "B", "Result", "Choices", "Branches"]),
    inner, max_size=4), max_leaves=20))
def test_fuzzed_definitions_are_problems_or_machines_never_crashes(document: Any) -> None:
    problems = engine.validate(document)
    if not problems:
        engine.load_definition(document)
