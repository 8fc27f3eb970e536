"""The correlation service's core: match external messages with waiting Message states.

One partition of the messages topic orders everything about a correlation value: the external
messages (keyed by correlation key + value) and the Subscribe/Unsubscribe records executions
send (same key). So the decisions here never race across partitions. For a batch of records:

1. plan: apply each record in order to what is known of its correlation, and decide which
   MessageDelivered commands to publish and what the store must remember. What is known comes
   from :class:`~streams.correlation_cache.CorrelationCache` (this worker's own earlier plans)
   or, for what it lacks, from two batched store reads;
2. the agent publishes the deliveries (durable on the bus);
3. then the plan's store changes are committed in one transaction, while the next batch is
   already being planned (the cache holds what the pending commit will write).

A crash between 2 and 3 replays the batch against the unchanged store, so the same deliveries
are published again, and the engine ignores a delivery whose subscription is no longer
pending. Nothing is lost: a message is never forgotten before its deliveries are on the bus.

Semantics: a message resumes every execution waiting on its key and value (default), or only
the oldest waiter when ``single_consumer``. A message nobody waits for is buffered until its
time-to-live and handed to the first wait that starts before it expires. A message id seen
before (within the retention window) is not applied again. Values compare as typed JSON:
"123" is not 123.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.correlation_cache import CorrelationCache, Slot
from streams.processor import InboundRecord, dead_letter
from streams.publisher import Outgoing
from streams.store import BufferedMessage, CorrelationWrite, Store, Subscription
from topics import codec
from topics import messages as wire
from topics.canonical import canonical_json
from topics.catalogue import Catalogue

log = logging.getLogger(__name__)

_Correlated = wire.ExternalMessage | wire.Subscribe | wire.Unsubscribe  # what belongs on the messages topic


@dataclass
class CorrelationPlan:
    """Deliveries to publish, then store changes to commit."""

    publish: list[Outgoing] = field(default_factory=list)
    write: CorrelationWrite = field(default_factory=CorrelationWrite)
    delivered: int = 0
    buffered: int = 0
    duplicates: int = 0
    sequence: int = 0  # the cache's number for this plan


class CorrelationService:
    """Plans the effects of a batch of messages-topic records."""

    def __init__(self, store: Store, catalogue: Catalogue, cache: CorrelationCache | None = None) -> None:
        self.store = store
        self.catalogue = catalogue
        self.cache = cache if cache is not None else CorrelationCache()

    def plan(self, records: Sequence[InboundRecord], now: float) -> CorrelationPlan:
        """Decide a batch's deliveries and store changes; the store is read, never written.

        Plans must be committed in the order they were made, each exactly once (:meth:`commit`).
        A plan that raises leaves nothing to commit and makes the cache start afresh.
        """
        sequence = self.cache.begin_plan()
        try:
            plan = self._plan(records, now, sequence)
        except BaseException:
            self.cache.abandon(sequence)
            raise
        self.cache.end_plan()
        return plan

    def _plan(self, records: Sequence[InboundRecord], now: float, sequence: int) -> CorrelationPlan:
        steps = [self._decode(record) for record in records]
        items = [step for step in steps if not isinstance(step, Outgoing)]
        # What the cache lacks takes two reads for the whole batch: the stored waits and
        # buffered messages of those correlations, and which message ids were seen before.
        wanted = {key: (item.correlation_key, item.correlation_value) for item, key in items}
        missing = self.cache.missing(wanted)
        if missing:
            stored = self.store.find_correlations([wanted[key] for key in missing], now)
            for key in missing:
                self.cache.load(key, *stored.get(key, ([], [])))
        unknown = self.cache.unseen(item.message_id for item, _ in items if isinstance(item, wire.ExternalMessage))
        seen = self.store.seen_message_ids(unknown, now) if unknown else set()
        plan = CorrelationPlan(sequence=sequence)
        for step in steps:
            if isinstance(step, Outgoing):
                plan.publish.append(step)
                continue
            item, key = step
            slot = self.cache.slot(key, sequence)
            if isinstance(item, wire.ExternalMessage):
                self._message(item, slot, seen, plan, now)
            elif isinstance(item, wire.Subscribe):
                self._subscribe(item, slot, plan, now)
            else:
                self._unsubscribe(item, slot, plan)
        return plan

    def commit(self, plan: CorrelationPlan, now: float) -> None:
        """After the deliveries are durable: remember what the batch changed."""
        if not plan.write.empty:
            self.store.apply_correlation(plan.write, now=now)
        self.cache.committed(plan.sequence)

    # ------------------------------------------------------------------ records

    def _message(self, message: wire.ExternalMessage, slot: Slot, seen: set[str], plan: CorrelationPlan,
                 now: float) -> None:
        if self.cache.seen(message.message_id) or message.message_id in seen:
            plan.duplicates += 1
            return
        self.cache.mark_seen(message.message_id, plan.sequence)
        plan.write.seen_ids.append(message.message_id)
        if slot.waiting:
            receivers = slot.waiting[:1] if message.single_consumer else list(slot.waiting)
            for subscription in receivers:
                self._deliver(subscription, message.data, message.message_id, slot, plan)
            return
        if message.ttl_seconds and message.ttl_seconds > 0:
            buffered = BufferedMessage(message.correlation_key, message.correlation_value, message.message_id,
                                       message.data, message.sent_at + message.ttl_seconds,
                                       message.single_consumer, now)
            if buffered.expires_at > now:
                slot.buffered.append(buffered)
                plan.write.buffered_added.append(buffered)
                plan.buffered += 1
                return
        log.info("message %s for %s=%s found no waiter and has no time-to-live left: dropped",
                 message.message_id, message.correlation_key, canonical_json(message.correlation_value))

    def _subscribe(self, subscribe: wire.Subscribe, slot: Slot, plan: CorrelationPlan, now: float) -> None:
        subscription = Subscription(subscribe.correlation_key, subscribe.correlation_value,
                                    subscribe.subscription_id, subscribe.execution_id, subscribe.created_at)
        if any(s.subscription_id == subscription.subscription_id for s in slot.waiting):
            return  # a redelivered Subscribe
        if slot.live_buffered(now):
            buffered = slot.buffered.pop(0)
            plan.write.buffered_removed.append(buffered.message_id)
            self._deliver(subscription, buffered.data, buffered.message_id, None, plan)
            return
        slot.add_waiter(subscription)
        plan.write.subscriptions_added.append(subscription)

    def _unsubscribe(self, unsubscribe: wire.Unsubscribe, slot: Slot, plan: CorrelationPlan) -> None:
        kept = [s for s in slot.waiting if s.subscription_id != unsubscribe.subscription_id]
        if len(kept) != len(slot.waiting):
            slot.waiting[:] = kept
            plan.write.subscriptions_removed.append(unsubscribe.subscription_id)

    def _deliver(self, subscription: Subscription, data: Any, message_id: str, slot: Slot | None,
                 plan: CorrelationPlan) -> None:
        command = wire.MessageDelivered(subscription.execution_id, subscription.subscription_id, data, message_id)
        plan.publish.append(Outgoing(self.catalogue.commands, command.partition_key, codec.encode(command)))
        plan.delivered += 1
        if slot is not None:
            slot.waiting.remove(subscription)
            plan.write.subscriptions_removed.append(subscription.subscription_id)

    # ------------------------------------------------------------------ helpers

    def _decode(self, record: InboundRecord) -> tuple[_Correlated, tuple[str, str]] | Outgoing:
        """A record's messages-topic item with its (key, canonical value), or the dead letter it becomes."""
        try:
            item = codec.decode(record.value or b"")
        except codec.DecodeError as exc:
            return self._dead_letter(record, f"undecodable messages record: {exc}")
        if not isinstance(item, _Correlated):
            return self._dead_letter(record, f"a {type(item).__name__} does not belong on the messages topic")
        return item, (item.correlation_key, canonical_json(item.correlation_value))

    def _dead_letter(self, record: InboundRecord, reason: str) -> Outgoing:
        return dead_letter(self.catalogue, self.catalogue.messages, record, reason)
