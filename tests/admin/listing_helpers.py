"""Helpers for the list, search and export tests: bulk rows, SQL capture, page walking."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from admin_app.db import table_of
from admin_app.models import Customer
from admin_app.settings import Settings
from tests.helpers import run

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def add_customers(settings: Settings, rows: list[dict[str, Any]]) -> None:
    """Insert customers; missing columns get plain defaults, ids are given by the rows."""
    defaults = {"phone": "", "city": "", "country": "DE", "is_active": True}
    values = [
        {**defaults, "created_at": BASE_TIME + timedelta(minutes=row["id"]), **row} for row in rows
    ]

    async def work(session: Any) -> None:
        await session.execute(insert(table_of(Customer)), values)

    run(settings, work)


def customers(
    n: int, *, first_names: tuple[str, ...] = ("Ann", "Bob", "Cy")
) -> list[dict[str, Any]]:
    """`n` customers with ids 1..n; first names repeat, so sorting by them needs a tiebreaker."""
    return [
        {
            "id": i,
            "first_name": first_names[i % len(first_names)],
            "last_name": f"Last{i:03d}",
            "email": f"person{i}@example.com",
        }
        for i in range(1, n + 1)
    ]


def vacuum_analyze(settings: Settings, table: str) -> None:
    """PostgreSQL's VACUUM ANALYZE (outside a transaction): fresh statistics for the planner,
    including a GIN index's, whose new entries wait in a pending list until then."""
    import asyncio

    import asyncpg

    dsn = settings.db_url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def go() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"VACUUM ANALYZE {table}")
        finally:
            await conn.close()

    asyncio.run(go())


@dataclass
class Statements:
    """SQL statements run against one database while a block runs."""

    database: str | None
    sql: list[str] = field(default_factory=list)

    def selects(self) -> list[str]:
        """The reads, but the polls of the process's own background workers (the email
        outbox and webhook deliveries), which may run at any moment of the block."""
        return [
            s
            for s in self.sql
            if s.lstrip().upper().startswith(("SELECT", "EXPLAIN"))
            and not any(queue in s for queue in WORKER_QUEUES)
        ]


WORKER_QUEUES = ("FROM email_outbox", "FROM webhook_delivery")
"""What the background workers' polls read: no page reads these queues."""


@contextmanager
def capture_sql(settings: Settings) -> Iterator[Statements]:
    """Record every statement SQLAlchemy runs on `settings`' database while the block runs."""
    captured = Statements(settings.db_url.database)

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if conn.engine.url.database == captured.database:
            captured.sql.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield captured
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def flat(pages: Any) -> list[int]:
    """The pks of several pages, one after the other."""
    return [pk for page in pages for pk in page]


def with_row_cells(html: str) -> str:
    """`html` with each row's shared link, checkbox and actions cells in place, as
    static/admin.js puts them there in the browser (admin_app/admin/lists/rows.py)."""
    found = re.search(
        r'<template data-row-cells="([^"]+)" data-actions="(\w*)" data-href="([^"]*)">'
        r"<tr>(.*?)</tr></template>",
        html,
        re.S,
    )
    if found is None:
        return html
    key, where, href, cells = found.groups()
    parts = re.findall(r"<td.*?</td>(?=<td|$)", cells, re.S)
    actions = parts.pop() if where else ""
    lead, tail = "".join(parts), ""
    if where == "first":
        lead += actions
    else:
        tail = actions
    link = f' data-sa-href="{href}" class="row-clickable" tabindex="0"' if href else ""

    def fill(row: re.Match[str]) -> str:
        pk, body = row.group(1), row.group(2)
        start = f'<tr data-sa-pk="{pk}"{link.replace(key, pk)}>'
        return f"{start}{lead.replace(key, pk)}{body}{tail.replace(key, pk)}</tr>"

    return re.sub(r'<tr data-sa-pk="([^"]+)" data-row-cells>(.*?)</tr>', fill, html, flags=re.S)


def filter_fields(client: TestClient, html: str) -> list[dict[str, Any]]:
    """The filter builder's fields as the page gives them to its script: inline, or in
    the versioned script it loads (`window.adminFilterFields`)."""
    found = re.search(r"initFilterBuilder\(\{\s*fields: (.*?),\s*initialFilter:", html, re.S)
    assert found is not None, "the list page has no filter builder"
    if found.group(1).strip() != "window.adminFilterFields":
        return list(json.loads(found.group(1)))
    src = re.search(r'<script[^>]* src="([^"]*/filter-fields\.js\?v=\w+)"', html)
    assert src is not None, "the page reads its filter fields from a script it does not load"
    script = client.get(unescape(src.group(1))).text
    return list(json.loads(script.split("=", 1)[1].strip().rstrip(";")))


def row_pks(html: str) -> list[int]:
    """The primary keys of the rows of a list page, in order."""
    return [int(pk) for pk in re.findall(r'<tr data-sa-pk="(\d+)"', html)]


def pagination_links(html: str) -> dict[str, str | None]:
    """The URLs of First, Previous, Next and Last (None where the link is disabled)."""
    block = html[html.index('data-app-hook="pagination"') :]
    links: dict[str, str | None] = {}
    for rel in ("first", "prev", "next", "last"):
        match = re.search(rf'href="([^"]*)"\s+rel="{rel}"', block)
        assert match, f"no {rel} link in the pagination"
        links[rel] = None if match.group(1) == "#" else unescape(match.group(1))
    return links


def summary(html: str) -> str:
    match = re.search(r'data-app-hook="list-summary">([^<]*)<', html)
    assert match, "no list summary"
    return unescape(match.group(1)).strip()


def walk(client: TestClient, url: str, rel: str) -> list[list[int]]:
    """Follow one pagination link from page to page; the pks of every page visited."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, response.text[:500]
        pages.append(row_pks(response.text))
        next_url = pagination_links(response.text)[rel]
        assert len(pages) < 100, "the pagination does not end"
    return pages
