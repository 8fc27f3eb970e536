"""The initial schema: state machines, executions, history, outbox, timers, correlation tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written out rather than generated from ``streams.store.schema`` so this revision never changes
when the metadata moves on; a test checks that migrating to head matches the metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = TIMESTAMP(timezone=True)


def upgrade() -> None:
    _executions_tables()
    _timer_and_correlation_tables()


def _executions_tables() -> None:
    op.create_table(
        "state_machines",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("definition", JSONB, nullable=False),
        sa.Column("definition_hash", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="state_machines_pkey"),
    )
    op.create_table(
        "executions",
        sa.Column("execution_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("state_machine", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("input", JSONB),
        sa.Column("output", JSONB),
        sa.Column("error", sa.Text),
        sa.Column("cause", sa.Text),
        sa.Column("current_state", sa.Text),
        sa.Column("start_time", TZ),
        sa.Column("stop_time", TZ),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("last_offset", sa.BigInteger, nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
        sa.Column("snapshot_format", sa.Integer, nullable=False),
        sa.Column("transitions", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("execution_id", name="executions_pkey"),
    )
    op.create_index("executions_status_start_idx", "executions", ["status", "start_time"])
    op.create_index("executions_machine_start_idx", "executions", ["state_machine", "start_time"])
    op.create_index("executions_start_idx", "executions", ["start_time"])
    op.create_table(
        "history",
        sa.Column("execution_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("previous_event_id", sa.Integer, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("timestamp", TZ, nullable=False),
        sa.Column("details", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "event_id", name="history_pkey"),
    )
    op.create_table(
        "outbox",
        sa.Column("execution_id", sa.Text, nullable=False),
        sa.Column("command_offset", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.LargeBinary),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "command_offset", "seq", name="outbox_pkey"),
    )
    op.create_index("outbox_partition_idx", "outbox", ["partition", "command_offset"])


def _timer_and_correlation_tables() -> None:
    op.create_table(
        "timers",
        sa.Column("execution_id", sa.Text, nullable=False),
        sa.Column("timer_id", sa.Text, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("fire_at", sa.Double, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "timer_id", name="timers_pkey"),
    )
    op.create_index("timers_partition_fire_idx", "timers", ["partition", "fire_at"])
    op.create_table(
        "subscriptions",
        sa.Column("correlation_key", sa.Text, nullable=False),
        sa.Column("correlation_value_text", sa.Text, nullable=False),
        sa.Column("correlation_value", JSONB, nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("execution_id", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint(
            "correlation_key", "correlation_value_text", "subscription_id", name="subscriptions_pkey"
        ),
    )
    op.create_table(
        "buffered_messages",
        sa.Column("correlation_key", sa.Text, nullable=False),
        sa.Column("correlation_value_text", sa.Text, nullable=False),
        sa.Column("correlation_value", JSONB, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("data", JSONB),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.Column("single_consumer", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint(
            "correlation_key", "correlation_value_text", "message_id", name="buffered_messages_pkey"
        ),
    )
    op.create_index("buffered_messages_expires_idx", "buffered_messages", ["expires_at"])
    op.create_table(
        "seen_messages",
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("seen_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="seen_messages_pkey"),
    )
    op.create_index("seen_messages_seen_idx", "seen_messages", ["seen_at"])


def downgrade() -> None:
    for table in ("seen_messages", "buffered_messages", "subscriptions", "timers", "outbox", "history",
                  "executions", "state_machines"):
        op.drop_table(table)
