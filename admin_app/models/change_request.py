"""Change requests: a sensitive change proposed by one person, applied once another approves."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base, utcnow


class RequestStatus(enum.StrEnum):
    """Where a request is: waiting for a decision, decided, or overtaken by another change."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    STALE = "stale"


class ChangeRequest(Base):
    """A proposed change to one record (`admin_app.admin.approvals`).

    `changes` maps each field to `[value when proposed, proposed value]`, as the audit log
    stores an update; `record_version` is the record's version at proposal time, and the
    change is applied only if the record still has it.
    """

    __tablename__ = "change_request"
    __table_args__ = (
        Index("ix_change_request_status_id", "status", "id"),
        Index("ix_change_request_model_record_pk", "model", "record_pk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(60))
    """The admin key of the record's view, e.g. `product`."""
    record_pk: Mapped[str] = mapped_column(String(100))
    record_repr: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(60), default="edit")
    """`edit` for field changes; otherwise the name of the proposed action (`refund`)."""
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    record_version: Mapped[int | None]
    status: Mapped[RequestStatus] = mapped_column(
        Enum(
            RequestStatus,
            name="change_request_status",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        ),
        default=RequestStatus.PENDING,
    )
    proposer_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_user.id", ondelete="SET NULL"), index=True
    )
    proposer: Mapped[str] = mapped_column(String(200), default="")
    decider_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_user.id", ondelete="SET NULL"), index=True
    )
    decider: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    def __str__(self) -> str:
        return f"Change request #{self.id}"
