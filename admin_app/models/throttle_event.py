"""Recent requests counted by rate limits other than the login throttle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base, utcnow


class ThrottleEvent(Base):
    """One counted request: `bucket` names the limit (`reset-email`, `reset-ip`), `key` whom.

    Rows older than their limit's window no longer count and are pruned.
    """

    __tablename__ = "throttle_event"
    __audit__ = False  # a rate-limit counter, not a record; like login_failure
    __table_args__ = (
        Index("ix_throttle_event_bucket_key_created_at", "bucket", "key", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
