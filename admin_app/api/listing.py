"""A list call's parameters: keyset cursor, limit, equality filters, search, sort, fields.

The rows come from the view's own scoped, searched query (`filtered_query`) and its
keyset order (`list_sort_keys`, ending with the primary key), so a page costs the same
however deep it is, and the caller never sees a row the admin's list would hide. They
are read as column values, as the admin's list pages read them (`rows.read_rows`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import ColumnProperty
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette_admin import BaseField, RelationField

from admin_app.admin.base import AppModelView
from admin_app.admin.lists import keyset
from admin_app.admin.lists.keyset import CursorError, SortKey
from admin_app.admin.lists.rows import ListRow, read_rows
from admin_app.api.errors import ApiError
from admin_app.state import get_session

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
RESERVED = frozenset({"cursor", "limit", "search", "sort", "fields"})


@dataclass(frozen=True)
class ListQuery:
    """What a list call asked for, checked."""

    limit: int
    cursor: str | None
    search: str | None
    sort: list[tuple[str, str]]
    filters: dict[str, str]


def filter_fields(view: AppModelView, fields: Sequence[BaseField]) -> dict[str, BaseField]:
    """The readable fields a list can be filtered on by equality: plain columns."""
    found = {}
    for field in fields:
        attr = getattr(view.model, field.name, None)
        prop = getattr(attr, "property", None)
        if isinstance(field, RelationField) or not isinstance(prop, ColumnProperty):
            continue
        if keyset.is_keyable(attr):
            found[field.name] = field
    return found


def sort_fields(view: AppModelView, fields: Sequence[BaseField]) -> list[str]:
    """The readable fields the admin's list offers to sort by (and that can key a page)."""
    columns = filter_fields(view, fields)
    return [name for name, field in columns.items() if field.orderable]


def parse_list_query(
    params: QueryParams, filterable: Sequence[str], sortable: Sequence[str]
) -> ListQuery:
    """The list parameters, or a 400 naming the one that is wrong."""
    limit = _limit(params.get("limit"))
    sort = []
    for name in (params.get("sort") or "").split(","):
        if not name.strip():
            continue
        direction = "desc" if name.strip().startswith("-") else "asc"
        bare = name.strip().lstrip("-")
        if bare not in sortable:
            offered = ", ".join(sortable) or "none"
            raise ApiError(400, f"This list cannot be sorted by {bare[:60]!r}; offered: {offered}.")
        sort.append((bare, direction))
    filters = {}
    for name, value in params.multi_items():
        if name in RESERVED:
            continue
        if name not in filterable:
            raise ApiError(400, f"There is no filter named {name[:60]!r}.")
        filters[name] = value
    return ListQuery(
        limit, params.get("cursor") or None, params.get("search") or None, sort, filters
    )


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw[:6]) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def apply_filters(view: AppModelView, query: Select[Any], filters: dict[str, str]) -> Select[Any]:
    """`query` narrowed to rows whose columns equal the filters' values."""
    for name, raw in filters.items():
        column = getattr(view.model, name)
        try:
            value = typed(keyset.column_python_type(column), raw)
        except (ValueError, TypeError, InvalidOperation, OverflowError):
            raise ApiError(400, f"{raw[:60]!r} is not a valid value for {name}.") from None
        query = query.where(column.is_(None) if value is None else column == value)
    return query


def typed(python_type: type[Any], raw: str) -> Any:
    """A query-string value as the column's Python type; "null" means no value."""
    if raw == "null":
        return None
    if python_type is bool:
        if raw not in ("true", "false"):
            raise ValueError(raw)
        return raw == "true"
    if python_type is int:
        number = int(raw)
        if not -(2**63) <= number < 2**63:
            raise OverflowError(raw)
        return number
    if python_type is Decimal:
        amount = Decimal(raw)
        if not amount.is_finite():
            raise ValueError(raw)
        return amount
    if python_type is float:
        return float(raw)
    if python_type is datetime:
        return datetime.fromisoformat(raw)
    if python_type is date:
        return date.fromisoformat(raw)
    if issubclass(python_type, enum.Enum):
        return python_type(raw)
    return raw


def cursor_values(token: str, keys: list[SortKey]) -> list[Any]:
    """The position a cursor names, or a 400."""
    try:
        return keyset.decode(token, keys)
    except CursorError as error:
        raise ApiError(400, f"This cursor does not fit this list ({error}); start again.") from None


async def page(
    view: AppModelView, request: Request, asked: ListQuery, fields: Sequence[BaseField]
) -> tuple[list[ListRow], str | None]:
    """One page of rows (column values, with the relations among `fields`: `read_rows`),
    and the cursor of the next page (None at the end)."""
    query = await view.filtered_query(request, asked.search, None)
    query = apply_filters(view, query, asked.filters)
    keys = view.list_sort_keys(request, asked.sort or view.default_sorts())
    if asked.cursor:
        query = query.where(keyset.after(keys, cursor_values(asked.cursor, keys)))
    query = query.order_by(*(key.order_by() for key in keys)).limit(asked.limit + 1)
    rows = await read_rows(get_session(request), view.model, query, fields)
    more = len(rows) > asked.limit
    rows = rows[: asked.limit]
    after = keyset.encode(keyset.row_values(keys, rows[-1])) if more and rows else None
    return rows, after
