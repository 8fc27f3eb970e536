"""The faust app: four thin agents around the cores in processor.py, timers.py, correlation.py.

Each agent decodes a batch of records, hands it to its core on a dedicated thread (Postgres
calls block; the event loop keeps consuming), publishes what the core produced, and only then
lets faust commit the input offsets. Agents never skip input: bad records become dead letters
inside the cores, and an infrastructure failure (database or broker down) is retried with
backoff while the partition waits, because faust's ``take_events`` acknowledges a batch even
when the loop body raises.

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
from typing import Any, TypeVar

import faust

from engine import events as ev
from engine.runner import Handler, call_handler
from streams.correlation import CorrelationService
from streams.processor import ExecutionProcessor, InboundRecord
from streams.publisher import Outgoing, Publisher
from streams.settings import Settings
from streams.store import ConflictError, Store
from streams.timers import TimerService
from topics import codec
from topics import messages as wire
from topics.catalogue import Catalogue

log = logging.getLogger("stepstream")
T = TypeVar("T")

#: Backoff bounds when the database or broker fails under an agent (seconds).
RETRY_FIRST, RETRY_MAX = 0.2, 10.0


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
        self.task_threads = ThreadPoolExecutor(self.settings.task_concurrency, thread_name_prefix="tasks")
        self.timer_wake = asyncio.Event()


def create_app(settings: Settings, *, handlers: Mapping[str, Handler] | None = None,
               store: Store | None = None) -> faust.App:
    """A faust app running the execution, timer, correlation and task-worker agents."""
    catalogue = Catalogue(settings.topic_prefix, settings.partitions)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
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
        TimerService(store, catalogue), CorrelationService(store, catalogue), dict(handlers or {}),
    )
    app.stepstream = runtime  # type: ignore[attr-defined]  # for tests and the worker's shutdown
    _execution_agent(app, runtime)
    _timer_agents(app, runtime)
    _correlation_agent(app, runtime)
    _task_agent(app, runtime)
    return app


def _topic(app: faust.App, name: str, partitions: int) -> Any:
    return app.topic(name, key_type=bytes, value_type=bytes, partitions=partitions)


def _inbound(events: list[Any]) -> list[InboundRecord]:
    return [InboundRecord(e.message.partition, e.message.offset, e.message.key, e.message.value) for e in events]


async def _retrying(what: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run ``attempt`` until it succeeds: input is never skipped because infrastructure failed."""
    delay = RETRY_FIRST
    while True:
        try:
            return await attempt()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.1fs", what, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)


async def _in(thread: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(thread, fn, *args)


# ---------------------------------------------------------------------- executions


def _execution_agent(app: faust.App, rt: Runtime) -> None:
    topic = _topic(app, rt.catalogue.commands, rt.catalogue.partitions)

    @app.agent(topic, name="executions")
    async def executions(stream: Any) -> None:
        async for events in stream.take_events(rt.settings.batch_size, within=rt.settings.batch_wait_seconds):
            records = _inbound(events)
            await _retrying("applying commands", partial(_apply_commands, rt, records))


async def _apply_commands(rt: Runtime, records: list[InboundRecord]) -> None:
    try:
        outcome = await _in(rt.execution_thread, rt.processor.process, records, time.time())
    except ConflictError as exc:
        # Another worker owns these executions now (a rebalance fenced us): it applies them.
        log.warning("batch of %d commands fenced off, left to the new owner: %s", len(records), exc)
        return
    await rt.publisher.publish(outcome.publish)
    if outcome.outbox_keys:
        await _in(rt.execution_thread, rt.store.delete_outbox, outcome.outbox_keys)


# ---------------------------------------------------------------------- timers


def _timer_agents(app: faust.App, rt: Runtime) -> None:
    topic = _topic(app, rt.catalogue.timers, rt.catalogue.partitions)

    @app.agent(topic, name="timers")
    async def timers(stream: Any) -> None:
        async for events in stream.take_events(500, within=rt.settings.batch_wait_seconds):
            records = _inbound(events)
            await _retrying("storing timers", partial(_store_timers, app, rt, records))
            rt.timer_wake.set()

    @app.task
    async def fire_timers() -> None:
        while True:
            await _retrying("firing timers", partial(_fire_due, app, rt))
            next_due = await _in(rt.timer_thread, rt.timers.next_due)
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
    await _in(rt.timer_thread, rt.timers.assign, _owned(app, rt.catalogue.timers))
    letters = await _in(rt.timer_thread, rt.timers.handle, records, time.time())
    await rt.publisher.publish(letters)


async def _fire_due(app: faust.App, rt: Runtime) -> None:
    await _in(rt.timer_thread, rt.timers.assign, _owned(app, rt.catalogue.timers))
    due = await _in(rt.timer_thread, rt.timers.due, time.time())
    if not due:
        return
    await rt.publisher.publish([out for _, _, out in due])
    keys = [key for key, _, _ in due]
    times = [fire_at for _, fire_at, _ in due]
    await _in(rt.timer_thread, rt.timers.fired, keys, times, time.time())


# ---------------------------------------------------------------------- correlation


def _correlation_agent(app: faust.App, rt: Runtime) -> None:
    topic = _topic(app, rt.catalogue.messages, rt.catalogue.partitions)

    @app.agent(topic, name="correlation")
    async def correlation(stream: Any) -> None:
        async for events in stream.take_events(500, within=rt.settings.batch_wait_seconds):
            records = _inbound(events)
            await _retrying("correlating messages", partial(_correlate, rt, records))


async def _correlate(rt: Runtime, records: list[InboundRecord]) -> None:
    now = time.time()
    plan = await _in(rt.correlation_thread, rt.correlation.plan, records, now)
    await rt.publisher.publish(plan.publish)
    await _in(rt.correlation_thread, rt.correlation.commit, plan, now)


# ---------------------------------------------------------------------- task workers


def _task_agent(app: faust.App, rt: Runtime) -> None:
    topic = _topic(app, rt.catalogue.tasks, rt.catalogue.partitions)

    @app.agent(topic, name="tasks", concurrency=rt.settings.task_concurrency)
    async def tasks(stream: Any) -> None:
        async for event in stream.events():
            record = InboundRecord(event.message.partition, event.message.offset, event.message.key,
                                   event.message.value)
            answer = await _run_task(rt, record)
            await _retrying("answering a task", partial(rt.publisher.publish, [answer]))


async def _run_task(rt: Runtime, record: InboundRecord) -> Outgoing:
    """Run one task request's handler on a task thread; never blocks execution partitions."""
    try:
        request = codec.decode(record.value or b"")
        if not isinstance(request, wire.TaskRequested):
            raise codec.DecodeError(f"a {type(request).__name__} does not belong on the tasks topic")
    except (codec.DecodeError, ValueError) as exc:
        key = record.key.decode("utf-8", "replace") if record.key is not None else None
        letter = wire.DeadLetter(rt.catalogue.tasks, record.partition, record.offset, key,
                                 f"undecodable task request: {exc}",
                                 record.value.decode("utf-8", "replace") if record.value else None)
        return Outgoing(rt.catalogue.dead_letters, letter.partition_key, codec.encode(letter))
    effect = ev.RunTask(request.task_token, request.resource, request.handler, request.payload, request.state,
                        request.wait_for_callback, request.heartbeat_seconds)
    result = await _in(rt.task_threads, call_handler, rt.handlers, effect)
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
