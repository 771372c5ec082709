"""Security events in the audit log: logins, logouts, failures, password and 2FA changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_app.audit.context import current_actor
from admin_app.db import table_of, utcnow
from admin_app.models import AdminUser, AuditEntry

SECURITY_ACTIONS = (
    "login",
    "logout",
    "login_failed",
    "password_change",
    "2fa_enabled",
    "2fa_disabled",
    "2fa_reset",
    "session_revoked",
    "api_token_created",
    "api_token_revoked",
)


def _row(action: str, user: AdminUser | None, ip: str, note: str, **details: Any) -> dict[str, Any]:
    actor = current_actor()
    return {
        "at": utcnow(),
        "user_id": actor.user_id if actor.user_id is not None else (user.id if user else None),
        "actor": actor.label
        if actor.user_id is not None
        else (user.email if user else actor.label),
        "ip": ip or actor.ip,
        "action": action,
        "model": "admin_user" if user else "",
        "object_pk": str(user.id) if user else "",
        "object_repr": str(user)[:200] if user else "",
        "changes": details,
        "note": note[:300],
    }


async def record_event(
    db: AsyncSession,
    action: str,
    *,
    user: AdminUser | None,
    ip: str = "",
    note: str = "",
    **details: Any,
) -> None:
    """Log a security event in the caller's transaction."""
    await db.execute(insert(table_of(AuditEntry)), [_row(action, user, ip, note, **details)])


async def record_event_now(
    sessions: async_sessionmaker[AsyncSession],
    action: str,
    *,
    user: AdminUser | None,
    ip: str = "",
    note: str = "",
    **details: Any,
) -> None:
    """Log a security event in its own transaction, kept even if the request fails."""
    async with sessions.begin() as db:
        await record_event(db, action, user=user, ip=ip, note=note, **details)
