"""Server-side login sessions: the cookie holds a random token, this table its hash."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, utcnow

if TYPE_CHECKING:
    from admin_app.models.admin_user import AdminUser


class AdminSession(Base):
    """One login of one user on one device, until logout, revocation or timeout.

    `id` is the SHA-256 of the 256-bit token in the user's cookie, so a copy of
    this table cannot be replayed as cookies.
    """

    __tablename__ = "admin_session"
    __audit__ = False  # logged as security events, or not a record of its own

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_user.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    revoked_at: Mapped[datetime | None]

    user: Mapped[AdminUser] = relationship()
