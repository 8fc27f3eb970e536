"""The Postgres system of record, behind one interface with an in-memory twin for tests.

* :class:`Store` is the protocol the agents and the CLI use.
* :class:`SqlStore` implements it on Postgres (SQLAlchemy 2 Core, psycopg 3, Alembic migrations
  in ``streams/migrations``); :class:`MemoryStore` implements it in dictionaries, with the same
  behaviour (one contract test suite runs against both).
* The execution agent's unit of work is :class:`BatchWrite`: one :class:`ExecutionWrite` per
  execution touched by a batch of commands, committed by :meth:`Store.commit_batch` in one
  transaction before any effect is published.
"""

from streams.store.base import DEFAULT_MESSAGE_RETENTION_SECONDS, Store
from streams.store.codec import canonical_json, definition_hash
from streams.store.errors import ConflictError, StoreError
from streams.store.memory import MemoryStore
from streams.store.records import (
    BatchWrite,
    BufferedMessage,
    CommitResult,
    CorrelationWrite,
    ExecutionRecord,
    ExecutionSummary,
    ExecutionWrite,
    ExpireResult,
    HistoryRow,
    OutboxKey,
    OutboxRow,
    StateMachineRecord,
    Subscription,
    SubscriptionKey,
    TimerKey,
    TimerRow,
)
from streams.store.sql import SqlStore

__all__ = [
    "DEFAULT_MESSAGE_RETENTION_SECONDS",
    "BatchWrite",
    "BufferedMessage",
    "CommitResult",
    "ConflictError",
    "CorrelationWrite",
    "ExecutionRecord",
    "ExecutionSummary",
    "ExecutionWrite",
    "ExpireResult",
    "HistoryRow",
    "MemoryStore",
    "OutboxKey",
    "OutboxRow",
    "SqlStore",
    "StateMachineRecord",
    "Store",
    "StoreError",
    "Subscription",
    "SubscriptionKey",
    "TimerKey",
    "TimerRow",
    "canonical_json",
    "definition_hash",
]
