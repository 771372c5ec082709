"""Recent failed (or still pending) login attempts, counted to throttle guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base, utcnow


class LoginFailure(Base):
    """One login attempt that has not (yet) succeeded, by account and by client IP.

    Rows older than the throttling window no longer count and are pruned.
    """

    __tablename__ = "login_failure"
    __audit__ = False  # logged as security events, or not a record of its own
    __table_args__ = (
        Index("ix_login_failure_email_created_at", "email", "created_at"),
        Index("ix_login_failure_ip_created_at", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
