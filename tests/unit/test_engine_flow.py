"""Pass, Choice, Wait, Succeed and Fail through the local runner and the pure step."""

from __future__ import annotations

import pytest

import engine
from engine import events as ev
from tests.unit.helpers import T0, effects_of, history_types, machine, start


def test_pass_result_result_path_and_output_path() -> None:
    definition = machine({
        "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "B"},
        "B": {"Type": "Pass", "OutputPath": "$.r", "End": True},
    })
    outcome = engine.run_local(definition, {"keep": True})
    assert outcome.status == "SUCCEEDED"
    assert outcome.output == {"x": 1}


def test_result_path_null_keeps_input_and_input_path_null_gives_empty_object() -> None:
    definition = machine({
        "A": {"Type": "Pass", "Result": "ignored", "ResultPath": None, "Next": "B"},
        "B": {"Type": "Pass", "InputPath": None, "ResultPath": "$.seen", "End": True},
    })
    outcome = engine.run_local(definition, {"a": 1})
    assert outcome.output == {"a": 1, "seen": {}}


def test_chain_of_pass_and_choice_is_one_step_with_history() -> None:
    definition = machine({
        "A": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
              "Default": "Small"},
        "Big": {"Type": "Succeed"},
        "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "n <= 1"},
    })
    transition = start(definition, {"n": 5})
    assert transition.snapshot.status == "SUCCEEDED"
    assert transition.snapshot.output == {"n": 5}
    assert history_types(transition) == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "ChoiceStateEntered",
        "ChoiceStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded",
    ]
    small = start(definition, {"n": 0}).snapshot
    assert (small.status, small.error, small.cause) == ("FAILED", "TooSmall", "n <= 1")


def test_choice_without_match_or_default_fails_no_choice_matched() -> None:
    definition = machine({
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "E"}]},
        "E": {"Type": "Succeed"},
    })
    outcome = engine.run_local(definition, {"n": 2})
    assert (outcome.status, outcome.error) == ("FAILED", "States.NoChoiceMatched")
    assert "entered at the event id #2" in (outcome.cause or "")


def test_wait_schedules_a_timer_and_stale_fires_are_ignored() -> None:
    definition = machine({"W": {"Type": "Wait", "Seconds": 30, "End": True}})
    loaded = engine.load_definition(definition)
    first = engine.step(loaded, engine.new_snapshot("e"), ev.Start({"a": 1}), T0)
    [timer] = effects_of(first, ev.ScheduleTimer)
    assert timer.fire_at == T0 + 30 and first.snapshot.status == "RUNNING"
    stale = engine.step(loaded, first.snapshot, ev.TimerFired("no-such-timer"), T0 + 31)
    assert not stale.changed and stale.snapshot.status == "RUNNING"
    fired = engine.step(loaded, first.snapshot, ev.TimerFired(timer.timer_id), T0 + 30)
    assert fired.snapshot.status == "SUCCEEDED" and fired.snapshot.output == {"a": 1}
    again = engine.step(loaded, fired.snapshot, ev.TimerFired(timer.timer_id), T0 + 31)
    assert not again.changed


def test_wait_on_the_virtual_clock_does_not_sleep_and_past_timestamps_do_not_wait() -> None:
    definition = machine({
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
        "P": {"Type": "Wait", "TimestampPath": "$.at", "End": True},
    })
    outcome = engine.run_local(definition, {"at": "2001-01-01T00:00:00Z"}, start_time=T0)
    assert outcome.status == "SUCCEEDED"
    ends = [h.timestamp for h in outcome.history if h.type == "ExecutionSucceeded"]
    assert ends == [T0 + 3600]


def test_wait_seconds_path_must_be_a_non_negative_integer() -> None:
    definition = machine({"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}})
    outcome = engine.run_local(definition, {"s": -1.5})
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime")
    assert outcome.cause and outcome.cause.endswith("cannot be parsed as a long value: $.s == -1.5")


def test_fail_error_path_and_cause_path_read_the_input() -> None:
    definition = machine({"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}})
    outcome = engine.run_local(definition, {"e": "Boom", "c": "because"})
    assert (outcome.status, outcome.error, outcome.cause) == ("FAILED", "Boom", "because")


def test_execution_timeout_ends_timed_out_and_cancels_pending_timers() -> None:
    definition = machine({"W": {"Type": "Wait", "Seconds": 60, "End": True}}, TimeoutSeconds=5)
    outcome = engine.run_local(definition, {})
    assert outcome.status == "TIMED_OUT"
    assert outcome.error is None and outcome.cause is None


def test_stop_aborts_and_later_events_change_nothing() -> None:
    definition = machine({"W": {"Type": "Wait", "Seconds": 60, "End": True}})
    loaded = engine.load_definition(definition)
    first = engine.step(loaded, engine.new_snapshot("e"), ev.Start({}), T0)
    [timer] = effects_of(first, ev.ScheduleTimer)
    stopped = engine.step(loaded, first.snapshot, ev.Stop("Operator", "by hand"), T0 + 1)
    assert stopped.snapshot.status == "ABORTED"
    assert effects_of(stopped, ev.CancelTimer) == [ev.CancelTimer(timer.timer_id)]
    late = engine.step(loaded, stopped.snapshot, ev.TimerFired(timer.timer_id), T0 + 60)
    assert not late.changed and late.snapshot.status == "ABORTED"


def test_duplicate_start_is_a_no_op() -> None:
    definition = machine({"W": {"Type": "Wait", "Seconds": 1, "End": True}})
    loaded = engine.load_definition(definition)
    first = engine.step(loaded, engine.new_snapshot("e"), ev.Start({"a": 1}), T0)
    again = engine.step(loaded, first.snapshot, ev.Start({"a": 2}), T0)
    assert not again.changed and again.snapshot.input == {"a": 1}


def test_invalid_definition_never_runs() -> None:
    bad = machine({"A": {"Type": "Pass", "Next": "Nowhere"}})
    with pytest.raises(engine.InvalidDefinition) as info:
        engine.run_local(bad, {})
    assert any("/States/A/Next" in p.pointer for p in info.value.problems)


def test_a_loop_without_waits_is_parked_not_spun_forever() -> None:
    definition = machine({
        "Loop": {"Type": "Pass", "Next": "Loop"},
    })
    loaded = engine.load_definition(definition, check=False)
    first = engine.step(loaded, engine.new_snapshot("e"), ev.Start({}), T0)
    [park] = effects_of(first, ev.ScheduleTimer)
    assert park.purpose == "continue" and park.fire_at == T0
    assert first.snapshot.status == "RUNNING"
