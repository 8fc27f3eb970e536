"""The service end to end: real worker processes, a real Kafka broker, a real Postgres."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.integration.service_harness import Service, service  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SIMPLE = {"StartAt": "Echo", "States": {
    "Echo": {"Type": "Task", "Resource": "test.echo", "ResultPath": "$.echoed", "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
    "Done": {"Type": "Pass", "Result": "done", "ResultPath": "$.status", "End": True}}}

RETRY_CATCH = {"StartAt": "Flaky", "States": {
    "Flaky": {"Type": "Task", "Resource": "test.flaky",
              "Parameters": {"retry.$": "$$.State.RetryCount", "succeed_at": 2},
              "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "BackoffRate": 1.0, "MaxAttempts": 3}],
              "ResultPath": "$.flaky", "Next": "Fails"},
    "Fails": {"Type": "Task", "Resource": "test.fails",
              "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 1}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}],
              "End": True},
    "Handled": {"Type": "Succeed"}}}

TIMEOUTS = {"StartAt": "Slow", "States": {
    "Slow": {"Type": "Task", "Resource": "test.slow", "TimeoutSeconds": 1, "Parameters": {"seconds": 3},
             "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Done"}],
             "End": True},
    "Done": {"Type": "Succeed"}}}

MACHINE_TIMEOUT = {"StartAt": "Long", "TimeoutSeconds": 2, "States": {
    "Long": {"Type": "Wait", "Seconds": 600, "End": True}}}


def start_all(svc: Service, machine: str, inputs: list[Any]) -> list[str]:
    with svc.client() as client:
        return [client.start_execution(machine, item, name=f"e{i}-{uuid.uuid4().hex[:6]}")
                for i, item in enumerate(inputs)]


def history_types(svc: Service, execution_id: str) -> list[str]:
    store = svc.store()
    try:
        return [row.type for row in store.history(execution_id)]
    finally:
        store.close()


def test_start_to_completion_with_task_and_wait(service: Service) -> None:  # noqa: F811
    service.deploy("simple", SIMPLE)
    service.start_worker()
    with service.client() as client:
        execution_id = client.start_execution("simple", {"order": 7}, name="first")
        event = client.wait_for_completion(execution_id, timeout=90)
    assert event.type == "ExecutionSucceeded", service.log_tail()
    assert event.details["output"] == {"order": 7, "echoed": {"order": 7}, "status": "done"}
    types = history_types(service, execution_id)
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "WaitStateExited" in types and types.count("TaskSucceeded") == 1


def test_task_failure_with_retry_and_catch(service: Service) -> None:  # noqa: F811
    service.deploy("retry", RETRY_CATCH)
    service.start_worker()
    [execution_id] = start_all(service, "retry", [{}])
    record = service.wait_for_status([execution_id], timeout=90)[execution_id]
    assert record.status == "SUCCEEDED", service.log_tail()
    assert record.output["flaky"] == {"succeeded_on_retry": 2}
    assert record.output["error"] == {"Error": "Boom", "Cause": "the handler always fails"}
    types = history_types(service, execution_id)
    assert types.count("TaskFailed") == 2 + 2  # two failed tries of Flaky, the try and retry of Fails


def test_waits_and_timeouts_flow_through_the_timer_topic(service: Service) -> None:  # noqa: F811
    service.deploy("timeouts", TIMEOUTS)
    service.deploy("machine_timeout", MACHINE_TIMEOUT)
    service.start_worker()
    [task_timeout] = start_all(service, "timeouts", [{}])
    [machine_timeout] = start_all(service, "machine_timeout", [{}])
    records = service.wait_for_status([task_timeout, machine_timeout], timeout=90)
    assert records[task_timeout].status == "SUCCEEDED", service.log_tail()
    assert records[task_timeout].output["timeout"]["Error"] == "States.Timeout"
    assert records[machine_timeout].status == "TIMED_OUT"
    started = records[machine_timeout].start_time
    stopped = records[machine_timeout].stop_time
    assert stopped - started >= 2.0  # never early


def test_duplicate_commands_change_nothing(service: Service) -> None:  # noqa: F811
    from topics import messages as wire

    service.deploy("simple", SIMPLE)
    service.start_worker()
    start = wire.StartExecution.create("simple", {"n": 1}, name="twice")
    with service.client() as client:
        for _ in range(3):
            client.publish(start)
        event = client.wait_for_completion(start.execution_id, timeout=90)
        assert event.type == "ExecutionSucceeded", service.log_tail()
        # a late duplicate after completion is also harmless
        client.publish(start)
    time.sleep(2)
    types = history_types(service, start.execution_id)
    assert types.count("ExecutionStarted") == 1 and types.count("ExecutionSucceeded") == 1
    assert types.count("TaskScheduled") == 1


def test_malformed_commands_go_to_the_dead_letter_topic(service: Service) -> None:  # noqa: F811
    from confluent_kafka import Consumer, Producer

    from topics import codec
    from topics import messages as wire

    service.deploy("simple", SIMPLE)
    service.start_worker()
    producer = Producer({"bootstrap.servers": service.bootstrap, "partitioner": "murmur2_random"})
    producer.produce(service.prefix + "commands", key=b"junk", value=b"{this is not json")
    producer.produce(service.prefix + "commands", key=b"junk2", value=json.dumps({"type": "Bogus", "v": 1}).encode())
    producer.flush(10)
    [good] = start_all(service, "simple", [{"ok": True}])
    assert service.wait_for_status([good], timeout=90)[good].status == "SUCCEEDED", service.log_tail()
    consumer = Consumer({"bootstrap.servers": service.bootstrap, "group.id": f"dlq-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([service.prefix + "dead-letters"])
    letters: list[Any] = []
    deadline = time.monotonic() + 30
    while len(letters) < 2 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            letters.append(codec.decode(message.value()))
    consumer.close()
    assert len(letters) == 2
    assert all(isinstance(letter, wire.DeadLetter) for letter in letters)
    reasons = " | ".join(letter.reason for letter in letters)
    assert "not JSON" in reasons or "JSON" in reasons
    assert "Bogus" in reasons


def test_activity_and_callback_tasks_are_answered_by_an_external_worker(service: Service) -> None:  # noqa: F811
    """An activity ARN and a .waitForTaskToken integration go to the activities topic; any client answers."""
    from confluent_kafka import Consumer

    from topics import codec
    from topics import messages as wire

    activity = "arn:aws:states:us-east-1:111111111111:activity:approve"
    definition = {"StartAt": "Approve", "States": {
        "Approve": {"Type": "Task", "Resource": activity, "HeartbeatSeconds": 30, "ResultPath": "$.approval",
                    "Next": "Notify"},
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                   "Parameters": {"MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
                   "ResultPath": "$.notified", "End": True}}}
    service.deploy("external", definition)
    service.start_worker()
    [execution_id] = start_all(service, "external", [{"order": 42}])
    consumer = Consumer({"bootstrap.servers": service.bootstrap, "group.id": f"ext-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([service.prefix + "activities"])
    answered = 0
    deadline = time.monotonic() + 60
    with service.client() as client:
        while answered < 2 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            request = codec.decode(message.value())
            assert isinstance(request, wire.TaskRequested)
            if request.resource == activity:
                client.send_task_heartbeat(request.task_token)
                client.send_task_success(request.task_token, {"approved": True})
            else:  # the callback pattern: the token travelled inside the payload
                body = request.payload["MessageBody"]
                assert request.wait_for_callback and body["order"] == 42
                client.send_task_success(body["token"], {"sent": True})
            answered += 1
    consumer.close()
    record = service.wait_for_status([execution_id], timeout=60)[execution_id]
    assert record.status == "SUCCEEDED", service.log_tail()
    assert record.output == {"order": 42, "approval": {"approved": True}, "notified": {"sent": True}}
