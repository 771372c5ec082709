"""Password reset and invitations: who gets a link, and what using one does.

The pages live in `admin_app/admin/password_reset.py`; this module holds the
decisions, so the admin views and tests share them.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette_admin.i18n import gettext

from admin_app.auth.rate_limit import hit
from admin_app.auth.tokens import Purpose
from admin_app.auth.users import UserExistsError, get_user_by_email, normalize_email
from admin_app.db import utcnow
from admin_app.email.delivery import Mailer
from admin_app.email.outbox import enqueue
from admin_app.email.secret_links import SecretLink, secret_link
from admin_app.models import AdminUser, OutboxMessage, Role
from admin_app.models.admin_user import UNUSABLE_PASSWORD_PREFIX
from admin_app.settings import Settings
from admin_app.state import get_engine, get_settings

log = logging.getLogger(__name__)


async def reset_allowed(request: Request, email: str) -> bool:
    """Count a reset request for the address and the client; False when either is over."""
    settings = get_settings(request)
    engine = get_engine(request)
    window = timedelta(seconds=settings.password_reset_window)
    ip = request.client.host if request.client else ""
    by_ip = await hit(
        engine, "reset-ip", ip, limit=settings.password_reset_max_per_ip, window=window
    )
    by_email = await hit(
        engine,
        "reset-email",
        normalize_email(email).lower(),
        limit=settings.password_reset_max_per_email,
        window=window,
    )
    return by_ip.allowed and by_email.allowed


def _link(
    settings: Settings, request: Request, user: AdminUser | None, purpose: Purpose
) -> SecretLink:
    """The link to mint for `user` when the email is sent (never stored, never logged)."""
    route = "password-reset-confirm" if purpose == "password-reset" else "invitation"
    return secret_link(settings, request, route, purpose, user.id if user else 0)


def reset_link(request: Request) -> SecretLink:
    """Where a reset link for this request's site goes, for an account not yet looked up."""
    return _link(get_settings(request), request, None, "password-reset")


async def send_reset_link(
    db: AsyncSession, settings: Settings, email: str, link: SecretLink
) -> OutboxMessage | None:
    """Queue a reset email if an active account has this address; None otherwise."""
    user = await get_user_by_email(db, email)
    if user is None or not user.is_active:
        return None
    return await enqueue(
        db,
        settings,
        to=user.email,
        kind="password_reset",
        context={
            "name": user.display_name,
            "email": user.email,
            "valid_minutes": settings.password_reset_max_age // 60,
        },
        secret_link=dataclasses.replace(link, user_id=user.id),
    )


async def send_reset_link_later(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailer: Mailer,
    email: str,
    link: SecretLink,
) -> None:
    """`send_reset_link` after the response has gone, in a transaction of its own: the
    page answers in the same time whether or not the account exists (looking it up and
    queueing the email took 6 ms more for a real one)."""
    try:
        async with sessions.begin() as db:
            row = await send_reset_link(db, settings, email, link)
    except Exception:  # nobody waits on this any more; the person can ask again
        log.exception("password reset: could not queue the email")
        return
    if row is not None:
        await mailer.deliver_soon([row.id])


async def create_invited_user(
    db: AsyncSession,
    *,
    email: str,
    full_name: str = "",
    is_superuser: bool = False,
    roles: Sequence[Role] = (),
) -> AdminUser:
    """An account with no usable password yet; its owner sets one from the invitation."""
    email = normalize_email(email)
    if "@" not in email:
        raise ValueError(gettext("Enter a valid email address."))
    if await get_user_by_email(db, email) is not None:
        said = gettext("An account with the email %(email)s already exists.")
        raise UserExistsError(said % {"email": email})
    user = AdminUser(
        email=email,
        full_name=full_name.strip(),
        password_hash=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(32),
        is_superuser=is_superuser,
        password_changed_at=utcnow(),
        roles=list(roles),
    )
    db.add(user)
    await db.flush()
    return user


async def send_invitation(
    db: AsyncSession, request: Request, user: AdminUser, inviter: str
) -> OutboxMessage:
    """Queue the invitation email with its expiring link."""
    settings = get_settings(request)
    return await enqueue(
        db,
        settings,
        to=user.email,
        kind="invitation",
        context={
            "name": user.display_name,
            "email": user.email,
            "inviter": inviter,
            "valid_days": max(1, settings.invitation_max_age // 86400),
        },
        secret_link=_link(settings, request, user, "invitation"),
    )
