"""The correlation tables of :class:`~streams.store.memory.MemoryStore`: subscriptions, buffered and seen messages."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from streams.store.codec import canonical_json, json_copy, to_microseconds
from streams.store.records import BufferedMessage, CorrelationWrite, ExpireResult, Subscription

Correlation = tuple[str, str]  # (correlation key, canonical JSON of the value)


class MemoryCorrelation:
    """Mixin: correlation state in dictionaries keyed by (key, canonical value), under the store's lock."""

    message_retention_seconds: float
    _lock: threading.RLock
    _subscriptions: dict[Correlation, dict[str, Subscription]]
    _buffered: dict[Correlation, dict[str, BufferedMessage]]
    _seen: dict[str, float]

    def add_subscription(self, subscription: Subscription, *, now: float) -> bool:
        """Register a wait unless it exists."""
        row = stamped_subscription(subscription, now)
        with self._lock:
            waits = self._subscriptions.setdefault(correlation(row.correlation_key, row.correlation_value), {})
            if row.subscription_id in waits:
                return False
            waits[row.subscription_id] = row
            return True

    def remove_subscription(self, correlation_key: str, correlation_value: Any, subscription_id: str) -> bool:
        """Drop a wait."""
        with self._lock:
            waits = self._subscriptions.get(correlation(correlation_key, correlation_value), {})
            return waits.pop(subscription_id, None) is not None

    def find_subscriptions(self, correlation_key: str, correlation_value: Any) -> list[Subscription]:
        """The waits on the key and value, oldest first (nothing changes)."""
        with self._lock:
            waits = list(self._subscriptions.get(correlation(correlation_key, correlation_value), {}).values())
        return [copy_subscription(s) for s in sorted(waits, key=_subscription_age)]

    def take_subscriptions(self, correlation_key: str, correlation_value: Any, *, single: bool) -> list[Subscription]:
        """Remove and return all waits on the key and value, or the oldest one."""
        with self._lock:
            taken = self.find_subscriptions(correlation_key, correlation_value)[: 1 if single else None]
            waits = self._subscriptions.get(correlation(correlation_key, correlation_value), {})
            for subscription in taken:
                del waits[subscription.subscription_id]
        return taken

    def buffer_message(self, message: BufferedMessage, *, now: float) -> bool:
        """Keep a message until it expires, unless its id is already buffered."""
        row = copy_buffered(message, created_at=to_microseconds(message.created_at or now))
        with self._lock:
            kept = self._buffered.setdefault(correlation(row.correlation_key, row.correlation_value), {})
            if row.message_id in kept:
                return False
            kept[row.message_id] = row
            return True

    def find_buffered(self, correlation_key: str, correlation_value: Any, now: float) -> list[BufferedMessage]:
        """Unexpired buffered messages for the key and value, oldest first (nothing changes)."""
        with self._lock:
            kept = self._buffered.get(correlation(correlation_key, correlation_value), {})
            live = sorted((m for m in kept.values() if m.expires_at > now), key=_message_age)
        return [copy_buffered(m) for m in live]

    def find_correlations(self, correlations: Iterable[tuple[str, Any]], now: float
                          ) -> dict[Correlation, tuple[list[Subscription], list[BufferedMessage]]]:
        """Waits and unexpired buffered messages of many (key, value) pairs, oldest first (nothing changes)."""
        found: dict[Correlation, tuple[list[Subscription], list[BufferedMessage]]] = {}
        with self._lock:  # one consistent view, as the SQL store's single statement per table gives
            for key, value in correlations:
                slot = correlation(key, value)
                if slot not in found:
                    found[slot] = (self.find_subscriptions(key, value), self.find_buffered(key, value, now))
        return found

    def take_buffered(self, correlation_key: str, correlation_value: Any, now: float) -> BufferedMessage | None:
        """Remove and return the oldest unexpired message for the key and value."""
        with self._lock:
            live = self.find_buffered(correlation_key, correlation_value, now)
            if not live:
                return None
            del self._buffered[correlation(correlation_key, correlation_value)][live[0].message_id]
        return live[0]

    def message_seen(self, message_id: str, now: float) -> bool:
        """Whether the id was seen within the retention window (nothing changes)."""
        return bool(self.seen_message_ids([message_id], now))

    def seen_message_ids(self, message_ids: Iterable[str], now: float) -> set[str]:
        """The ids among these seen within the retention window (nothing changes)."""
        horizon = now - self.message_retention_seconds
        with self._lock:
            return {m for m in message_ids if (seen_at := self._seen.get(m)) is not None and seen_at > horizon}

    def mark_message_seen(self, message_id: str, now: float) -> bool:
        """Remember a message id; False if seen within the retention window."""
        with self._lock:
            if self.message_seen(message_id, now):
                return False
            self._seen[message_id] = now
            return True

    def apply_correlation(self, write: CorrelationWrite, *, now: float) -> None:
        """Apply what a messages-topic batch changed, all at once."""
        added = [stamped_subscription(s, now) for s in write.subscriptions_added]
        buffered = [copy_buffered(m, created_at=to_microseconds(m.created_at or now)) for m in write.buffered_added]
        with self._lock:  # rows are copied above: a value that is not JSON fails before anything changes
            for subscription in added:
                key = correlation(subscription.correlation_key, subscription.correlation_value)
                self._subscriptions.setdefault(key, {}).setdefault(subscription.subscription_id, subscription)
            self._drop(self._subscriptions, set(write.subscriptions_removed))
            for message in buffered:
                key = correlation(message.correlation_key, message.correlation_value)
                self._buffered.setdefault(key, {}).setdefault(message.message_id, message)
            self._drop(self._buffered, set(write.buffered_removed))
            for message_id in write.seen_ids:
                self.mark_message_seen(message_id, now)

    @staticmethod
    def _drop(tables: dict[Correlation, dict[str, Any]], ids: set[str]) -> None:
        for rows in tables.values():
            for row_id in ids & rows.keys():
                del rows[row_id]

    def expire(self, now: float) -> ExpireResult:
        """Drop expired buffered messages and old message ids."""
        with self._lock:
            buffered = 0
            for kept in self._buffered.values():
                for message_id in [m.message_id for m in kept.values() if m.expires_at <= now]:
                    del kept[message_id]
                    buffered += 1
            horizon = now - self.message_retention_seconds
            old = [message_id for message_id, seen_at in self._seen.items() if seen_at <= horizon]
            for message_id in old:
                del self._seen[message_id]
        return ExpireResult(buffered_messages=buffered, seen_messages=len(old))


def correlation(key: str, value: Any) -> Correlation:
    return (key, canonical_json(value))


def copy_subscription(subscription: Subscription, *, created_at: float | None = None) -> Subscription:
    stamp = subscription.created_at if created_at is None else created_at
    return replace(subscription, correlation_value=json_copy(subscription.correlation_value), created_at=stamp)


def stamped_subscription(subscription: Subscription, now: float) -> Subscription:
    """A copy as stored: ``created_at`` kept when the caller set it, else ``now`` (both to the microsecond)."""
    return copy_subscription(subscription, created_at=to_microseconds(subscription.created_at or now))


def copy_buffered(message: BufferedMessage, *, created_at: float | None = None) -> BufferedMessage:
    stamp = message.created_at if created_at is None else created_at
    return replace(message, correlation_value=json_copy(message.correlation_value), data=json_copy(message.data),
                   created_at=stamp)


def _subscription_age(subscription: Subscription) -> tuple[float, str]:
    return (subscription.created_at, subscription.subscription_id)


def _message_age(message: BufferedMessage) -> tuple[float, str]:
    return (message.created_at, message.message_id)
