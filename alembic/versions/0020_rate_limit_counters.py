"""Rate limits count per fixed window: one counter row per bucket and key.

The API's limit was two transactions per call (insert an event, then count the
window's events); a counter bumped by one upsert is one statement. A row per key holds
its current window's start and count; the upsert starts a new window when that one
has ended. The password reset limits, the only other users of `throttle_event`, move
to the counters too, and that table goes. Counts in flight are not carried over: they
live one window at most.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counter",
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=254), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "key", name=op.f("pk_rate_limit_counter")),
    )
    op.drop_index("ix_throttle_event_bucket_key_created_at", table_name="throttle_event")
    op.drop_table("throttle_event")


def downgrade() -> None:
    op.create_table(
        "throttle_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle_event")),
    )
    op.create_index(
        "ix_throttle_event_bucket_key_created_at", "throttle_event", ["bucket", "key", "created_at"]
    )
    op.drop_table("rate_limit_counter")
