"""The correlation service's core: match external messages with waiting Message states.

One partition of the messages topic orders everything about a correlation value: the external
messages (keyed by correlation key + value) and the Subscribe/Unsubscribe records executions
send (same key). So the decisions here never race across partitions. For a batch of records:

1. plan: read the store (two batched reads for the whole batch: the waits and buffered messages
   of every correlation it touches, and which of its message ids were seen), apply each record
   in order to an in-memory view, and decide which MessageDelivered commands to publish and what
   the store must remember;
2. the agent publishes the deliveries (durable on the bus);
3. then the plan's store changes are committed in one transaction.

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
class _Slot:
    """What is known of one (key, value) during a batch: waits and buffered messages, oldest first."""

    waiting: list[Subscription]
    buffered: list[BufferedMessage]


@dataclass
class CorrelationPlan:
    """Deliveries to publish, then store changes to commit."""

    publish: list[Outgoing] = field(default_factory=list)
    write: CorrelationWrite = field(default_factory=CorrelationWrite)
    delivered: int = 0
    buffered: int = 0
    duplicates: int = 0


class CorrelationService:
    """Plans the effects of a batch of messages-topic records."""

    def __init__(self, store: Store, catalogue: Catalogue) -> None:
        self.store = store
        self.catalogue = catalogue

    def plan(self, records: Sequence[InboundRecord], now: float) -> CorrelationPlan:
        """Decide a batch's deliveries and store changes; the store is read, never written."""
        steps = [self._decode(record) for record in records]
        items = [step for step in steps if not isinstance(step, Outgoing)]
        # Two reads for the whole batch: the stored waits and buffered messages of every
        # correlation it touches, and which of its message ids were seen before.
        wanted = {key: (item.correlation_key, item.correlation_value) for item, key in items}
        stored = self.store.find_correlations(wanted.values(), now)
        seen = self.store.seen_message_ids(
            [item.message_id for item, _ in items if isinstance(item, wire.ExternalMessage)], now)
        slots = {key: _Slot(waiting, buffered) for key, (waiting, buffered) in stored.items()}
        plan = CorrelationPlan()
        for step in steps:
            if isinstance(step, Outgoing):
                plan.publish.append(step)
                continue
            item, key = step
            if isinstance(item, wire.ExternalMessage):
                self._message(item, slots[key], seen, plan, now)
            elif isinstance(item, wire.Subscribe):
                self._subscribe(item, slots[key], plan)
            else:
                self._unsubscribe(item, slots[key], plan)
        return plan

    def commit(self, plan: CorrelationPlan, now: float) -> None:
        """After the deliveries are durable: remember what the batch changed."""
        if not plan.write.empty:
            self.store.apply_correlation(plan.write, now=now)

    # ------------------------------------------------------------------ records

    def _message(self, message: wire.ExternalMessage, slot: _Slot, seen: set[str], plan: CorrelationPlan,
                 now: float) -> None:
        if message.message_id in plan.write.seen_ids or message.message_id in seen:
            plan.duplicates += 1
            return
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

    def _subscribe(self, subscribe: wire.Subscribe, slot: _Slot, plan: CorrelationPlan) -> None:
        subscription = Subscription(subscribe.correlation_key, subscribe.correlation_value,
                                    subscribe.subscription_id, subscribe.execution_id, subscribe.created_at)
        if any(s.subscription_id == subscription.subscription_id for s in slot.waiting):
            return  # a redelivered Subscribe
        if slot.buffered:
            buffered = slot.buffered.pop(0)
            plan.write.buffered_removed.append(buffered.message_id)
            self._deliver(subscription, buffered.data, buffered.message_id, None, plan)
            return
        slot.waiting.append(subscription)
        plan.write.subscriptions_added.append(subscription)

    def _unsubscribe(self, unsubscribe: wire.Unsubscribe, slot: _Slot, plan: CorrelationPlan) -> None:
        kept = [s for s in slot.waiting if s.subscription_id != unsubscribe.subscription_id]
        if len(kept) != len(slot.waiting):
            slot.waiting[:] = kept
            plan.write.subscriptions_removed.append(unsubscribe.subscription_id)

    def _deliver(self, subscription: Subscription, data: Any, message_id: str, slot: _Slot | None,
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
