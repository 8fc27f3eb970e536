"""Distributed Map iterations as child executions (what the service enables), through the pure step."""

from __future__ import annotations

from typing import Any

import engine
from engine import events as ev
from tests.unit.helpers import T0, effects_of

DISTRIBUTED = {"StartAt": "Fan", "States": {"Fan": {
    "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ToleratedFailureCount": 1, "Label": "fan",
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                      "StartAt": "Double", "States": {"Double": {"Type": "Task", "Resource": "double", "End": True}}},
    "End": True}}}
CONTEXT = {"child_executions": True}


def run_child(definition: engine.Definition, start: ev.StartChildExecution) -> engine.Transition:
    """Run a child execution to its first wait, as the service would on another partition."""
    child = engine.new_snapshot(start.child_id, root_scope=start.scope, parent_execution="parent")
    return engine.step(definition, child, ev.Start(start.input), T0, context=CONTEXT)


def test_iterations_become_child_executions_with_concurrency_and_results_in_order() -> None:
    loaded = engine.load_definition(DISTRIBUTED)
    first = engine.step(loaded, engine.new_snapshot("parent"), ev.Start({"items": [1, 2, 3]}), T0, context=CONTEXT)
    starts = effects_of(first, ev.StartChildExecution)
    assert [s.input for s in starts] == [1, 2]  # MaxConcurrency 2
    assert all(s.scope == "/States/Fan/ItemProcessor" and "/fan:" in s.child_id for s in starts)
    child = run_child(loaded, starts[0])
    [task] = effects_of(child, ev.RunTask)
    assert (task.resource, task.payload) == ("double", 1)
    done = engine.step(loaded, child.snapshot, ev.TaskSucceeded(task.token, 2), T0)
    assert done.snapshot.status == "SUCCEEDED" and done.snapshot.output == 2
    snap = first.snapshot
    step: Any = engine.step(loaded, snap, ev.ChildExecutionFinished(starts[1].child_id, "SUCCEEDED", 4), T0)
    [third] = effects_of(step, ev.StartChildExecution)
    assert third.input == 3
    step = engine.step(loaded, step.snapshot, ev.ChildExecutionFinished(starts[0].child_id, "SUCCEEDED", 2), T0)
    again = engine.step(loaded, step.snapshot, ev.ChildExecutionFinished(starts[0].child_id, "SUCCEEDED", 99), T0)
    assert not again.changed  # a duplicate report is stale
    step = engine.step(loaded, step.snapshot, ev.ChildExecutionFinished(third.child_id, "FAILED", None, "Boom"), T0)
    assert step.snapshot.status == "SUCCEEDED"  # one failure is tolerated
    assert step.snapshot.output == [2, 4, {"Error": "Boom", "Cause": None}]


def test_a_failed_map_stops_its_running_children() -> None:
    strict = {**DISTRIBUTED, "States": {"Fan": {**DISTRIBUTED["States"]["Fan"], "ToleratedFailureCount": 0}}}
    loaded = engine.load_definition(strict)
    first = engine.step(loaded, engine.new_snapshot("parent"), ev.Start({"items": [1, 2, 3]}), T0, context=CONTEXT)
    a, b = effects_of(first, ev.StartChildExecution)
    failed = engine.step(loaded, first.snapshot, ev.ChildExecutionFinished(a.child_id, "TIMED_OUT"), T0)
    assert failed.snapshot.status == "FAILED"
    assert failed.snapshot.error == "States.ExceedToleratedFailureThreshold"
    assert effects_of(failed, ev.StopChildExecution) == [ev.StopChildExecution(b.child_id)]


def test_without_the_service_flag_iterations_stay_frames() -> None:
    outcome = engine.run_local(DISTRIBUTED, {"items": [1, 2, 3]}, handlers={"double": lambda n: n * 2})
    assert outcome.output == [2, 4, 6]
