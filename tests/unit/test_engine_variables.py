"""Workflow variables: AWS's scoping rules and size limits, with property tests."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine


def run(definition: dict[str, Any], execution_input: Any = None) -> engine.Outcome:
    return engine.run_local(definition, execution_input if execution_input is not None else {})


def test_assign_is_visible_to_later_states_and_evaluated_against_the_old_values() -> None:
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"x": 2, "old.$": "$x"}, "Next": "C"},
        "C": {"Type": "Pass", "Parameters": {"x.$": "$x", "old.$": "$old"}, "End": True}}}
    assert run(definition).output == {"x": 2, "old": 1}


def test_map_iterations_read_outer_variables_but_their_assignments_stay_inside() -> None:
    definition = {"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"factor": 10, "seen": "outer"}, "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.results", "Next": "After",
                 "ItemProcessor": {"StartAt": "Inner", "States": {
                     "Inner": {"Type": "Pass", "Assign": {"seen": "inner"},
                               "Parameters": {"f.$": "$factor", "seen.$": "$seen"}, "Next": "Read"},
                     "Read": {"Type": "Pass", "Parameters": {"f.$": "$factor", "seen.$": "$seen"}, "End": True}}}},
        "After": {"Type": "Pass", "Parameters": {"results.$": "$.results", "seen.$": "$seen"}, "End": True}}}
    outcome = run(definition, {"items": [1, 2]})
    assert outcome.output == {"results": [{"f": 10, "seen": "inner"}] * 2, "seen": "outer"}


def test_parallel_branches_cannot_assign_outer_variables() -> None:
    definition = {"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"v": "outer"}, "Next": "Par"},
        "Par": {"Type": "Parallel", "ResultPath": None, "Next": "Read", "Branches": [
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Assign": {"v": "branch"}, "End": True}}}]},
        "Read": {"Type": "Pass", "Parameters": {"v.$": "$v"}, "End": True}}}
    assert run(definition).output == {"v": "outer"}


def test_variables_assigned_in_catch() -> None:
    definition = {"StartAt": "Boom", "States": {
        "Boom": {
            "Type": "Parallel", "Next": "Ok", "Branches": [
                {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "c"}}}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"why.$": "$.Error"}, "Next": "Read"}]},
        "Ok": {"Type": "Succeed"},
        "Read": {"Type": "Pass", "Parameters": {"why.$": "$why"}, "End": True}}}
    assert run(definition).output == {"why": "Oops"}


def test_an_undefined_variable_is_rejected_at_validation() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "$nowhere"}, "End": True}}}
    problems = engine.validate(definition)
    assert any("nowhere" in p.message for p in problems)


def test_size_limits_fail_with_states_runtime() -> None:
    def padded(size: int) -> dict[str, Any]:
        return {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"big": f"{{% $pad('', {size}, 'x') %}}"}, "End": True}}}

    assert run(padded(1000)).status == "SUCCEEDED"
    outcome = run(padded(256 * 1024 + 10))
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime")
    assert "limit of a variable" in (outcome.cause or "")


def test_the_execution_wide_limit_counts_every_variable() -> None:
    """41 variables of 250 KiB pass one by one but together exceed AWS's 10 MiB per execution."""
    def pad(name: str) -> str:
        return f"{{% $pad('{name}', {250 * 1024}, 'x') %}}"

    def states(count: int) -> dict[str, Any]:
        chain = {f"S{i}": {"Type": "Pass", "Assign": {f"v{i}": pad(f"v{i}")}, "Next": f"S{i + 1}"}
                 for i in range(count)}
        chain[f"S{count}"] = {"Type": "Pass", "Output": {}, "End": True}
        return {"QueryLanguage": "JSONata", "StartAt": "S0", "States": chain}

    assert run(states(40)).status == "SUCCEEDED"  # 40 x 250 KiB = 9.8 MiB
    outcome = run(states(41))
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime")
    assert "execution's variables" in (outcome.cause or "")


def test_a_few_variables_are_not_measured_again_on_every_assign(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below 40 variables the execution-wide limit cannot be reached: only the assigned values are sized."""
    from engine import dataflow

    measured: list[Any] = []
    real = dataflow.payload_size
    monkeypatch.setattr(dataflow, "payload_size", lambda value: measured.append(value) or real(value))
    dataflow.check_variable_sizes({"new": 1}, {f"old{i}": {"big": "x" * 100} for i in range(39)})
    assert measured == [1]
    dataflow.check_variable_sizes({"new": 1}, {f"old{i}": {"big": "x" * 100} for i in range(40)})
    assert len(measured) == 1 + 1 + 40


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
def test_assign_in_both_languages(language: str) -> None:
    value = "{% $states.input.n + 1 %}" if language == "JSONata" else None
    assign = {"next": value} if value else {"next.$": "States.MathAdd($.n, 1)"}
    definition = {"QueryLanguage": language, "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": assign, "Next": "B"},
        "B": {"Type": "Pass", **({"Output": "{% $next %}"} if value else {"Parameters": {"v.$": "$next"},
                                                                           "OutputPath": "$.v"}), "End": True}}}
    assert run(definition, {"n": 41}).output == 42


names = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(lambda n: n != "states")
values = st.recursive(st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5),
                      lambda inner: st.lists(inner, max_size=3), max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(names, values, min_size=1, max_size=3), min_size=1, max_size=4))
def test_the_last_assignment_wins_and_inner_scopes_never_leak(assignments: list[dict[str, Any]]) -> None:
    """Property: after a chain of Assigns, each variable holds its last assigned value; a Map inside
    that assigns everything again changes nothing outside."""
    states: dict[str, Any] = {}
    for i, assign in enumerate(assignments):
        states[f"S{i}"] = {"Type": "Pass", "Assign": assign, "Next": f"S{i + 1}"}
    expected: dict[str, Any] = {}
    for assign in assignments:
        expected.update(assign)
    clobber = dict.fromkeys(expected, "clobbered")
    states[f"S{len(assignments)}"] = {
        "Type": "Map", "ItemsPath": "$.one", "ResultPath": None, "Next": "Read",
        "ItemProcessor": {"StartAt": "In", "States": {"In": {"Type": "Pass", "Assign": clobber, "End": True}}}}
    states["Read"] = {"Type": "Pass", "Parameters": {f"{name}.$": f"${name}" for name in expected}, "End": True}
    outcome = run({"StartAt": "S0", "States": states}, {"one": [1]})
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert outcome.output == expected
