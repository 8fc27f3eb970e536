"""A small synchronous client for services that use stepstream over Kafka.

It publishes commands (start, stop, task answers, messages) and reads an execution's events.
Every publish returns only when the broker has the record (idempotent producer, ``acks=all``).
The producer uses the murmur2 partitioner, like the service's consumers (see ``topics.partitioner``).

Waiting for an execution reads its partition of the events topic: from the position the events
partition had just before this client published the execution's start when this client started
it (nothing the execution emits can be older), else from the beginning of the partition (still
retained events of other executions on that partition are skipped). So no event is missed, even
one published before the wait began.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from topics.catalogue import Catalogue
from topics.codec import DecodeError, check_payload_size, decode, encode
from topics.ids import DEFAULT_ACCOUNT, DEFAULT_REGION
from topics.messages import (
    ExecutionEvent,
    ExecutionRejected,
    ExternalMessage,
    Record,
    SendTaskFailure,
    SendTaskHeartbeat,
    SendTaskSuccess,
    StartExecution,
    StopExecution,
)
from topics.partitioner import partition_for

__all__ = ["Delivery", "ExecutionRejectedError", "PublishError", "StepstreamClient"]

_OFFSET_BEGINNING = -2  # librdkafka's OFFSET_BEGINNING
_POLL_S = 0.2
_REMEMBERED_POSITIONS = 10_000


class PublishError(RuntimeError):
    """The broker did not confirm a record (the call may be retried: commands are idempotent)."""


class ExecutionRejectedError(RuntimeError):
    """The service rejected the execution's start (e.g. an unknown state machine)."""

    def __init__(self, rejection: ExecutionRejected) -> None:
        super().__init__(f"{rejection.key}: {rejection.reason}")
        self.rejection = rejection


@dataclass(frozen=True)
class Delivery:
    """Where a published record was stored."""

    topic: str
    partition: int
    offset: int


class StepstreamClient:
    """Publish commands to stepstream and await events. Thread-safe; use as a context manager.

    Args:
        bootstrap: Kafka bootstrap servers (``host:port[,host:port]``).
        catalogue: the deployment's topics (default ``Catalogue()``).
        region, account: the ARN parts of execution ids derived from bare state machine names
            (they must match the service's settings if both derive ids).
        delivery_timeout: seconds a publish may take before :class:`PublishError`.
        producer_config, consumer_config: extra librdkafka settings (security, client.id...).
    """

    def __init__(self, bootstrap: str, *, catalogue: Catalogue | None = None, region: str = DEFAULT_REGION,
                 account: str = DEFAULT_ACCOUNT, delivery_timeout: float = 30.0,
                 producer_config: Mapping[str, Any] | None = None,
                 consumer_config: Mapping[str, Any] | None = None) -> None:
        from confluent_kafka import Producer

        self.catalogue = catalogue or Catalogue()
        self.region, self.account = region, account
        self._bootstrap = bootstrap
        self._delivery_timeout = delivery_timeout
        self._consumer_config = dict(consumer_config or {})
        self._producer = Producer({
            "bootstrap.servers": bootstrap,
            # The Java client's partitioner, as the service's consumers expect (not librdkafka's CRC32).
            "partitioner": "murmur2_random",
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 0,  # each call waits for its record: batching would only add latency
            "message.timeout.ms": int(delivery_timeout * 1000),
            # A broker with auto.create.topics.enable would create a missing topic with its default
            # partition count, silently remapping keys: topics come from ensure_topics only.
            "allow.auto.create.topics": False,
            **(producer_config or {}),
        })
        self._lock = threading.Lock()
        self._meta: Any = None  # consumer for metadata and watermarks, made on first use
        self._partitions: dict[str, int] = {}
        self._positions: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._closed = False

    # ------------------------------------------------------------ commands

    def start_execution(self, state_machine: str, input: Any, *, name: str | None = None,
                        version: int | None = None) -> str:
        """Start an execution; return its id (an execution ARN derived from the machine and name).

        Without ``name`` a UUID name is generated. Starting the same name again is idempotent.

        Raises:
            topics.ids.InvalidName: a name AWS would refuse.
            topics.codec.DataLimitExceeded: the input is over 256 KiB.
            PublishError: the broker did not take the command.
        """
        check_payload_size(input, "execution input")
        command = StartExecution.create(state_machine, input, name=name, version=version,
                                        region=self.region, account=self.account)
        self._remember_position(command.execution_id)
        self.publish(command)
        return command.execution_id

    def stop_execution(self, execution_id: str, *, error: str | None = None, cause: str | None = None) -> None:
        """Abort an execution (it ends with ExecutionAborted)."""
        self.publish(StopExecution(execution_id, error, cause))

    def send_task_success(self, token: str, output: Any) -> None:
        """Report that the task of ``token`` succeeded with ``output``.

        Raises:
            topics.ids.InvalidTaskToken: not a token stepstream issued.
            topics.codec.DataLimitExceeded: the output is over 256 KiB.
        """
        check_payload_size(output, "task output")
        self.publish(SendTaskSuccess(token, output))

    def send_task_failure(self, token: str, *, error: str | None = None, cause: str | None = None) -> None:
        """Report that the task of ``token`` failed with an ASL error name and cause."""
        self.publish(SendTaskFailure(token, error, cause))

    def send_task_heartbeat(self, token: str) -> None:
        """Report that the worker of ``token`` is alive (restarts its HeartbeatSeconds timer)."""
        self.publish(SendTaskHeartbeat(token, time.time()))

    def send_message(self, key: str, value: Any, data: Any, *, message_id: str | None = None,
                     ttl_seconds: float | None = None, single_consumer: bool = False) -> str:
        """Send a message to the executions waiting on correlation (``key``, ``value``); return its id.

        ``value`` compares as typed JSON ("123" is not 123). A message nobody waits for is kept
        ``ttl_seconds`` (None: dropped). Re-sending the same ``message_id`` delivers it once.
        """
        check_payload_size(data, "message data")
        message = ExternalMessage.create(key, value, data, message_id=message_id, ttl_seconds=ttl_seconds,
                                         single_consumer=single_consumer)
        self.publish(message)
        return message.message_id

    def publish(self, record: Record) -> Delivery:
        """Publish any record on its catalogue topic with its key; return once the broker has it."""
        self._check_open()
        topic = self.catalogue.topic_for(record)
        if topic not in self._partitions:  # fail fast on a missing topic (once per topic)
            self._partitions[topic] = self._partition_count(topic)
        done = threading.Event()
        outcome: list[Any] = []

        def on_delivery(err: Any, msg: Any) -> None:
            outcome.append((err, msg))
            done.set()

        self._produce(topic, record.partition_key, encode(record), on_delivery)
        # librdkafka gives up after message.timeout.ms and still calls back: wait a little longer.
        deadline = time.monotonic() + self._delivery_timeout + 5.0
        while not done.is_set():
            if time.monotonic() > deadline:
                raise PublishError(f"no delivery report for {type(record).__name__} on {topic}")
            self._producer.poll(0.05)
        err, msg = outcome[0]
        if err is not None:
            raise PublishError(f"{type(record).__name__} on {topic} was not stored: {err}")
        return Delivery(msg.topic(), msg.partition(), msg.offset())

    def _produce(self, topic: str, key: bytes | None, value: bytes, on_delivery: Any) -> None:
        deadline = time.monotonic() + self._delivery_timeout
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                if time.monotonic() > deadline:
                    raise PublishError(f"the producer queue stayed full for {self._delivery_timeout} s") from None
                self._producer.poll(0.1)

    # ------------------------------------------------------------ events

    def wait_for_completion(self, execution_id: str, *, timeout: float) -> ExecutionEvent:
        """The execution's terminal event (ExecutionSucceeded, Failed, TimedOut or Aborted).

        Raises:
            TimeoutError: it did not finish within ``timeout`` seconds.
            ExecutionRejectedError: the service rejected its start before it ever started.
        """
        started = False
        for record in self.events(execution_id, timeout):
            if isinstance(record, ExecutionRejected):
                # A rejected second start of a running execution does not concern this wait.
                if record.command_type == StartExecution.__name__ and not started:
                    raise ExecutionRejectedError(record)
                continue
            started = True
            if record.terminal:
                return record
        raise TimeoutError(f"execution {execution_id} did not finish within {timeout} s")

    def events(self, execution_id: str, timeout: float) -> Iterator[ExecutionEvent | ExecutionRejected]:
        """The execution's events in order, without duplicates, until its terminal event.

        Ends (without error) when ``timeout`` seconds have passed. Includes ExecutionRejected
        records for commands that were keyed by this execution id.
        """
        self._check_open()
        from confluent_kafka import TopicPartition

        topic, key = self.catalogue.events, execution_id.encode()
        partition, offset = self._positions.get(execution_id) or (self._partition(topic, key), _OFFSET_BEGINNING)
        deadline = time.monotonic() + timeout
        consumer = self._new_consumer()
        try:
            consumer.assign([TopicPartition(topic, partition, offset)])
            seen: set[str] = set()
            for record in self._records(consumer, key, deadline):
                if record.id in seen:
                    continue  # events are at-least-once: skip a redelivered one
                seen.add(record.id)
                yield record
                if isinstance(record, ExecutionEvent) and record.terminal:
                    return
        finally:
            consumer.close()

    def _records(self, consumer: Any, key: bytes, deadline: float) -> Iterator[ExecutionEvent | ExecutionRejected]:
        from confluent_kafka import KafkaError, KafkaException

        while (remaining := deadline - time.monotonic()) > 0:
            msg = consumer.poll(min(remaining, _POLL_S))
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF or msg.error().retriable():
                    continue
                raise KafkaException(msg.error())
            if msg.key() != key:
                continue  # another execution on the same partition
            try:
                record = decode(msg.value())
            except DecodeError:
                continue  # not ours to handle: the service dead-letters what it cannot read
            if isinstance(record, ExecutionEvent | ExecutionRejected):
                yield record

    # ------------------------------------------------------------ positions and metadata

    def _remember_position(self, execution_id: str) -> None:
        """Note the end of the execution's events partition before its start is published."""
        from confluent_kafka import TopicPartition

        topic = self.catalogue.events
        partition = self._partition(topic, execution_id.encode())
        high = self._high_watermark(TopicPartition(topic, partition))
        with self._lock:
            # Starting the same name again keeps the older position: its events may already be there.
            self._positions.setdefault(execution_id, (partition, high))
            self._positions.move_to_end(execution_id)
            while len(self._positions) > _REMEMBERED_POSITIONS:
                self._positions.popitem(last=False)

    def _high_watermark(self, partition: Any) -> int:
        """The partition's end offset, asking its leader (retrying while leadership settles)."""
        from confluent_kafka import KafkaError, KafkaException

        transient = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                     KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TRANSPORT}
        deadline = time.monotonic() + self._delivery_timeout
        while True:
            try:
                with self._lock:
                    _, high = self._metadata_consumer().get_watermark_offsets(
                        partition, timeout=max(deadline - time.monotonic(), 0.1), cached=False)
                return int(high)
            except KafkaException as exc:
                # A new topic, or a leader moving, answers NOT_LEADER_FOR_PARTITION for a moment.
                error = exc.args[0]
                if not (error.retriable() or error.code() in transient) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _partition(self, topic: str, key: bytes) -> int:
        """The partition of ``key`` on ``topic``, with the topic's real partition count."""
        count = self._partitions.get(topic)
        if count is None:
            count = self._partitions[topic] = self._partition_count(topic)
        return partition_for(key, count)

    def _partition_count(self, topic: str) -> int:
        deadline = time.monotonic() + min(self._delivery_timeout, 5.0)
        while True:
            with self._lock:
                meta = self._metadata_consumer().list_topics(topic, timeout=self._delivery_timeout).topics.get(topic)
            if meta is not None and meta.error is None and meta.partitions:
                return len(meta.partitions)
            if time.monotonic() > deadline:  # a topic just created may take a moment to show
                raise LookupError(f"topic {topic} does not exist (create it with topics.ensure_topics)")
            time.sleep(0.1)

    def _metadata_consumer(self) -> Any:
        if self._meta is None:
            self._meta = self._new_consumer()
        return self._meta

    def _new_consumer(self) -> Any:
        from confluent_kafka import Consumer

        # Partitions are assigned explicitly, never through the group: the id only has to be unique.
        return Consumer({
            "bootstrap.servers": self._bootstrap,
            "group.id": f"stepstream-client-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "isolation.level": "read_committed",
            **self._consumer_config,
        })

    # ------------------------------------------------------------ lifecycle

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is still queued and release the connections (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._producer.flush(timeout)
        if self._meta is not None:
            self._meta.close()
            self._meta = None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the StepstreamClient is closed")

    def __enter__(self) -> StepstreamClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
