"""Indexes for fast lists: keyset pages for every offered sort, trigram search.

Each list sort is served by a B-tree on `(column, id)`, read in order from either
end, so deep and last pages cost the same as the first. On PostgreSQL, pg_trgm GIN
indexes serve the search box's `col ILIKE '%term%'`; SQLite gets none of those
(its search scans, which is fine at its scale).

`CREATE EXTENSION pg_trgm` needs a superuser, or on PostgreSQL 13+ a user with
CREATE on the database (pg_trgm is a trusted extension). Where the migration role
has neither, create the extension once as a superuser before `admin-app db upgrade`.
The indexes are built in the migration's transaction, which blocks writes to the
tables while it runs (about a minute for a million customers). Every index is
created IF NOT EXISTS, so on a busy database they can be built beforehand with
CREATE INDEX CONCURRENTLY under the same names (docs/big-tables.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORTS = {
    "customer": ("first_name", "last_name", "email", "city", "country", "created_at"),
    "orders": ("placed_at", "status", "total"),
    "order_line": ("quantity", "unit_price"),
    "product": ("name", "price", "stock", "is_active", "created_at"),
}
"""Tables and the columns their lists sort by; each gets an index on (column, id)."""

TRIGRAM = {
    "customer": ("first_name", "last_name", "email", "city"),
    "orders": ("notes",),
    "product": ("name", "sku"),
}
"""Text columns the list search matches by substring (PostgreSQL only)."""

REPLACED = {"customer": "country", "orders": "placed_at"}
"""Single-column indexes from 0001 that the (column, id) indexes make redundant."""


def upgrade() -> None:
    for table, column in REPLACED.items():
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    for table, columns in SORTS.items():
        for column in columns:
            op.create_index(f"ix_{table}_{column}_id", table, [column, "id"], if_not_exists=True)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in TRIGRAM.items():
        for column in columns:
            op.create_index(
                f"ix_{table}_{column}_trgm",
                table,
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
                if_not_exists=True,
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in TRIGRAM.items():
            for column in columns:
                op.drop_index(f"ix_{table}_{column}_trgm", table_name=table)
        # pg_trgm stays: other objects may use it, and dropping needs a superuser.
    for table, columns in SORTS.items():
        for column in columns:
            op.drop_index(f"ix_{table}_{column}_id", table_name=table)
    for table, column in REPLACED.items():
        op.create_index(f"ix_{table}_{column}", table, [column])
