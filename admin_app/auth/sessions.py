"""Server-side login sessions that really end: on logout, revocation, or timeout.

The browser's cookie (signed by Starlette's SessionMiddleware) carries only a random
256-bit token; the database keeps its SHA-256 as the session id, with the user, the
device, and the times that decide whether it is still valid.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.auth.identity import Identity
from admin_app.auth.permissions import Grants, grants_of, with_role_permissions
from admin_app.db import read_plain, utcnow
from admin_app.live.broker import announce_revocation
from admin_app.models import AdminSession, AdminUser
from admin_app.models.admin_user import display_name
from admin_app.settings import Settings

TOUCH_INTERVAL = timedelta(seconds=60)
"""`last_seen_at` is written at most this often, not on every request."""


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Timeouts:
        return cls(
            idle=timedelta(seconds=settings.session_idle_timeout),
            absolute=timedelta(seconds=settings.session_absolute_timeout),
        )


@dataclass(frozen=True)
class Device:
    """Where a login comes from."""

    ip: str
    user_agent: str


def session_id(token: str) -> str:
    """The database id for a cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(
    db: AsyncSession, user: AdminUser, device: Device, timeouts: Timeouts
) -> str:
    """Record a new session for `user` and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        AdminSession(
            id=session_id(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timeouts.absolute,
            ip=device.ip[:45],
            user_agent=device.user_agent[:300],
        )
    )
    await db.flush()
    return token


def is_valid(
    revoked_at: datetime | None,
    expires_at: datetime,
    last_seen_at: datetime,
    is_active: bool,
    timeouts: Timeouts,
    now: datetime,
) -> bool:
    """A session not revoked, not past its absolute expiry or idle limit, of an active user."""
    return (
        revoked_at is None and expires_at > now and last_seen_at + timeouts.idle > now and is_active
    )


def valid_in_sql(timeouts: Timeouts, now: datetime) -> ColumnElement[bool]:
    """`is_valid` as a WHERE clause over `admin_session` joined to `admin_user`, for checking
    thousands of sessions without loading them (tests hold the two to the same answers)."""
    return and_(
        AdminSession.revoked_at.is_(None),
        AdminSession.expires_at > now,
        AdminSession.last_seen_at > now - timeouts.idle,
        AdminUser.is_active.is_(True),
    )


@dataclass(frozen=True)
class LiveSession:
    """A session that is still valid, who it belongs to, and what they may do."""

    id: str
    user: Identity
    grants: Grants


# Every admin request runs this: built once, it reads plain values, no ORM objects
# (`load_current_user` loads the account when needed), and the user's permissions with
# them, a row each: one round trip for the whole login check.
_SESSION_AND_USER = with_role_permissions(
    select(
        AdminSession.revoked_at,
        AdminSession.expires_at,
        AdminSession.last_seen_at,
        AdminUser.is_active,
        AdminUser.id,
        AdminUser.email,
        AdminUser.full_name,
        AdminUser.is_superuser,
        AdminUser.totp_enabled_at,
        AdminUser.theme,
        AdminUser.locale,
    )
    .join(AdminUser, AdminUser.id == AdminSession.user_id)
    .where(AdminSession.id == bindparam("id")),
    AdminUser.id,
    AdminUser.is_superuser,
)


async def load_session(db: AsyncSession, token: str, timeouts: Timeouts) -> LiveSession | None:
    """The live session, its user and their grants for `token`, or None; keeps
    `last_seen_at` current."""
    record_id = session_id(token)
    rows = (await read_plain(db, _SESSION_AND_USER, {"id": record_id})).all()
    if not rows:
        return None
    (
        revoked_at,
        expires_at,
        last_seen_at,
        is_active,
        user_id,
        email,
        full_name,
        superuser,
        totp,
        theme,
        locale,
        *_,
    ) = rows[0]
    now = utcnow()
    if not is_valid(revoked_at, expires_at, last_seen_at, is_active, timeouts, now):
        return None
    if now - last_seen_at > TOUCH_INTERVAL:
        await db.execute(
            update(AdminSession).where(AdminSession.id == record_id).values(last_seen_at=now)
        )
    name = display_name(full_name, email)
    identity = Identity(user_id, email, name, superuser, totp is not None, theme, locale)
    return LiveSession(record_id, identity, grants_of(superuser, (row[-2:] for row in rows)))


async def revoke_session(db: AsyncSession, record_id: str) -> None:
    """End one session now (its live connections close when the transaction commits)."""
    result = await db.execute(
        update(AdminSession)
        .where(AdminSession.id == record_id, AdminSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount:  # type: ignore[attr-defined]
        await announce_revocation(db)


async def revoke_user_sessions(db: AsyncSession, user_id: int, *, keep: str | None = None) -> int:
    """End every live session of a user (except `keep`); return how many ended."""
    stmt = (
        update(AdminSession)
        .where(AdminSession.user_id == user_id, AdminSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if keep is not None:
        stmt = stmt.where(AdminSession.id != keep)
    result = await db.execute(stmt)
    ended = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if ended:
        await announce_revocation(db)
    return ended
