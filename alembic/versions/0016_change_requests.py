"""Change requests: four-eyes approval of sensitive changes; an order's refunded amount.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("pending", "approved", "rejected", "stale")


def upgrade() -> None:
    op.create_table(
        "change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=60), nullable=False),
        sa.Column("record_pk", sa.String(length=100), nullable=False),
        sa.Column("record_repr", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                *STATUSES,
                name="change_request_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("proposer_id", sa.Integer(), nullable=True),
        sa.Column("proposer", sa.String(length=200), nullable=False),
        sa.Column("decider_id", sa.Integer(), nullable=True),
        sa.Column("decider", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposer_id"],
            ["admin_user.id"],
            name=op.f("fk_change_request_proposer_id_admin_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decider_id"],
            ["admin_user.id"],
            name=op.f("fk_change_request_decider_id_admin_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request")),
    )
    op.create_index("ix_change_request_status_id", "change_request", ["status", "id"])
    op.create_index("ix_change_request_model_record_pk", "change_request", ["model", "record_pk"])
    op.create_index(op.f("ix_change_request_proposer_id"), "change_request", ["proposer_id"])
    op.create_index(op.f("ix_change_request_decider_id"), "change_request", ["decider_id"])
    op.add_column(
        "orders",
        sa.Column(
            "refunded_amount",
            sa.Numeric(precision=12, scale=2),
            server_default="0",
            nullable=False,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("refunded_amount")
    op.drop_table("change_request")
