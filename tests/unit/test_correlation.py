"""The correlation core (plan -> publish -> commit) and its cache, on the in-memory store."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from streams.correlation import CorrelationPlan, CorrelationService
from streams.correlation_cache import CorrelationCache
from streams.processor import InboundRecord
from streams.store import MemoryStore
from topics import codec
from topics import messages as wire
from topics.catalogue import Catalogue

NOW = 1_000.0


class Bus:
    """Feeds records to a CorrelationService as the agent does, with offsets in order."""

    def __init__(self, service: CorrelationService) -> None:
        self.service = service
        self.offset = 0

    def records(self, *items: Any) -> list[InboundRecord]:
        out = []
        for item in items:
            self.offset += 1
            value = item if isinstance(item, bytes) else codec.encode(item)
            out.append(InboundRecord(0, self.offset, b"k", value))
        return out

    def plan(self, *items: Any, now: float = NOW) -> CorrelationPlan:
        return self.service.plan(self.records(*items), now)

    def run(self, *items: Any, now: float = NOW) -> list[wire.MessageDelivered]:
        """Plan and commit at once; the deliveries the batch published."""
        plan = self.plan(*items, now=now)
        self.service.commit(plan, now)
        return deliveries(plan)


def deliveries(plan: CorrelationPlan) -> list[wire.MessageDelivered]:
    decoded = [codec.decode(out.value) for out in plan.publish]
    return [d for d in decoded if isinstance(d, wire.MessageDelivered)]


def subscribe(execution: str, value: Any = "o-1", *, at: float = NOW, key: str = "orderId") -> wire.Subscribe:
    return wire.Subscribe(key, value, f"sub-{execution}", execution, at)


def unsubscribe(execution: str, value: Any = "o-1") -> wire.Unsubscribe:
    return wire.Unsubscribe("orderId", value, f"sub-{execution}", execution)


def message(message_id: str, value: Any = "o-1", *, ttl: float | None = None, single: bool = False,
            sent_at: float = NOW) -> wire.ExternalMessage:
    return wire.ExternalMessage("orderId", value, {"paid": message_id}, message_id, sent_at, ttl, single)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def service(store: MemoryStore, **cache: int) -> CorrelationService:
    return CorrelationService(store, Catalogue("t.", 4), CorrelationCache(**cache))


def test_a_message_resumes_every_waiter_then_the_waits_are_gone(store: MemoryStore) -> None:
    bus = Bus(service(store))
    assert bus.run(subscribe("e1"), subscribe("e2")) == []
    delivered = bus.run(message("m1"))
    assert [(d.execution_id, d.data) for d in delivered] == [("e1", {"paid": "m1"}), ("e2", {"paid": "m1"})]
    assert store.find_subscriptions("orderId", "o-1") == []
    assert bus.run(message("m2")) == []  # nobody waits any more, and no time-to-live: dropped


def test_single_consumer_resumes_the_oldest_wait_even_if_it_arrived_later(store: MemoryStore) -> None:
    bus = Bus(service(store))
    bus.run(subscribe("late", at=NOW + 5), subscribe("early", at=NOW))
    assert [d.execution_id for d in bus.run(message("m1", single=True))] == ["early"]
    assert [s.execution_id for s in store.find_subscriptions("orderId", "o-1")] == ["late"]


def test_a_buffered_message_goes_to_the_next_wait_before_it_expires(store: MemoryStore) -> None:
    bus = Bus(service(store))
    assert bus.run(message("m1", ttl=60)) == []
    assert [d.execution_id for d in bus.run(subscribe("e1"), now=NOW + 30)] == ["e1"]
    assert store.find_buffered("orderId", "o-1", NOW + 30) == []


def test_an_expired_buffered_message_is_not_delivered_from_the_cache(store: MemoryStore) -> None:
    bus = Bus(service(store))
    bus.run(message("m1", ttl=10))
    assert bus.run(subscribe("e1"), now=NOW + 11) == []
    assert [s.execution_id for s in store.find_subscriptions("orderId", "o-1")] == ["e1"]


def test_a_duplicate_message_id_is_not_applied_twice_within_a_batch_or_across_batches(store: MemoryStore) -> None:
    bus = Bus(service(store))
    bus.run(subscribe("e1"), subscribe("e2", value="o-2"))
    plan = bus.plan(message("m1"), message("m1"))
    bus.service.commit(plan, NOW)
    assert len(deliveries(plan)) == 1 and plan.duplicates == 1
    bus.run(subscribe("e3"))
    assert bus.run(message("m1")) == []


def test_a_duplicate_is_recognised_from_the_store_by_a_worker_with_a_cold_cache(store: MemoryStore) -> None:
    Bus(service(store)).run(message("m1", ttl=60))
    other = Bus(service(store))  # another worker took the partition over
    assert other.run(message("m1", ttl=60)) == []
    assert [d.data for d in other.run(subscribe("e1"))] == [{"paid": "m1"}]


def test_values_compare_as_typed_json(store: MemoryStore) -> None:
    bus = Bus(service(store))
    bus.run(subscribe("text", value="123"), subscribe("number", value=123))
    assert [d.execution_id for d in bus.run(message("m1", value=123))] == ["number"]


def test_an_unsubscribed_wait_gets_nothing(store: MemoryStore) -> None:
    bus = Bus(service(store))
    bus.run(subscribe("e1"))
    bus.run(unsubscribe("e1"))
    assert bus.run(message("m1")) == []


def test_a_redelivered_subscribe_is_one_wait(store: MemoryStore) -> None:
    bus = Bus(service(store))
    bus.run(subscribe("e1"))
    bus.run(subscribe("e1"))
    assert len(bus.run(message("m1"))) == 1


def test_a_warm_cache_answers_without_reading_the_store(store: MemoryStore) -> None:
    svc = service(store)
    bus = Bus(svc)
    bus.run(subscribe("e1"))
    misses = svc.cache.misses
    bus.run(message("m1"))
    assert svc.cache.misses == misses and svc.cache.hits >= 1


def test_the_next_batch_plans_on_what_the_pending_commit_will_write(store: MemoryStore) -> None:
    bus = Bus(service(store, max_slots=1, max_seen_ids=1))
    first = bus.plan(subscribe("e1"), message("m0", value="other", ttl=60))
    # Not committed yet, and the cache is over its bound: nothing first touched may be evicted.
    second = bus.plan(message("m1"), message("m0", value="other", ttl=60))
    assert [d.execution_id for d in deliveries(second)] == ["e1"] and second.duplicates == 1
    bus.service.commit(first, NOW)
    bus.service.commit(second, NOW)
    assert store.find_subscriptions("orderId", "o-1") == []
    assert store.seen_message_ids(["m0", "m1"], NOW) == {"m0", "m1"}


def test_the_cache_stays_within_its_bounds_once_commits_land(store: MemoryStore) -> None:
    svc = service(store, max_slots=10, max_seen_ids=10)
    bus = Bus(svc)
    for i in range(50):
        bus.run(subscribe(f"e{i}", value=f"o-{i}"), message(f"m{i}", value=f"x-{i}", ttl=60))
    assert len(svc.cache) <= 10
    # Evicted entries are read back from the store: every wait is still there.
    delivered = bus.run(*[message(f"n{i}", value=f"o-{i}") for i in range(50)])
    assert sorted(d.execution_id for d in delivered) == sorted(f"e{i}" for i in range(50))


def test_after_a_rebalance_the_cache_forgets_what_another_worker_may_have_changed(store: MemoryStore) -> None:
    mine, theirs = Bus(service(store)), Bus(service(store))
    mine.run(subscribe("e1"))
    theirs.run(message("m1"))  # the partition was theirs for a while: e1 was resumed
    mine.service.cache.forget()
    theirs.offset = mine.offset = 10
    assert mine.run(message("m2")) == []  # without forgetting, the stale cache would resume e1 again


def test_forgetting_waits_for_pending_commits_before_reading_the_store(store: MemoryStore) -> None:
    svc = service(store)
    bus = Bus(svc)
    pending = bus.plan(subscribe("e1"))
    svc.cache.forget()
    result: list[CorrelationPlan] = []
    planner = threading.Thread(target=lambda: result.append(bus.plan(message("m1"))))
    planner.start()
    planner.join(0.2)
    assert planner.is_alive()  # it must not read the store before the pending plan is in it
    svc.commit(pending, NOW)
    planner.join(5)
    assert [d.execution_id for d in deliveries(result[0])] == ["e1"]


def test_a_failed_plan_leaves_nothing_behind_and_the_next_plan_starts_afresh(store: MemoryStore) -> None:
    svc = service(store)
    bus = Bus(svc)
    bus.run(subscribe("e1"))

    def broken(*_: Any) -> set[str]:
        raise ConnectionError("database down")

    real, store.seen_message_ids = store.seen_message_ids, broken  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        bus.plan(message("m1"))
    store.seen_message_ids = real  # type: ignore[method-assign]
    assert [d.execution_id for d in bus.run(message("m1"))] == ["e1"]


def test_undecodable_and_misplaced_records_become_dead_letters(store: MemoryStore) -> None:
    bus = Bus(service(store))
    plan = bus.plan(b"not json", wire.MessageDelivered("e1", "s1", {}))
    letters = [codec.decode(out.value) for out in plan.publish]
    assert [type(letter).__name__ for letter in letters] == ["DeadLetter", "DeadLetter"]
    bus.service.commit(plan, NOW)
