"""Signed, expiring, single-use links for password reset and invitations (itsdangerous).

A token names the account and a fingerprint of its `password_changed_at`. Setting
a password changes that time, so every token issued before, including the one just
used, stops working: single use without storing tokens. The purpose is part of the
salt, so a reset token is no invitation and the other way round.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.models import AdminUser
from admin_app.settings import Settings

Purpose = Literal["password-reset", "invitation"]


def _serializer(settings: Settings, purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret, salt=f"admin-app.{purpose}")


def _fingerprint(user: AdminUser) -> str:
    stamp = user.password_changed_at.isoformat(timespec="microseconds")
    return hashlib.sha256(f"{user.id}:{stamp}".encode()).hexdigest()[:16]


def make_token(settings: Settings, user: AdminUser, purpose: Purpose) -> str:
    """A token for `user` that `load_user` accepts until it expires or the password changes."""
    return _serializer(settings, purpose).dumps({"u": user.id, "p": _fingerprint(user)})


def max_age(settings: Settings, purpose: Purpose) -> int:
    """How many seconds a token of `purpose` is valid."""
    if purpose == "invitation":
        return settings.invitation_max_age
    return settings.password_reset_max_age


async def load_user(
    db: AsyncSession, settings: Settings, token: str, purpose: Purpose
) -> AdminUser | None:
    """The active account a valid token names, or None (expired, used, tampered, unknown)."""
    try:
        data = _serializer(settings, purpose).loads(token, max_age=max_age(settings, purpose))
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = await db.get(AdminUser, data["u"])
    if user is None or not user.is_active or data.get("p") != _fingerprint(user):
        return None
    return user
