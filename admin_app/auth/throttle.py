"""Login throttling that holds across processes: failures are counted in the database.

Each attempt is written down *before* the password is checked, in its own committed
transaction, and then counted. Attempt k sees at least k rows, so however many
requests race, at most `LOGIN_MAX_FAILURES` of them per account (and
`LOGIN_MAX_FAILURES_PER_IP` per client) reach the expensive hash verification within
`LOGIN_WINDOW`. A successful login removes its account's rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_app.db import utcnow
from admin_app.models import LoginFailure
from admin_app.settings import Settings


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_ip: int
    window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            per_account=settings.login_max_failures,
            per_ip=settings.login_max_failures_per_ip,
            window=timedelta(seconds=settings.login_window),
        )


async def begin_attempt(
    sessions: async_sessionmaker[AsyncSession], email: str, ip: str, limits: Limits
) -> bool:
    """Record an attempt for `email` from `ip`; False when either is over its limit."""
    now = utcnow()
    since = now - limits.window
    async with sessions.begin() as db:
        db.add(LoginFailure(email=email[:254], ip=ip[:45], created_at=now))
    async with sessions() as db:
        by_account = await _count(db, LoginFailure.email == email[:254], since)
        by_ip = await _count(db, LoginFailure.ip == ip[:45], since)
    if random.random() < 0.02:  # noqa: S311 (housekeeping, not security)
        await prune(sessions, limits)
    return by_account <= limits.per_account and by_ip <= limits.per_ip


async def attempt_succeeded(sessions: async_sessionmaker[AsyncSession], email: str) -> None:
    """Forget the account's failures after a successful login."""
    async with sessions.begin() as db:
        await db.execute(delete(LoginFailure).where(LoginFailure.email == email[:254]))


async def is_locked(db: AsyncSession, email: str, limits: Limits) -> bool:
    """Whether `email` is currently refused (for display to administrators)."""
    return await _count(db, LoginFailure.email == email, utcnow() - limits.window) >= (
        limits.per_account
    )


async def prune(sessions: async_sessionmaker[AsyncSession], limits: Limits) -> None:
    """Delete rows too old to count."""
    async with sessions.begin() as db:
        await db.execute(
            delete(LoginFailure).where(LoginFailure.created_at < utcnow() - limits.window)
        )


async def _count(db: AsyncSession, condition: object, since: object) -> int:
    stmt = select(func.count()).where(condition, LoginFailure.created_at > since)  # type: ignore[arg-type]
    return int(await db.scalar(stmt) or 0)
