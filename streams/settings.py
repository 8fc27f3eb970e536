"""Service configuration: environment variables, overridable by CLI flags.

Nothing reads the environment at import time; :func:`Settings.from_env` is called by the
entry points (``create_app(settings)`` takes the result), so tests build Settings directly.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, replace
from typing import Any


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not a whole number") from None


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not a number") from None


#: The agents a worker can run; ``stepstream worker --agents`` / ``STEPSTREAM_AGENTS`` pick a subset.
AGENTS = ("executions", "timers", "correlation", "tasks")


def comma_list(text: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``."""
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


def agent_list(text: str | None, source: str) -> tuple[str, ...]:
    """The agents named in ``text`` (empty when none); ValueError naming ``source`` for an unknown one."""
    agents = comma_list(text)
    unknown = sorted(set(agents) - set(AGENTS))
    if unknown:
        raise ValueError(f"{source}: unknown agent(s) {', '.join(unknown)}; choose from {', '.join(AGENTS)}")
    return agents


@dataclass(frozen=True)
class Settings:
    """Everything a worker or CLI command needs to reach the bus and the database."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    """``KAFKA_BOOTSTRAP``: the Kafka bootstrap servers, host:port[,host:port]."""
    database_url: str = "postgresql+psycopg://stepstream:stepstream@127.0.0.1:5433/stepstream"
    """``STEPSTREAM_DATABASE_URL``: a SQLAlchemy URL for Postgres (psycopg 3 driver)."""
    database_schema: str | None = None
    """``STEPSTREAM_DATABASE_SCHEMA``: the Postgres schema to use (default: the user's search path)."""
    topic_prefix: str = "stepstream."
    """``STEPSTREAM_TOPIC_PREFIX``: prefix of every topic name (a new prefix is a new topic generation)."""
    partitions: int = 12
    """``STEPSTREAM_PARTITIONS``: partitions per topic, chosen up front (see docs/wire-contract.md)."""
    app_id: str = "stepstream"
    """``STEPSTREAM_APP_ID``: the consumer group of the workers."""
    worker_name: str = field(default_factory=socket.gethostname)
    """``STEPSTREAM_WORKER_NAME``: this worker's name in logs and metrics."""
    agents: tuple[str, ...] = AGENTS
    """``STEPSTREAM_AGENTS``: which agents this worker runs (comma-separated; default all). Running
    them in separate processes gives each its own core (one Python process uses one core)."""
    processes: int = 1
    """``STEPSTREAM_PROCESSES``: how many processes a worker spreads its agents over (1-4, same as
    ``worker --processes``; see streams/supervisor.py for the grouping). 2 gives the message path
    and the engine a core each."""
    handler_modules: tuple[str, ...] = ()
    """``STEPSTREAM_HANDLERS``: comma-separated modules defining ``HANDLERS`` for task workers."""
    batch_size: int = 500
    """``STEPSTREAM_BATCH_SIZE``: most commands applied per Postgres transaction."""
    task_concurrency: int = 32
    """``STEPSTREAM_TASK_CONCURRENCY``: Python task handlers running at once per worker."""
    timer_tick_seconds: float = 0.01
    """``STEPSTREAM_TIMER_TICK``: upper bound of the timer agent's sleep between due-checks."""
    message_retention_seconds: float = 7 * 24 * 3600
    """``STEPSTREAM_MESSAGE_RETENTION``: how long a message id is remembered for de-duplication."""
    correlation_cache_size: int = 20_000
    """``STEPSTREAM_CORRELATION_CACHE``: correlation values the correlation agent keeps in memory (and
    five times as many message ids); beyond them it reads Postgres. Bounds the worker's memory."""
    kafka_consumer: str = "librdkafka"
    """``STEPSTREAM_KAFKA_CONSUMER``: what fetches the agents' records, ``librdkafka`` (confluent-kafka,
    see streams/faust_rdkafka.py) or ``aiokafka`` (faust's own driver)."""
    region: str = "us-east-1"
    """``STEPSTREAM_REGION``: the region in ARNs stepstream builds."""
    account: str = "111111111111"
    """``STEPSTREAM_ACCOUNT``: the account id in ARNs stepstream builds."""

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from the environment; keyword arguments (CLI flags) win when not None."""
        handlers = os.environ.get("STEPSTREAM_HANDLERS", "")
        base = cls(
            kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP", cls.kafka_bootstrap),
            database_url=os.environ.get("STEPSTREAM_DATABASE_URL", cls.database_url),
            database_schema=os.environ.get("STEPSTREAM_DATABASE_SCHEMA") or None,
            topic_prefix=os.environ.get("STEPSTREAM_TOPIC_PREFIX", cls.topic_prefix),
            partitions=_env_int("STEPSTREAM_PARTITIONS", cls.partitions),
            app_id=os.environ.get("STEPSTREAM_APP_ID", cls.app_id),
            worker_name=os.environ.get("STEPSTREAM_WORKER_NAME") or socket.gethostname(),
            handler_modules=comma_list(handlers),
            agents=agent_list(os.environ.get("STEPSTREAM_AGENTS"), "STEPSTREAM_AGENTS") or cls.agents,
            processes=_env_int("STEPSTREAM_PROCESSES", cls.processes),
            batch_size=_env_int("STEPSTREAM_BATCH_SIZE", cls.batch_size),
            task_concurrency=_env_int("STEPSTREAM_TASK_CONCURRENCY", cls.task_concurrency),
            timer_tick_seconds=_env_float("STEPSTREAM_TIMER_TICK", cls.timer_tick_seconds),
            message_retention_seconds=_env_float("STEPSTREAM_MESSAGE_RETENTION", cls.message_retention_seconds),
            correlation_cache_size=_env_int("STEPSTREAM_CORRELATION_CACHE", cls.correlation_cache_size),
            kafka_consumer=os.environ.get("STEPSTREAM_KAFKA_CONSUMER", cls.kafka_consumer),
            region=os.environ.get("STEPSTREAM_REGION", cls.region),
            account=os.environ.get("STEPSTREAM_ACCOUNT", cls.account),
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def open_store(self) -> Any:
        """A SqlStore on this deployment's database and schema."""
        from streams.store import SqlStore

        return SqlStore(self.database_url, schema=self.database_schema)
