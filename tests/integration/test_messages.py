"""Message correlation on the real broker and Postgres: Message states resumed by external messages."""

from __future__ import annotations

import signal
import time
import uuid
from typing import Any

import pytest

from tests.integration.service_harness import Service, service  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def waiter(timeout: int = 60, **extra: Any) -> dict[str, Any]:
    return {"StartAt": "Wait", "States": {
        "Wait": {"Type": "Message", "CorrelationKey": "orderId", "CorrelationValuePath": "$.orderId",
                 "TimeoutSeconds": timeout, "ResultPath": "$.payment", "Next": "Paid",
                 "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Expired"}],
                 **extra},
        "Paid": {"Type": "Succeed"},
        "Expired": {"Type": "Pass", "Result": "expired", "ResultPath": "$.outcome", "End": True}}}


def start(svc: Service, machine: str, inputs: list[Any]) -> list[str]:
    with svc.client() as client:
        return [client.start_execution(machine, item, name=f"m{i}-{uuid.uuid4().hex[:6]}")
                for i, item in enumerate(inputs)]


def wait_until_waiting(svc: Service, ids: list[str], timeout: float = 60) -> None:
    """Until each execution's subscription is registered with the correlation service."""
    store = svc.store()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            histories = [store.history(i) for i in ids]
            if all(any(row.type == "MessageWaitStarted" for row in h) for h in histories):
                time.sleep(1.0)  # the Subscribe record travels through the messages topic
                return
            time.sleep(0.1)
    finally:
        store.close()
    raise AssertionError("executions never started waiting\n" + svc.log_tail())


def send(svc: Service, value: Any, data: Any, **options: Any) -> str:
    with svc.client() as client:
        message_id: str = client.send_message("orderId", value, data, **options)
        return message_id


def test_message_after_the_wait_resumes_it(service: Service) -> None:  # noqa: F811
    service.deploy("pay", waiter())
    service.start_worker()
    [execution] = start(service, "pay", [{"orderId": "o-1"}])
    wait_until_waiting(service, [execution])
    send(service, "o-1", {"amount": 10})
    record = service.wait_for_status([execution])[execution]
    assert record.status == "SUCCEEDED", service.log_tail()
    assert record.output == {"orderId": "o-1", "payment": {"amount": 10}}


def test_message_before_the_wait_is_buffered_until_its_ttl(service: Service) -> None:  # noqa: F811
    service.deploy("pay", waiter())
    service.start_worker()
    send(service, "early", {"amount": 1}, ttl_seconds=120)
    send(service, "stale", {"amount": 2}, ttl_seconds=1)
    time.sleep(3)  # the second message's time-to-live passes
    early, stale = start(service, "pay", [{"orderId": "early"}, {"orderId": "stale"}])
    assert service.wait_for_status([early])[early].output["payment"] == {"amount": 1}
    time.sleep(3)
    store = service.store()
    try:
        assert store.describe(stale).status == "RUNNING"  # still waiting: the expired message was not delivered
    finally:
        store.close()


def test_duplicate_message_id_is_applied_once(service: Service) -> None:  # noqa: F811
    definition = {"StartAt": "First", "States": {
        "First": {"Type": "Message", "CorrelationKey": "orderId", "CorrelationValuePath": "$.orderId",
                  "ResultPath": "$.first", "Next": "Second"},
        "Second": {"Type": "Message", "CorrelationKey": "orderId", "CorrelationValuePath": "$.orderId",
                   "TimeoutSeconds": 5, "ResultPath": "$.second", "End": True,
                   "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Done"}]},
        "Done": {"Type": "Succeed"}}}
    service.deploy("twice", definition)
    service.start_worker()
    [execution] = start(service, "twice", [{"orderId": "dup"}])
    wait_until_waiting(service, [execution])
    for _ in range(3):
        send(service, "dup", {"n": 1}, message_id="the-one-message", ttl_seconds=60)
    record = service.wait_for_status([execution], timeout=60)[execution]
    # the first wait got it; the re-sent copies were recognised, so the second wait timed out
    assert record.output["first"] == {"n": 1}
    assert "second" not in record.output and record.output["timeout"]["Error"] == "States.Timeout"


def test_one_message_resumes_every_waiter_or_only_the_oldest(service: Service) -> None:  # noqa: F811
    service.deploy("pay", waiter(timeout=8))
    service.start_worker()
    everyone = start(service, "pay", [{"orderId": "shared"}] * 3)
    wait_until_waiting(service, everyone)
    send(service, "shared", {"to": "all"})
    records = service.wait_for_status(everyone)
    assert all(r.output.get("payment") == {"to": "all"} for r in records.values()), service.log_tail()
    single = start(service, "pay", [{"orderId": "queue"}] * 3)
    wait_until_waiting(service, single)
    send(service, "queue", {"to": "one"}, single_consumer=True)
    records = service.wait_for_status(single, timeout=60)
    paid = [r for r in records.values() if "payment" in r.output]
    assert len(paid) == 1
    oldest = min(records.values(), key=lambda r: r.start_time)
    assert paid[0].execution_id == oldest.execution_id
    assert sum(1 for r in records.values() if r.output.get("outcome") == "expired") == 2


def test_timeout_goes_to_catch(service: Service) -> None:  # noqa: F811
    service.deploy("pay", waiter(timeout=1))
    service.start_worker()
    [execution] = start(service, "pay", [{"orderId": "never"}])
    record = service.wait_for_status([execution])[execution]
    assert record.output["timeout"]["Error"] == "States.Timeout"
    assert record.stop_time - record.start_time >= 1.0


def test_message_and_timeout_racing_have_exactly_one_winner(service: Service) -> None:  # noqa: F811
    service.deploy("race", waiter(timeout=2))
    service.start_worker()
    values = [f"race-{i}" for i in range(40)]
    ids = start(service, "race", [{"orderId": v} for v in values])
    wait_until_waiting(service, ids)
    time.sleep(0.8)  # messages land around the 2 s deadline of the earliest waits
    with service.client() as client:
        for value in values:
            client.send_message("orderId", value, {"paid": value})
    records = service.wait_for_status(ids, timeout=90)
    store = service.store()
    try:
        for execution_id, record in records.items():
            assert record.status == "SUCCEEDED"
            won_message = "payment" in record.output
            won_timeout = "timeout" in record.output
            assert won_message != won_timeout, record.output  # exactly one winner
            types = [row.type for row in store.history(execution_id)]
            assert types.count("MessageReceived") + types.count("MessageWaitTimedOut") == 1
    finally:
        store.close()


def test_message_in_a_parallel_branch_and_in_a_loop(service: Service) -> None:  # noqa: F811
    definition = {"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "ResultPath": "$.branches", "Next": "Loop", "Branches": [
            {"StartAt": "Approve", "States": {"Approve": {
                "Type": "Message", "CorrelationKey": "approval", "CorrelationValuePath": "$.orderId",
                "TimeoutSeconds": 60, "End": True}}},
            {"StartAt": "Noop", "States": {"Noop": {"Type": "Pass", "Result": "other branch", "End": True}}}]},
        "Loop": {"Type": "Message", "CorrelationKey": "tick", "CorrelationValuePath": "$.orderId",
                 "TimeoutSeconds": 60, "ResultPath": "$.tick", "Next": "Again"},
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.tick.last", "BooleanEquals": True, "Next": "Done"}],
                  "Default": "Loop"},
        "Done": {"Type": "Succeed"}}}
    service.deploy("nested", definition)
    service.start_worker()
    [execution] = start(service, "nested", [{"orderId": "n-1"}])
    wait_until_waiting(service, [execution])
    with service.client() as client:
        client.send_message("approval", "n-1", {"approved": True})
        for i, last in enumerate([False, False, True]):
            time.sleep(1.5)  # each visit of the loop is a new wait
            client.send_message("tick", "n-1", {"i": i, "last": last})
    record = service.wait_for_status([execution], timeout=60)[execution]
    assert record.status == "SUCCEEDED", service.log_tail()
    assert record.output["branches"] == [{"approved": True}, "other branch"]
    assert record.output["tick"] == {"i": 2, "last": True}


def test_worker_killed_between_subscription_and_delivery_loses_nothing(service: Service) -> None:  # noqa: F811
    service.deploy("pay", waiter(timeout=120))
    victim = service.start_worker("victim")
    values = [f"k-{i}" for i in range(30)]
    ids = start(service, "pay", [{"orderId": v} for v in values])
    wait_until_waiting(service, ids)
    service.kill(victim)
    with service.client() as client:  # sent while no worker runs
        for value in values:
            client.send_message("orderId", value, {"paid": value})
    service.start_worker("successor")
    records = service.wait_for_status(ids, timeout=120)
    paid = [r for r in records.values() if r.output.get("payment") == {"paid": r.input["orderId"]}]
    assert len(paid) == len(ids), service.log_tail()


def test_agents_split_over_two_worker_processes(service: Service) -> None:  # noqa: F811
    """`stepstream worker --agents`: executions+timers in one process, correlation+tasks in another."""
    definition = {"StartAt": "Echo", "States": {
        "Echo": {"Type": "Task", "Resource": "test.echo", "ResultPath": "$.echoed", "Next": "Wait"},
        "Wait": waiter()["States"]["Wait"],
        "Paid": {"Type": "Succeed"},
        "Expired": {"Type": "Pass", "Result": "expired", "ResultPath": "$.outcome", "End": True}}}
    service.deploy("split", definition)
    service.start_worker("core", agents="executions,timers")
    service.start_worker("edge", agents="correlation,tasks")
    service.wait_until_ready(agents="executions,timers")
    service.wait_until_ready(agents="correlation,tasks")
    [execution] = start(service, "split", [{"orderId": "s-1"}])
    wait_until_waiting(service, [execution])
    send(service, "s-1", {"amount": 3})
    record = service.wait_for_status([execution])[execution]
    assert record.status == "SUCCEEDED", service.log_tail()
    assert record.output == {"orderId": "s-1", "echoed": {"orderId": "s-1"}, "payment": {"amount": 3}}


def _group_members(svc: Service) -> int:
    from confluent_kafka.admin import AdminClient

    group = f"app-{svc.prefix}"
    admin = AdminClient({"bootstrap.servers": svc.bootstrap})
    members = admin.describe_consumer_groups([group])[group].result(timeout=10).members
    return sum(1 for m in members if m.assignment.topic_partitions)


def _wait_for_waits(svc: Service, ids: list[str], count: int, timeout: float = 60) -> None:
    store = svc.store()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(sum(row.type == "MessageWaitStarted" for row in store.history(i)) >= count for i in ids):
                time.sleep(1.5)  # the Subscribe records travel through the messages topic
                return
            time.sleep(0.2)
    finally:
        store.close()
    raise AssertionError(f"executions never reached wait #{count}\n" + svc.log_tail())


def test_partitions_that_come_back_after_a_rebalance_are_read_afresh(service: Service) -> None:  # noqa: F811
    """What a worker cached must not outlive a rebalance: while a partition was away, it changed.

    Worker A caches every execution and wait (first Message state). Worker B joins, takes half
    the partitions, resumes those executions and registers their second waits. B leaves and A
    gets the partitions back. A stale snapshot would take the second delivery for a wait it does
    not know (a no-op: nothing written, nothing fenced, the message lost), and a stale
    correlation cache would hand the second message to the finished first wait.
    """
    step = {"Type": "Message", "CorrelationKey": "orderId", "CorrelationValuePath": "$.orderId"}
    service.deploy("twice", {"StartAt": "First", "States": {
        "First": {**step, "ResultPath": "$.first", "Next": "Second"},
        "Second": {**step, "ResultPath": "$.second", "End": True}}})
    service.start_worker("a")
    service.wait_until_ready(workers=1)
    values = [f"r-{i}" for i in range(40)]
    ids = start(service, "twice", [{"orderId": v} for v in values])
    _wait_for_waits(service, ids, 1)
    b = service.start_worker("b")
    service.wait_until_ready(workers=2)
    with service.client() as client:
        for value in values:
            client.send_message("orderId", value, {"step": 1})
    _wait_for_waits(service, ids, 2)
    service.kill(b, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while _group_members(service) != 1:
        assert time.monotonic() < deadline, "worker a never took the partitions back\n" + service.log_tail()
        time.sleep(0.3)
    with service.client() as client:
        for value in values:
            client.send_message("orderId", value, {"step": 2})
    records = service.wait_for_status(ids, timeout=45)
    finished = [r for r in records.values() if r.status == "SUCCEEDED"
                and r.output.get("first") == {"step": 1} and r.output.get("second") == {"step": 2}]
    assert len(finished) == len(ids), service.log_tail()
