"""Roles and permissions: what an account may do, checked on the server for every request.

A permission is a code `<view key>:<action>`, e.g. `order:view`, `product:edit`,
`admin-user:set_password`, `product:edit_price` (a protected field). Superusers hold
every permission. A user's grants are loaded once per request, with the session.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Text, and_, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from admin_app.auth.identity import Identity
from admin_app.models import Role, RolePermission, admin_user_role

BASE_ACTIONS = ("view", "create", "edit", "delete", "export", "import")
"""Every registered view gets these permissions; custom actions and protected fields add more."""


def code(key: str, action: str) -> str:
    """The permission code for an action on a view."""
    return f"{key}:{action}"


@dataclass(frozen=True)
class Grants:
    """What one user may do in this request."""

    superuser: bool = False
    codes: frozenset[str] = frozenset()
    scopes: Mapping[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    """For each code, the `scope` of every role granting it (empty dict = unrestricted)."""

    def allows(self, key: str, action: str) -> bool:
        return self.superuser or code(key, action) in self.codes

    def scope(self, key: str, action: str = "view") -> list[dict[str, Any]] | None:
        """The scopes limiting `action` on `key`, or None when nothing limits it."""
        if self.superuser:
            return None
        scopes = self.scopes.get(code(key, action), ())
        if not scopes or any(not scope for scope in scopes):
            return None
        return list(scopes)

    def covers(self, other: Grants) -> bool:
        """Whether these grants hold everything `other` holds, as widely: a superuser
        covers anyone; anyone else covers only what they hold themselves, and a scoped
        grant covers only the same scopes. Who may change an account or a role must
        cover it, so nobody can hand out, or take over, more than they have."""
        if self.superuser:
            return True
        if other.superuser or not other.codes <= self.codes:
            return False
        for held in other.codes:
            mine = self.scope(*held.split(":", 1))
            theirs = other.scope(*held.split(":", 1))
            if mine is not None and (theirs is None or not _within(theirs, mine)):
                return False
        return True


def _within(scopes: list[dict[str, Any]], limits: list[dict[str, Any]]) -> bool:
    allowed = {_scope_order(limit) for limit in limits}
    return all(_scope_order(scope) in allowed for scope in scopes)


NO_GRANTS = Grants()


# Every request of a user without superuser runs this: built once.
# The scope comes as JSON text, decoded here, so that both drivers give the same.
_ROLE_PERMISSIONS = (
    select(RolePermission.code, cast(Role.scope, Text))
    .join(Role, Role.id == RolePermission.role_id)
    .join(admin_user_role, admin_user_role.c.role_id == Role.id)
    .where(admin_user_role.c.user_id == bindparam("user_id"))
)


async def load_grants(db: AsyncSession, user: Identity) -> Grants:
    """The user's permissions, from their roles, in one query."""
    if user.is_superuser:
        return Grants(superuser=True)
    return grants_of(False, await db.execute(_ROLE_PERMISSIONS, {"user_id": user.id}))


def with_role_permissions(
    query: Select[*tuple[Any, ...]], user_id: Any, superuser: Any
) -> Select[*tuple[Any, ...]]:
    """`query` (which selects a user's columns) with that user's role permissions added
    as two more columns, code and scope, one row each; a superuser (who holds them all)
    and a user without any get one row with both None. For `grants_of`."""
    return (
        query.add_columns(RolePermission.code, cast(Role.scope, Text))
        .outerjoin(
            admin_user_role, and_(admin_user_role.c.user_id == user_id, superuser.is_(False))
        )
        .outerjoin(Role, Role.id == admin_user_role.c.role_id)
        .outerjoin(RolePermission, RolePermission.role_id == Role.id)
    )


def grants_of(superuser: bool, permissions: Iterable[Any]) -> Grants:
    """The grants of a user from their (code, scope as JSON text) rows; None codes skipped."""
    if superuser:
        return Grants(superuser=True)
    scopes: dict[str, list[dict[str, Any]]] = {}
    for permission, scope in permissions:
        if permission is not None:
            scopes.setdefault(permission, []).append(dict(json.loads(scope) if scope else {}))
    # Each code's scopes in one order, whatever order the roles came in: grants loaded
    # twice compare equal (admin_app.live.watcher compares them).
    return Grants(
        codes=frozenset(scopes),
        scopes={k: tuple(sorted(v, key=_scope_order)) for k, v in scopes.items()},
    )


def _scope_order(scope: dict[str, Any]) -> str:
    return json.dumps(scope, sort_keys=True)


def grants(conn: HTTPConnection) -> Grants:
    """The grants of the request's user (none when nobody is logged in)."""
    found: Grants = getattr(conn.state, "grants", NO_GRANTS)
    return found


def scope_values(scopes: Iterable[dict[str, Any]], name: str) -> set[str]:
    """The union of one scope entry (e.g. `countries`) over several roles."""
    values: set[str] = set()
    for scope in scopes:
        values.update(str(v) for v in scope.get(name, []))
    return values
