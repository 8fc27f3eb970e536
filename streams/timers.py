"""The timer service's core: durable pending timers that fire as commands, never early.

The execution agent publishes ScheduleTimer/CancelTimer records (keyed by execution id) to the
timers topic. This service stores each pending timer in Postgres, keeps the timers of the
partitions it owns in a heap, and when a timer is due (wall clock >= fire_at) publishes
TimerFired to the commands topic, then forgets it. A crash between publishing and forgetting
fires it again after restart: harmless, since the engine ignores a fire whose timer is no
longer pending. Lateness (publish time - fire_at) is recorded for the benchmark and metrics.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from streams.processor import InboundRecord, dead_letter
from streams.publisher import Outgoing
from streams.store import Store, TimerKey, TimerRow
from topics import codec
from topics import messages as wire
from topics.catalogue import Catalogue

log = logging.getLogger(__name__)

#: Lateness samples kept for percentiles (a ring; enough for p99 over the last minutes).
MAX_LATENESS_SAMPLES = 50_000


@dataclass
class TimerStats:
    fired: int = 0
    cancelled: int = 0
    rejected: int = 0
    lateness: list[float] = field(default_factory=list)

    def observe(self, seconds: float) -> None:
        if len(self.lateness) >= MAX_LATENESS_SAMPLES:
            del self.lateness[: MAX_LATENESS_SAMPLES // 10]
        self.lateness.append(seconds)


class TimerService:
    """Pending timers of the timers-topic partitions this worker owns."""

    def __init__(self, store: Store, catalogue: Catalogue) -> None:
        self.store = store
        self.catalogue = catalogue
        self.stats = TimerStats()
        self._heap: list[tuple[float, str, str]] = []
        self._live: dict[TimerKey, tuple[float, int]] = {}  # key -> (fire_at, partition)
        self._partitions: set[int] = set()

    # ------------------------------------------------------------------ ownership

    def assign(self, partitions: Iterable[int]) -> None:
        """Own exactly these partitions: load timers of new ones, drop timers of revoked ones."""
        wanted = set(partitions)
        added, dropped = wanted - self._partitions, self._partitions - wanted
        if dropped:
            self._live = {k: v for k, v in self._live.items() if v[1] not in dropped}
        if added:
            for row in self.store.load_timers(sorted(added)):
                self._track(row)
            log.info("timers: own partitions %s (+%s -%s), %d pending", sorted(wanted), sorted(added),
                     sorted(dropped), len(self._live))
        self._partitions = wanted

    # ------------------------------------------------------------------ input

    def handle(self, records: Sequence[InboundRecord], now: float) -> list[Outgoing]:
        """Store scheduled timers and forget cancelled ones; returns dead letters for bad records."""
        letters: list[Outgoing] = []
        scheduled: dict[TimerKey, TimerRow] = {}
        cancelled: list[TimerKey] = []
        for record in records:
            try:
                item = codec.decode(record.value or b"")
            except codec.DecodeError as exc:
                letters.append(self._dead_letter(record, f"undecodable timer record: {exc}"))
                continue
            if isinstance(item, wire.ScheduleTimer):
                row = TimerRow(item.execution_id, item.timer_id, record.partition, item.fire_at, item.purpose)
                scheduled[row.key] = row
            elif isinstance(item, wire.CancelTimer):
                key = (item.execution_id, item.timer_id)
                scheduled.pop(key, None)
                cancelled.append(key)
            else:
                reason = f"a {type(item).__name__} does not belong on the timers topic"
                letters.append(self._dead_letter(record, reason))
        if cancelled:
            self.store.delete_timers(cancelled)
            for key in cancelled:
                if self._live.pop(key, None) is not None:
                    self.stats.cancelled += 1
        if scheduled:
            self.store.save_timers(scheduled.values(), now=now)
            for row in scheduled.values():
                self._track(row)
        return letters

    def _track(self, row: TimerRow) -> None:
        self._live[row.key] = (row.fire_at, row.partition)
        heapq.heappush(self._heap, (row.fire_at, row.execution_id, row.timer_id))

    def _dead_letter(self, record: InboundRecord, reason: str) -> Outgoing:
        self.stats.rejected += 1
        return dead_letter(self.catalogue, self.catalogue.timers, record, reason)

    # ------------------------------------------------------------------ firing

    def next_due(self) -> float | None:
        """When the soonest live timer is due, or None."""
        while self._heap:
            fire_at, execution_id, timer_id = self._heap[0]
            live = self._live.get((execution_id, timer_id))
            if live is not None and live[0] == fire_at:
                return fire_at
            heapq.heappop(self._heap)  # cancelled, moved or revoked: drop the stale entry
        return None

    def due(self, now: float) -> list[tuple[TimerKey, float, Outgoing]]:
        """Timers due at ``now`` (never earlier), as TimerFired commands to publish."""
        fired = []
        while (fire_at := self.next_due()) is not None and fire_at <= now:
            _, execution_id, timer_id = heapq.heappop(self._heap)
            command = wire.TimerFired(execution_id, timer_id, fire_at)
            out = Outgoing(self.catalogue.commands, command.partition_key, codec.encode(command))
            fired.append(((execution_id, timer_id), fire_at, out))
        return fired

    def fired(self, keys: Sequence[TimerKey], fire_times: Sequence[float], published_at: float) -> None:
        """The TimerFired commands are durable on the bus: forget the timers."""
        self.store.delete_timers(keys)
        for key, fire_at in zip(keys, fire_times, strict=True):
            live = self._live.get(key)
            if live is not None and live[0] == fire_at:
                del self._live[key]
            self.stats.fired += 1
            self.stats.observe(published_at - fire_at)

    @property
    def pending(self) -> int:
        return len(self._live)
