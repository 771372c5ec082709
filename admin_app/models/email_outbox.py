"""The email outbox: every message the app decided to send, until it is sent or given up."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base, utcnow


class OutboxStatus(enum.StrEnum):
    """Where a message is: waiting (or being retried), delivered, or given up."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(Base):
    """One rendered email, written in the same transaction as the change that caused it.

    A worker claims a pending row by setting `locked_until` (its lease) and `locked_by`;
    a worker that dies leaves the lease to expire, and the row is claimed again.

    A password-reset or invitation link is never stored: the bodies hold a note where it
    goes, and `link_*` say what to mint when the message is sent
    (`admin_app.email.secret_links`).
    """

    __tablename__ = "email_outbox"
    __audit_exclude__ = frozenset({"text_body", "html_body", "link_base"})
    """The rendered email is no record of what changed; subject, recipient and kind say it."""
    __table_args__ = (Index("ix_email_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(
            OutboxStatus,
            name="outbox_status",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        ),
        default=OutboxStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    link_purpose: Mapped[str | None] = mapped_column(String(20))
    """`password-reset` or `invitation` when the message carries such a link."""
    link_user_id: Mapped[int | None]
    """The account the link is for (no foreign key: a deleted account just gets no link)."""
    link_base: Mapped[str | None] = mapped_column(String(500))
    """The link without its token, e.g. `https://admin.example.com/admin/invitation/`."""

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipient}"
