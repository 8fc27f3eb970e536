"""A distributed Map in the service: each iteration is its own execution, spread over partitions."""

from __future__ import annotations

import pytest

from tests.integration.service_harness import Service, service  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

FAN = {"StartAt": "Fan", "States": {"Fan": {
    "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 20, "Label": "fan",
    "ToleratedFailurePercentage": 10,
    "ItemSelector": {"n.$": "$$.Map.Item.Value"},
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                      "StartAt": "Add", "States": {"Add": {"Type": "Task", "Resource": "test.add_one", "End": True}}},
    "ResultSelector": {"count.$": "States.ArrayLength($)", "first.$": "$[0]"},
    "End": True}}}


def test_iterations_are_child_executions_on_many_partitions(service: Service) -> None:  # noqa: F811
    service.deploy("fan", FAN)
    service.start_worker("a")
    service.start_worker("b")
    service.wait_until_ready(workers=2)
    with service.client() as client:
        parent = client.start_execution("fan", {"items": list(range(100))}, name="big")
        event = client.wait_for_completion(parent, timeout=240)
    assert event.type == "ExecutionSucceeded", service.log_tail()
    assert event.details["output"] == {"count": 100, "first": {"n": 1}}
    store = service.store()
    try:
        children = [s for s in store.list_executions(state_machine="fan", limit=500) if s.execution_id != parent]
        assert len(children) == 100 and all(c.status == "SUCCEEDED" for c in children)
        partitions = {store.describe(c.execution_id).partition for c in children}
    finally:
        store.close()
    assert len(partitions) > service.partitions // 2  # spread, so every worker helps
