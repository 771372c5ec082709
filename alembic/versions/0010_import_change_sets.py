"""Import change sets: what each applied import wrote, so it can be reverted as a whole.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_job") as batch:
        batch.add_column(sa.Column("audit_entry_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_import_job_audit_entry_id_audit_entry"),
            "audit_entry",
            ["audit_entry_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_unique_constraint(op.f("uq_import_job_audit_entry_id"), ["audit_entry_id"])
    op.create_table(
        "import_change",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_job.id"],
            name=op.f("fk_import_change_job_id_import_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "record_id", name=op.f("pk_import_change")),
    )


def downgrade() -> None:
    op.drop_table("import_change")
    with op.batch_alter_table("import_job") as batch:
        batch.drop_constraint(op.f("uq_import_job_audit_entry_id"), type_="unique")
        batch.drop_constraint(op.f("fk_import_job_audit_entry_id_audit_entry"), type_="foreignkey")
        batch.drop_column("reverted_at")
        batch.drop_column("audit_entry_id")
