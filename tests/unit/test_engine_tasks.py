"""Task, Retry/Catch, Parallel, Map and Message through the runner and the pure step."""

from __future__ import annotations

import json

import pytest

import engine
from engine import events as ev
from tests.unit.helpers import T0, effects_of, machine, start

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:charge"


def test_task_handler_result_flows_through_result_selector_and_result_path() -> None:
    definition = machine({"T": {
        "Type": "Task", "Resource": "charge", "Parameters": {"amount.$": "$.total"},
        "ResultSelector": {"id.$": "$.chargeId"}, "ResultPath": "$.charge", "End": True}})
    outcome = engine.run_local(definition, {"total": 7}, handlers={"charge": lambda p: {"chargeId": p["amount"]}})
    assert outcome.output == {"total": 7, "charge": {"id": 7}}


def test_unknown_resource_is_rejected_before_running() -> None:
    definition = machine({"T": {"Type": "Task", "Resource": "nobody.home", "End": True}})
    with pytest.raises(engine.UnknownResource) as info:
        engine.run_local(definition, {}, handlers={})
    assert info.value.problems[0].pointer == "/States/T/Resource"


def test_retry_backs_off_then_catch_puts_error_at_result_path() -> None:
    calls: list[float] = []

    def flaky(payload: object) -> object:
        calls.append(1)
        raise engine.TaskFailed("Busy", "try later")

    definition = machine({
        "T": {"Type": "Task", "Resource": "flaky", "Next": "Done",
              "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handled"}]},
        "Done": {"Type": "Succeed"},
        "Handled": {"Type": "Pass", "End": True},
    })
    outcome = engine.run_local(definition, {"id": 1}, handlers={"flaky": flaky}, start_time=T0)
    assert len(calls) == 3
    assert outcome.output == {"id": 1, "err": {"Error": "Busy", "Cause": "try later"}}
    scheduled = [h.timestamp for h in outcome.history if h.type == "TaskScheduled"]
    assert scheduled == [T0, T0 + 2, T0 + 2 + 6]


def test_states_runtime_is_never_caught() -> None:
    definition = machine({
        "T": {"Type": "Task", "Resource": "echo", "OutputPath": "$.missing", "Next": "Done",
              "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "Done"},
                        {"ErrorEquals": ["States.ALL"], "Next": "Done"}]},
        "Done": {"Type": "Succeed"},
    })
    outcome = engine.run_local(definition, {}, handlers={"echo": lambda p: p})
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime")


def test_task_failed_wildcard_does_not_match_timeout() -> None:
    definition = machine({
        "T": {"Type": "Task", "Resource": "slow", "TimeoutSeconds": 5, "End": True,
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]},
        "Caught": {"Type": "Succeed"},
    })
    first = start(definition, {})
    [run] = effects_of(first, ev.RunTask)
    [timeout] = effects_of(first, ev.ScheduleTimer)
    assert timeout.fire_at == T0 + 5
    loaded = engine.load_definition(definition)
    timed_out = engine.step(loaded, first.snapshot, ev.TimerFired(timeout.timer_id), T0 + 5)
    assert (timed_out.snapshot.status, timed_out.snapshot.error) == ("FAILED", "States.Timeout")
    late = engine.step(loaded, timed_out.snapshot, ev.TaskSucceeded(run.token, {}), T0 + 6)
    assert not late.changed


def test_duplicate_task_result_is_ignored() -> None:
    definition = machine({"T": {"Type": "Task", "Resource": "r", "End": True}})
    loaded = engine.load_definition(definition)
    first = start(definition, {})
    [run] = effects_of(first, ev.RunTask)
    done = engine.step(loaded, first.snapshot, ev.TaskSucceeded(run.token, {"v": 1}), T0 + 1)
    again = engine.step(loaded, done.snapshot, ev.TaskSucceeded(run.token, {"v": 2}), T0 + 2)
    assert done.snapshot.output == {"v": 1}
    assert not again.changed and again.snapshot.output == {"v": 1}


def test_heartbeat_restarts_its_timer_and_silence_times_out() -> None:
    definition = machine({"T": {"Type": "Task", "Resource": "r", "HeartbeatSeconds": 10, "End": True}})
    loaded = engine.load_definition(definition)
    first = start(definition, {})
    [run] = effects_of(first, ev.RunTask)
    [beat_timer] = effects_of(first, ev.ScheduleTimer)
    beat = engine.step(loaded, first.snapshot, ev.TaskHeartbeat(run.token), T0 + 8)
    assert effects_of(beat, ev.CancelTimer) == [ev.CancelTimer(beat_timer.timer_id)]
    [renewed] = effects_of(beat, ev.ScheduleTimer)
    assert renewed.fire_at == T0 + 18
    silent = engine.step(loaded, beat.snapshot, ev.TimerFired(renewed.timer_id), T0 + 18)
    assert silent.snapshot.error == "States.HeartbeatTimeout"


def test_lambda_arn_and_lambda_invoke_shapes() -> None:
    definition = machine({
        "Direct": {"Type": "Task", "Resource": LAMBDA_ARN, "ResultPath": "$.direct", "Next": "Invoke"},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "charge", "Payload.$": "$.direct"},
                   "ResultSelector": {"p.$": "$.Payload", "code.$": "$.StatusCode"}, "End": True},
    })
    outcome = engine.run_local(definition, {"n": 1}, handlers={"charge": lambda p: {"got": p}})
    assert outcome.output == {"p": {"got": {"got": {"n": 1}}}, "code": 200}


def test_lambda_invoke_error_cause_is_recompacted_and_missing_function_is_not_found() -> None:
    cause = json.dumps({"errorMessage": "no", "errorType": "ValueError"})

    def failing(payload: object) -> object:
        raise engine.TaskFailed("ValueError", cause)

    invoke = machine({"I": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName.$": "$.fn", "Payload": {}}, "End": True}})
    failed = engine.run_local(invoke, {"fn": "failing"}, handlers={"failing": failing})
    assert (failed.error, failed.cause) == ("ValueError", '{"errorMessage":"no","errorType":"ValueError"}')
    missing = engine.run_local(invoke, {"fn": "ghost"}, handlers={})
    assert missing.error == "Lambda.ResourceNotFoundException"
    assert missing.cause and missing.cause.startswith("Function not found: arn:aws:lambda:")


def test_oversized_task_result_fails_with_data_limit_exceeded() -> None:
    definition = machine({"T": {"Type": "Task", "Resource": "big", "End": True}})
    outcome = engine.run_local(definition, {}, handlers={"big": lambda p: "a" * 300_000})
    assert (outcome.status, outcome.error) == ("FAILED", "States.DataLimitExceeded")


def test_parallel_collects_branch_outputs_in_order() -> None:
    def branch(value: int) -> dict:
        name = f"P{value}"
        return {"StartAt": name, "States": {name: {"Type": "Pass", "Result": value, "End": True}}}

    definition = machine({"Par": {"Type": "Parallel", "Branches": [branch(1), branch(2)], "End": True}})
    assert engine.run_local(definition, {}).output == [1, 2]


def test_parallel_branch_failure_cancels_siblings_and_is_caught() -> None:
    slow = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": True}}}
    boom = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "x"}}}
    definition = machine({
        "Par": {"Type": "Parallel", "Branches": [slow, boom], "Next": "Ok",
                "Catch": [{"ErrorEquals": ["Boom"], "Next": "Caught"}]},
        "Ok": {"Type": "Succeed"},
        "Caught": {"Type": "Pass", "End": True},
    })
    transition = start(definition, {})
    assert transition.snapshot.output == {"Error": "Boom", "Cause": "x"}
    [scheduled] = effects_of(transition, ev.ScheduleTimer)
    assert effects_of(transition, ev.CancelTimer) == [ev.CancelTimer(scheduled.timer_id)]


def test_map_respects_max_concurrency_and_keeps_order() -> None:
    definition = machine({"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
        "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "work", "End": True}}},
        "End": True}})
    loaded = engine.load_definition(definition)
    first = start(definition, {"items": ["a", "b", "c"]})
    runs = effects_of(first, ev.RunTask)
    assert [r.payload for r in runs] == [{"v": "a", "i": 0}, {"v": "b", "i": 1}]
    second = engine.step(loaded, first.snapshot, ev.TaskSucceeded(runs[1].token, "B"), T0 + 1)
    [third_run] = effects_of(second, ev.RunTask)
    assert third_run.payload == {"v": "c", "i": 2}
    snap = second.snapshot
    for token, result in ((runs[0].token, "A"), (third_run.token, "C")):
        snap = engine.step(loaded, snap, ev.TaskSucceeded(token, result), T0 + 2).snapshot
    assert (snap.status, snap.output) == ("SUCCEEDED", ["A", "B", "C"])


def test_map_tolerated_failures() -> None:
    processor = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Bad"}],
              "Default": "Good"},
        "Bad": {"Type": "Fail", "Error": "TooBig"},
        "Good": {"Type": "Succeed"}}}
    tolerant = machine({"M": {"Type": "Map", "ItemProcessor": processor, "ToleratedFailureCount": 1,
                              "End": True}})
    assert engine.run_local(tolerant, [1, 3]).status == "SUCCEEDED"
    exceeded = engine.run_local(tolerant, [3, 4])
    assert exceeded.error == "States.ExceedToleratedFailureThreshold"
    strict = machine({"M": {"Type": "Map", "ItemProcessor": processor, "End": True}})
    assert engine.run_local(strict, [1, 3]).error == "TooBig"


def test_map_over_a_non_array_fails() -> None:
    definition = machine({"M": {"Type": "Map", "ItemsPath": "$.x", "End": True,
                                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}})
    outcome = engine.run_local(definition, {"x": 5})
    assert outcome.status == "FAILED"


MESSAGE_MACHINE = machine({
    "Pay": {"Type": "Message", "CorrelationKey": "orderId", "CorrelationValuePath": "$.orderId",
            "TimeoutSeconds": 3600, "ResultPath": "$.payment", "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Expired"}]},
    "Done": {"Type": "Succeed"},
    "Expired": {"Type": "Pass", "Result": "expired", "End": True},
})


def test_message_delivery_wins_and_cancels_the_timeout() -> None:
    loaded = engine.load_definition(MESSAGE_MACHINE)
    first = start(MESSAGE_MACHINE, {"orderId": "o-1"})
    [sub] = effects_of(first, ev.Subscribe)
    [timer] = effects_of(first, ev.ScheduleTimer)
    assert (sub.correlation_key, sub.correlation_value) == ("orderId", "o-1")
    delivered = engine.step(loaded, first.snapshot, ev.MessageDelivered(sub.subscription_id, {"paid": 5}), T0 + 1)
    assert delivered.snapshot.output == {"orderId": "o-1", "payment": {"paid": 5}}
    assert ev.CancelTimer(timer.timer_id) in delivered.effects
    late_timeout = engine.step(loaded, delivered.snapshot, ev.TimerFired(timer.timer_id), T0 + 3600)
    assert not late_timeout.changed


def test_message_timeout_wins_unsubscribes_and_goes_to_catch() -> None:
    loaded = engine.load_definition(MESSAGE_MACHINE)
    first = start(MESSAGE_MACHINE, {"orderId": "o-1"})
    [sub] = effects_of(first, ev.Subscribe)
    [timer] = effects_of(first, ev.ScheduleTimer)
    timed_out = engine.step(loaded, first.snapshot, ev.TimerFired(timer.timer_id), T0 + 3600)
    assert timed_out.snapshot.output == "expired"
    assert ev.Unsubscribe(sub.subscription_id, "orderId", "o-1") in timed_out.effects
    late_message = engine.step(loaded, timed_out.snapshot, ev.MessageDelivered(sub.subscription_id, {}), T0 + 3601)
    assert not late_message.changed


def test_message_in_the_local_runner() -> None:
    outcome = engine.run_local(MESSAGE_MACHINE, {"orderId": "o-2"}, messages={("orderId", "o-2"): {"ok": True}})
    assert outcome.output == {"orderId": "o-2", "payment": {"ok": True}}
    assert engine.run_local(MESSAGE_MACHINE, {"orderId": "o-3"}).output == "expired"
