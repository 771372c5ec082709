"""Signed, expiring, single-use links for password reset and invitations (itsdangerous).

A token names the account and a fingerprint of its `password_changed_at`. Setting
a password changes that time, so every token issued before, including the one just
used, stops working: single use without storing tokens. The purpose is part of the
salt, so a reset token is no invitation and the other way round. Tokens signed with a
key in `SECRET_KEY_FALLBACKS` are still accepted; new ones use `SECRET_KEY`.

Tokens are minted when an email is sent, never stored (`admin_app.email.secret_links`):
`issue_token` decides whether the account may still get one.
"""

from __future__ import annotations

import hashlib
from typing import Literal, cast, get_args

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.models import AdminUser
from admin_app.settings import Settings

Purpose = Literal["password-reset", "invitation", "email-change"]


def _serializer(settings: Settings, purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_keys, salt=f"admin-app.{purpose}")


def _fingerprint(user: AdminUser, purpose: Purpose) -> str:
    stamp = user.password_changed_at.isoformat(timespec="microseconds")
    # An address change is bound to the address it confirms: asking for another one, or
    # confirming this one, ends the link.
    pending = f":{user.pending_email}" if purpose == "email-change" else ""
    return hashlib.sha256(f"{user.id}:{stamp}{pending}".encode()).hexdigest()[:16]


def make_token(settings: Settings, user: AdminUser, purpose: Purpose) -> str:
    """A token for `user` that `load_user` accepts until it expires or the password changes."""
    return _serializer(settings, purpose).dumps({"u": user.id, "p": _fingerprint(user, purpose)})


class NoTokenError(Exception):
    """The account may no longer get this link; the message says why, for the outbox."""


def purpose_of(name: str | None) -> Purpose:
    """`name` as a purpose, or `NoTokenError`."""
    for purpose in get_args(Purpose):
        if name == purpose:
            return cast(Purpose, purpose)
    raise NoTokenError(f"not sent: {name!r} is no kind of link")


async def issue_token(
    db: AsyncSession, settings: Settings, *, user_id: int | None, purpose: Purpose, recipient: str
) -> str:
    """A fresh token for account `user_id`, to be sent to `recipient`, or `NoTokenError`.

    Refused when the account is gone or deactivated, when its address is no longer
    `recipient` (a resent message must not hand the account to an old address), and,
    for an invitation, once the invitee has chosen a password.
    """
    user = await db.get(AdminUser, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        raise NoTokenError("not sent: the account no longer exists or was deactivated")
    address = user.pending_email if purpose == "email-change" else user.email
    if not address or address.casefold() != recipient.casefold():
        raise NoTokenError("not sent: the account's email address changed since it was queued")
    if purpose == "invitation" and user.has_password:
        raise NoTokenError("not sent: the invitation was accepted already")
    return make_token(settings, user, purpose)


def max_age(settings: Settings, purpose: Purpose) -> int:
    """How many seconds a token of `purpose` is valid."""
    if purpose in ("invitation", "email-change"):
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
    if user is None or not user.is_active or data.get("p") != _fingerprint(user, purpose):
        return None
    return user
