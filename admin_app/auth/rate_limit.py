"""Rate limits counted in the database, so they hold across processes and restarts.

Like the login throttle (`throttle.py`), each request is written down in its own
committed transaction before it is counted: however many requests race, the k-th
sees at least k rows. Unlike it, a bucket names what is limited, so one table
serves several limits (`reset-email`, `reset-ip`).
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_app.db import utcnow
from admin_app.models import ThrottleEvent


async def hit(
    sessions: async_sessionmaker[AsyncSession],
    bucket: str,
    key: str,
    *,
    limit: int,
    window: timedelta,
) -> bool:
    """Count one request for `key` in `bucket`; False once more than `limit` fall in `window`."""
    now = utcnow()
    key = key[:254]
    async with sessions.begin() as db:
        # A Core insert: no unit of work and no RETURNING for a row nobody reads back.
        await db.execute(insert(ThrottleEvent).values(bucket=bucket, key=key, created_at=now))
    async with sessions() as db:
        count = await db.scalar(
            select(func.count()).where(
                ThrottleEvent.bucket == bucket,
                ThrottleEvent.key == key,
                ThrottleEvent.created_at > now - window,
            )
        )
    if random.random() < 0.02:  # noqa: S311 (housekeeping, not security)
        await prune(sessions, bucket, window)
    return int(count or 0) <= limit


async def prune(sessions: async_sessionmaker[AsyncSession], bucket: str, window: timedelta) -> None:
    """Delete a bucket's rows that are too old to count."""
    async with sessions.begin() as db:
        await db.execute(
            delete(ThrottleEvent).where(
                ThrottleEvent.bucket == bucket, ThrottleEvent.created_at < utcnow() - window
            )
        )


async def retry_after(
    sessions: async_sessionmaker[AsyncSession], bucket: str, key: str, window: timedelta
) -> int:
    """Whole seconds until the oldest request of `key` counted in `bucket` leaves the window."""
    now = utcnow()
    async with sessions() as db:
        oldest = await db.scalar(
            select(func.min(ThrottleEvent.created_at)).where(
                ThrottleEvent.bucket == bucket,
                ThrottleEvent.key == key[:254],
                ThrottleEvent.created_at > now - window,
            )
        )
    if oldest is None:
        return 1
    return max(1, math.ceil((oldest + window - now).total_seconds()))
