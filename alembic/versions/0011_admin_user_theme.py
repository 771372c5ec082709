"""Each account's colour theme: auto (follow the operating system), light or dark.

Kept on the account, not in the browser, so it follows the person to another
browser. Existing accounts get `auto`, which looks as before on a light system.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("admin_user") as batch:
        batch.add_column(
            sa.Column("theme", sa.String(length=8), server_default="auto", nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_admin_user_theme_known"), "theme IN ('auto', 'light', 'dark')"
        )
    _keep_email_index()


def downgrade() -> None:
    with op.batch_alter_table("admin_user") as batch:
        batch.drop_constraint(op.f("ck_admin_user_theme_known"), type_="check")
        batch.drop_column("theme")
    _keep_email_index()


def _keep_email_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite rebuilds the table, and the copy cannot carry an expression index over.
        op.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_admin_user_email_lower "
            "ON admin_user (lower(email))"
        )
