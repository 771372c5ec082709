"""The trash pages' queries on PostgreSQL can all be served by indexes on the big tables.

Every statement a trash page runs (its rows, the next and last pages, a search, the
count) is captured and EXPLAINed with sequential scans priced out, as
`tests/admin/test_global_search_plans.py` does for global search: a Seq Scan left in
such a plan means no index can serve it, as on a million rows none would.
"""

from __future__ import annotations

import asyncio
import re
from html import unescape
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.admin.test_global_search_plans import BIG_TABLES, _plans, _scans
from tests.conftest import seed_small
from tests.helpers import create_admin, fetch, give_role, login, make_role, post_form


def _trash_every_order_but_one(settings: Any) -> None:
    ids = [r[0] for r in fetch(settings, "SELECT id FROM orders ORDER BY id")]
    with TestClient(create_app(settings)) as client:
        assert login(client, "root@example.com").status_code == 303
        assert post_form(client, "/admin/order/delete", {"pks": ids[1:]}).status_code == 200


def _captured(settings: Any, email: str, pages: bool) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        reads = statement.lstrip().upper().startswith(("SELECT", "WITH"))
        if reads and "deleted_at IS NOT NULL" in statement:
            statements.append((statement, parameters))

    with TestClient(create_app(settings)) as client:
        assert login(client, email).status_code == 303
        event.listen(Engine, "before_cursor_execute", keep)
        try:
            first = client.get("/admin/order/trash", params={"page_size": 25})
            assert first.status_code == 200
            after = re.search(r'<a class="page-link" href="([^"#]+)" rel="next"', first.text)
            assert after or not pages, "the trash has one page only: nothing to page through"
            urls = [unescape(after.group(1))] if after else []
            for url in (*urls, "/admin/order/trash?last=1"):
                assert client.get(url).status_code == 200
            for key, term in (("customer", "example"), ("product", "lamp"), ("order", "ship")):
                assert client.get(f"/admin/{key}/trash", params={"q": term}).status_code == 200
        finally:
            event.remove(Engine, "before_cursor_execute", keep)
    return statements


def test_no_trash_page_query_reads_a_big_table_whole(pg_settings):
    seed_small(pg_settings)
    create_admin(pg_settings, "root@example.com", superuser=True)
    codes = ["order:view", "order:delete", "customer:view", "customer:delete", "product:view"]
    make_role(pg_settings, "French trash", [*codes, "product:delete"], {"countries": ["FR"]})
    create_admin(pg_settings, "fr@example.com", superuser=False)
    give_role(pg_settings, "fr@example.com", "French trash")
    _trash_every_order_but_one(pg_settings)
    statements = _captured(pg_settings, "root@example.com", pages=True)
    statements += _captured(pg_settings, "fr@example.com", pages=False)
    plans = asyncio.run(_plans(pg_settings.database_url, statements))
    assert len(plans) >= 10, "the trash pages ran fewer queries than expected"
    for statement, plan in plans:
        whole = {rel for node, rel in _scans(plan) if node == "Seq Scan" and rel in BIG_TABLES}
        assert not whole, f"a trash page reads {whole} whole:\n{statement}\n{plan}"
