"""The query side of a list page (`ListingMixin`): positions, pages, totals and links,
at the same cost on page 1 and page 40,000 of a million-row table.

starlette-admin counts every row, pages with OFFSET, searches through casts and joins
every relation. Here pages are keyset pages addressed by `after=`, `before=` or
`last=1` (`keyset`), the total is exact only when that is cheap (`counting`), search
compares bare columns (`columns.search_clause`), and rows are column values with one
query per shown relation (`rows.read_rows`): the queries per page are fixed by the
view's fields.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlencode

from sqlalchemy import Select
from sqlalchemy.orm import RelationshipProperty, joinedload, selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette_admin.contrib.sqla import ModelView
from starlette_admin.fields import BaseField, RelationField
from starlette_admin.filters import FilterGroup
from starlette_admin.types import ListParams

from admin_app.admin import compat
from admin_app.admin.chrome import url_path
from admin_app.admin.lists import keyset
from admin_app.admin.lists.columns import SearchTermError, clean_term, search_clause
from admin_app.admin.lists.counting import RowCount, count_rows
from admin_app.admin.lists.keyset import CursorError, SortKey
from admin_app.admin.lists.rows import read_rows
from admin_app.state import get_session

log = logging.getLogger(__name__)

POSITION_PARAMS = ("after", "before", "last", "page")
"""Query parameters that say where in the list a page is; any change of order drops them."""


def bad_request(message: str) -> HTTPException:
    """A 400 whose message the error page shows as is."""
    return HTTPException(400, message)


@dataclass(frozen=True)
class Position:
    """Where a page starts, as the URL says: the first page, after or before a row, the end."""

    after: str | None = None
    before: str | None = None
    last: bool = False
    page: int = 1

    @classmethod
    def from_query(cls, params: QueryParams) -> Position:
        """Read `after`, `before`, `last` or `page`; a 400 for a malformed or mixed position."""
        if not any(name in params for name in POSITION_PARAMS):
            return _FIRST  # `get` of a missing name raises and catches a KeyError each time
        given = [name for name in POSITION_PARAMS if params.get(name)]
        if len(given) > 1:
            raise bad_request(f"Use only one of {', '.join(given)} to say which page to show.")
        page = params.get("page")
        if page is not None and page != "":
            if not page.isdigit() or not 1 <= int(page) <= 10**9:
                raise bad_request("The page number must be a whole number from 1.")
            return cls(page=int(page))
        last = params.get("last")
        if last and last != "1":
            raise bad_request("Use last=1 to show the last page.")
        return cls(
            after=params.get("after") or None, before=params.get("before") or None, last=bool(last)
        )


@dataclass
class ListPage:
    """One page of a list: its rows, the total, and the links to the pages around it."""

    items: Sequence[Any]
    total: RowCount
    start: int | None
    """1-based position of the first row, when known (first pages, exact totals)."""
    first_url: str | None
    prev_url: str | None
    next_url: str | None
    last_url: str | None


_FIRST = Position()


@dataclass
class PageRows:
    """The rows of one page, whether pages come before and after it, and where it starts."""

    items: list[Any]
    has_prev: bool
    has_next: bool
    start: int | None = None


class ListingMixin(ModelView):
    """Keyset pages, cheap totals, index-friendly search and row-safe eager loading."""

    exact_count_limit: ClassVar[int] = 10_000
    """Totals up to this many rows are counted exactly; larger ones are estimated
    ("about 1,000,000"). Counting stops after this many rows, so it stays cheap."""

    max_page_offset: ClassVar[int] = 10_000
    """`?page=N` is served with OFFSET only while it skips at most this many rows;
    deeper pages are reached by the Next/Previous/Last links, which never skip."""

    def get_search_query(self, request: Request, term: str) -> Any:
        """Substring search over the searchable text and enum fields, with no casts."""
        try:
            term = clean_term(term)
        except SearchTermError as error:
            raise bad_request(str(error)) from None
        dialect = get_session(request).get_bind().dialect.name
        return search_clause(self.model, self.get_fields_list(request), term, dialect)

    async def filtered_query(
        self, request: Request, q: str | None, filters: FilterGroup | None
    ) -> Select[Any]:
        """`get_list_query` with the search term and the filters applied, not yet ordered."""
        query: Select[Any] = await compat.apply_search_and_filters(
            self, request, self.get_list_query(request), q, filters
        )
        return query

    def list_sort_keys(self, request: Request, sorts: Sequence[tuple[str, str]]) -> list[SortKey]:
        """The page order for `sorts`, ending with the primary key; unusable sorts are skipped."""
        keys = []
        for name, direction in sorts:
            column = self.sortable_field_mapping.get(name, getattr(self.model, name, None))
            if column is None or not keyset.is_keyable(column) or column.class_ is not self.model:
                log.warning("%s: cannot sort the list by %r; ignored", type(self).__name__, name)
                continue
            keys.append(_key(column, direction == "desc"))
        return keyset.with_tiebreaker(keys, self._pk_keys())

    def _pk_keys(self) -> list[SortKey]:
        pk = compat.pk_column(self)
        columns = pk if isinstance(pk, tuple) else (pk,)
        return [_key(column, False) for column in columns]

    def default_sorts(self) -> list[tuple[str, str]]:
        """The sort used when the URL names none."""
        return [(name, "desc" if desc else "asc") for name, desc in compat.default_sort(self)]

    def eager_loads(self, fields: Sequence[BaseField]) -> list[_AbstractLoad]:
        """Loader options for the relations among `fields` that never multiply rows."""
        options: list[_AbstractLoad] = []
        for field in fields:
            attr = getattr(self.model, field.name, None)
            prop = getattr(attr, "property", None)
            if isinstance(field, RelationField) and isinstance(prop, RelationshipProperty):
                assert attr is not None
                options.append(selectinload(attr) if prop.uselist else joinedload(attr))
        return options

    async def find_all(
        self,
        request: Request,
        skip: int = 0,
        limit: int = 100,
        q: str | None = None,
        sorts: Sequence[tuple[str, str]] | None = None,
        filters: FilterGroup | None = None,
    ) -> Sequence[Any]:
        """As starlette-admin's, with a total order, uncast search and row-safe eager loads."""
        query = await self.filtered_query(request, q, filters)
        keys = self.list_sort_keys(request, sorts or self.default_sorts())
        query = query.order_by(*(key.order_by() for key in keys))
        query = query.options(*self.eager_loads(self.get_fields_list(request)))
        if skip > 0:
            query = query.offset(skip)
        if limit > 0:
            query = query.limit(limit)
        rows: Sequence[Any] = (await get_session(request).execute(query)).scalars().unique().all()
        return rows

    async def count(
        self, request: Request, q: str | None = None, filters: FilterGroup | None = None
    ) -> int:
        """Rows matching `q` and `filters`: exact when small, else an estimate."""
        total = await self.list_total(request, await self.filtered_query(request, q, filters))
        return total.value + (1 if total.at_least else 0)

    async def list_total(self, request: Request, query: Select[Any]) -> RowCount:
        """The total shown under the list: cheap whatever the table size."""
        return await count_rows(get_session(request), query, exact_up_to=self.exact_count_limit)

    async def list_page(
        self,
        request: Request,
        params: ListParams,
    ) -> ListPage:
        """The rows of the page the URL names (`ListRow`s), the total, and the links."""
        position = Position.from_query(request.query_params)
        query = await self.filtered_query(request, params.q, params.filters)
        keys = self.list_sort_keys(request, params.sorts)
        rows = await self._fetch(request, query, keys, position, params.page_size)
        return await self.paged(request, query, keys, rows)

    async def paged(
        self, request: Request, query: Select[Any], keys: list[SortKey], rows: PageRows
    ) -> ListPage:
        """The page of `query` holding `rows`: its total (counted only when there are
        other pages), where it starts when that is cheap to know, and its links."""
        if rows.has_prev or rows.has_next:
            total = await self.list_total(request, query)
        else:  # nothing before the page and nothing after: it holds the whole list
            total = RowCount(len(rows.items))
        if rows.start is None and total.exact:
            rows.start = await self._start_of(request, query, keys, rows, total)
        return _page(request, keys, rows, total)

    async def _fetch(
        self,
        request: Request,
        query: Select[Any],
        keys: list[SortKey],
        at: Position,
        size: int,
    ) -> PageRows:
        """The rows at `at`, and whether there are pages before and after them."""
        select = partial(self._select, request)
        if at.page > 1:
            return await self._numbered(select, query, keys, at.page, size)
        return await keyset_rows(select, query, keys, at, size)

    async def _select(self, request: Request, query: Select[Any], limit: int) -> list[Any]:
        fields = self.get_fields_list(request)
        return await read_rows(get_session(request), self.model, query.limit(limit), fields)

    async def _numbered(
        self, select: _Select, query: Select[Any], keys: list[SortKey], page: int, size: int
    ) -> PageRows:
        skip = (page - 1) * size
        if skip > self.max_page_offset:
            raise bad_request(
                f"Page {page:,} is too far into the list to open by number. "
                "Use the Next and Last links, or narrow the list with search or filters."
            )
        items = await select(_ordered(query, keys).offset(skip), size + 1)
        return PageRows(items[:size], has_prev=True, has_next=len(items) > size, start=skip + 1)

    async def _start_of(
        self,
        request: Request,
        query: Select[Any],
        keys: list[SortKey],
        rows: PageRows,
        total: RowCount,
    ) -> int | None:
        """Where the page starts, counted, when the total is small enough to be exact."""
        if not rows.items:
            return None
        if not rows.has_next:
            return total.value - len(rows.items) + 1
        back = [key.reversed() for key in keys]
        first = keyset.row_values(keys, rows.items[0])
        before = await count_rows(
            get_session(request),
            query.where(keyset.after(back, first)),
            exact_up_to=self.exact_count_limit,
        )
        return before.value + 1 if before.exact else None


_Select = Callable[[Select[Any], int], Awaitable[list[Any]]]
"""Runs a page's query with a row limit (`ListingMixin._select`, bound to one request)."""


async def keyset_rows(
    select: _Select, query: Select[Any], keys: list[SortKey], at: Position, size: int
) -> PageRows:
    """The rows of `query` in the order of `keys` at the keyset position `at` (the first
    page, after or before a row, the end), read by `select`; a 400 for a position token
    that does not fit `keys`."""
    if at.last:
        return await _from_end(select, query, keys, size)
    if at.before is not None:
        rows = await _before(select, query, keys, decode_position(at.before, keys), size)
        return rows if rows.has_prev else await _first(select, query, keys, size)
    if at.after is not None:
        rows = await _after(select, query, keys, decode_position(at.after, keys), size)
        return rows if rows.items else await _from_end(select, query, keys, size)
    return await _first(select, query, keys, size)


def decode_position(token: str, keys: list[SortKey]) -> list[Any]:
    """The sort-key values a link's position token names; a 400 if it names none."""
    try:
        return keyset.decode(token, keys)
    except CursorError as error:
        raise bad_request(
            f"This link does not name a place in the list ({error}). "
            "Start again from the first page."
        ) from None


async def _first(select: _Select, query: Select[Any], keys: list[SortKey], size: int) -> PageRows:
    items = await select(_ordered(query, keys), size + 1)
    return PageRows(items[:size], has_prev=False, has_next=len(items) > size, start=1)


async def _after(
    select: _Select, query: Select[Any], keys: list[SortKey], values: list[Any], size: int
) -> PageRows:
    items = await select(_ordered(query.where(keyset.after(keys, values)), keys), size + 1)
    return PageRows(items[:size], has_prev=True, has_next=len(items) > size)


async def _before(
    select: _Select, query: Select[Any], keys: list[SortKey], values: list[Any], size: int
) -> PageRows:
    back = [key.reversed() for key in keys]
    items = await select(_ordered(query.where(keyset.after(back, values)), back), size + 1)
    return PageRows(items[:size][::-1], has_prev=len(items) > size, has_next=True)


async def _from_end(
    select: _Select, query: Select[Any], keys: list[SortKey], size: int
) -> PageRows:
    items = await select(_ordered(query, [key.reversed() for key in keys]), size + 1)
    return PageRows(items[:size][::-1], has_prev=len(items) > size, has_next=False)


def _key(column: Any, descending: bool) -> SortKey:
    col = column.property.columns[0]
    return SortKey(column.key, column, descending=descending, nullable=bool(col.nullable))


def _ordered(query: Select[Any], keys: Sequence[SortKey]) -> Select[Any]:
    return query.order_by(*(key.order_by() for key in keys))


def _page(request: Request, keys: list[SortKey], rows: PageRows, total: RowCount) -> ListPage:
    items = rows.items
    at = _PageUrls(request)

    def token(row: Any) -> str:  # only for the links shown: each is a JSON dump
        return keyset.encode(keyset.row_values(keys, row))

    return ListPage(
        items=items,
        total=total,
        start=rows.start,
        first_url=at.url() if rows.has_prev else None,
        prev_url=at.url(before=token(items[0]) if items else None) if rows.has_prev else None,
        next_url=at.url(after=token(items[-1]) if items else None) if rows.has_next else None,
        last_url=at.url(last="1") if rows.has_next else None,
    )


def page_url(request: Request, **position: str | None) -> str:
    """This list URL (search, sort, filters, columns kept) at another position."""
    return _PageUrls(request).url(**position)


class _PageUrls:
    """One list URL's links to other positions, its parameters read once."""

    def __init__(self, request: Request) -> None:
        self.path = url_path(request)
        self.kept = [
            (k, v) for k, v in request.query_params.multi_items() if k not in POSITION_PARAMS
        ]

    def url(self, **position: str | None) -> str:
        shown = [(k, v) for k, v in position.items() if v is not None]
        query = urlencode([*self.kept, *shown])  # as `str(QueryParams(...))`
        return self.path + (f"?{query}" if query else "")
