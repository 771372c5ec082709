"""The filters the column headers offer, and those through relations, can all be served
by indexes on PostgreSQL: every statement their list pages run is EXPLAINed with
sequential scans priced out (as in test_global_search_plans), under every offered sort.
A Seq Scan of a big table left in such a plan means no index can serve it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.admin.test_global_search_plans import BIG_TABLES, _plans, _scans
from tests.conftest import seed_small
from tests.helpers import create_admin, login

FILTERS = {
    "order": [
        "customer.country__eq=FR",
        "customer.country__in=FR,DE",
        "customer.email__contains=example",
        "customer.email__startswith=ann",
        "customer.email__eq=ann@example.com",
        "customer__is=1",
        "status__eq=shipped",
        "total__between=10..100",
        "placed_at__within=last_7_days",
        "customer.email__endswith=.com",
    ],
    "product": [
        "category.name__contains=ook",
        "category.name__eq=Books",
        "name__contains=lamp",
        "price__gte=10",
        "is_active__is_true",
        "created_at__within=this_month",
    ],
    "order-line": ["product.sku__eq=SKU-00001", "product.sku__contains=0001", "quantity__gte=2"],
}
"""Per list, a filter of each kind its headers and relation filters offer."""
SORTS = {
    "order": ["", "total__desc", "placed_at__asc", "status__asc"],
    "product": ["", "price__asc", "name__desc"],
    "order-line": ["", "quantity__desc"],
}


def _captured(settings: Any) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    with TestClient(create_app(settings)) as client:
        assert login(client, "root@example.com").status_code == 303
        event.listen(Engine, "before_cursor_execute", keep)
        try:
            for key, filters in FILTERS.items():
                for raw in filters:
                    for sort in SORTS[key]:
                        params = {"filter": raw, **({"sort": sort} if sort else {})}
                        page = client.get(f"/admin/{key}/list", params=params)
                        assert page.status_code == 200, (key, raw, page.text[:300])
        finally:
            event.remove(Engine, "before_cursor_execute", keep)
    return statements


def test_no_offered_filter_or_sort_reads_a_big_table_whole(pg_settings):
    seed_small(pg_settings)
    create_admin(pg_settings, "root@example.com", superuser=True)
    tables = ("FROM orders", "FROM product", "FROM order_line")
    lists = [s for s in _captured(pg_settings) if any(t in s[0] for t in tables)]
    through = [s for s, _ in lists if " IN (SELECT customer.id" in s]
    assert through, "the relation filters ran as subqueries"
    for statement, plan in asyncio.run(_plans(pg_settings.database_url, lists)):
        whole = {rel for node, rel in _scans(plan) if node == "Seq Scan" and rel in BIG_TABLES}
        assert not whole, f"a list reads {whole} whole:\n{statement}\n{json.dumps(plan)[:2000]}"
