"""Each account's language: en, fr, de or ar (admin_app.languages).

Kept on the account, not in the browser, so it follows the person to another browser,
as the theme does (0011). Existing accounts get `en`, the language of every page so far.
No check constraint: adding a language is an entry in one table and a catalogue, not a
migration; the app reads a code it does not know as English.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("admin_user") as batch:
        batch.add_column(
            sa.Column("locale", sa.String(length=8), server_default="en", nullable=False)
        )
    _keep_email_index()


def downgrade() -> None:
    with op.batch_alter_table("admin_user") as batch:
        batch.drop_column("locale")
    _keep_email_index()


def _keep_email_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite rebuilds the table, and the copy cannot carry an expression index over.
        op.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_admin_user_email_lower "
            "ON admin_user (lower(email))"
        )
