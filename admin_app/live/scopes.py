"""Row scopes for the live feed: a connection hears of a record only if its page would open.

A role may reach only some rows of a model (the demo's "Sales France" sees French
customers' orders; see `PermissionsMixin.scope_query`), and a view's rows may follow
another model's scope (a change request is seen by those whose scope holds its record;
the view's `scope_key` says what its scope reads). The live feed filters each
change and each watch with that same query: a change's keys are narrowed to those the
connection's user may open, one query per distinct scope among this process's
listeners, and a record outside the scope cannot be watched (so its presence is never
sent). A deleted row can no longer be checked, so a scoped listener is not told of
deletions; the list shows them at the next refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette_admin import BaseModelView

from admin_app.auth.permissions import Grants

ScopeKey = str
"""What identifies one scope of one model (what its `scope_query` reads, as JSON)."""


class Scopes:
    """The registered views' row scopes, evaluated for listeners outside any request."""

    def __init__(
        self, views: Iterable[BaseModelView], sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self.views: dict[str, Any] = {str(view.key): view for view in views}
        self.sessions = sessions

    def key(self, grants: Grants, model: str) -> ScopeKey | None:
        """The scope limiting `model`'s rows for `grants`, as its view says
        (`scope_key`); None when every row is open."""
        view = self.views.get(model)
        return None if view is None else view.scope_key(grants)

    async def visible(self, grants: Grants, model: str, pks: Sequence[str]) -> set[str]:
        """The keys among `pks` of rows `grants` may open (existing rows only)."""
        if self.key(grants, model) is None:
            return set(pks)
        view = self.views[model]
        column = getattr(view.model, str(view.pk_attr))
        keys = [key for key in (_coerce(column, pk) for pk in pks) if key is not None]
        if not keys:
            return set()
        stmt = view.scope_query(None, select(column).where(column.in_(keys)), grants)
        async with self.sessions() as db:
            found = (await db.execute(stmt)).scalars().all()
        return {str(pk) for pk in found}


def _coerce(column: Any, pk: str) -> Any:
    try:
        return column.type.python_type(pk)
    except (TypeError, ValueError, NotImplementedError):
        return None
