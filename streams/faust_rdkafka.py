"""A faust transport whose consumer is librdkafka (confluent-kafka) instead of aiokafka.

    register()  # then faust.App(broker="rdkafka://host:9092", ...)

Agents, acks, offset commits and rebalance callbacks stay faust's; only the fetching changes.
faust's own driver fetches with aiokafka: the Kafka protocol in Python on a consumer thread,
each batch handed to the event loop through that thread's method queue. Here librdkafka's own
threads fetch and decode; one poller thread takes what is ready and buffers it per partition,
and the Fetcher's ``getmany`` reads that buffer on the event loop: no Python protocol code and
no hop through the consumer thread. ``bench/hop_bench.py`` measured a faust agent's hop at
1.18 ms over the raw round trip this way against 1.80 ms with aiokafka (bare librdkafka: 0.54).

The consumer thread faust expects is still there for the calls faust awaits (offset queries).
Commits only queue offsets: the poller thread sends them, because only it may talk to the group
while a rebalance callback waits for faust (see ``_commit``).

Rebalances: librdkafka runs its callbacks on the poller thread, inside ``poll``. The callbacks
hand the revoked or assigned partitions to faust (``on_partitions_revoked``/``_assigned``, on
the consumer thread and then the event loop, as the aiokafka driver does) and wait for faust to
finish; a revoke then commits what faust acknowledged before the partitions go. Records buffered
for a revoked partition are dropped: its next owner reads them from the committed offset.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, NamedTuple

from confluent_kafka import OFFSET_BEGINNING, OFFSET_INVALID, KafkaException, TopicPartition
from confluent_kafka import Consumer as KafkaConsumer
from faust.transport.consumer import ConsumerThread, RecordMap
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

SCHEME = "rdkafka"
#: Most records one ``getmany`` hands to faust (faust's aiokafka driver uses its max_poll_records).
MAX_RECORDS = 1000
#: A partition's buffered records at which the poller pauses fetching it, and at which it resumes.
PAUSE_AT, RESUME_AT = 4 * MAX_RECORDS, MAX_RECORDS
#: How long librdkafka's poll blocks when nothing is ready (bounds how fast the poller notices a stop).
POLL_SECONDS = 0.2
#: How long a rebalance callback waits for faust to handle the partitions before librdkafka goes on.
REBALANCE_WAIT_SECONDS = 60.0


def _kafka(tp: TP, offset: int = OFFSET_INVALID) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition, offset)


def register() -> None:
    """Make ``rdkafka://`` broker URLs use this transport (idempotent)."""
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"


class Record(NamedTuple):
    """A librdkafka message in the shape faust's aiokafka driver turns into a faust message."""

    topic: str
    partition: int
    offset: int
    timestamp: int | None
    timestamp_type: int
    headers: list[tuple[str, bytes]]
    key: bytes | None
    value: bytes | None
    checksum: None
    serialized_key_size: int
    serialized_value_size: int

    @classmethod
    def of(cls, message: Any) -> Record:
        timestamp_type, timestamp = message.timestamp()
        key, value = message.key(), message.value()
        return cls(message.topic(), message.partition(), message.offset(),
                   timestamp if timestamp_type else None, max(timestamp_type - 1, 0), message.headers() or [],
                   key, value, None, len(key) if key else 0, len(value) if value else 0)


class Consumer(faust_aiokafka.Consumer):
    """faust's consumer with records from librdkafka (see the module docstring)."""

    _thread: RdkafkaConsumerThread  # type: ignore[assignment]  # faust's base names the aiokafka thread

    def _new_consumer_thread(self) -> RdkafkaConsumerThread:  # type: ignore[override]
        return RdkafkaConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _new_topicpartition(self, topic: str, partition: int) -> TP:
        return TP(topic, partition)

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> RecordMap:
        # On the event loop, straight from the poller's buffer (not through the consumer thread).
        return await self._thread.getmany(active_partitions, timeout)

    def verify_event_path(self, now: float, tp: TP) -> None:
        return None  # aiokafka-specific fetch diagnostics; librdkafka has its own (statistics)


class RdkafkaConsumerThread(ConsumerThread):
    """Owns the librdkafka consumer, its poller thread and the per-partition buffer."""

    def __post_init__(self) -> None:
        self._consumer: Any = None
        self._poller: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._buffer: dict[TP, deque[Record]] = defaultdict(deque)
        self._ready: asyncio.Event | None = None  # set on the event loop when records arrive
        self._main_loop: asyncio.AbstractEventLoop | None = None
        self._assigned: set[TP] = set()
        self._fetched_up_to: dict[TP, int] = {}
        self._to_commit: dict[TP, int] = {}
        self._paused: set[TP] = set()  # by _apply_backpressure; a new assignment starts unpaused
        self._generation = 0

    # ---------------------------------------------------------------- lifecycle

    async def on_start(self) -> None:
        conf = self.app.conf
        self._main_loop = self.consumer.loop
        self._ready = asyncio.Event()
        self._consumer = KafkaConsumer({
            "bootstrap.servers": ",".join(f"{u.host}:{u.port or 9092}" for u in self.transport.url),
            "group.id": conf.id,
            "client.id": conf.broker_client_id,
            "enable.auto.commit": False,  # faust commits what its agents acknowledged
            "auto.offset.reset": conf.consumer_auto_offset_reset,
            "session.timeout.ms": int(conf.broker_session_timeout * 1000),
            "heartbeat.interval.ms": int(conf.broker_heartbeat_interval * 1000),
            "max.poll.interval.ms": int((conf.broker_max_poll_interval or 300) * 1000),
            # Same partition numbers of every topic to the same member, as faust's assignor does.
            "partition.assignment.strategy": "range",
        })

    async def on_thread_stop(self) -> None:
        await super().on_thread_stop()
        self._stopping.set()
        if self._poller is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._poller.join, 10.0)
        if self._consumer is not None:
            self._flush_commits(wait=True)  # what faust committed while stopping
            self._consumer.close()  # leaves the group; the callbacks it runs do nothing once stopping

    def close(self) -> None:
        self._stopping.set()

    async def subscribe(self, topics: Iterable[str]) -> None:
        self._consumer.subscribe(sorted(set(topics)), on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_revoke)
        if self._poller is None:
            self._poller = threading.Thread(target=self._poll_forever, name="rdkafka-poller", daemon=True)
            self._poller.start()

    # ---------------------------------------------------------------- fetching

    def _poll_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                self._flush_commits(wait=False)
                self._apply_backpressure()
                first = self._consumer.poll(POLL_SECONDS)
                if first is None:
                    continue
                messages = [first, *self._consumer.consume(MAX_RECORDS, 0)]
            except Exception:  # never let the poller die quietly: the agents would starve
                if self._stopping.is_set():
                    return
                self.log.exception("polling Kafka failed; polling again")
                time.sleep(POLL_SECONDS)
                continue
            records = [Record.of(m) for m in messages if not m.error()]
            for message in messages:
                if message.error():
                    self.log.warning("Kafka consumer error: %s", message.error())
            if records:
                with self._lock:
                    for record in records:
                        tp = TP(record.topic, record.partition)
                        if tp in self._assigned:
                            self._buffer[tp].append(record)
                            self._fetched_up_to[tp] = record.offset + 1
                self._wake()

    def _apply_backpressure(self) -> None:
        """Pause fetching a partition whose buffer is full, resume it once faust has drained it.

        faust stops taking a partition's records while its agent is behind (or the flow is
        stopped); without this the buffer would grow with whatever librdkafka fetches.
        """
        with self._lock:
            full = {tp for tp, queue in self._buffer.items()
                    if len(queue) >= PAUSE_AT and tp in self._assigned} - self._paused
            drained = {tp for tp in self._paused if len(self._buffer.get(tp, ())) <= RESUME_AT}
            self._paused = (self._paused | full) - drained
        if full:
            self._consumer.pause([_kafka(tp) for tp in sorted(full)])
        if drained:
            self._consumer.resume([_kafka(tp) for tp in sorted(drained)])

    def _wake(self) -> None:
        if self._main_loop is not None and self._ready is not None and not self._main_loop.is_closed():
            self._main_loop.call_soon_threadsafe(self._ready.set)

    async def getmany(self, active: set[TP] | None, timeout: float) -> RecordMap:
        """Records buffered for the active partitions; waits up to ``timeout`` for the first.

        Runs on the event loop (``Consumer._getmany`` calls it directly, not on this thread)."""
        assert self._ready is not None
        deadline = time.monotonic() + timeout
        while True:
            self._ready.clear()
            records = self._take(active)
            if records or not self.consumer.flow_active:
                return records
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return {}
            try:
                await asyncio.wait_for(self._ready.wait(), remaining)
            except TimeoutError:
                return {}

    def _take(self, active: set[TP] | None) -> RecordMap:
        records: dict[TP, list[Any]] = {}
        budget = MAX_RECORDS
        with self._lock:
            for tp in list(self._buffer):
                queue = self._buffer[tp]
                if not queue or (active is not None and tp not in active):
                    continue
                taken = [queue.popleft() for _ in range(min(budget, len(queue)))]
                records[tp] = taken
                budget -= len(taken)
                if not budget:
                    break
        return records

    def _drop(self, partitions: Iterable[TP]) -> None:
        with self._lock:
            for tp in partitions:
                self._buffer.pop(tp, None)

    # ---------------------------------------------------------------- rebalancing (on the poller thread)

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        revoked = {TP(p.topic, p.partition) for p in partitions}
        self._drop(revoked)  # only the poller buffers, and it is in this callback until it returns
        if not self._stopping.is_set() and revoked:
            # faust still sees the partitions as assigned: it waits for what its agents hold and
            # commits what they acknowledged before letting them go.
            self.app.on_rebalance_start()
            self._run_on_thread_loop(self.on_partitions_revoked(revoked))
            self._flush_commits(wait=True)
        with self._lock:
            self._assigned -= revoked
            self._paused -= revoked

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        assigned = {TP(p.topic, p.partition) for p in partitions}
        consumer.assign(partitions)  # from the committed offsets (or auto.offset.reset)
        with self._lock:
            self._assigned = set(assigned)
            self._paused -= assigned
        if self._stopping.is_set():
            return
        if not self.app.rebalancing:
            self.app.on_rebalance_start()
        self._generation += 1
        self.app.consumer_generation_id = self._generation
        self._run_on_thread_loop(self.on_partitions_assigned(assigned, self._generation))

    def _run_on_thread_loop(self, coroutine: Any) -> None:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.thread_loop)
        try:
            future.result(REBALANCE_WAIT_SECONDS)
        except Exception:
            self.log.exception("faust's rebalance callback failed or timed out")

    # ---------------------------------------------------------------- offsets (on the consumer thread)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        # librdkafka starts every assigned partition at its committed offset by itself, and nothing
        # was buffered for it before. Asking for the offsets here (``committed``) would wait on the
        # rebalance this is called from, so faust learns them from its own commits instead.
        return {}

    async def commit(self, tps: Mapping[TP, int]) -> bool:
        return await self.call_thread(self._commit, tps)

    async def _commit(self, tps: Mapping[TP, int]) -> bool:
        # Only the poller thread talks to the group (see _flush_commits): a commit from another
        # thread waits on a rebalance whose callback waits on faust, which waits on this commit.
        with self._lock:
            owned = {tp: offset for tp, offset in tps.items() if tp in self._assigned}
            self._to_commit.update(owned)
        return bool(owned)

    def _flush_commits(self, *, wait: bool) -> None:
        """Commit what faust asked to (on the poller thread); ``wait`` inside a revoke callback."""
        with self._lock:
            pending, self._to_commit = self._to_commit, {}
        if not pending:
            return
        offsets = [_kafka(tp, offset) for tp, offset in pending.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=not wait)
        except KafkaException as exc:
            # The next owner reads these records again: every command is idempotent.
            self.log.warning("commit of %d offset(s) failed: %s", len(offsets), exc)

    async def position(self, tp: TP) -> int | None:
        offset = self._consumer.position([_kafka(tp)])[0].offset
        return offset if offset >= 0 else None

    async def seek_to_beginning(self, *partitions: TP) -> None:
        for tp in partitions:
            self.seek(tp, OFFSET_BEGINNING)  # the log start, which retention moves past offset 0

    async def seek_wait(self, partitions: Mapping[TP, int]) -> None:
        for tp, offset in partitions.items():
            self.seek(tp, offset)

    def seek(self, partition: TP, offset: int) -> None:
        self._drop([partition])
        self._consumer.seek(_kafka(partition, offset))

    def assignment(self) -> set[TP]:
        with self._lock:
            return set(self._assigned)

    def highwater(self, tp: TP) -> int:
        # faust asks for every record it hands on (for its monitor). librdkafka's cached watermark
        # call still blocks, so this is the offset after the newest record fetched.
        return self._fetched_up_to.get(tp, 0)

    def topic_partitions(self, topic: str) -> int | None:
        return None  # faust asks only for tables' changelogs

    async def earliest_offsets(self, *partitions: TP) -> Mapping[TP, int]:
        return await self.call_thread(self._watermarks, partitions, 0)

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        return await self.call_thread(self._watermarks, partitions, 1)

    async def _watermarks(self, partitions: Iterable[TP], which: int) -> Mapping[TP, int]:
        return {tp: int(self._consumer.get_watermark_offsets(_kafka(tp), timeout=30)[which]) for tp in partitions}

    async def create_topic(self, topic: str, partitions: int, replication: int, **kwargs: Any) -> None:
        raise NotImplementedError("stepstream creates its topics up front (topics.catalogue.ensure_topics)")

    def key_partition(self, topic: str, key: bytes | None, partition: int | None = None) -> int | None:
        return partition  # faust asks only for tables; stepstream's producer partitions by key itself


class Transport(faust_aiokafka.Transport):
    """faust's Kafka transport with the librdkafka consumer; producing stays as it was."""

    Consumer: ClassVar[Any] = Consumer
    driver_version = "librdkafka consumer"
