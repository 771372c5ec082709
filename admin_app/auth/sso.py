"""The account behind a single sign-on: found, linked or created, with roles from the claims.

Roles named in `OIDC_ROLE_MAP` belong to the provider: at every sign-in the account gets
exactly those of them its claim values map to (a group removed at the provider removes
the role). Roles not named there are the admin's to give and are left alone. The role
name `Superuser` stands for the superuser flag, which is then the provider's too.
"""

from __future__ import annotations

import secrets

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.auth.oidc import Claims
from admin_app.auth.users import get_user_by_email, normalize_email
from admin_app.db import utcnow
from admin_app.models import AdminUser, OidcIdentity, Role
from admin_app.models.admin_user import UNUSABLE_PASSWORD_PREFIX
from admin_app.settings import Settings

SUPERUSER = "Superuser"
"""The role name in `OIDC_ROLE_MAP` that makes an account a superuser."""


class SignInRefused(Exception):
    """The provider vouched for the person, but this app will not let them in; the
    message says why, for them."""


async def account_for(db: AsyncSession, claims: Claims, settings: Settings) -> AdminUser:
    """The active account these claims sign in as, its roles brought up to date."""
    link = await _identity(db, claims)
    user = await db.get(AdminUser, link.user_id) if link else await _by_email(db, claims)
    if user is None:
        user = await _create(db, claims)
    if not user.is_active:
        raise SignInRefused("This account is disabled. Ask an administrator to enable it.")
    if link is None:
        link = OidcIdentity(user_id=user.id, issuer=claims.issuer, subject=claims.subject)
        db.add(link)
    link.last_login_at = utcnow()
    await _follow_email(db, user, claims)
    await sync_roles(db, user, claims.role_values, settings.oidc_role_map)
    if not user.is_superuser and not user.roles:
        raise SignInRefused(
            "Your account at the provider gives you no role here, so there is nothing you "
            "may open. Ask an administrator to add you to a group that has a role."
        )
    await db.flush()
    return user


async def _identity(db: AsyncSession, claims: Claims) -> OidcIdentity | None:
    stmt = select(OidcIdentity).where(
        OidcIdentity.issuer == claims.issuer, OidcIdentity.subject == claims.subject
    )
    return (await db.scalars(stmt)).first()


async def _by_email(db: AsyncSession, claims: Claims) -> AdminUser | None:
    """An existing account with the token's address, linked only when the provider says
    it checked the address (otherwise anyone could claim an administrator's email)."""
    if not claims.email:
        return None
    user = await get_user_by_email(db, claims.email)
    if user is not None and not claims.email_verified:
        raise SignInRefused(
            f"An account for {claims.email} already exists, and the provider does not say "
            "it has verified that address. Ask an administrator."
        )
    return user


async def _create(db: AsyncSession, claims: Claims) -> AdminUser:
    email = normalize_email(claims.email)
    if "@" not in email:
        raise SignInRefused(
            "The provider did not share your email address; allow the 'email' scope."
        )
    user = AdminUser(
        email=email,
        full_name=claims.name.strip()[:150],
        # No password: this account signs in through the provider (a reset can set one).
        password_hash=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(16),
        password_changed_at=utcnow(),
        roles=[],
    )
    db.add(user)
    await db.flush()
    return user


async def _follow_email(db: AsyncSession, user: AdminUser, claims: Claims) -> None:
    """Take the provider's new address for the account, unless another account has it."""
    email = normalize_email(claims.email)
    if "@" not in email or email.lower() == user.email.lower():
        return
    if await get_user_by_email(db, email) is None:
        user.email = email


def mapped_access(
    current: frozenset[str], values: frozenset[str], role_map: dict[str, str]
) -> tuple[frozenset[str], bool | None]:
    """The role names an account holding `current` gets for claim `values`, and its
    superuser flag (None: not the provider's to set, as `Superuser` is not in the map)."""
    managed = set(role_map.values())
    wanted = {role_map[value] for value in values if value in role_map}
    names = (current - managed) | (wanted - {SUPERUSER})
    return frozenset(names), (SUPERUSER in wanted) if SUPERUSER in managed else None


async def sync_roles(
    db: AsyncSession, user: AdminUser, values: frozenset[str], role_map: dict[str, str]
) -> None:
    """Give `user` the mapped roles of `values` and take away the other mapped ones
    (a mapped role that does not exist is skipped: `admin-app check` reports it)."""
    if "roles" in inspect(user).unloaded:
        await db.refresh(user, ["roles"])
    current = {role.name: role for role in user.roles}
    names, superuser = mapped_access(frozenset(current), values, role_map)
    if superuser is not None and user.is_superuser != superuser:
        user.is_superuser = superuser
    new = sorted(names - set(current))
    found = (await db.scalars(select(Role).where(Role.name.in_(new)))).all() if new else []
    roles = [role for name, role in current.items() if name in names] + list(found)
    if {role.name for role in roles} != set(current):  # no new row version for nothing
        user.roles = roles
