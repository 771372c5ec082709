"""The preview shown before a delete: what goes with it, what is kept, what blocks it.

Built from `admin_app.admin.deletion` for any registered view. Each affected table
costs one `count(*)` and, when the user may see that model, one query for the first
few rows (by key) within the user's scope: the cost never depends on how many rows
the delete would touch. Names are shown only for rows the user could open in the
admin, linked to their detail page when the user may view it; other rows are counted,
never named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, Table, func, inspect, select
from starlette.requests import Request
from starlette_admin.helpers import detail_url

from admin_app.admin.deletion import Consequence, Outcome, consequences
from admin_app.db import Base, table_of
from admin_app.state import get_session

SAMPLE_SIZE = 5
"""Related records named per group; the rest are counted."""

SELECTED_SAMPLE_SIZE = 10
"""Records named among those selected for deletion."""


class Previewable(Protocol):
    """What the preview needs of a view (every `AppModelView` has it)."""

    @property
    def model(self) -> Any: ...
    @property
    def key(self) -> str | None: ...
    @property
    def menu_label(self) -> str | None: ...

    def is_accessible(self, request: Request) -> bool: ...
    def can_view_detail(self, request: Request) -> bool: ...
    def get_list_query(self, request: Request) -> Select[Any]: ...
    def coerce_pk(self, value: Any) -> Any | None: ...
    async def get_pk_value(self, request: Request, obj: Any) -> Any: ...
    async def repr(self, obj: Any, request: Request) -> str: ...
    async def deletion_refusals(self, request: Request, pks: Sequence[Any]) -> list[str]: ...


@dataclass(frozen=True)
class Sample:
    """One named record; `url` is its detail page, None when the user may not open it."""

    name: str
    url: str | None


@dataclass(frozen=True)
class Group:
    """The records of one model affected one way: how many, and the first few by name."""

    label: str
    count: int
    samples: tuple[Sample, ...]
    hidden: bool = False
    """True when the admin shows these records but this user may not see them."""

    @property
    def unnamed(self) -> int:
        """How many are counted but not named."""
        return self.count - len(self.samples)


@dataclass(frozen=True)
class Preview:
    """Everything the confirmation page shows about one delete."""

    pks: tuple[str, ...]
    """The selected rows the user may reach: exactly what a confirmed delete removes."""
    selected: Group
    deleted: tuple[Group, ...]
    detached: tuple[Group, ...]
    blocking: tuple[Group, ...]
    refusals: tuple[str, ...]
    """Reasons of the view's own (`deletion_refusals`), such as deleting your own account."""

    @property
    def allowed(self) -> bool:
        """Whether the delete may be confirmed."""
        return not self.blocking and not self.refusals


async def preview(
    request: Request,
    view: Previewable,
    pks: Sequence[str],
    views: Mapping[type[Base], Previewable],
) -> Preview | None:
    """The preview of deleting the rows of `view` keyed `pks`; None when the user can
    reach none of them. `views` maps models to the registered views that show them."""
    column = _pk_column(view.model)
    keys = [key for key in (view.coerce_pk(pk) for pk in pks) if key is not None]
    if not keys:
        return None
    query = view.get_list_query(request).where(column.in_(keys)).order_by(column)
    reachable = list((await get_session(request).scalars(query.with_only_columns(column))).all())
    if not reachable:
        return None
    where = column.in_(reachable)
    selected = await _group(request, view, where, len(reachable), SELECTED_SAMPLE_SIZE)
    groups: dict[Outcome, list[Group]] = {outcome: [] for outcome in Outcome}
    for consequence in consequences(table_of(view.model), where):
        group = await _describe(request, consequence, views)
        if group.count:
            groups[consequence.outcome].append(group)
    return Preview(
        pks=tuple(str(pk) for pk in reachable),
        selected=selected,
        deleted=tuple(groups[Outcome.DELETED]),
        detached=tuple(groups[Outcome.DETACHED]),
        blocking=tuple(groups[Outcome.BLOCKING]),
        refusals=tuple(await view.deletion_refusals(request, reachable)),
    )


async def _describe(
    request: Request, consequence: Consequence, views: Mapping[type[Base], Previewable]
) -> Group:
    count_query = select(func.count()).select_from(consequence.table).where(consequence.where)
    count = int(await get_session(request).scalar(count_query) or 0)
    view = views.get(consequence.model) if consequence.model is not None else None
    if view is None:  # rows the admin never shows, such as role permissions: counted
        return Group(_table_label(consequence.table), count, ())
    if not view.is_accessible(request):
        return Group(view.menu_label or str(view.key), count, (), hidden=True)
    if not count:
        return Group(view.menu_label or str(view.key), count, ())
    return await _group(request, view, consequence.where, count, SAMPLE_SIZE)


async def _group(
    request: Request, view: Previewable, where: ColumnElement[bool], count: int, size: int
) -> Group:
    """The first `size` rows matching `where` that the user may reach, named and linked."""
    query = view.get_list_query(request).where(where)
    query = query.order_by(*inspect(view.model).primary_key).limit(size)
    rows = (await get_session(request).scalars(query)).unique().all()
    linked = view.can_view_detail(request)
    samples = [
        Sample(
            await view.repr(row, request),
            detail_url(request, str(view.key), await view.get_pk_value(request, row))
            if linked
            else None,
        )
        for row in rows
    ]
    return Group(view.menu_label or str(view.key), count, tuple(samples))


def _pk_column(model: type[Base]) -> Any:
    return inspect(model).primary_key[0]


def _table_label(table: Table) -> str:
    """A readable name for rows no view shows: `recovery_code` reads "Recovery codes"."""
    return f"{table.name.replace('_', ' ').capitalize()}s"
