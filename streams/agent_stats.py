"""Figures the worker logs every few seconds, so an operator can see where latency comes from.

For each batched agent: how old its records are when a batch takes them (from the record's
Kafka timestamp, so it includes the bus hop and the time queued in the worker) and how long
applying a batch takes. For the executions agent also commands, transitions and publish time.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

#: Samples kept per interval; older ones are dropped (the figures describe recent batches).
MAX_SAMPLES = 20_000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class BatchTimings:
    """Record age at pickup and batch apply time of one agent, since the last ``line()``."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.ages: deque[float] = deque(maxlen=MAX_SAMPLES)
        self.applies: deque[float] = deque(maxlen=MAX_SAMPLES)
        self.records = 0

    def picked(self, now: float, timestamps: list[float | None]) -> None:
        """A batch was taken at ``now``; ``timestamps`` are its records' Kafka timestamps (seconds)."""
        self.records += len(timestamps)
        self.ages.extend(now - t for t in timestamps if t)

    def applied(self, seconds: float) -> None:
        self.applies.append(seconds)

    def line(self) -> str | None:
        """A log line for the interval, then start a new one; None when no batch ran."""
        if not self.applies:
            return None
        ages, applies = list(self.ages), list(self.applies)
        batches, records = len(applies), self.records
        self.ages.clear()
        self.applies.clear()
        self.records = 0
        age = (f"record age at pickup p50 {1000 * _percentile(ages, 0.5):.1f} ms "
               f"p99 {1000 * _percentile(ages, 0.99):.1f} ms; ") if ages else ""
        return (f"{self.agent} agent: {records} records in {batches} batches; {age}"
                f"apply p50 {1000 * _percentile(applies, 0.5):.1f} ms p99 {1000 * _percentile(applies, 0.99):.1f} ms")


@dataclass
class ExecutionCounters:
    """Totals of the executions agent since the worker started."""

    batches: int = 0
    commands: int = 0
    transitions: int = 0
    apply_seconds: float = 0.0
    publish_seconds: float = 0.0

    def batch(self, commands: int, transitions: int, apply: float, publish: float) -> None:
        self.batches += 1
        self.commands += commands
        self.transitions += transitions
        self.apply_seconds += apply
        self.publish_seconds += publish

    def line(self) -> str:
        per = max(self.batches, 1)
        return (f"executions agent: {self.commands} commands in {self.batches} batches "
                f"({self.commands / per:.1f}/batch), {self.transitions} transitions; per batch "
                f"apply {1000 * self.apply_seconds / per:.1f} ms, publish {1000 * self.publish_seconds / per:.1f} ms")


class CollectorPauses:
    """Garbage-collector pauses of at least ``slow`` seconds, for the periodic log line.

    ``observe`` is a ``gc.callbacks`` hook: it only appends (no logging, no locks) because it
    runs inside the collector, on whichever thread triggered it.
    """

    def __init__(self, slow: float = 0.02) -> None:
        self.slow = slow
        self._started = 0.0
        self.pauses: deque[tuple[int, float]] = deque(maxlen=1000)

    def observe(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif (paused := time.perf_counter() - self._started) >= self.slow:
            self.pauses.append((int(info.get("generation", -1)), paused))

    def line(self) -> str | None:
        """The slow pauses since the last call, or None."""
        if not self.pauses:
            return None
        pauses = list(self.pauses)
        self.pauses.clear()
        longest = max(seconds for _, seconds in pauses)
        return (f"garbage collector: {len(pauses)} pauses of {1000 * self.slow:.0f} ms or more, "
                f"longest {1000 * longest:.0f} ms (generations {sorted({g for g, _ in pauses})})")


#: The worker process's collector pauses (hooked up by streams.worker).
GC_PAUSES = CollectorPauses()
