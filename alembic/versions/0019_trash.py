"""Trash: customers, products, orders and order lines can sit in a trash before being purged.

Each gets `deleted_at` (when it was trashed) and `trash_batch` (which delete took it),
both indexed. A unique value is unique among the records not in the trash only: a
trashed product's SKU, or a trashed customer's email, does not block a new one. The
unique constraint and index become partial unique indexes `WHERE deleted_at IS NULL`
(PostgreSQL and SQLite both have them).

Downgrade removes the trashed rows (children first) before the columns: without the
columns, they would come back to life, and their unique values could clash.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("customer", "product", "orders", "order_line")
"""Parents before children; the downgrade purges in the reverse order."""
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("trash_batch", sa.String(length=32), nullable=True))
        op.create_index(f"ix_{table}_deleted_at", table, ["deleted_at"])
        op.create_index(f"ix_{table}_trash_batch", table, ["trash_batch"])
    op.drop_index("uq_customer_email_lower", table_name="customer")
    _unique_email(where=LIVE)
    with op.batch_alter_table("product") as batch:
        batch.drop_constraint("uq_product_sku", type_="unique")
    op.create_index(
        "uq_product_sku", "product", ["sku"], unique=True, postgresql_where=LIVE, sqlite_where=LIVE
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DELETE FROM {table} WHERE deleted_at IS NOT NULL")
    op.drop_index("uq_product_sku", table_name="product")
    with op.batch_alter_table("product") as batch:
        batch.create_unique_constraint("uq_product_sku", ["sku"])
    op.drop_index("uq_customer_email_lower", table_name="customer")
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_trash_batch", table_name=table)
        op.drop_index(f"ix_{table}_deleted_at", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("trash_batch")
            batch.drop_column("deleted_at")
    _unique_email(where=None)


def _unique_email(where: sa.TextClause | None) -> None:
    # Created after any rebuild of the table: SQLite's copy cannot carry an expression index.
    op.create_index(
        "uq_customer_email_lower",
        "customer",
        [sa.text("lower(email)")],
        unique=True,
        postgresql_where=where,
        sqlite_where=where,
    )
