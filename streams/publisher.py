"""Publishing from asyncio agents with confluent-kafka (librdkafka), awaiting durability.

faust's own producer (aiokafka, pure Python) managed about 4.6k records/s here while
librdkafka does 100k/s, and an execution step fans out into several records (history events,
task requests, timers), so agents publish through this instead. ``publish`` returns only when
every record is acknowledged by the broker (acks=all, idempotent producer), because the
agents commit their input offsets right after.

The producer uses the murmur2 partitioner: Kafka's Java clients and aiokafka (faust) place a
key with murmur2, and librdkafka's default (CRC32) would send an execution's commands to a
different partition than faust's consumers expect.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outgoing:
    """One record to publish: topic, key and encoded value."""

    topic: str
    key: bytes | None
    value: bytes


class PublishError(RuntimeError):
    """The broker refused or lost a record; the agent must not commit its input."""


class Publisher:
    """An idempotent confluent-kafka producer with an asyncio-friendly ``publish``."""

    def __init__(self, bootstrap: str, *, linger_ms: float = 0.0, extra: dict[str, Any] | None = None) -> None:
        from confluent_kafka import Producer

        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            # No lingering: every publish waits for its acks, so a linger is pure latency (1 ms of
            # it was 70% of an idle publish here). A publish hands over a whole batch's records at
            # once, and records queued while a request is in flight still share the next one.
            "linger.ms": linger_ms,
            "partitioner": "murmur2_random",
            "compression.type": "lz4",
        }
        config.update(extra or {})
        self._producer = Producer(config)
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="publisher-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        # Delivery callbacks run inside poll(); a dedicated thread keeps them flowing.
        while not self._stop.is_set():
            self._producer.poll(0.05)

    def send(self, records: Sequence[Outgoing]) -> asyncio.Future[None]:
        """Hand ``records`` to the producer now, in order; the future resolves once the broker has all.

        Records sent by later calls follow these on each partition (the idempotent producer keeps
        the order), so an agent can send a batch's effects and go on to the next batch before
        the acknowledgements arrive. The future fails with :class:`PublishError` if any record
        was refused; the caller then sends them again.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if not records:
            done.set_result(None)
            return done
        pending = [len(records)]
        errors: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))
            pending[0] -= 1
            if pending[0] == 0:
                loop.call_soon_threadsafe(_finish, done, errors)

        try:
            for record in records:
                self._produce(record, delivered)
        except Exception as exc:  # e.g. a record over the broker's size limit
            done.set_exception(PublishError(f"could not hand a record to the producer: {exc}"))
        return done

    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Publish ``records`` in order and wait until the broker has all of them."""
        await self.send(records)

    def publish_sync(self, records: Sequence[Outgoing], timeout: float = 30.0) -> None:
        """Publish and flush from plain (non-async) code, e.g. the CLI."""
        errors: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        for record in records:
            self._produce(record, delivered)
        if self._producer.flush(timeout) > 0:
            raise PublishError(f"{len(records)} record(s) not acknowledged within {timeout}s")
        if errors:
            raise PublishError("; ".join(errors[:5]))

    def _produce(self, record: Outgoing, callback: Any) -> None:
        while True:
            try:
                self._producer.produce(record.topic, value=record.value, key=record.key, on_delivery=callback)
                return
            except BufferError:  # local queue full: let deliveries drain, then retry
                self._producer.poll(0.05)

    def close(self, timeout: float = 10.0) -> None:
        self._producer.flush(timeout)
        self._stop.set()
        self._poller.join(timeout=1.0)


def _finish(done: asyncio.Future[None], errors: list[str]) -> None:
    if done.done():
        return
    if errors:
        done.set_exception(PublishError("; ".join(errors[:5])))
    else:
        done.set_result(None)
