"""How an agent turns a stream of records into batches, and finishes them in order.

    batched_agent(app, topic, partitions, name, max_batch, apply, timings)

A batch is whatever has arrived, never what a timer waited for. ``apply`` handles a batch and
may return a finishing step (waiting for the broker's acks, then whatever must follow them);
finishing steps run one after another in batch order while later batches are applied, and a
batch's records are acknowledged (their offsets become committable) only after its own.
Infrastructure failures are retried with backoff: input is never skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import faust

from streams.agent_stats import BatchTimings
from streams.processor import InboundRecord

log = logging.getLogger("stepstream")
T = TypeVar("T")

#: Backoff bounds when the database or broker fails under an agent (seconds).
RETRY_FIRST, RETRY_MAX = 0.2, 10.0
#: How many applied batches may wait for their finishing steps (acks, commits) before an agent stops taking more.
MAX_FINISHING = 8


#: What a batch still has to do after it is durable (publish its effects); None when nothing.
Finish = Callable[[], Awaitable[None]] | None


def topic(app: faust.App, name: str, partitions: int) -> Any:
    return app.topic(name, key_type=bytes, value_type=bytes, partitions=partitions)


def inbound(events: list[Any]) -> list[InboundRecord]:
    return [InboundRecord(e.message.partition, e.message.offset, e.message.key, e.message.value) for e in events]


async def retrying(what: str, attempt: Callable[[], Awaitable[T]]) -> T:
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


async def in_thread(thread: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(thread, fn, *args)


def batched_agent(app: faust.App, topic_name: str, partitions: int, name: str, max_batch: int,
                  apply: Callable[[list[Any]], Awaitable[Finish]], timings: BatchTimings) -> None:
    """An agent whose batches are what has arrived, never what a timer waited for.

    The agent only queues events (unacknowledged); a processing loop takes everything queued so
    far as one batch. While a batch is applied the agent keeps consuming, so batches grow with
    load and a lone record is handled at once. ``apply`` hands the batch's effects to the
    producer and may return a finishing step (waiting for the broker's acknowledgements, then
    whatever must follow them): finishing steps run while later batches are applied, one after
    another in batch order, at most ``MAX_FINISHING`` behind. Events are acknowledged (their
    offsets become committable) only after their batch has fully finished.
    """
    agent_topic = topic(app, topic_name, partitions)
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=4 * max_batch)

    async def consume(stream: Any) -> None:
        async for event in stream.noack().events():
            await queue.put(event)

    async def drain() -> None:
        finishing = _Finishing(name)
        while True:
            batch = [await queue.get()]
            while len(batch) < max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            timings.picked(time.time(), [event.message.timestamp for event in batch])
            began = time.perf_counter()
            finish = await retrying(name, partial(apply, batch))
            timings.applied(time.perf_counter() - began)
            await finishing.add(finish, batch)

    drain.__name__ = f"{name}_batches"
    app.agent(agent_topic, name=name)(consume)
    app.task(drain)


class _Finishing:
    """An agent's finishing steps, run one after another in batch order, each batch acknowledged after its own."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.pending: deque[asyncio.Future[None]] = deque()

    async def add(self, finish: Finish, batch: list[Any]) -> None:
        """Queue a batch's finishing step; waits first if ``MAX_FINISHING`` are already pending."""
        while self.pending and self.pending[0].done():
            self.pending.popleft()
        if len(self.pending) >= MAX_FINISHING:
            await self.pending.popleft()
        previous = self.pending[-1] if self.pending else None
        if finish is None and previous is None:
            _ack(batch)
            return
        self.pending.append(asyncio.ensure_future(self._run(previous, finish, batch)))

    async def _run(self, previous: asyncio.Future[None] | None, finish: Finish, batch: list[Any]) -> None:
        if previous is not None:
            await previous
        if finish is not None:
            await retrying(f"{self.agent} (finishing)", finish)
        _ack(batch)


def _ack(batch: list[Any]) -> None:
    for event in batch:
        event.ack()
