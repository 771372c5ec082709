"""The raw floor: Starlette + asyncpg + Jinja2 serving the same customer pages, nothing else.

No ORM, no admin, no login: one pooled asyncpg query and one small Jinja template per
page, and gzip for clients that ask for it, at the admin's level. The benchmark divides
the admin's rates by these to show what the admin's own machinery costs. It uses the
same SQL strategies as the admin (keyset and numbered pages ordered by the sort column
then the id, trigram-served search, COPY export), so the ratios measure the framework,
not a different query plan.

Run: DATABASE_URL=postgresql://... uvicorn bench.floor_app:app --port N
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from jinja2 import Environment
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

PAGE_SIZE = 25
COLUMNS = "id, first_name, last_name, email, city, country, is_active, created_at"
SEARCH = "(first_name ILIKE $1 OR last_name ILIKE $1 OR email ILIKE $1 OR city ILIKE $1)"
SORTABLE = ("id", "first_name", "last_name", "email", "city", "country", "created_at")
API_COLUMNS = "id, first_name, last_name, email, phone, city, country, is_active, created_at"
"""The fields `/api/v1/customer` reads: its detail page's."""
UNIQUE = ("id", "email")
"""Columns that order the rows alone: a cursor holds only their value, as the API's."""
API_LIMIT = 50
"""The API's default page size."""
GZIP_LEVEL, GZIP_MINIMUM = 3, 1024
"""As the admin's `CompressionMiddleware` in admin_app/main.py (a test checks)."""

PAGE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Customers</title></head>
<body><h1>Customers</h1>
<form method="get"><input type="search" name="q" value="{{ q }}"></form>
<table>
<thead><tr><th>ID</th><th>First name</th><th>Last name</th><th>Email</th><th>City</th>
<th>Country</th><th>Active</th><th>Created at</th></tr></thead>
<tbody>
{% for r in rows %}<tr><td>{{ r.id }}</td><td>{{ r.first_name }}</td><td>{{ r.last_name }}</td>
<td><a href="mailto:{{ r.email }}">{{ r.email }}</a></td><td>{{ r.city }}</td>
<td>{{ r.country }}</td>
<td>{{ "yes" if r.is_active else "no" }}</td><td>{{ r.created_at.isoformat() }}</td></tr>
{% endfor %}</tbody></table>
{% if rows %}<a href="?after={{ rows[-1].id }}">Next</a> <a href="?last=1">Last</a>{% endif %}
</body></html>"""
)

DETAIL = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Customer {{ r.id }}</title></head>
<body><h1>{{ r.first_name }} {{ r.last_name }}</h1>
<dl>{% for name, value in r.items() %}<dt>{{ name }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl>
<a href="/customers">Customers</a>
</body></html>"""
)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    # Every query planned for its own values. asyncpg prepares and keeps each statement,
    # and after five runs PostgreSQL may switch it to a generic plan: for a search that
    # finds one row among a million, ordered by id, that plan walks the whole primary key
    # (1.4 s instead of 3 ms on this machine).
    custom_plans = {"plan_cache_mode": "force_custom_plan"}
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=10, server_settings=custom_plans)
    try:
        yield {"pool": pool}
    finally:
        await pool.close()


async def customers(request: Request) -> Response:
    """A page of customers: `q`, `sort=<column>__asc|desc`, then `page=N`, `after=<id>`
    (keyset, in the default order) or `last=1`."""
    params = request.query_params
    q = params.get("q") or ""
    where = [SEARCH] if q else []
    args: list[object] = [f"%{q}%"] if q else []
    try:
        column, descending = sort_order(params.get("sort") or "id__desc")
    except ValueError as error:
        return HTMLResponse(str(error), status_code=400)
    if params.get("after"):
        args.append(int(params["after"]))
        where.append(f"id < ${len(args)}")
    last = bool(params.get("last"))
    sql = f"SELECT {COLUMNS} FROM customer"  # noqa: S608 (fixed text and $n parameters)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order_by(column, descending != last)} LIMIT {PAGE_SIZE}"
    if (page := int(params.get("page") or 1)) > 1:
        sql += f" OFFSET {(page - 1) * PAGE_SIZE}"
    rows = await request.state.pool.fetch(sql, *args)
    if last:
        rows = rows[::-1]
    return HTMLResponse(PAGE.render(rows=rows, q=q))


def sort_order(sort: str) -> tuple[str, bool]:
    """The column and direction of `sort` (`<column>__asc|desc`); ValueError if unknown."""
    column, _, direction = sort.partition("__")
    if column not in SORTABLE or direction not in ("asc", "desc"):
        raise ValueError(f"cannot sort by {sort!r}")
    return column, direction == "desc"


def order_by(column: str, descending: bool) -> str:
    """ORDER BY terms as the admin's: the column, then the id, in one direction."""
    direction = "DESC" if descending else "ASC"
    return ", ".join(f"{name} {direction}" for name in dict.fromkeys((column, "id")))


ORDERS = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Orders</title></head>
<body><h1>Orders</h1>
<table>
<thead><tr><th>ID</th><th>Customer</th><th>Status</th><th>Total</th><th>Placed at</th></tr></thead>
<tbody>
{% for r in rows %}<tr><td>{{ r.id }}</td>
<td>{{ r.first_name }} {{ r.last_name }} &lt;{{ r.email }}&gt;</td><td>{{ r.status }}</td>
<td>{{ r.total }}</td><td>{{ r.placed_at.isoformat() }}</td></tr>
{% endfor %}</tbody></table>
</body></html>"""
)
ORDER_SORTS = ("placed_at", "total", "status", "id")
COUNTRY_FILTER = re.compile(r"customer\.country__eq=([A-Z]{2})")


async def orders(request: Request) -> Response:
    """A page of orders of the customers of one country, as the admin's order list
    filtered through the relation (`filter=customer.country__eq=XX`): the same subquery,
    `sort=<column>__asc|desc` and `page=N`, each row with its customer."""
    params = request.query_params
    country = COUNTRY_FILTER.fullmatch(params.get("filter") or "")
    column, _, direction = (params.get("sort") or "placed_at__desc").partition("__")
    if country is None or column not in ORDER_SORTS or direction not in ("asc", "desc"):
        return HTMLResponse("filter by customer.country__eq and sort by a column", 400)
    offset = (int(params.get("page") or 1) - 1) * PAGE_SIZE
    page = (
        "SELECT id, customer_id, status, total, placed_at FROM orders"  # noqa: S608
        " WHERE customer_id IN (SELECT id FROM customer WHERE country = $1)"
        f" ORDER BY {order_by(column, direction == 'desc')} LIMIT {PAGE_SIZE} OFFSET {offset}"
    )
    outer = ", ".join(f"o.{term}" for term in order_by(column, direction == "desc").split(", "))
    sql = (
        f"SELECT o.*, c.first_name, c.last_name, c.email FROM ({page}) o"  # noqa: S608
        f" JOIN customer c ON c.id = o.customer_id ORDER BY {outer}"
    )
    rows = await request.state.pool.fetch(sql, country.group(1))
    return HTMLResponse(ORDERS.render(rows=rows))


async def api_customers(request: Request) -> Response:
    """A page of customers as JSON, in the API's own query language (`limit`, `search`,
    `sort=name|-name`, `cursor` from the previous page's `next_cursor`), so the bench
    sends both apps the same URLs. Sorts on columns that are never NULL only."""
    params = request.query_params
    try:
        column, descending = api_sort(params.get("sort") or "-id")
        keys = [column] if column in UNIQUE else [column, "id"]
        limit = int(params.get("limit") or API_LIMIT)
        position = _position(params.get("cursor"), keys)
    except ValueError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    where, args = [], []
    if q := params.get("search"):
        args.append(f"%{q}%")
        where.append(SEARCH)
    if position:
        marks = ", ".join(f"${len(args) + n}" for n in range(1, len(keys) + 1))
        args += position
        where.append(f"({', '.join(keys)}) {'<' if descending else '>'} ({marks})")
    sql = f"SELECT {API_COLUMNS} FROM customer"  # noqa: S608 (fixed text and $n parameters)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order_by(column, descending)} LIMIT {limit + 1}"
    rows = await request.state.pool.fetch(sql, *args)
    more = len(rows) > limit
    data = [{**row, "created_at": row["created_at"].isoformat()} for row in rows[:limit]]
    after = _cursor([data[-1][key] for key in keys]) if more else None
    return JSONResponse({"data": data, "next_cursor": after})


def api_sort(sort: str) -> tuple[str, bool]:
    """The column and direction of the API's `sort` (`name` or `-name`)."""
    column = sort.removeprefix("-")
    if column not in SORTABLE or column == "country":
        raise ValueError(f"cannot sort by {sort!r}")
    return column, sort.startswith("-")


def _position(cursor: str | None, keys: list[str]) -> list[Any]:
    """The sort-key values a cursor names (the API's format: JSON in URL-safe base64)."""
    if not cursor:
        return []
    values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    if not isinstance(values, list) or len(values) != len(keys):
        raise ValueError("this cursor does not fit this sort")
    return [
        datetime.fromisoformat(v) if k == "created_at" else v
        for k, v in zip(keys, values, strict=True)
    ]


def _cursor(values: list[Any]) -> str:
    data = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()


async def detail(request: Request) -> Response:
    """One customer, every column."""
    pk = int(request.query_params["pk"])
    row = await request.state.pool.fetchrow("SELECT * FROM customer WHERE id = $1", pk)
    if row is None:
        return HTMLResponse("Not found", status_code=404)
    return HTMLResponse(DETAIL.render(r=row))


async def lookup(request: Request) -> Response:
    q = request.query_params.get("q") or ""
    sql = f"SELECT id, first_name, last_name, email FROM customer WHERE {SEARCH}"  # noqa: S608
    rows = await request.state.pool.fetch(sql + " ORDER BY id LIMIT 21", f"%{q}%")
    items = [
        {"id": r["id"], "text": f"{r['first_name']} {r['last_name']} <{r['email']}>"}
        for r in rows[:20]
    ]
    return JSONResponse({"items": items, "more": len(rows) > 20})


async def export(request: Request) -> Response:
    pool = request.state.pool

    async def body() -> AsyncIterator[bytes]:
        import asyncio

        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)

        async def put(data: bytes) -> None:
            await queue.put(bytes(data))

        async def copy() -> None:
            async with pool.acquire() as conn:
                await conn.copy_from_query(
                    f"SELECT {COLUMNS} FROM customer ORDER BY id DESC",  # noqa: S608
                    output=put,
                    format="csv",
                    header=True,
                )
            await queue.put(None)

        task = asyncio.create_task(copy())
        try:
            while (chunk := await queue.get()) is not None:
                yield chunk
        finally:
            task.cancel()

    return StreamingResponse(body(), media_type="text/csv")


class GzipWhenAsked:
    """Starlette's gzip, only for clients that accept it, as the admin's: others go
    straight to the app, not through Starlette's identity responder."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=GZIP_MINIMUM, compresslevel=GZIP_LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asks = scope["type"] == "http" and any(
            name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"]
        )
        await (self.gzip if asks else self.app)(scope, receive, send)


app = Starlette(
    routes=[
        Route("/customers", customers),
        Route("/customers/detail", detail),
        Route("/customers/lookup", lookup),
        Route("/customers.csv", export),
        Route("/api/customers", api_customers),
        Route("/orders", orders),
    ],
    middleware=[Middleware(GzipWhenAsked)],
    lifespan=lifespan,
)
