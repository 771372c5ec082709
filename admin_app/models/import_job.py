"""Import jobs: a file being checked and written into one model, and mappings kept for next time."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base, utcnow


class ImportMode(enum.StrEnum):
    """What rows of the file may do: add records, change existing ones, or both."""

    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"


class ImportStatus(enum.StrEnum):
    """Where a job is. `uploaded` waits for its mapping, `validated` for an apply; `done`,
    `failed` and `cancelled` end it."""

    UPLOADED = "uploaded"
    """The file is in; its mapping is not chosen yet."""
    PENDING = "pending"
    VALIDATING = "validating"
    VALIDATED = "validated"
    APPLYING = "applying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class ImportJob(Base):
    """One uploaded file and what became of it. It outlives the process that started it:
    a job found `applying` after a restart wrote nothing (the apply is one transaction)
    and is marked failed."""

    __tablename__ = "import_job"
    __audit__ = False  # the import itself is logged, as one entry, when it is applied

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(64))
    """The view key of the model imported into, such as `customer`."""
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_user.id", ondelete="SET NULL"), index=True
    )
    file_path: Mapped[str] = mapped_column(String(500))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    mode: Mapped[ImportMode] = mapped_column(_enum(ImportMode, "import_mode"))
    key_field: Mapped[str | None] = mapped_column(String(64))
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """File column -> field name, for the columns that are imported."""
    status: Mapped[ImportStatus] = mapped_column(
        _enum(ImportStatus, "import_status"), default=ImportStatus.PENDING, index=True
    )
    rows_new: Mapped[int] = mapped_column(default=0)
    rows_updated: Mapped[int] = mapped_column(default=0)
    rows_unchanged: Mapped[int] = mapped_column(default=0)
    rows_error: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    error_report_path: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    audit_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("audit_entry.id", ondelete="SET NULL"), unique=True
    )
    """The audit entry of the apply: the revert is offered from it."""
    reverted_at: Mapped[datetime | None]
    """When the whole import was reverted; a second revert is refused."""

    def __str__(self) -> str:
        return f"Import #{self.id} into {self.model} ({self.status})"


class ImportChange(Base):
    """One row an applied import wrote, as its revert needs it: a created row is deleted,
    an updated row gets `before` back (only the columns the import wrote).

    Written set-wise by the apply, in its transaction; removed when the import is
    reverted, or with its job. `version` is the row's version as the import left it:
    a row whose version differs has been changed since, and the revert is refused.
    """

    __tablename__ = "import_change"
    __audit__ = False  # the import and its revert are each logged as one entry

    job_id: Mapped[int] = mapped_column(
        ForeignKey("import_job.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created: Mapped[bool]
    version: Mapped[int | None]
    before: Mapped[dict[str, Any] | None]


class ImportMapping(Base):
    """A named mapping of file columns to one model's fields, offered for the next file."""

    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("model", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    columns: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """File column -> field name."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self) -> str:
        return f"{self.name} ({self.model})"
