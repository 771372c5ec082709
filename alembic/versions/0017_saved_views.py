"""Saved views of lists, role defaults, and each user's remembered columns and page size.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["admin_user.id"],
            name=op.f("fk_saved_view_owner_id_admin_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_view")),
    )
    op.create_index("ix_saved_view_owner_model", "saved_view", ["owner_id", "model"])
    op.create_table(
        "saved_view_role",
        sa.Column("view_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["role.id"],
            name=op.f("fk_saved_view_role_role_id_role"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["view_id"],
            ["saved_view.id"],
            name=op.f("fk_saved_view_role_view_id_saved_view"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("view_id", "role_id", name=op.f("pk_saved_view_role")),
    )
    op.create_index(op.f("ix_saved_view_role_role_id"), "saved_view_role", ["role_id"])
    op.create_table(
        "role_default_view",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=60), nullable=False),
        sa.Column("view_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["role.id"],
            name=op.f("fk_role_default_view_role_id_role"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["view_id"],
            ["saved_view.id"],
            name=op.f("fk_role_default_view_view_id_saved_view"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "model", name=op.f("pk_role_default_view")),
    )
    op.create_index(op.f("ix_role_default_view_view_id"), "role_default_view", ["view_id"])
    op.create_table(
        "list_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=60), nullable=False),
        sa.Column("cols", sa.Text(), nullable=True),
        sa.Column("page_size", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["admin_user.id"],
            name=op.f("fk_list_preference_user_id_admin_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "model", name=op.f("pk_list_preference")),
    )


def downgrade() -> None:
    op.drop_table("list_preference")
    op.drop_table("role_default_view")
    op.drop_table("saved_view_role")
    op.drop_index("ix_saved_view_owner_model", table_name="saved_view")
    op.drop_table("saved_view")
