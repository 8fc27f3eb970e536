"""What the correlation agent knows for certain about the correlations of the partitions it owns.

The messages topic orders every record about a correlation value, and only the worker that owns
a partition reads it, so once that worker has read a (key, value) from the store, its own plans
are the only thing that change it. Keeping those slots (and the message ids its plans marked as
seen) in memory takes the store read off the path of most messages: a message for a value whose
wait this worker registered finds its waiters here.

Plans run ahead of their commits (batch N+1 is planned while batch N is written), so an entry a
plan changed must stay until that plan's commit has landed: evicting it earlier would let the
next plan read the store's older state. Entries are evicted oldest first, and an entry touched
by a plan whose commit is still pending is never evicted (touches come in plan order, so
eviction stops at the first such entry).

After a rebalance the worker may have lost a partition and got it back with another worker's
changes in between, so everything is forgotten, but only once every pending commit has landed.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.store import BufferedMessage, Subscription

#: A correlation as the store groups it: (correlation key, canonical JSON of the value).
SlotKey = tuple[str, str]


def _age(subscription: Subscription) -> tuple[float, str]:
    return subscription.created_at, subscription.subscription_id


@dataclass
class Slot:
    """The waits and buffered messages of one correlation, oldest first, as the store will hold them."""

    waiting: list[Subscription] = field(default_factory=list)
    buffered: list[BufferedMessage] = field(default_factory=list)
    touched: int = 0  # the last plan that used it

    def add_waiter(self, subscription: Subscription) -> None:
        bisect.insort(self.waiting, subscription, key=_age)  # the store's order: created_at, then id

    def live_buffered(self, now: float) -> list[BufferedMessage]:
        self.buffered = [m for m in self.buffered if m.expires_at > now]
        return self.buffered


class CorrelationCache:
    """Bounded slots and seen message ids, safe with one planning thread and one committing thread."""

    def __init__(self, max_slots: int = 20_000, max_seen_ids: int = 100_000) -> None:
        self.max_slots = max_slots
        self.max_seen_ids = max_seen_ids
        self._slots: OrderedDict[SlotKey, Slot] = OrderedDict()
        self._seen: OrderedDict[str, int] = OrderedDict()  # message id -> the plan that saw it
        self._planned = 0  # the last plan's sequence number
        self._committed = 0  # every plan up to this one is in the store
        self._landed = threading.Condition()
        self._forget = False
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._slots)

    # ------------------------------------------------------------------ planning thread

    def begin_plan(self) -> int:
        """Start a plan; returns its sequence number. Forgets everything first if a rebalance asked."""
        if self._forget:
            self._wait_for_commits(self._planned)
            self._slots.clear()
            self._seen.clear()
            self._forget = False
        self._planned += 1
        return self._planned

    def missing(self, keys: Iterable[SlotKey]) -> list[SlotKey]:
        """The keys the store must be asked about."""
        wanted = set(keys)
        absent = [key for key in wanted if key not in self._slots]
        self.hits += len(wanted) - len(absent)
        self.misses += len(absent)
        return absent

    def slot(self, key: SlotKey, plan: int) -> Slot:
        slot = self._slots[key]
        slot.touched = plan
        self._slots.move_to_end(key)
        return slot

    def load(self, key: SlotKey, waiting: list[Subscription], buffered: list[BufferedMessage]) -> None:
        """Record what the store holds for a key this cache did not have."""
        self._slots[key] = Slot(sorted(waiting, key=_age), list(buffered))

    def unseen(self, message_ids: Iterable[str]) -> list[str]:
        """The ids this cache does not know as seen (the store must be asked about them)."""
        return [m for m in message_ids if m not in self._seen]

    def mark_seen(self, message_id: str, plan: int) -> None:
        self._seen[message_id] = plan
        self._seen.move_to_end(message_id)

    def seen(self, message_id: str) -> bool:
        return message_id in self._seen

    def abandon(self, plan: int) -> None:
        """The plan failed halfway: it will never be committed, and what it changed here is suspect."""
        assert plan == self._planned, "only the latest plan can be abandoned"
        self._planned -= 1
        self._forget = True

    def end_plan(self) -> None:
        """Evict the oldest entries above the bounds, never one a pending plan touched."""
        committed = self._committed
        while len(self._slots) > self.max_slots:
            key, slot = next(iter(self._slots.items()))
            if slot.touched > committed:
                break
            del self._slots[key]
        while len(self._seen) > self.max_seen_ids:
            message_id, plan = next(iter(self._seen.items()))
            if plan > committed:
                break
            del self._seen[message_id]

    # ------------------------------------------------------------------ committing thread / event loop

    def committed(self, plan: int) -> None:
        """Plan ``plan`` (and every earlier one) is in the store."""
        with self._landed:
            self._committed = max(self._committed, plan)
            self._landed.notify_all()

    def forget(self) -> None:
        """A rebalance happened: forget everything before the next plan (after pending commits land)."""
        self._forget = True

    def _wait_for_commits(self, plan: int) -> None:
        with self._landed:
            self._landed.wait_for(lambda: self._committed >= plan)
