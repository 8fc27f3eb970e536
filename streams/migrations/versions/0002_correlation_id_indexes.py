"""Indexes to remove subscriptions and buffered messages by id alone (``apply_correlation``).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02

The correlation agent ends waits and takes buffered messages naming only the subscription or
message id (both globally unique), so these deletes need an index besides the primary keys,
which lead with the correlation key and value.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("subscriptions_id_idx", "subscriptions", ["subscription_id"])
    op.create_index("buffered_messages_id_idx", "buffered_messages", ["message_id"])


def downgrade() -> None:
    op.drop_index("buffered_messages_id_idx", table_name="buffered_messages")
    op.drop_index("subscriptions_id_idx", table_name="subscriptions")
