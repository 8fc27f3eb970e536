"""The execution agent's core against the in-memory store: no Kafka, no Postgres."""

from __future__ import annotations

from typing import Any

import pytest

from streams.processor import ExecutionProcessor, InboundRecord
from streams.store import MemoryStore
from topics import codec
from topics import messages as wire
from topics.catalogue import Catalogue

CAT = Catalogue("t.", 4)
NOW = 1_700_000_000.0
ORDER = {"StartAt": "Charge", "States": {
    "Charge": {"Type": "Task", "Resource": "charge", "ResultPath": "$.charge", "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 10, "Next": "Done"},
    "Done": {"Type": "Succeed"}}}


class Harness:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self.store.deploy("order", ORDER)
        self.processor = ExecutionProcessor(self.store, CAT)
        self.offset = 0

    def record(self, command: Any, partition: int = 0) -> InboundRecord:
        self.offset += 1
        return InboundRecord(partition, self.offset, command.partition_key, codec.encode(command))

    def run(self, *records: InboundRecord, now: float = NOW) -> tuple[Any, list[Any]]:
        outcome = self.processor.process(list(records), now)
        decoded = [(out.topic, codec.decode(out.value)) for out in outcome.publish]
        self.store.delete_outbox(outcome.outbox_keys)
        return outcome, decoded


def of(decoded: list[Any], kind: type) -> list[Any]:
    return [record for _, record in decoded if isinstance(record, kind)]


def test_start_task_result_timer_to_completion() -> None:
    h = Harness()
    start = wire.StartExecution.create("order", {"id": 1}, name="o-1")
    _, out = h.run(h.record(start))
    [task] = of(out, wire.TaskRequested)
    assert (task.resource, task.payload) == ("charge", {"id": 1})
    assert [e.type for e in of(out, wire.ExecutionEvent)][:2] == ["ExecutionStarted", "TaskStateEntered"]
    _, out = h.run(h.record(wire.SendTaskSuccess(task.task_token, {"ok": True})), now=NOW + 1)
    [timer] = of(out, wire.ScheduleTimer)
    assert timer.fire_at == NOW + 11
    _, out = h.run(h.record(wire.TimerFired(start.execution_id, timer.timer_id, timer.fire_at)), now=NOW + 11)
    assert of(out, wire.ExecutionEvent)[-1].type == "ExecutionSucceeded"
    record = h.store.describe(start.execution_id)
    assert record is not None and record.status == "SUCCEEDED"
    assert record.output == {"id": 1, "charge": {"ok": True}}
    assert [row.event_id for row in h.store.history(start.execution_id)] == list(range(1, 12))


def test_duplicate_commands_change_nothing() -> None:
    h = Harness()
    start = wire.StartExecution.create("order", {}, name="dup")
    _, out = h.run(h.record(start), h.record(start))
    [task] = of(out, wire.TaskRequested)
    answer = wire.SendTaskSuccess(task.task_token, {})
    _, first = h.run(h.record(answer))
    _, second = h.run(h.record(answer))
    assert of(first, wire.ScheduleTimer) and second == []
    assert h.store.describe(start.execution_id).transitions == 2  # type: ignore[union-attr]


def test_a_redelivered_command_republishes_its_stored_effects() -> None:
    h = Harness()
    start = h.record(wire.StartExecution.create("order", {}, name="redo"))
    outcome = h.processor.process([start], NOW)  # committed, but "crashed" before publishing
    again = h.processor.process([start], NOW + 5)
    assert [o.value for o in again.publish] == [o.value for o in outcome.publish]
    assert again.replayed == 1


@pytest.mark.parametrize("value", [b"not json", b'{"type": "Nope", "v": 1}', b'{"type": "TimerFired", "v": 1}'])
def test_bad_records_go_to_dead_letters_and_others_still_apply(value: bytes) -> None:
    h = Harness()
    bad = InboundRecord(0, 1, b"k", value)
    h.offset = 1
    good = h.record(wire.StartExecution.create("order", {}, name="fine"))
    outcome, out = h.run(bad, good)
    assert outcome.rejected == 1
    [letter] = of(out, wire.DeadLetter)
    assert letter.offset == 1 and letter.reason
    assert of(out, wire.TaskRequested)


def test_unknown_state_machine_and_unknown_execution_are_rejected() -> None:
    h = Harness()
    outcome, out = h.run(h.record(wire.StartExecution.create("ghost", {}, name="x")),
                         h.record(wire.StopExecution("arn:aws:states:us-east-1:111111111111:execution:order:none")))
    assert outcome.rejected == 2
    reasons = [r.reason for r in of(out, wire.ExecutionRejected)]
    assert "not deployed" in reasons[0] and "does not exist" in reasons[1]


DISTRIBUTED = {"StartAt": "Fan", "States": {"Fan": {
    "Type": "Map", "ItemsPath": "$.items", "Label": "fan",
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
                      "StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "charge", "End": True}}},
    "End": True}}}


def test_distributed_map_iterations_run_as_child_executions() -> None:
    h = Harness()
    h.store.deploy("fan", DISTRIBUTED)
    parent = wire.StartExecution.create("fan", {"items": [1, 2]}, name="p")
    _, out = h.run(h.record(parent))
    starts = of(out, wire.StartExecution)
    assert [s.input for s in starts] == [1, 2]
    assert all(s.parent_execution_id == parent.execution_id and s.root_scope == "/States/Fan/ItemProcessor"
               for s in starts)
    reports = []
    for start in starts:  # each child is its own execution (its own key, so its own partition)
        _, out = h.run(h.record(start, partition=1))
        [task] = of(out, wire.TaskRequested)
        _, out = h.run(h.record(wire.SendTaskSuccess(task.task_token, task.payload * 10), partition=1))
        reports += of(out, wire.ChildExecutionFinished)
    assert [r.status for r in reports] == ["SUCCEEDED", "SUCCEEDED"]
    for report in reports:
        h.run(h.record(report))
    record = h.store.describe(parent.execution_id)
    assert record is not None and (record.status, record.output) == ("SUCCEEDED", [10, 20])


def test_a_stale_cached_snapshot_is_fenced_off_and_reloaded() -> None:
    """Worker A caches an execution; worker B (after a rebalance) moves it on; A must not overwrite it."""
    from streams.store import ConflictError

    h = Harness()
    other = ExecutionProcessor(h.store, CAT)
    start = wire.StartExecution.create("order", {}, name="moved")
    _, out = h.run(h.record(start))
    [task] = of(out, wire.TaskRequested)
    answer = h.record(wire.SendTaskSuccess(task.task_token, {"by": "B"}))
    other.process([answer], NOW + 1)  # B applies the answer; A's cache still has the old snapshot
    stale = h.record(wire.StopExecution(start.execution_id))
    with pytest.raises(ConflictError):
        h.processor.process([stale], NOW + 2)
    outcome = h.processor.process([stale], NOW + 3)  # the retry reloads from the store
    assert outcome.applied == 1
    record = h.store.describe(start.execution_id)
    assert record is not None and record.status == "ABORTED" and record.snapshot["tasks"] == {}


TWICE = {"StartAt": "First", "States": {
    "First": {"Type": "Message", "CorrelationKey": "k", "CorrelationValuePath": "$.v", "ResultPath": "$.first",
              "Next": "Second"},
    "Second": {"Type": "Message", "CorrelationKey": "k", "CorrelationValuePath": "$.v", "ResultPath": "$.second",
               "End": True}}}


def test_after_a_rebalance_a_worker_reads_executions_another_worker_moved_on() -> None:
    """Worker A caches an execution, B moves it on while it owns the partition, A gets it back.

    A's cached snapshot still waits in First, so B's later delivery for Second would be a no-op
    against it: nothing written, so nothing fenced, and the delivery lost. Forgetting the cache
    on rebalance makes A read the execution afresh.
    """
    a = Harness()
    a.store.deploy("twice", TWICE)
    b = ExecutionProcessor(a.store, CAT)
    start = wire.StartExecution.create("twice", {"v": 1}, name="t-1")
    _, out = a.run(a.record(start))
    [first] = of(out, wire.Subscribe)
    moved = b.process([a.record(wire.MessageDelivered(start.execution_id, first.subscription_id, "one"))], NOW)
    [second] = [codec.decode(o.value) for o in moved.publish if isinstance(codec.decode(o.value), wire.Subscribe)]
    a.processor.forget_cached()
    a.run(a.record(wire.MessageDelivered(start.execution_id, second.subscription_id, "two")))
    record = a.store.describe(start.execution_id)
    assert record is not None and record.status == "SUCCEEDED"
    assert record.output == {"v": 1, "first": "one", "second": "two"}
