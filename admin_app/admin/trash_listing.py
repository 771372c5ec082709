"""A model's trash a page at a time: every trashed record, newest deletion first.

The page is a keyset page of the view's scoped list query, ordered by `(deleted_at, pk)`
descending, with the list's own machinery (`admin_app.admin.lists.query`): `after=`,
`before=` and `last=1` links (never an OFFSET), a total that is counted when small and
estimated when large, and the search box's `q` over the fields the model's list
searches. `deleted_at` is indexed, so a page reads its rows from the index however
big the table (`tests/trash/test_trash_plans.py` checks the plans on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, inspect
from starlette.requests import Request

from admin_app.admin.lists.keyset import SortKey
from admin_app.admin.lists.query import (
    ListingMixin,
    ListPage,
    Position,
    bad_request,
    keyset_rows,
)
from admin_app.db import Trashable, seeing_trash
from admin_app.state import get_session


def trash_keys(model: Any) -> list[SortKey]:
    """The trash's order: newest deletion first, then the newest key. In the trash,
    `deleted_at` is never NULL, so the keyset compares whole rows `(deleted_at, id)`."""
    keys = [SortKey("deleted_at", model.deleted_at, descending=True)]
    for column in inspect(model).primary_key:
        keys.append(SortKey(column.key, getattr(model, column.key), descending=True))
    return keys


def trash_query(request: Request, view: ListingMixin, term: str) -> Select[Any]:
    """The view's scoped list query narrowed to the trash, and to `term` if given."""
    query = view.get_list_query(request).where(Trashable.in_trash(view.model))
    if term.strip():
        query = query.where(view.get_search_query(request, term))
    return query


def page_size(request: Request, view: ListingMixin) -> int:
    """`page_size` from the URL, one of the list's options; the list's default if absent."""
    asked = request.query_params.get("page_size") or ""
    if not asked:
        return int(view.page_size)
    options = [int(size) for size in view.page_size_options]
    if not asked.isdigit() or int(asked) not in options:
        choices = ", ".join(str(size) for size in options)
        raise bad_request(f"Show {choices} records a page.")
    return int(asked)


async def trash_page(request: Request, view: ListingMixin) -> ListPage:
    """The page of the trash the URL names (400 for a position or size it cannot be)."""
    position = Position.from_query(request.query_params)
    if position.page != 1:
        raise bad_request("The trash has no numbered pages: use its Next and Previous links.")
    size = page_size(request, view)
    query = trash_query(request, view, request.query_params.get("q") or "")
    keys = trash_keys(view.model)
    db = get_session(request)

    async def select(stmt: Select[Any], limit: int) -> list[Any]:
        return list((await db.scalars(stmt.limit(limit))).unique().all())

    with seeing_trash(db):  # the rows, and the counts' subqueries, are in the trash
        rows = await keyset_rows(select, query, keys, position, size)
        return await view.paged(request, query, keys, rows)
