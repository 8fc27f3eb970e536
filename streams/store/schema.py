"""The Postgres tables, as SQLAlchemy Core metadata (the queries use these; migrations create them).

Every table is keyed by what one Kafka partition owns (execution id, or correlation key and
value), so Postgres can later be sharded by the same columns; nothing on a hot path needs a
global sequence. ``tests/integration/test_store_postgres.py`` checks that the migrations build
exactly this metadata.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

metadata = MetaData()

TZ = TIMESTAMP(timezone=True)

state_machines = Table(
    "state_machines",
    metadata,
    Column("name", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JSONB, nullable=False),
    Column("definition_hash", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    PrimaryKeyConstraint("name", "version", name="state_machines_pkey"),
)

executions = Table(
    "executions",
    metadata,
    Column("execution_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("state_machine", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("input", JSONB),
    Column("output", JSONB),
    Column("error", Text),
    Column("cause", Text),
    Column("current_state", Text),
    Column("start_time", TZ),
    Column("stop_time", TZ),
    Column("updated_at", TZ, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("last_offset", BigInteger, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("snapshot_format", Integer, nullable=False),
    Column("transitions", Integer, nullable=False),
    PrimaryKeyConstraint("execution_id", name="executions_pkey"),
    Index("executions_status_start_idx", "status", "start_time"),
    Index("executions_machine_start_idx", "state_machine", "start_time"),
    Index("executions_start_idx", "start_time"),
)

history = Table(
    "history",
    metadata,
    Column("execution_id", Text, nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("previous_event_id", Integer, nullable=False),
    Column("type", Text, nullable=False),
    Column("timestamp", TZ, nullable=False),
    Column("details", JSONB, nullable=False),
    PrimaryKeyConstraint("execution_id", "event_id", name="history_pkey"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("execution_id", Text, nullable=False),
    Column("command_offset", BigInteger, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("topic", Text, nullable=False),
    Column("key", LargeBinary),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", TZ, nullable=False),
    PrimaryKeyConstraint("execution_id", "command_offset", "seq", name="outbox_pkey"),
    Index("outbox_partition_idx", "partition", "command_offset"),
)

timers = Table(
    "timers",
    metadata,
    Column("execution_id", Text, nullable=False),
    Column("timer_id", Text, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("fire_at", Double, nullable=False),  # POSIX seconds, compared exactly with the engine's clock
    Column("purpose", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    PrimaryKeyConstraint("execution_id", "timer_id", name="timers_pkey"),
    Index("timers_partition_fire_idx", "partition", "fire_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("correlation_key", Text, nullable=False),
    Column("correlation_value_text", Text, nullable=False),  # canonical JSON: equality of typed values
    Column("correlation_value", JSONB, nullable=False),
    Column("subscription_id", Text, nullable=False),
    Column("execution_id", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    PrimaryKeyConstraint("correlation_key", "correlation_value_text", "subscription_id", name="subscriptions_pkey"),
    # apply_correlation removes by id alone (ids are globally unique uuid5 values).
    Index("subscriptions_id_idx", "subscription_id"),
)

buffered_messages = Table(
    "buffered_messages",
    metadata,
    Column("correlation_key", Text, nullable=False),
    Column("correlation_value_text", Text, nullable=False),
    Column("correlation_value", JSONB, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("data", JSONB),
    Column("expires_at", Double, nullable=False),  # POSIX seconds
    Column("single_consumer", Boolean, nullable=False),
    Column("created_at", TZ, nullable=False),
    PrimaryKeyConstraint("correlation_key", "correlation_value_text", "message_id", name="buffered_messages_pkey"),
    Index("buffered_messages_expires_idx", "expires_at"),
    Index("buffered_messages_id_idx", "message_id"),
)

seen_messages = Table(
    "seen_messages",
    metadata,
    Column("message_id", Text, nullable=False),
    Column("seen_at", Double, nullable=False),  # POSIX seconds
    PrimaryKeyConstraint("message_id", name="seen_messages_pkey"),
    Index("seen_messages_seen_idx", "seen_at"),
)
