"""Saved views, role defaults and remembered columns: the rows, read and written.

Who sees a view: its owner, and members of a role it is shared with. Who may share with
a role: a superuser with any role, anyone else with the roles they hold themselves.
Who may make a view a role's default: whoever may edit roles (`role:edit`). Sharing
never widens what the viewer sees: the view holds list parameters only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.auth.identity import Identity
from admin_app.auth.permissions import Grants
from admin_app.models import (
    ListPreference,
    Role,
    RoleDefaultView,
    SavedView,
    admin_user_role,
    saved_view_role,
)

MAX_NAME_LENGTH = 100


async def role_ids(db: AsyncSession, user_id: int) -> list[int]:
    """The roles the user holds."""
    found = await db.scalars(
        select(admin_user_role.c.role_id).where(admin_user_role.c.user_id == user_id)
    )
    return list(found)


def _visible_to(user_id: int) -> ColumnElement[bool]:
    """The views `user_id` owns or that are shared with one of their roles."""
    shared = exists().where(
        saved_view_role.c.view_id == SavedView.id,
        saved_view_role.c.role_id.in_(
            select(admin_user_role.c.role_id).where(admin_user_role.c.user_id == user_id)
        ),
    )
    return or_(SavedView.owner_id == user_id, shared)


async def visible_views(
    db: AsyncSession, user_id: int, models: Sequence[str] | None = None
) -> list[SavedView]:
    """The views the user may open, of `models` (all when None), by model and name."""
    stmt = select(SavedView).where(_visible_to(user_id))
    if models is not None:
        stmt = stmt.where(SavedView.model.in_(models))
    return list(await db.scalars(stmt.order_by(SavedView.model, SavedView.name, SavedView.id)))


async def find_visible(
    db: AsyncSession, user_id: int, model: str, view_id: int
) -> SavedView | None:
    """View `view_id` of `model`, if the user may open it."""
    stmt = select(SavedView).where(
        SavedView.id == view_id, SavedView.model == model, _visible_to(user_id)
    )
    found: SavedView | None = await db.scalar(stmt)
    return found


def _default_view_id(user_id: int, model: str) -> Select[int]:
    """The default view of `model` of the first (by name) of the user's roles that has
    one, where the view is still shared with that role."""
    return (
        select(RoleDefaultView.view_id)
        .join(Role, Role.id == RoleDefaultView.role_id)
        .join(admin_user_role, admin_user_role.c.role_id == Role.id)
        .join(
            saved_view_role,
            (saved_view_role.c.view_id == RoleDefaultView.view_id)
            & (saved_view_role.c.role_id == Role.id),
        )
        .where(admin_user_role.c.user_id == user_id, RoleDefaultView.model == model)
        .order_by(Role.name)
        .limit(1)
    )


@dataclass(frozen=True)
class Opening:
    """What a list opened with nothing chosen shows: a role's default view, else the
    user's remembered columns and page size."""

    default: SavedView | None
    cols: str | None
    page_size: int | None


async def opening(db: AsyncSession, user_id: int, model: str) -> Opening:
    """The default view and remembered columns of `model`'s list for this user, in one
    query (and one more to load a default view when there is one)."""
    pref = (ListPreference.user_id == user_id) & (ListPreference.model == model)
    row = (
        await db.execute(
            select(
                _default_view_id(user_id, model).scalar_subquery(),
                select(ListPreference.cols).where(pref).scalar_subquery(),
                select(ListPreference.page_size).where(pref).scalar_subquery(),
            )
        )
    ).one()
    default = await db.get(SavedView, row[0]) if row[0] is not None else None
    return Opening(default, row[1], row[2])


async def defaults_of(db: AsyncSession, view_id: int) -> list[int]:
    """The roles whose default this view is."""
    stmt = select(RoleDefaultView.role_id).where(RoleDefaultView.view_id == view_id)
    return list(await db.scalars(stmt))


async def shareable_roles(db: AsyncSession, user: Identity) -> list[Role]:
    """The roles the user may share a view with: all for a superuser, else their own."""
    stmt = select(Role).order_by(Role.name)
    if not user.is_superuser:
        stmt = stmt.join(admin_user_role, admin_user_role.c.role_id == Role.id).where(
            admin_user_role.c.user_id == user.id
        )
    return list(await db.scalars(stmt))


def may_set_defaults(grants: Grants) -> bool:
    """Whether the user may make a view a role's default (they may edit roles)."""
    return grants.allows("role", "edit")


@dataclass(frozen=True)
class ViewInput:
    """What a user asks a view to be; checked by `admin_app.admin.saved_views.routes`."""

    name: str
    query: str
    roles: list[Role]
    default_for: list[Role]


async def create_view(db: AsyncSession, owner_id: int, model: str, given: ViewInput) -> SavedView:
    """A new view of `model`, owned by `owner_id`."""
    view = SavedView(model=model, name=given.name, owner_id=owner_id, query=given.query)
    view.roles = list(given.roles)
    db.add(view)
    await db.flush()
    await set_defaults(db, view, given.default_for, given.default_for)
    return view


async def set_defaults(
    db: AsyncSession, view: SavedView, managed: Sequence[Role], chosen: Sequence[Role]
) -> None:
    """Make `view` the default of each `chosen` role, and no longer of the other `managed`
    roles (those the user may set defaults for)."""
    for role in managed:
        current = await db.get(RoleDefaultView, (role.id, view.model))
        if role in chosen:
            if current is None:
                db.add(RoleDefaultView(role_id=role.id, model=view.model, view_id=view.id))
            elif current.view_id != view.id:
                current.view_id = view.id
        elif current is not None and current.view_id == view.id:
            await db.delete(current)
    await db.flush()


async def drop_unshared_defaults(db: AsyncSession, view: SavedView) -> None:
    """Remove this view as the default of roles it is no longer shared with."""
    shared = [role.id for role in view.roles]
    await db.execute(
        delete(RoleDefaultView).where(
            RoleDefaultView.view_id == view.id, RoleDefaultView.role_id.not_in(shared)
        )
    )


# -- remembered columns and page size ----------------------------------------------------


async def remember(
    db: AsyncSession, user_id: int, model: str, cols: str | None, page_size: int | None
) -> None:
    """Keep the user's columns and page size for `model` (None for the list's own);
    nothing is written when they are what is kept already."""
    pref = await db.get(ListPreference, (user_id, model))
    if pref is None:
        if cols is not None or page_size is not None:
            db.add(ListPreference(user_id=user_id, model=model, cols=cols, page_size=page_size))
    elif (pref.cols, pref.page_size) != (cols, page_size):
        pref.cols, pref.page_size = cols, page_size
