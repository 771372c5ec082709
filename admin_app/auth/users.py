"""Admin account services, shared by the admin views, the login flow and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from starlette_admin.i18n import gettext

from admin_app.audit.events import record_event
from admin_app.auth.passwords import check_password_policy, hash_password_async
from admin_app.auth.sessions import revoke_user_sessions
from admin_app.db import utcnow
from admin_app.models import AdminUser, Role


class UserExistsError(ValueError):
    """An account with that email already exists."""


def normalize_email(email: str) -> str:
    """Trim the address; the domain is case-insensitive, so lower it too."""
    email = email.strip()
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if local else email


async def get_user_by_email(db: AsyncSession, email: str) -> AdminUser | None:
    """The account for `email`, whatever its letter case."""
    stmt = select(AdminUser).where(func.lower(AdminUser.email) == normalize_email(email).lower())
    return (await db.scalars(stmt)).first()


async def create_user(
    *,
    session: AsyncSession,
    email: str,
    password: str,
    full_name: str = "",
    is_superuser: bool = False,
    roles: Sequence[Role] = (),
) -> AdminUser:
    """Create an account after checking the password policy; raise on a taken email."""
    email = normalize_email(email)
    if "@" not in email:
        raise ValueError(gettext("Enter a valid email address."))
    check_password_policy(password, email=email)
    if await get_user_by_email(session, email) is not None:
        said = gettext("An account with the email %(email)s already exists.")
        raise UserExistsError(said % {"email": email})
    user = AdminUser(
        email=email,
        full_name=full_name.strip(),
        password_hash=await hash_password_async(password),
        is_superuser=is_superuser,
        password_changed_at=utcnow(),
        roles=list(roles),
    )
    session.add(user)
    await session.flush()
    return user


async def set_password(
    *, session: AsyncSession, user: AdminUser, password: str, keep_session: str | None = None
) -> int:
    """Change the password and end the user's other sessions; return how many ended."""
    check_password_policy(password, email=user.email)
    user.password_hash = await hash_password_async(password)
    user.password_changed_at = utcnow()
    await session.flush()
    ended = await revoke_user_sessions(session, user.id, keep=keep_session)
    await record_event(session, "password_change", user=user, sessions_ended=ended)
    return ended


async def deactivate_user(*, session: AsyncSession, user: AdminUser) -> int:
    """Block the account and end all its sessions."""
    user.is_active = False
    await session.flush()
    return await revoke_user_sessions(session, user.id)


# Bookkeeping on an account is written without a new row version (`Versioned`): two
# logins of one account at once, or a login while an administrator has the account's
# edit form open, are no conflict; none of these columns is on that form.


async def stamp_login(session: AsyncSession, user: AdminUser) -> None:
    """Record that `user` logged in just now."""
    await _bookkeep(session, user, last_login=utcnow())


async def upgrade_password_hash(session: AsyncSession, user: AdminUser, password: str) -> None:
    """Store `password` under the current hash parameters, unless the password changed
    in the meantime (`password` is the one just verified against the old hash)."""
    new = await hash_password_async(password)
    await _bookkeep(session, user, AdminUser.password_hash == user.password_hash, password_hash=new)


async def pending_totp_secret(session: AsyncSession, user: AdminUser, secret: str) -> str:
    """The two-factor secret being set up for `user`, as stored: `secret` (sealed), unless
    another request stored one first (two set-up pages open at once show the same QR
    code). It replaces what `user` holds, which is none or one this server cannot read."""
    unchanged = AdminUser.totp_secret.is_not_distinct_from(user.totp_secret)
    if not await _bookkeep(session, user, unchanged, totp_secret=secret):
        stored = await session.scalar(select(AdminUser.totp_secret).where(AdminUser.id == user.id))
        set_committed_value(user, "totp_secret", stored)
    return str(user.totp_secret)


async def _bookkeep(
    session: AsyncSession, user: AdminUser, *only_if: ColumnElement[bool], **values: Any
) -> bool:
    """Write `values` to `user`'s row, where `only_if` holds, without a new version, and
    to the loaded `user` as stored; False when `only_if` did not hold."""
    result = await session.execute(
        update(AdminUser).where(AdminUser.id == user.id, *only_if).values(**values),
        execution_options={"synchronize_session": False},
    )
    if not cast(CursorResult[Any], result).rowcount:
        return False
    for name, value in values.items():
        set_committed_value(user, name, value)
    return True
