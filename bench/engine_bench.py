"""Engine throughput: state transitions per second, next to a no-engine baseline.

    .venv/bin/python bench/engine_bench.py [--seconds 3]

Workloads (each run on one core, in-process, tasks answered at once):
  tasks10   a 10-state Task workflow, driven by engine.apply_event (the runner's path)
  tasks10-s the same through engine.step with a JSON snapshot round trip per event
            (the service's path: load snapshot, step, save snapshot)
  pass10    a 10-state Pass chain (pure interpretation, one event per execution)
  map1000   a Map over 1,000 items, each iteration a Task
  jsonata10 the tasks10 workflow written in JSONata (Arguments/Output)
The baseline runs the same driver loop (event queue, effect dispatch, snapshot copy where the
workload has one) with the engine call replaced by a precomputed answer, so the difference is
the engine's own cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine  # noqa: E402
from engine import events as ev  # noqa: E402
from engine.model import Snapshot  # noqa: E402


def task_chain(n: int, language: str = "JSONPath") -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(n):
        state: dict[str, Any] = {"Type": "Task", "Resource": "work"}
        if language == "JSONata":
            state.update(QueryLanguage="JSONata", Arguments={"step": i, "order": "{% $states.input.order %}"},
                         Output="{% $merge([$states.input, {'last': $states.result}]) %}")
        else:
            state.update(Parameters={"step": i, "order.$": "$.order"}, ResultPath="$.last")
        state["Next" if i < n - 1 else "End"] = f"S{i + 1}" if i < n - 1 else True
        states[f"S{i}"] = state
    return {"StartAt": "S0", "States": states}


def pass_chain(n: int) -> dict[str, Any]:
    states = {f"S{i}": {"Type": "Pass", "Result": i, "ResultPath": "$.r", "Next": f"S{i + 1}"} for i in range(n)}
    states[f"S{n}"] = {"Type": "Succeed"}
    return {"StartAt": "S0", "States": states}


def map_over(count: int) -> tuple[dict[str, Any], Any]:
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "work", "End": True}}},
        "End": True}}}
    return definition, {"items": list(range(count))}


def drive(definition: engine.Definition, execution_input: Any, stepper: Callable[..., Any]) -> int:
    """Run one execution to completion; answer every task at once. Returns transitions made."""
    snapshot = engine.new_snapshot("bench")
    queue: deque[ev.Event] = deque([ev.Start(execution_input)])
    while queue:
        transition = stepper(definition, snapshot, queue.popleft())
        snapshot = transition.snapshot
        for effect in transition.effects:
            if isinstance(effect, ev.RunTask):
                queue.append(ev.TaskSucceeded(effect.token, {"ok": effect.state}))
    assert snapshot.status == "SUCCEEDED", (snapshot.status, snapshot.error, snapshot.cause)
    return snapshot.transitions


def in_place(definition: engine.Definition, snapshot: Snapshot, event: ev.Event) -> engine.Transition:
    return engine.apply_event(definition, snapshot, event, 1_700_000_000.0)


def via_json(definition: engine.Definition, snapshot: Snapshot, event: ev.Event) -> engine.Transition:
    restored = Snapshot.from_json(json.loads(json.dumps(snapshot.to_json())))
    return engine.apply_event(definition, restored, event, 1_700_000_000.0)


def recorder(stepper: Callable[..., Any]) -> tuple[Callable[..., Any], list[Any]]:
    """Wrap a stepper to record its transitions, so the baseline can replay them without the engine."""
    log: list[Any] = []

    def wrapped(definition: engine.Definition, snapshot: Snapshot, event: ev.Event) -> Any:
        transition = stepper(definition, snapshot, event)
        log.append((transition, json.dumps(snapshot.to_json()) if stepper is via_json else None))
        return transition
    return wrapped, log


def baseline_drive(log: list[Any]) -> None:
    """The same loop with the engine replaced by the recorded answers (snapshot JSON work kept)."""
    queue: deque[Any] = deque([None])
    answers = iter(log)
    while queue:
        queue.popleft()
        transition, encoded = next(answers)
        if encoded is not None:
            json.dumps(Snapshot.from_json(json.loads(encoded)).to_json())
        for effect in transition.effects:
            if isinstance(effect, ev.RunTask):
                queue.append(ev.TaskSucceeded(effect.token, {"ok": effect.state}))


def measure(name: str, document: dict[str, Any], execution_input: Any, stepper: Callable[..., Any],
            seconds: float) -> dict[str, Any]:
    definition = engine.load_definition(document)
    wrapped, log = recorder(stepper)
    per_run = drive(definition, execution_input, wrapped)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        drive(definition, execution_input, stepper)
        runs += 1
    elapsed = time.perf_counter() - start
    base_runs, base_start = 0, time.perf_counter()
    while time.perf_counter() - base_start < seconds / 3:
        baseline_drive(log)
        base_runs += 1
    base_elapsed = time.perf_counter() - base_start
    return {
        "workload": name,
        "transitions_per_s": round(per_run * runs / elapsed),
        "executions_per_s": round(runs / elapsed, 1),
        "baseline_transitions_per_s": round(per_run * base_runs / base_elapsed),
        "transitions_per_execution": per_run,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per workload")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    map_doc, map_input = map_over(1000)
    workloads = [
        ("tasks10", task_chain(10), {"order": 1}, in_place),
        ("tasks10-s", task_chain(10), {"order": 1}, via_json),
        ("pass10", pass_chain(10), {}, in_place),
        ("map1000", map_doc, map_input, in_place),
        ("jsonata10", task_chain(10, "JSONata"), {"order": 1}, in_place),
    ]
    rows = [measure(name, doc, data, stepper, args.seconds) for name, doc, data, stepper in workloads]
    print(f"{'workload':10} {'transitions/s':>14} {'executions/s':>13} {'baseline tr/s':>14} {'tr/exec':>8}")
    for row in rows:
        print(f"{row['workload']:10} {row['transitions_per_s']:14,} {row['executions_per_s']:13,} "
              f"{row['baseline_transitions_per_s']:14,} {row['transitions_per_execution']:8}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
