"""Order lines keep the order the user gave them, and one form save is one audit change set.

`order_line.position` is the line's place in its order (1, 2, …), set by the order form
when lines are added or moved; existing lines are numbered in the order they were added
(by id). `audit_entry.change_set` groups the entries of one save (an order and all its
lines), so a revert undoes the save as a whole; "" for entries that stand alone.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE order_line SET position = numbered.n
FROM (
    SELECT id, row_number() OVER (PARTITION BY order_id ORDER BY id) AS n FROM order_line
) AS numbered
WHERE numbered.id = order_line.id
"""


def upgrade() -> None:
    with op.batch_alter_table("order_line") as batch:
        batch.add_column(sa.Column("position", sa.Integer(), server_default="0", nullable=False))
    op.execute(BACKFILL)
    op.create_index("ix_order_line_order_position", "order_line", ["order_id", "position"])
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(
            sa.Column("change_set", sa.String(length=36), server_default="", nullable=False)
        )
    op.create_index("ix_audit_entry_change_set", "audit_entry", ["change_set"])


def downgrade() -> None:
    op.drop_index("ix_audit_entry_change_set", table_name="audit_entry")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("change_set")
    op.drop_index("ix_order_line_order_position", table_name="order_line")
    with op.batch_alter_table("order_line") as batch:
        batch.drop_column("position")
