"""The executions agent's batch pipeline: batch N+1 is applied while batch N commits.

    ExecutionPipeline(processor, publisher, ...).apply(events) -> Finish

Each batch goes through three steps: *prepare* (decode, engine, encode: CPU on the executions
thread), *land* (one Postgres transaction on the commit thread, then its effects go to the
producer) and *finish* (wait for the broker's acks, then acknowledge the input). Landing batch N
overlaps preparing batch N+1, which is prepared on top of N's not yet committed state. Batches
land strictly one after another and publish in batch order, so state is always saved before
anything is published, as without the pipeline.

When a landing fails (the database is down, or a rebalance fenced the batch off), everything
prepared after it is void: the processor starts a new generation (a cold cache), the failed batch
is applied again on its own, and the next batch is prepared again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from streams.agent_loop import Finish, in_thread, inbound, retrying
from streams.agent_stats import ExecutionCounters
from streams.processor import BatchOutcome, ExecutionProcessor, InboundRecord, PreparedBatch
from streams.publisher import Outgoing, Publisher, PublishError
from streams.store import ConflictError

log = logging.getLogger("stepstream")


@dataclass
class _Landed:
    """A batch that is durable and handed to the producer."""

    outcomes: list[BatchOutcome]
    effects: list[Outgoing]
    sent: asyncio.Future[None]
    began: float  # when its preparing began (perf_counter)
    committed: float  # when it became durable


class ExecutionPipeline:
    """Applies batches of commands with the commit of one overlapping the engine work of the next."""

    def __init__(self, processor: ExecutionProcessor, publisher: Publisher, prepare_thread: ThreadPoolExecutor,
                 commit_thread: ThreadPoolExecutor, stats: ExecutionCounters, published_outbox: list[Any]) -> None:
        self.processor = processor
        self.publisher = publisher
        self.prepare_thread = prepare_thread
        self.commit_thread = commit_thread
        self.stats = stats
        self.published_outbox = published_outbox  # outbox keys whose records the broker has
        self._landing: asyncio.Future[_Landed] | None = None  # the previous batch

    async def apply(self, events: list[Any]) -> Finish:
        """Prepare a batch, start landing it once the previous one has landed; the returned step waits for its acks."""
        records = inbound(events)
        began = time.perf_counter()
        previous = self._landing
        if previous is not None and self.processor.forgetting:
            # A rebalance: the batch must read the store, so whatever is still committing goes first.
            await asyncio.wait([previous])
        # Read on the event loop, where a failed landing starts a new generation and queues its
        # redo on the preparing thread in one step: a batch prepared in this generation is
        # prepared after that redo, one prepared in an older one is prepared again below.
        generation = self.processor.generation
        prepared = await in_thread(self.prepare_thread, self.processor.prepare, records, time.time())
        if previous is not None:
            await asyncio.wait([previous])  # never fails: a landing retries until it is durable
            if self.processor.generation != generation:  # the previous batch failed and was redone
                prepared = await in_thread(self.prepare_thread, self.processor.prepare, records, time.time())
        landing = asyncio.ensure_future(self._land(prepared, records, began))
        self._landing = landing

        async def finish() -> None:
            landed = await landing
            try:
                await landed.sent
            except PublishError:
                log.exception("executions (publishing) failed; sending the batch's records again")
                await retrying("executions (publishing)", partial(self.publisher.publish, landed.effects))
            # Published: the outbox rows may go. The outbox cleaner deletes them in bulk, saving a
            # round trip per batch; a crash before that only re-publishes records with stable ids.
            for outcome in landed.outcomes:
                self.published_outbox.extend(outcome.outbox_keys)
            transitions = sum(o.transitions for o in landed.outcomes)
            self.stats.batch(len(records), transitions, landed.committed - landed.began,
                             time.perf_counter() - landed.committed)

        return finish

    async def _land(self, prepared: PreparedBatch, records: list[InboundRecord], began: float) -> _Landed:
        try:
            outcomes = [await in_thread(self.commit_thread, self.processor.commit, prepared)]
        except Exception as exc:
            self.processor.discard()  # what was prepared on top of this batch is void
            if isinstance(exc, ConflictError):
                log.warning("a batch was fenced off (a rebalance?); applying it again per partition: %s", exc)
            else:
                log.exception("executions (committing) failed; applying the batch again")
            outcomes = await retrying("executions", partial(self._redo, records))
        committed = time.perf_counter()
        effects = [out for outcome in outcomes for out in outcome.publish]
        sent = self.publisher.send(effects)  # committed first: state is saved before anything is published
        return _Landed(outcomes, effects, sent, began, committed)

    async def _redo(self, records: list[InboundRecord]) -> list[BatchOutcome]:
        """Apply a batch again from the store's state: all at once or, if a rebalance fenced part off, per partition."""
        try:
            return [await in_thread(self.prepare_thread, self.processor.process, records, time.time())]
        except ConflictError:
            return await self._per_partition(records)

    async def _per_partition(self, records: list[InboundRecord]) -> list[BatchOutcome]:
        """A rebalance fenced part of a batch off: apply what we still own, leave the rest to its owner."""
        outcomes = []
        for partition in sorted({r.partition for r in records}):
            part = [r for r in records if r.partition == partition]
            try:
                outcomes.append(await in_thread(self.prepare_thread, self.processor.process, part, time.time()))
            except ConflictError as exc:
                log.warning("partition %d moved to another worker; its %d queued command(s) are left to it: %s",
                            partition, len(part), exc)
        return outcomes
