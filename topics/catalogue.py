"""The topic catalogue: every topic stepstream uses, its key, partitions, retention and compaction.

The partition count is fixed when the topics are created: Kafka places a keyed record on
``murmur2(key) % partitions``, so adding partitions later moves keys (executions, correlations)
to other partitions and other workers while their earlier records stay behind. Grow it only by
draining the topics or by a new generation of topics under a new prefix (docs/wire-contract.md).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from topics.messages import Record, topic_role

__all__ = ["ROLES", "Catalogue", "TopicMismatch", "TopicSpec", "ensure_topics"]

_DAY_MS = 24 * 60 * 60 * 1000
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]+$")

#: Catalogue attribute -> (topic name suffix, key, retention in days, description).
_TOPICS: dict[str, tuple[str, str, int, str]] = {
    "commands": ("commands", "execution id", 7,
                 "StartExecution, StopExecution, SendTask{Success,Failure,Heartbeat}, TimerFired, MessageDelivered"),
    "events": ("events", "execution id", 7, "ExecutionEvent (history, for consumers) and ExecutionRejected"),
    "timers": ("timers", "execution id", 7, "ScheduleTimer and CancelTimer, for the timer service"),
    "tasks": ("tasks", "execution id", 7, "TaskRequested for the service's in-process Python task workers"),
    "activities": ("activities", "execution id", 7,
                   "TaskRequested for external workers: activity ARNs and .waitForTaskToken integrations"),
    "messages": ("messages", "correlation key + value", 7,
                 "ExternalMessage for Message states, Subscribe and Unsubscribe from executions"),
    "dead_letters": ("dead-letters", "original key", 30, "DeadLetter: records that could not be decoded or applied"),
}
#: The catalogue attributes, in table order.
ROLES = tuple(_TOPICS)


class TopicMismatch(RuntimeError):
    """An existing topic does not have the partition count the catalogue expects."""


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its full name, partitions, key, cleanup policy, retention and purpose."""

    name: str
    partitions: int
    key: str
    compacted: bool
    retention_ms: int
    description: str

    def config(self) -> dict[str, str]:
        """The topic-level configuration to create it with."""
        return {"cleanup.policy": "compact" if self.compacted else "delete", "retention.ms": str(self.retention_ms)}


@dataclass(frozen=True)
class Catalogue:
    """The topics of one stepstream deployment: ``prefix`` + name, ``partitions`` each.

    A new ``prefix`` is a new generation of topics (see the module docstring).
    """

    prefix: str = "stepstream."
    partitions: int = 12

    def __post_init__(self) -> None:
        if not _TOPIC_NAME.match(self.prefix + "x"):
            raise ValueError(f"topic prefix {self.prefix!r}: Kafka topic names use only letters, digits, '.', '_', '-'")
        if self.partitions < 1:
            raise ValueError(f"partitions must be at least 1, not {self.partitions}")

    @property
    def commands(self) -> str:
        return self._name("commands")

    @property
    def events(self) -> str:
        return self._name("events")

    @property
    def timers(self) -> str:
        return self._name("timers")

    @property
    def tasks(self) -> str:
        return self._name("tasks")

    @property
    def activities(self) -> str:
        return self._name("activities")

    @property
    def messages(self) -> str:
        return self._name("messages")

    @property
    def dead_letters(self) -> str:
        return self._name("dead_letters")

    def all(self) -> list[TopicSpec]:
        """Every topic's spec, in table order."""
        return [self.spec(role) for role in ROLES]

    def spec(self, role: str) -> TopicSpec:
        """The spec of the topic with catalogue attribute ``role`` (e.g. ``"commands"``)."""
        suffix, key, days, description = _TOPICS[role]
        return TopicSpec(self.prefix + suffix, self.partitions, key, False, days * _DAY_MS, description)

    def topic_for(self, record: Record) -> str:
        """The full name of the topic ``record`` is published on."""
        return self._name(topic_role(record))

    def _name(self, role: str) -> str:
        return self.prefix + _TOPICS[role][0]


def ensure_topics(bootstrap: str, catalogue: Catalogue | None = None, *, replication_factor: int = -1,
                  timeout: float = 30.0, admin_config: dict[str, Any] | None = None) -> list[str]:
    """Create the catalogue's missing topics; return the names it created (idempotent).

    Waits until every topic has all its partitions with a leader. ``replication_factor=-1`` takes
    the broker's ``default.replication.factor``.

    Raises:
        TopicMismatch: a topic exists with another partition count (keys would map elsewhere).
        confluent_kafka.KafkaException: the broker refused (other than "already exists").
    """
    from confluent_kafka.admin import AdminClient

    catalogue = catalogue or Catalogue()
    admin = AdminClient({"bootstrap.servers": bootstrap, **(admin_config or {})})
    existing = admin.list_topics(timeout=timeout).topics
    for spec in catalogue.all():
        if spec.name in existing:
            _check_partitions(spec, len(existing[spec.name].partitions))
    missing = [spec for spec in catalogue.all() if spec.name not in existing]
    created = _create(admin, missing, replication_factor, timeout)
    _wait_until_ready(admin, catalogue.all(), timeout)
    return created


def _create(admin: Any, specs: list[TopicSpec], replication_factor: int, timeout: float) -> list[str]:
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    if not specs:
        return []
    futures = admin.create_topics(
        [NewTopic(s.name, num_partitions=s.partitions, replication_factor=replication_factor, config=s.config())
         for s in specs],
        operation_timeout=timeout, request_timeout=timeout)
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
            created.append(name)
        except KafkaException as exc:
            # Another process created it between our listing and our request: that is fine.
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return sorted(created, key=[s.name for s in specs].index)


def _wait_until_ready(admin: Any, specs: list[TopicSpec], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = {spec.name: spec for spec in specs}
    while pending:
        topics = admin.list_topics(timeout=timeout).topics
        for name in list(pending):
            meta = topics.get(name)
            # A new topic's metadata can show it before all its partitions have a leader.
            if meta is not None and meta.error is None and len(meta.partitions) == pending[name].partitions and \
                    all(p.leader >= 0 for p in meta.partitions.values()):
                del pending[name]
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"topics not ready after {timeout} s: {', '.join(sorted(pending))}")
        if pending:
            time.sleep(0.1)


def _check_partitions(spec: TopicSpec, actual: int) -> None:
    if actual != spec.partitions:
        raise TopicMismatch(
            f"topic {spec.name} has {actual} partitions, the catalogue says {spec.partitions}: keys would map to "
            "other partitions. Drain the topics or use a new prefix (see docs/wire-contract.md)")
