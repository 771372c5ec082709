"""Import jobs that outlive the web process, and mappings of file columns saved per model.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODES = ("create", "update", "upsert")
STATUSES = (
    "uploaded",
    "pending",
    "validating",
    "validated",
    "applying",
    "done",
    "failed",
    "cancelled",
)


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("file_path", sa.String(length=500), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("mode", _enum(MODES, "import_mode"), nullable=False),
        sa.Column("key_field", sa.String(length=64), nullable=True),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("status", _enum(STATUSES, "import_status"), nullable=False),
        sa.Column("rows_new", sa.Integer(), nullable=False),
        sa.Column("rows_updated", sa.Integer(), nullable=False),
        sa.Column("rows_unchanged", sa.Integer(), nullable=False),
        sa.Column("rows_error", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("error_report_path", sa.String(length=500), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _when("finished_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["admin_user.id"],
            name=op.f("fk_import_job_user_id_admin_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    op.create_index(op.f("ix_import_job_user_id"), "import_job", ["user_id"])
    op.create_index(op.f("ix_import_job_status"), "import_job", ["status"])
    op.create_table(
        "import_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mapping")),
        sa.UniqueConstraint("model", "name", name=op.f("uq_import_mapping_model")),
    )


def downgrade() -> None:
    op.drop_table("import_mapping")
    op.drop_table("import_job")
