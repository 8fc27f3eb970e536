"""The wire contract on a real broker: topics, key -> partition agreement, and waiting for events.

Run with: .venv/bin/python -m pytest -p tests.integration.conftest_services tests/integration/test_client.py
Each module run uses its own topic prefix and deletes its topics afterwards.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from topics import (
    Catalogue,
    DataLimitExceeded,
    ExecutionEvent,
    ExecutionRejected,
    ExecutionRejectedError,
    InvalidTaskToken,
    MessageDelivered,
    SendTaskHeartbeat,
    StepstreamClient,
    TimerFired,
    TopicMismatch,
    correlation_record_key,
    decode,
    ensure_topics,
    partition_for,
    public_task_token,
)

pytestmark = pytest.mark.integration

PARTITIONS = 6
TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def catalogue(kafka_bootstrap: str) -> Iterator[Catalogue]:
    catalogue = Catalogue(prefix=f"stepstream-it-{uuid.uuid4().hex[:12]}.", partitions=PARTITIONS)
    yield catalogue
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.delete_topics([spec.name for spec in catalogue.all()], operation_timeout=TIMEOUT_S).values():
        with contextlib.suppress(KafkaException):  # best effort: the names are unique anyway
            future.result(timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def topics_ready(kafka_bootstrap: str, catalogue: Catalogue) -> list[str]:
    return ensure_topics(kafka_bootstrap, catalogue, timeout=TIMEOUT_S)


@pytest.fixture
def client(kafka_bootstrap: str, catalogue: Catalogue, topics_ready: list[str]) -> Iterator[StepstreamClient]:
    with StepstreamClient(kafka_bootstrap, catalogue=catalogue) as client:
        yield client


def _ident_of_heartbeat(token: str) -> str:
    return f"heartbeat:{token}"


def _ident(record: Any) -> str:
    """The record's id; a heartbeat's id holds its send time, which the client chose: use its token."""
    return _ident_of_heartbeat(record.task_token) if isinstance(record, SendTaskHeartbeat) else str(record.id)


def _read_records(bootstrap: str, topic: str, wanted: set[str]) -> dict[str, Any]:
    """The raw records of ``topic`` whose :func:`_ident` is ``wanted``, read from the beginning of every
    partition with a plain consumer (other tests' records are skipped)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, p, -2) for p in range(PARTITIONS)])  # -2: OFFSET_BEGINNING
        found: dict[str, Any] = {}
        deadline = time.monotonic() + TIMEOUT_S
        while len(found) < len(wanted) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None and (ident := _ident(decode(msg.value()))) in wanted:
                found[ident] = msg
        assert set(found) == wanted, f"missing from {topic}: {wanted - set(found)}"
        return found
    finally:
        consumer.close()


def test_ensure_topics_creates_each_topic_once(kafka_bootstrap: str, catalogue: Catalogue,
                                               topics_ready: list[str]) -> None:
    assert topics_ready == [spec.name for spec in catalogue.all()]
    assert ensure_topics(kafka_bootstrap, catalogue) == []  # idempotent
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    metadata = admin.list_topics(timeout=TIMEOUT_S).topics
    assert all(len(metadata[spec.name].partitions) == PARTITIONS for spec in catalogue.all())
    resource = ConfigResource(ConfigResource.Type.TOPIC, catalogue.dead_letters)
    config = admin.describe_configs([resource])[resource].result(timeout=TIMEOUT_S)
    assert config["retention.ms"].value == str(30 * 24 * 3600 * 1000)
    assert config["cleanup.policy"].value == "delete"


def test_ensure_topics_refuses_another_partition_count(kafka_bootstrap: str, catalogue: Catalogue,
                                                       topics_ready: list[str]) -> None:
    with pytest.raises(TopicMismatch, match=f"has {PARTITIONS} partitions, the catalogue says 3"):
        ensure_topics(kafka_bootstrap, Catalogue(prefix=catalogue.prefix, partitions=3))


def test_every_command_lands_on_its_murmur2_partition(kafka_bootstrap: str, catalogue: Catalogue,
                                                      client: StepstreamClient) -> None:
    ids = [client.start_execution("Orders", {"n": i}, name=f"order-{uuid.uuid4()}") for i in range(8)]
    token = public_task_token(ids[3], "t-3")
    client.stop_execution(ids[0], error="Cancelled", cause="by the test")
    client.send_task_success(public_task_token(ids[1], "t-1"), {"ok": True})
    client.send_task_failure(public_task_token(ids[2], "t-2"), error="Boom", cause="it broke")
    client.send_task_heartbeat(token)
    timer, delivered = TimerFired(ids[4], "timer-1", time.time()), MessageDelivered(ids[5], "sub-1", {"paid": 10}, "m")
    deliveries = [client.publish(timer), client.publish(delivered)]
    assert [d.partition for d in deliveries] == [partition_for(ids[i].encode(), PARTITIONS) for i in (4, 5)]
    wanted = {f"{i}#start" for i in ids} | {f"{ids[0]}#stop", f"{ids[1]}#task:t-1:result", f"{ids[2]}#task:t-2:result",
                                             timer.id, delivered.id, _ident_of_heartbeat(token)}
    found = _read_records(kafka_bootstrap, catalogue.commands, wanted)
    kinds = set()
    for msg in found.values():
        record: Any = decode(msg.value())
        kinds.add(type(record).__name__)
        assert msg.key() == record.partition_key == record.execution_id.encode()
        assert msg.partition() == partition_for(msg.key(), PARTITIONS), type(record).__name__
    assert kinds == {"StartExecution", "StopExecution", "SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat",
                     "TimerFired", "MessageDelivered"}
    assert len({msg.partition() for msg in found.values()}) > 1  # the keys really spread


def test_messages_land_on_the_partition_of_their_correlation(kafka_bootstrap: str, catalogue: Catalogue,
                                                             client: StepstreamClient) -> None:
    values: list[Any] = ["123", 123, 42.0, {"b": 1, "a": "x"}, "été", True, None, [1, 2]]
    message_ids = [client.send_message("orderId", value, {"i": i}, ttl_seconds=60) for i, value in enumerate(values)]
    found = _read_records(kafka_bootstrap, catalogue.messages, set(message_ids))
    for message_id, value in zip(message_ids, values, strict=True):
        msg = found[message_id]
        assert msg.key() == correlation_record_key("orderId", value)
        assert msg.partition() == partition_for(msg.key(), PARTITIONS)


def test_librdkafka_default_partitioner_would_disagree(kafka_bootstrap: str, catalogue: Catalogue,
                                                       topics_ready: list[str]) -> None:
    """Why the client sets partitioner=murmur2_random: the default (CRC32) places keys elsewhere."""
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    placed: list[tuple[Any, Any]] = []
    for i in range(20):
        key = f"arn:aws:states:us-east-1:111111111111:execution:M:{i}".encode()
        producer.produce(catalogue.dead_letters, key=key, value=b"{}",
                         on_delivery=lambda err, msg: placed.append((msg.key(), msg.partition())))
    producer.flush(TIMEOUT_S)
    assert len(placed) == 20
    assert any(partition != partition_for(key, PARTITIONS) for key, partition in placed)


def _event(execution_id: str, event_id: int, event_type: str) -> ExecutionEvent:
    return ExecutionEvent(execution_id, event_id, event_type, time.time(), {}, event_id - 1)


def test_wait_sees_an_event_published_before_it_started(client: StepstreamClient) -> None:
    execution_id = client.start_execution("Orders", {}, name=f"early-{uuid.uuid4()}")
    client.publish(_event(execution_id, 1, "ExecutionStarted"))
    client.publish(_event(execution_id, 2, "ExecutionSucceeded"))
    done = client.wait_for_completion(execution_id, timeout=TIMEOUT_S)
    assert (done.event_id, done.type) == (2, "ExecutionSucceeded")


def test_wait_sees_events_published_after_it_started(client: StepstreamClient) -> None:
    execution_id = client.start_execution("Orders", {}, name=f"late-{uuid.uuid4()}")
    later = [_event(execution_id, 1, "ExecutionStarted"), _event(execution_id, 1, "ExecutionStarted"),  # duplicate
             _event(execution_id.replace("late-", "other-"), 1, "ExecutionFailed"),  # another execution
             _event(execution_id, 2, "PassStateEntered"), _event(execution_id, 3, "ExecutionFailed")]

    def publish_later() -> None:
        time.sleep(1.0)
        for record in later:
            client.publish(record)

    publisher = threading.Thread(target=publish_later)
    publisher.start()
    try:
        seen = list(client.events(execution_id, TIMEOUT_S))
    finally:
        publisher.join()
    assert all(isinstance(e, ExecutionEvent) for e in seen)
    key = execution_id.encode()
    assert [(e.partition_key, e.id) for e in seen] == [(key, f"{execution_id}#{n}") for n in (1, 2, 3)]
    assert client.wait_for_completion(execution_id, timeout=TIMEOUT_S).type == "ExecutionFailed"


def test_wait_reads_from_the_beginning_for_an_execution_started_elsewhere(kafka_bootstrap: str, catalogue: Catalogue,
                                                                          client: StepstreamClient) -> None:
    execution_id = client.start_execution("Orders", {}, name=f"elsewhere-{uuid.uuid4()}")
    client.publish(_event(execution_id, 1, "ExecutionAborted"))
    with StepstreamClient(kafka_bootstrap, catalogue=catalogue) as fresh:  # knows no position for it
        assert fresh.wait_for_completion(execution_id, timeout=TIMEOUT_S).type == "ExecutionAborted"


def test_wait_times_out_and_reports_rejected_starts(client: StepstreamClient) -> None:
    running = client.start_execution("Orders", {}, name=f"slow-{uuid.uuid4()}")
    client.publish(_event(running, 1, "ExecutionStarted"))
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish within 1.5 s"):
        client.wait_for_completion(running, timeout=1.5)
    assert 1.4 < time.monotonic() - started < 10
    rejected = client.start_execution("NoSuchMachine", {}, name=f"rejected-{uuid.uuid4()}")
    client.publish(ExecutionRejected(rejected, "state machine 'NoSuchMachine' is not deployed", "StartExecution",
                                     f"{rejected}#start", time.time()))
    with pytest.raises(ExecutionRejectedError, match="is not deployed"):
        client.wait_for_completion(rejected, timeout=TIMEOUT_S)


def test_client_refuses_bad_input_before_publishing(client: StepstreamClient) -> None:
    with pytest.raises(DataLimitExceeded, match="States.DataLimitExceeded"):
        client.start_execution("Orders", {"blob": "x" * 262_144})
    with pytest.raises(DataLimitExceeded):
        client.send_message("k", "v", "x" * 262_145)
    with pytest.raises(InvalidTaskToken, match="malformed task token"):
        client.send_task_success("not-a-token", {})


def test_closed_client_refuses_to_publish(kafka_bootstrap: str, catalogue: Catalogue, topics_ready: list[str]) -> None:
    client = StepstreamClient(kafka_bootstrap, catalogue=catalogue)
    client.close()
    client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        client.stop_execution("x")


def test_missing_topics_are_reported_not_created(kafka_bootstrap: str) -> None:
    missing = Catalogue(prefix=f"stepstream-missing-{uuid.uuid4().hex[:12]}.", partitions=PARTITIONS)
    with StepstreamClient(kafka_bootstrap, catalogue=missing) as client, \
            pytest.raises(LookupError, match="does not exist .*ensure_topics"):
        client.stop_execution("arn:aws:states:us-east-1:111111111111:execution:M:n")
    topics = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=TIMEOUT_S).topics
    assert not any(name.startswith(missing.prefix) for name in topics)
