"""The audit log: who changed what, when, from where, with before and after values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base, utcnow


class AuditEntry(Base):
    """One change to a record, or one security event, written in the transaction that made it.

    `changes` maps each changed field to `[before, after]`; secrets appear as `"[redacted]"`.
    """

    __tablename__ = "audit_entry"
    __audit__ = False  # logged as security events, or not a record of its own
    __table_args__ = (Index("ix_audit_entry_object", "model", "object_pk", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_user.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(254), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    action: Mapped[str] = mapped_column(String(32), index=True)
    model: Mapped[str] = mapped_column(String(64), default="")
    object_pk: Mapped[str] = mapped_column(String(64), default="")
    object_repr: Mapped[str] = mapped_column(String(200), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(String(300), default="")
    change_set: Mapped[str] = mapped_column(String(36), default="", server_default="", index=True)
    """Groups the entries of one save (an order with its lines), reverted as a whole; ""
    for an entry on its own."""

    def __str__(self) -> str:
        return f"#{self.id} {self.action} {self.model} {self.object_pk}".strip()
