"""Several workers share the partitions; a SIGKILLed worker loses nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.integration.service_harness import Service, service  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

CHAIN = {"StartAt": "A", "States": {
    "A": {"Type": "Task", "Resource": "test.add_one", "Next": "Nap"},
    "Nap": {"Type": "Wait", "Seconds": 3, "Next": "B"},
    "B": {"Type": "Task", "Resource": "test.add_one", "Next": "C"},
    "C": {"Type": "Task", "Resource": "test.add_one", "End": True}}}
EXPECTED_TYPES = [
    "ExecutionStarted",
    "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
    "WaitStateEntered", "WaitStateExited",
    "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
    "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
    "ExecutionSucceeded",
]


def _start(svc: Service, count: int) -> list[str]:
    with svc.client() as client:
        return [client.start_execution("chain", {"n": i}, name=f"c{i}-{uuid.uuid4().hex[:6]}") for i in range(count)]


def _check_exactly_once(svc: Service, ids: list[str], records: dict[str, Any]) -> None:
    store = svc.store()
    try:
        for execution_id in ids:
            record = records[execution_id]
            assert record.status == "SUCCEEDED", (execution_id, record.status, record.error, record.cause)
            assert record.output["n"] == record.input["n"] + 3
            history = store.history(execution_id)
            assert [row.type for row in history] == EXPECTED_TYPES, execution_id
            assert [row.event_id for row in history] == list(range(1, len(EXPECTED_TYPES) + 1))
            assert record.transitions == 4
    finally:
        store.close()


def _members(svc: Service) -> dict[str, int]:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": svc.bootstrap})
    group = f"app-{svc.prefix}"
    description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    return {m.member_id: len(m.assignment.topic_partitions) for m in description.members}


def test_two_workers_share_the_partitions(service: Service) -> None:  # noqa: F811
    service.deploy("chain", CHAIN)
    service.start_worker("a")
    service.start_worker("b")
    service.wait_until_ready(workers=2)
    members = _members(service)
    assert len(members) == 2 and all(n > 0 for n in members.values()), members
    assert sum(members.values()) == 4 * service.partitions  # commands, timers, messages, tasks
    ids = _start(service, 60)
    records = service.wait_for_status(ids, timeout=180)
    _check_exactly_once(service, ids, records)


def test_sigkill_mid_flight_loses_and_doubles_nothing(service: Service) -> None:  # noqa: F811
    service.deploy("chain", CHAIN)
    victim = service.start_worker("victim")
    service.start_worker("survivor")
    service.wait_until_ready(workers=2)
    ids = _start(service, 200)
    time.sleep(1.5)  # executions are in flight: in tasks, and in their 3 s waits
    store = service.store()
    try:
        running = [r for r in store.load_executions(ids).values() if r.status == "RUNNING"]
    finally:
        store.close()
    service.kill(victim)
    assert running, "every execution finished before the kill: the test would prove nothing"
    records = service.wait_for_status(ids, timeout=300)
    _check_exactly_once(service, ids, records)


def _lag(svc: Service) -> dict[str, int]:
    """Per topic: records the group has not committed past (end offset minus committed offset)."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    from topics.catalogue import Catalogue

    admin = AdminClient({"bootstrap.servers": svc.bootstrap})
    catalogue = Catalogue(svc.prefix, svc.partitions)
    topics = [catalogue.commands, catalogue.timers, catalogue.messages, catalogue.tasks]
    partitions = [TopicPartition(t, p) for t in topics for p in range(svc.partitions)]
    group = f"app-{svc.prefix}"
    committed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group, partitions)])[group]
    done = {(tp.topic, tp.partition): max(tp.offset, 0) for tp in committed.result(timeout=10).topic_partitions}
    ends = admin.list_offsets({tp: OffsetSpec.latest() for tp in partitions})
    lag: dict[str, int] = {}
    for tp, future in ends.items():
        lag[tp.topic] = lag.get(tp.topic, 0) + future.result(timeout=10).offset - done[(tp.topic, tp.partition)]
    return lag


def test_a_stopped_worker_has_committed_what_it_processed(service: Service) -> None:  # noqa: F811
    """SIGTERM: the worker finishes what it holds and commits its offsets, so its successor starts
    where it stopped instead of reading (idempotently, but slowly) what was already done."""
    import signal

    service.deploy("chain", CHAIN)
    worker = service.start_worker("a")
    service.wait_until_ready(workers=1)
    ids = _start(service, 30)
    records = service.wait_for_status(ids, timeout=180)
    _check_exactly_once(service, ids, records)
    service.kill(worker, signal.SIGTERM)
    assert worker.wait(timeout=60) == 0, service.log_tail()
    lag = _lag(service)
    assert all(n == 0 for n in lag.values()), lag
