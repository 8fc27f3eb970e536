"""The librdkafka transport's pieces that need no broker (its behaviour is the integration suite's)."""

from __future__ import annotations

from typing import Any

import pytest

from streams import faust_rdkafka
from streams.settings import Settings


class FakeMessage:
    """The parts of confluent_kafka.Message the transport reads."""

    def __init__(self, timestamp: tuple[int, int], key: bytes | None = b"k", value: bytes | None = b"value") -> None:
        self._timestamp, self._key, self._value = timestamp, key, value

    def topic(self) -> str:
        return "commands"

    def partition(self) -> int:
        return 3

    def offset(self) -> int:
        return 41

    def timestamp(self) -> tuple[int, int]:
        return self._timestamp

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> Any:
        return None


def test_a_record_has_what_faust_makes_its_messages_from() -> None:
    created = faust_rdkafka.Record.of(FakeMessage((1, 1_700_000_000_123)))  # TIMESTAMP_CREATE_TIME
    assert (created.topic, created.partition, created.offset) == ("commands", 3, 41)
    assert (created.timestamp, created.timestamp_type) == (1_700_000_000_123, 0)  # aiokafka: 0 = create time
    assert (created.key, created.value, created.serialized_key_size, created.serialized_value_size) == (
        b"k", b"value", 1, 5)
    assert created.headers == []
    appended = faust_rdkafka.Record.of(FakeMessage((2, 5)))  # TIMESTAMP_LOG_APPEND_TIME
    assert (appended.timestamp, appended.timestamp_type) == (5, 1)
    bare = faust_rdkafka.Record.of(FakeMessage((0, -1), key=None, value=None))  # no timestamp, tombstone
    assert (bare.timestamp, bare.serialized_key_size, bare.serialized_value_size) == (None, 0, 0)


def test_the_worker_picks_its_consumer_by_setting() -> None:
    from streams.app import _broker_scheme

    assert Settings().kafka_consumer == "librdkafka"
    assert _broker_scheme("librdkafka") == "rdkafka"
    assert _broker_scheme("aiokafka") == "kafka"
    with pytest.raises(ValueError, match="STEPSTREAM_KAFKA_CONSUMER: 'kafka-python' is neither"):
        _broker_scheme("kafka-python")


def test_rdkafka_urls_reach_this_transport() -> None:
    from faust.transport.drivers import by_url

    faust_rdkafka.register()
    assert by_url("rdkafka://127.0.0.1:9092") is faust_rdkafka.Transport


class FakeKafkaConsumer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, int]]]] = []

    def pause(self, partitions: list[Any]) -> None:
        self.calls.append(("pause", [(p.topic, p.partition) for p in partitions]))

    def resume(self, partitions: list[Any]) -> None:
        self.calls.append(("resume", [(p.topic, p.partition) for p in partitions]))

    def seek(self, partition: Any) -> None:
        self.calls.append(("seek", [(partition.topic, partition.offset)]))


def test_a_full_partition_buffer_pauses_fetching_until_faust_drains_it() -> None:
    import threading
    from collections import defaultdict, deque

    from faust.types import TP

    thread = object.__new__(faust_rdkafka.RdkafkaConsumerThread)  # only the buffer bookkeeping, no faust
    kafka = FakeKafkaConsumer()
    busy, idle = TP("commands", 0), TP("commands", 1)
    thread._consumer, thread._lock, thread._paused = kafka, threading.Lock(), set()
    thread._assigned = {busy, idle}
    thread._buffer = defaultdict(deque, {busy: deque(range(faust_rdkafka.PAUSE_AT)), idle: deque([1])})

    thread._apply_backpressure()
    thread._apply_backpressure()  # already paused: nothing more
    assert kafka.calls == [("pause", [("commands", 0)])]
    for _ in range(faust_rdkafka.PAUSE_AT - faust_rdkafka.RESUME_AT - 1):
        thread._buffer[busy].popleft()
    thread._apply_backpressure()
    assert len(kafka.calls) == 1  # still above the resume mark
    thread._buffer[busy].popleft()
    thread._apply_backpressure()
    assert kafka.calls[-1] == ("resume", [("commands", 0)]) and thread._paused == set()


def test_seeking_to_the_beginning_asks_for_the_log_start_not_offset_zero() -> None:
    import asyncio
    import threading
    from collections import defaultdict, deque

    from confluent_kafka import OFFSET_BEGINNING
    from faust.types import TP

    thread = object.__new__(faust_rdkafka.RdkafkaConsumerThread)
    kafka = FakeKafkaConsumer()
    thread._consumer, thread._lock, thread._buffer = kafka, threading.Lock(), defaultdict(deque)
    asyncio.run(thread.seek_to_beginning(TP("commands", 3)))
    assert kafka.calls == [("seek", [("commands", OFFSET_BEGINNING)])]
