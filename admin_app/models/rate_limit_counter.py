"""Counted requests of the rate limits other than the login throttle, per fixed window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base


class RateLimitCounter(Base):
    """How many requests `key` made in `bucket` since its window began at `window_start`.

    `bucket` names the limit (`api-token`, `reset-email`, `reset-ip`), `key` whom it
    counts. One row per key, bumped by one upsert per request, which starts a new window
    (and a new count) once the stored one has ended (`admin_app.auth.rate_limit`); rows
    of windows that have ended are pruned.
    """

    __tablename__ = "rate_limit_counter"
    __audit__ = False  # a rate-limit counter, not a record; like login_failure

    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(254), primary_key=True)
    window_start: Mapped[datetime]
    hits: Mapped[int] = mapped_column(default=1)
