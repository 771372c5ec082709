"""Global search's queries on PostgreSQL can all be served by indexes on the big tables.

Every statement a search request runs is captured and EXPLAINed with sequential scans
priced out (`enable_seqscan = off`): on a small test database the planner would rightly
read a table whole, so the question asked is whether an index *can* serve each scan.
A Seq Scan left in such a plan means none can, as on a million rows it would not.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.conftest import seed_small
from tests.helpers import create_admin, give_role, login

BIG_TABLES = {"customer", "orders", "order_line", "product"}
TERMS = ["hloe", "shipped", "example", "zzqx"]
"""A name, an order status, a term in nearly every email, one that matches nothing (the
whole-list pass runs only when the newest rows hold too few matches)."""


def _captured(settings: Any, email: str, terms: list[str]) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    with TestClient(create_app(settings)) as client:
        assert login(client, email).status_code == 303
        event.listen(Engine, "before_cursor_execute", keep)
        try:
            for term in terms:
                assert client.get("/admin/_api/search", params={"q": term}).status_code == 200
        finally:
            event.remove(Engine, "before_cursor_execute", keep)
    return statements


def _scans(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield plan["Node Type"], plan.get("Relation Name", "")
    for child in plan.get("Plans", []):
        yield from _scans(child)


async def _plans(url: str, statements: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET enable_seqscan = off")
        plans = []
        for statement, parameters in statements:
            text = await connection.fetchval(f"EXPLAIN (FORMAT JSON) {statement}", *parameters)
            plans.append((statement, json.loads(text)[0]["Plan"]))
        return plans
    finally:
        await connection.close()


def test_no_search_query_reads_a_big_table_whole(pg_settings):
    seed_small(pg_settings)
    create_admin(pg_settings, "root@example.com", superuser=True)
    create_admin(pg_settings, "fr@example.com", superuser=False)
    give_role(pg_settings, "fr@example.com", "Sales France")
    statements = _captured(pg_settings, "root@example.com", TERMS)
    statements += _captured(pg_settings, "fr@example.com", TERMS)
    searches = [s for s in statements if "LIKE " in s[0].upper() or " IN (" in s[0].upper()]
    assert any("MATERIALIZED" in s for s, _ in searches), "the whole-list pass never ran"
    plans = asyncio.run(_plans(pg_settings.database_url, searches))
    for statement, plan in plans:
        whole = {rel for node, rel in _scans(plan) if node == "Seq Scan" and rel in BIG_TABLES}
        assert not whole, f"a search reads {whole} whole:\n{statement}\n{json.dumps(plan)[:2000]}"
