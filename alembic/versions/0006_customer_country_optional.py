"""A customer's country is optional: no country is NULL, never an empty string.

The country list's blank option used to be stored as "", which is no country code,
and every page that showed such a customer failed. Existing blanks become NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _set_nullable(True)
    op.execute("UPDATE customer SET country = NULL WHERE country = ''")


def downgrade() -> None:
    op.execute("UPDATE customer SET country = '' WHERE country IS NULL")
    _set_nullable(False)


def _set_nullable(nullable: bool) -> None:
    with op.batch_alter_table("customer") as batch:
        batch.alter_column("country", existing_type=sa.String(2), nullable=nullable)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite rebuilds the table, and the copy cannot carry an expression index over.
        op.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_customer_email_lower ON customer (lower(email))"
        )
