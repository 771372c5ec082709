"""Global search: the records matching a term in every model the user may view.

Each model is searched as its list's search box searches it, so the palette can find
nothing the list would not show: the view's scoped list query (`get_list_query`), the
same cast-free clause over the same searchable fields (`columns.search_clause`, which
`get_search_query` builds; `ListingMixin.filtered_query` applies it), served by the
trigram indexes on PostgreSQL. A few rows per model are read, in the list's default
order; `search_rows` says how a million-row list stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, select, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import False_
from starlette.requests import Request
from starlette_admin import RequestAction

from admin_app.admin.base import AppModelView
from admin_app.admin.lists.columns import MAX_TERM_LENGTH, search_clause
from admin_app.admin.lists.keyset import SortKey
from admin_app.admin.lists.query import ListingMixin
from admin_app.state import get_session

MIN_TERM_LENGTH = 3
"""Shorter terms find nothing, at once: a trigram index needs three characters, and two
letters match most of a big table."""

PER_MODEL = 5
"""Records shown per model; the group links to the list searched for the rest."""


@dataclass
class Found:
    """One record: how its model names it, and its detail page (None if it has none)."""

    label: str
    url: str | None


@dataclass
class Group:
    """The records found in one model, and its list searched for the same term."""

    key: str
    model: str
    list_url: str
    results: list[Found] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """What the palette's script reads."""
        return {
            "key": self.key,
            "model": self.model,
            "list_url": self.list_url,
            "results": [{"label": r.label, "url": r.url} for r in self.results],
        }


def searchable_term(raw: str | None) -> str | None:
    """The term to search for, or None when it is too short (or too long) to search."""
    term = (raw or "").strip()
    if len(term) < MIN_TERM_LENGTH or len(term) > MAX_TERM_LENGTH or "\x00" in term:
        return None
    return term


WINDOW = 2_000
"""The first pass reads only the newest this many rows of a list (in its order)."""


async def search_rows(view: ListingMixin, request: Request, term: str) -> list[Any]:
    """`view`'s first matches for `term`, in the list's order; [] when its search box
    matches nothing (no searchable field, or no choice matches the term).

    The planner cannot know how many rows `ILIKE '%term%'` matches: it walks the list's
    index for a rare term (a second over a million rows) or reads every match through
    the trigram index for a common one (as slow). So one statement searches in two
    parts, the second read only if the first holds too few matches (a LIMIT over a
    UNION ALL stops reading once it has its rows): the newest `WINDOW` rows of the list
    (bounded, and enough for a common term), then the rest of the list, through the
    trigram indexes (a rare term: few matches, cheap)."""
    if isinstance(view.get_search_query(request, term), False_):
        return []
    db = get_session(request)
    near, window = _in_window(view, request, term, db.get_bind().dialect.name)
    far = await _past_window(view, request, term, window, db.get_bind().dialect.name)
    both = union_all(near.subquery().select(), far.subquery().select()).subquery("found")
    query = select(aliased(view.model, both)).limit(PER_MODEL)
    return list((await db.execute(query)).scalars())


def _in_window(
    view: ListingMixin, request: Request, term: str, dialect: str
) -> tuple[Select[Any], Any]:
    """The first matches among the newest `WINDOW` rows of the list, and those rows."""
    keys = view.list_sort_keys(request, view.default_sorts())
    window = _ordered(view.get_list_query(request), keys).limit(WINDOW).subquery("recent")
    recent = aliased(view.model, window)
    fields = view.get_fields_list(request)
    near = select(recent).where(search_clause(recent, fields, term, dialect))
    return _ordered(near, keys, recent).limit(PER_MODEL), window


async def _past_window(
    view: ListingMixin, request: Request, term: str, window: Any, dialect: str
) -> Select[Any]:
    """The first matches of the list's own search outside `window`."""
    keys = view.list_sort_keys(request, view.default_sorts())
    every = (await view.filtered_query(request, term, None)).cte("matches")
    if dialect == "postgresql":
        every = every.prefix_with("MATERIALIZED")  # the trigram indexes, not the sort's
    found = aliased(view.model, every)
    pk = str(view.pk_attr)
    outside = getattr(found, pk).not_in(select(window.c[pk]))
    return _ordered(select(found).where(outside), keys, found).limit(PER_MODEL)


def _ordered(query: Select[Any], keys: list[SortKey], on: Any = None) -> Select[Any]:
    """`query` in the order of `keys`, read from `on` (an alias) when given."""
    if on is not None:
        keys = [replace(key, column=getattr(on, key.attr)) for key in keys]
    return query.order_by(*(key.order_by() for key in keys))


async def search_views(
    views: Iterable[AppModelView], request: Request, term: str, route_name: str
) -> list[Group]:
    """The groups of records matching `term` in each of `views` the user may view."""
    request.state.action = RequestAction.LIST
    groups = []
    for view in views:
        if not view.is_accessible(request):
            continue
        rows = await search_rows(view, request, term)
        if rows:
            groups.append(await _group(view, request, term, rows, route_name))
    return groups


async def _group(
    view: AppModelView, request: Request, term: str, rows: Iterable[Any], route_name: str
) -> Group:
    list_url = request.url_for(f"{route_name}:list", key=view.key).include_query_params(q=term)
    name = view.records_label()
    group = Group(str(view.key), name, f"{list_url.path}?{list_url.query}")
    detail = view.can_view_detail(request)
    for row in rows:
        url = None
        if detail:
            pk = await view.get_serialized_pk_value(request, row)
            found = request.url_for(f"{route_name}:detail", key=view.key)
            url = f"{found.path}?{found.include_query_params(pk=pk).query}"
        group.results.append(Found(await view.repr(row, request), url))
    return group
