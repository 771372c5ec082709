"""The raw floor: Starlette + asyncpg + Jinja2 serving the same customer pages, nothing else.

No ORM, no admin, no middleware, no login: one pooled asyncpg query and one small
Jinja template per page. The benchmark divides the admin's rates by these to show
what the admin's own machinery costs. It uses the same SQL strategies as the
admin (keyset pages, trigram-served search, COPY export), so the ratios measure
the framework, not a different query plan.

Run: DATABASE_URL=postgresql://... uvicorn bench.floor_app:app --port N
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from jinja2 import Environment
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

PAGE_SIZE = 25
COLUMNS = "id, first_name, last_name, email, city, country, is_active, created_at"
SEARCH = "(first_name ILIKE $1 OR last_name ILIKE $1 OR email ILIKE $1 OR city ILIKE $1)"

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


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=10)
    try:
        yield {"pool": pool}
    finally:
        await pool.close()


async def customers(request: Request) -> Response:
    params = request.query_params
    q = params.get("q") or ""
    where, args = ([SEARCH], [f"%{q}%"]) if q else ([], [])
    order = "id DESC"
    if params.get("after"):
        args.append(int(params["after"]))
        where.append(f"id < ${len(args)}")
    if params.get("last"):
        order = "id ASC"
    sql = f"SELECT {COLUMNS} FROM customer"  # noqa: S608 (fixed text and $n parameters)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order} LIMIT {PAGE_SIZE}"
    rows = await request.state.pool.fetch(sql, *args)
    if params.get("last"):
        rows = rows[::-1]
    return HTMLResponse(PAGE.render(rows=rows, q=q))


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


app = Starlette(
    routes=[
        Route("/customers", customers),
        Route("/customers/lookup", lookup),
        Route("/customers.csv", export),
    ],
    lifespan=lifespan,
)
