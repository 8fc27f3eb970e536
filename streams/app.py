"""The faust app: four thin agents around the cores in processor.py, timers.py, correlation.py.

Each agent decodes a batch of records, hands it to its core on a dedicated thread (Postgres
calls block; the event loop keeps consuming), publishes what the core produced, and only then
lets faust commit the input offsets. Agents never skip input: bad records become dead letters
inside the cores, and an infrastructure failure (database or broker down) is retried with
backoff while the partition waits; input is acknowledged only after its effects are published.
The batching and in-order finishing every agent shares is in agent_loop.py.

    create_app(settings, handlers) -> faust.App
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import faust

from engine import events as ev
from engine.runner import Handler, call_handler
from streams import faust_rdkafka
from streams.agent_loop import Finish, batched_agent, in_thread, inbound, retrying, topic
from streams.agent_stats import GC_PAUSES, BatchTimings, ExecutionCounters
from streams.correlation import CorrelationService
from streams.correlation_cache import CorrelationCache
from streams.processor import BatchOutcome, ExecutionProcessor, InboundRecord, dead_letter
from streams.publisher import Outgoing, Publisher, PublishError
from streams.settings import AGENTS, Settings
from streams.store import ConflictError, Store
from streams.timers import TimerService
from topics import codec
from topics import messages as wire
from topics.catalogue import Catalogue

log = logging.getLogger("stepstream")


@dataclass
class Runtime:
    """What the agents share: settings, store, publisher, cores, and one thread per core."""

    settings: Settings
    catalogue: Catalogue
    store: Store
    publisher: Publisher
    processor: ExecutionProcessor
    timers: TimerService
    correlation: CorrelationService
    handlers: Mapping[str, Handler]

    def __post_init__(self) -> None:
        # One thread per core keeps each core's calls sequential (they are not thread-safe)
        # and keeps jsonatapy's per-thread compiled expressions on one thread.
        self.execution_thread = ThreadPoolExecutor(1, thread_name_prefix="executions")
        self.timer_thread = ThreadPoolExecutor(1, thread_name_prefix="timers")
        self.correlation_thread = ThreadPoolExecutor(1, thread_name_prefix="correlation")
        self.correlation_commit_thread = ThreadPoolExecutor(1, thread_name_prefix="correlation-commit")
        self.outbox_thread = ThreadPoolExecutor(1, thread_name_prefix="outbox")
        self.task_threads = ThreadPoolExecutor(self.settings.task_concurrency, thread_name_prefix="tasks")
        self.timer_wake = asyncio.Event()
        self.stats = ExecutionCounters()
        self.timings: dict[str, BatchTimings] = {}
        self.published_outbox: list[tuple[str, int]] = []


def create_app(settings: Settings, *, handlers: Mapping[str, Handler] | None = None,
               store: Store | None = None) -> faust.App:
    """A faust app running the execution, timer, correlation and task-worker agents."""
    catalogue = Catalogue(settings.topic_prefix, settings.partitions)
    app = faust.App(
        # Workers running different agent sets form different consumer groups, so each group's
        # members subscribe to the same topics (what Kafka's group protocol expects).
        settings.app_id if set(settings.agents) == set(AGENTS) else f"{settings.app_id}-{'-'.join(settings.agents)}",
        broker=f"{_broker_scheme(settings.kafka_consumer)}://{settings.kafka_bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        topic_allow_declare=False,  # topics are created up front by ensure_topics (see the runbook)
        topic_disable_leader=True,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10,
        broker_commit_every=1000,
        broker_commit_interval=0.5,
        datadir=tempfile.mkdtemp(prefix="stepstream-faust-"),
        autodiscover=False,
    )
    store = store or settings.open_store()
    runtime = Runtime(
        settings, catalogue, store, Publisher(settings.kafka_bootstrap),
        ExecutionProcessor(store, catalogue, region=settings.region, account=settings.account),
        TimerService(store, catalogue),
        CorrelationService(store, catalogue, CorrelationCache(settings.correlation_cache_size,
                                                              5 * settings.correlation_cache_size)),
        dict(handlers or {}),
    )
    app.stepstream = runtime  # type: ignore[attr-defined]  # for tests and the worker's shutdown
    if "executions" in settings.agents:
        _execution_agent(app, runtime)
        _outbox_cleaner(app, runtime)
    if "timers" in settings.agents:
        _timer_agents(app, runtime)
    if "correlation" in settings.agents:
        _correlation_agent(app, runtime)
    if "tasks" in settings.agents:
        _task_agent(app, runtime)
    _stats_logger(app, runtime)
    _forget_cached_state_on_rebalance(app, runtime)
    return app


def _broker_scheme(consumer: str) -> str:
    if consumer == "librdkafka":
        faust_rdkafka.register()
        return faust_rdkafka.SCHEME
    if consumer == "aiokafka":
        return "kafka"
    raise ValueError(f"STEPSTREAM_KAFKA_CONSUMER: {consumer!r} is neither 'librdkafka' nor 'aiokafka'")


# ---------------------------------------------------------------------- executions


def _batched(app: faust.App, rt: Runtime, topic_name: str, name: str, max_batch: int,
             apply: Callable[[list[Any]], Awaitable[Finish]]) -> None:
    timings = rt.timings.setdefault(name, BatchTimings(name))
    batched_agent(app, topic_name, rt.catalogue.partitions, name, max_batch, apply, timings)


def _execution_agent(app: faust.App, rt: Runtime) -> None:
    _batched(app, rt, rt.catalogue.commands, "executions", rt.settings.batch_size, partial(_apply_commands, rt))


async def _apply_commands(rt: Runtime, events: list[Any]) -> Finish:
    """Apply and commit a batch and send its effects; the returned step waits for the broker's acks."""
    records = inbound(events)
    began = time.perf_counter()
    try:
        outcomes = [await in_thread(rt.execution_thread, rt.processor.process, records, time.time())]
    except ConflictError:
        outcomes = await _apply_per_partition(rt, records)
    applied = time.perf_counter()
    effects = [out for outcome in outcomes for out in outcome.publish]
    sent = rt.publisher.send(effects)  # committed first: state is saved before anything is published

    async def settle() -> None:
        await _settled(rt, sent, effects, "executions (publishing)")
        # Published: the outbox rows may go. _outbox_cleaner deletes them in bulk, saving a
        # round trip per batch; a crash before that only re-publishes records with stable ids.
        for outcome in outcomes:
            rt.published_outbox.extend(outcome.outbox_keys)
        transitions = sum(o.transitions for o in outcomes)
        rt.stats.batch(len(records), transitions, applied - began, time.perf_counter() - applied)

    return settle


async def _settled(rt: Runtime, sent: asyncio.Future[None], records: list[Outgoing], what: str) -> None:
    """Wait for a send's acknowledgements; if the broker refused any, send them all again until it takes them."""
    try:
        await sent
    except PublishError:
        log.exception("%s failed; sending the batch's records again", what)
        await retrying(what, partial(rt.publisher.publish, records))


async def _apply_per_partition(rt: Runtime, records: list[InboundRecord]) -> list[BatchOutcome]:
    """A rebalance fenced part of a batch off: apply what we still own, leave the rest to its owner."""
    outcomes = []
    for partition in sorted({r.partition for r in records}):
        part = [r for r in records if r.partition == partition]
        try:
            outcomes.append(await in_thread(rt.execution_thread, rt.processor.process, part, time.time()))
        except ConflictError as exc:
            log.warning("partition %d moved to another worker; its %d queued command(s) are left to it: %s",
                        partition, len(part), exc)
    return outcomes


def _outbox_cleaner(app: faust.App, rt: Runtime) -> None:
    @app.timer(interval=0.5)
    async def clean_outbox() -> None:
        keys, rt.published_outbox = rt.published_outbox, []
        if keys:
            # Its own thread: a delete (and its fsync) never holds up the next batch of commands.
            await retrying("deleting published outbox rows",
                           partial(in_thread, rt.outbox_thread, rt.store.delete_outbox, keys))


def _stats_logger(app: faust.App, rt: Runtime) -> None:
    @app.timer(interval=10.0)
    async def log_stats() -> None:
        if rt.stats.batches:
            log.info("%s; timers pending %d, fired %d", rt.stats.line(), rt.timers.pending, rt.timers.stats.fired)
        for timings in rt.timings.values():
            line = timings.line()
            if line is not None:
                log.info("%s", line)
        pauses = GC_PAUSES.line()
        if pauses is not None:
            log.info("%s", pauses)
        cache = rt.correlation.cache
        if cache.hits or cache.misses:
            log.info("correlation cache: %d correlations held, %d hits, %d misses",
                     len(cache), cache.hits, cache.misses)


# ---------------------------------------------------------------------- timers


def _timer_agents(app: faust.App, rt: Runtime) -> None:
    async def store_timers(events: list[Any]) -> Finish:
        await _store_timers(app, rt, inbound(events))
        rt.timer_wake.set()
        return None

    _batched(app, rt, rt.catalogue.timers, "timers", 500, store_timers)

    @app.task
    async def fire_timers() -> None:
        while True:
            await retrying("firing timers", partial(_fire_due, app, rt))
            next_due = await in_thread(rt.timer_thread, rt.timers.next_due)
            pause = rt.settings.timer_tick_seconds * 10
            if next_due is not None:
                pause = min(pause, max(0.0, next_due - time.time()))
            rt.timer_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rt.timer_wake.wait(), timeout=pause)


def _owned(app: faust.App, topic: str) -> set[int]:
    try:
        return {tp.partition for tp in app.consumer.assignment() if tp.topic == topic}
    except Exception:  # the consumer is not started yet
        return set()


async def _store_timers(app: faust.App, rt: Runtime, records: list[InboundRecord]) -> None:
    await in_thread(rt.timer_thread, rt.timers.assign, _owned(app, rt.catalogue.timers))
    letters = await in_thread(rt.timer_thread, rt.timers.handle, records, time.time())
    await rt.publisher.publish(letters)


async def _fire_due(app: faust.App, rt: Runtime) -> None:
    await in_thread(rt.timer_thread, rt.timers.assign, _owned(app, rt.catalogue.timers))
    due = await in_thread(rt.timer_thread, rt.timers.due, time.time())
    if not due:
        return
    await rt.publisher.publish([out for _, _, out in due])
    keys = [key for key, _, _ in due]
    times = [fire_at for _, fire_at, _ in due]
    await in_thread(rt.timer_thread, rt.timers.fired, keys, times, time.time())


# ---------------------------------------------------------------------- correlation


def _correlation_agent(app: faust.App, rt: Runtime) -> None:
    _batched(app, rt, rt.catalogue.messages, "correlation", 500, lambda events: _correlate(rt, inbound(events)))


async def _correlate(rt: Runtime, records: list[InboundRecord]) -> Finish:
    """Plan a batch and send its deliveries; the returned step waits for them, then commits the plan.

    Planning changes the correlation cache, so a plan is made once and never redone: failed
    sends and commits are retried on their own.
    """
    now = time.time()
    plan = await retrying("correlation (planning)",
                          partial(in_thread, rt.correlation_thread, rt.correlation.plan, records, now))
    sent = rt.publisher.send(plan.publish)

    async def settle_then_commit() -> None:
        await _settled(rt, sent, plan.publish, "correlation (publishing)")  # durable before it is forgotten
        await retrying("correlation (committing)",
                       partial(in_thread, rt.correlation_commit_thread, rt.correlation.commit, plan, now))

    return settle_then_commit


def _forget_cached_state_on_rebalance(app: faust.App, rt: Runtime) -> None:
    # While a partition was away another worker may have changed its executions and correlations.
    async def forget(*_: Any, **__: Any) -> None:
        rt.processor.forget_cached()
        rt.correlation.cache.forget()

    app.on_partitions_revoked.connect(forget)
    app.on_partitions_assigned.connect(forget)


# ---------------------------------------------------------------------- task workers


def _task_agent(app: faust.App, rt: Runtime) -> None:
    """Run task handlers concurrently; publish their answers in batches, then acknowledge.

    Up to ``task_concurrency`` handlers run at once on the task threads, so a slow handler holds
    one slot, never the others. Answers queue up and go to the bus together (one wait for the
    broker per batch instead of per task); a request is acknowledged only after its answer is
    published.
    """
    tasks_topic = topic(app, rt.catalogue.tasks, rt.catalogue.partitions)
    slots = asyncio.Semaphore(rt.settings.task_concurrency)
    answers: asyncio.Queue[tuple[Outgoing, Any]] = asyncio.Queue()
    running: set[asyncio.Task[None]] = set()

    async def run_one(event: Any) -> None:
        try:
            answer = await _run_task(rt, inbound([event])[0])
        finally:
            slots.release()
        await answers.put((answer, event))

    @app.agent(tasks_topic, name="tasks")
    async def tasks(stream: Any) -> None:
        async for event in stream.noack().events():
            await slots.acquire()
            job = asyncio.ensure_future(run_one(event))
            running.add(job)
            job.add_done_callback(running.discard)

    @app.task
    async def publish_answers() -> None:
        while True:
            batch = [await answers.get()]
            while not answers.empty():
                batch.append(answers.get_nowait())
            await retrying("answering tasks", partial(rt.publisher.publish, [answer for answer, _ in batch]))
            for _, event in batch:
                event.ack()


async def _run_task(rt: Runtime, record: InboundRecord) -> Outgoing:
    """Run one task request's handler on a task thread; never blocks execution partitions."""
    try:
        request = codec.decode(record.value or b"")
        if not isinstance(request, wire.TaskRequested):
            raise codec.DecodeError(f"a {type(request).__name__} does not belong on the tasks topic")
    except (codec.DecodeError, ValueError) as exc:
        return dead_letter(rt.catalogue, rt.catalogue.tasks, record, f"undecodable task request: {exc}")
    effect = ev.RunTask(request.task_token, request.resource, request.handler, request.payload, request.state,
                        request.wait_for_callback, request.heartbeat_seconds)
    result = await in_thread(rt.task_threads, call_handler, rt.handlers, effect)
    answer: wire.Command
    if isinstance(result, ev.TaskSucceeded):
        answer = wire.SendTaskSuccess(request.task_token, result.output)
    else:
        assert isinstance(result, ev.TaskFailed)
        answer = wire.SendTaskFailure(request.task_token, result.error, result.cause)
    try:
        value = codec.encode(answer)
    except (codec.EncodeError, ValueError) as exc:  # e.g. a result that is not JSON
        value = codec.encode(wire.SendTaskFailure(request.task_token, "States.Runtime",
                                                  f"the task result cannot be encoded: {exc}"))
    return Outgoing(rt.catalogue.commands, answer.partition_key, value)
