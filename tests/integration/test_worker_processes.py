"""``stepstream worker --processes 2``: one worker command, its agents in two processes."""

from __future__ import annotations

import os
import signal
import time
import uuid
from typing import Any

import pytest

from tests.integration.service_harness import Service, service  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ORDER = {"StartAt": "Reserve", "States": {
    "Reserve": {"Type": "Task", "Resource": "test.add_one", "ResultPath": "$.reserved", "Next": "Pay"},
    "Pay": {"Type": "Message", "CorrelationKey": "orderId", "CorrelationValuePath": "$.orderId",
            "ResultPath": "$.payment", "TimeoutSeconds": 120, "End": True}}}


def _start_split_worker(svc: Service) -> Any:
    supervisor = svc.start_worker("split", processes=2)
    svc.wait_until_ready(workers=1, processes=2)
    return supervisor


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(os.path.exists(f"/proc/{pid}") for pid in pids):
        assert time.monotonic() < deadline, f"processes {pids} still running"
        time.sleep(0.2)


def test_executions_with_tasks_and_messages_complete_across_the_two_processes(service: Service) -> None:  # noqa: F811
    service.deploy("order", ORDER)
    supervisor = _start_split_worker(service)
    assert len(_children(supervisor.pid)) == 2
    orders = [f"o-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    with service.client() as client:
        ids = [client.start_execution("order", {"orderId": order, "n": 1}) for order in orders]
        for order in orders:  # kept until the wait starts: the task runs in the other process first
            client.send_message("orderId", order, {"paid": True}, ttl_seconds=120)
    records = service.wait_for_status(ids, timeout=90)
    assert [(r.status, r.output and r.output["reserved"], r.output and r.output["payment"])
            for r in records.values()] == [
        ("SUCCEEDED", {"n": 2}, {"paid": True})] * 5


def test_sigterm_to_the_worker_stops_both_processes_cleanly(service: Service) -> None:  # noqa: F811
    supervisor = _start_split_worker(service)
    children = _children(supervisor.pid)
    os.kill(supervisor.pid, signal.SIGTERM)  # the parent alone, as `docker stop` signals PID 1
    assert supervisor.wait(timeout=90) == 0, service.log_tail()
    _wait_gone(children, timeout=10)


def test_when_one_process_dies_the_worker_stops_the_other_and_fails(service: Service) -> None:  # noqa: F811
    supervisor = _start_split_worker(service)
    first, second = _children(supervisor.pid)
    os.kill(first, signal.SIGKILL)
    assert supervisor.wait(timeout=90) != 0, service.log_tail()
    _wait_gone([second], timeout=10)
    assert "stopping the others" in service.log_tail(200)
