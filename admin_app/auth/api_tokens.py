"""Personal API tokens: made, checked, narrowed and revoked here, and nowhere else.

A token is `aat_<prefix>_<secret>`: 32 random bytes of secret, so a plain SHA-256 of the
whole token is a safe thing to store (nothing to brute-force, unlike a password), and
looking a token up is one indexed equality. The prefix stays readable in lists.

A token never holds more than its owner: its grants are the owner's grants of this
moment, cut down to the token's `permissions` when it has some. Taking a permission
from the owner narrows every token at once; disabling the owner stops them all.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette_admin.i18n import gettext

from admin_app.auth.identity import Identity
from admin_app.auth.permissions import Grants, grants_of, load_grants, with_role_permissions
from admin_app.db import utcnow
from admin_app.models import AdminUser, ApiToken
from admin_app.models.admin_user import display_name

TOKEN_PREFIX = "aat_"  # noqa: S105 (a marker, not a secret)
MAX_DAYS = 366
"""The longest a token may live; every token expires."""
LAST_USED_EVERY = timedelta(minutes=1)
"""`last_used_at` is written at most this often, so a busy token costs no write per call."""


class TokenRequestError(ValueError):
    """What was asked for cannot be a token; the message says why, for the form."""


@dataclass(frozen=True)
class NewToken:
    """A token just made: the row, and the secret, which is never shown again."""

    record: ApiToken
    secret: str


@dataclass(frozen=True)
class TokenAccess:
    """Who a presented token acts as, and with what grants."""

    token_id: int
    token_name: str
    user: Identity
    grants: Grants


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _new_secret() -> tuple[str, str]:
    prefix = secrets.token_hex(4)
    return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


async def create_token(
    db: AsyncSession,
    owner: AdminUser,
    *,
    name: str,
    days: int,
    permissions: list[str] | None,
) -> NewToken:
    """A new token for `owner`; `permissions` (None = all the owner's) must be the owner's."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenRequestError(gettext("Give the token a name of 1 to 100 characters."))
    if not 1 <= days <= MAX_DAYS:
        raise TokenRequestError(
            gettext("A token lives from 1 to %(days)s days.") % {"days": MAX_DAYS}
        )
    if permissions is not None:
        held = await load_grants(db, Identity.of(owner))
        beyond = sorted(p for p in permissions if not held.allows(*_split(p)))
        if beyond:
            raise TokenRequestError(
                gettext("You do not hold %(permissions)s.")
                % {"permissions": ", ".join(beyond)[:200]}
            )
        if not permissions:
            raise TokenRequestError(
                gettext("Choose at least one permission, or leave all of them.")
            )
    prefix, secret = _new_secret()
    record = ApiToken(
        user_id=owner.id,
        name=name,
        prefix=prefix,
        secret_hash=hash_token(secret),
        permissions=sorted(set(permissions)) if permissions is not None else None,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.add(record)
    await db.flush()
    return NewToken(record, secret)


def _split(code: str) -> tuple[str, str]:
    key, _, action = code.partition(":")
    return key, action


async def revoke_token(db: AsyncSession, token: ApiToken) -> bool:
    """End `token` now; False when it had already ended."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    await db.flush()
    return True


async def live_tokens(db: AsyncSession, user_id: int | None = None) -> list[ApiToken]:
    """Unrevoked, unexpired tokens, newest first: one account's, or everyone's."""
    stmt = select(ApiToken).where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return list((await db.scalars(stmt.order_by(ApiToken.id.desc()))).all())


def narrowed(owner: Grants, permissions: list[str] | None) -> Grants:
    """The owner's grants cut down to `permissions` (None: left whole)."""
    if permissions is None:
        return owner
    if owner.superuser:
        return Grants(codes=frozenset(permissions))
    codes = owner.codes & frozenset(permissions)
    return Grants(codes=codes, scopes={c: owner.scopes.get(c, ()) for c in codes})


# Every API call runs this: built once. It reads plain values, no ORM objects: the live
# token, its active owner and the owner's role permissions, one row per permission.
TOKEN_ACCESS = with_role_permissions(
    select(
        ApiToken.id,
        ApiToken.name,
        ApiToken.permissions,
        ApiToken.last_used_at,
        AdminUser.id,
        AdminUser.email,
        AdminUser.full_name,
        AdminUser.is_superuser,
        AdminUser.totp_enabled_at,
        AdminUser.theme,
    )
    .join(AdminUser, AdminUser.id == ApiToken.user_id)
    .where(
        ApiToken.secret_hash == bindparam("secret_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
        AdminUser.is_active.is_(True),
    ),
    AdminUser.id,
    AdminUser.is_superuser,
)
"""The access a token gives, as `access_of` reads it: parameters from `token_params`."""


def token_params(presented: str, now: datetime) -> dict[str, Any]:
    """The parameters of `TOKEN_ACCESS` for a presented token at `now`; a string that
    cannot be a token is looked up as nothing (it finds no row)."""
    plausible = presented.startswith(TOKEN_PREFIX) and len(presented) <= 200
    return {"secret_hash": hash_token(presented) if plausible else "", "now": now}


async def authenticate_token(db: AsyncSession, presented: str) -> TokenAccess | None:
    """The access a presented token gives, or None: unknown, revoked, expired, or its
    owner disabled."""
    params = token_params(presented, utcnow())
    rows = (await db.execute(TOKEN_ACCESS, params)).all()
    return await access_of(db, rows, params["now"])


async def access_of(
    db: AsyncSession | AsyncConnection, rows: Sequence[Any], now: datetime
) -> TokenAccess | None:
    """The access `TOKEN_ACCESS`'s rows give (None: there were none). Read every call: a
    change to the token, its owner, or the owner's roles holds from the next call. Notes
    the use (at most once a minute) on `db`."""
    if not rows:
        return None
    token_id, name, permissions, last_used, user_id, email, full_name, superuser, totp, theme = (
        rows[0][:10]
    )
    if last_used is None or now - last_used >= LAST_USED_EVERY:
        await db.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    identity = Identity(
        user_id, email, display_name(full_name, email), superuser, totp is not None, theme
    )
    owner = grants_of(superuser, (row[10:] for row in rows))
    return TokenAccess(token_id, name, identity, narrowed(owner, permissions))
