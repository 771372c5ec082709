"""An account's new email address waits in `pending_email` until its owner confirms it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("admin_user", sa.Column("pending_email", sa.String(254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admin_user") as batch:
        batch.drop_column("pending_email")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite rebuilds the table, and the copy cannot carry an expression index over.
        op.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_admin_user_email_lower "
            "ON admin_user (lower(email))"
        )
