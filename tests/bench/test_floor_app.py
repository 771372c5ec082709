"""The floor is a fair yardstick: it accepts every sort the admin's customer list
offers, orders as the admin does, and compresses as the admin does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from admin_app.admin.views.customer import CustomerView
from admin_app.main import create_app
from admin_app.middleware.compression import CompressionMiddleware
from admin_app.settings import Settings
from bench import floor_app
from bench.api import sorts
from tests.api.helpers import bearer, make_token
from tests.conftest import make_settings, seed_small
from tests.helpers import create_admin, fetch


def test_the_floor_sorts_by_every_column_the_admin_offers() -> None:
    for name in CustomerView.sortable_fields:
        for direction in ("asc", "desc"):
            assert floor_app.sort_order(f"{name}__{direction}") == (name, direction == "desc")
    with pytest.raises(ValueError, match="cannot sort"):
        floor_app.sort_order("phone__asc; DROP TABLE customer")


def test_the_floor_orders_by_the_column_then_the_id_as_the_admin() -> None:
    assert floor_app.order_by("city", descending=True) == "city DESC, id DESC"
    assert floor_app.order_by("id", descending=False) == "id ASC"


def test_the_floor_gzips_at_the_admins_level(tmp_path: Path) -> None:
    app = create_app(make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/unused.db"))
    (admin,) = [m for m in app.user_middleware if m.cls is CompressionMiddleware]
    assert admin.kwargs["compresslevel"] == floor_app.GZIP_LEVEL
    assert admin.kwargs["minimum_size"] == floor_app.GZIP_MINIMUM


def test_the_floors_json_list_answers_the_apis_pages(
    pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same URL gives the same page on both: every sort the bench sends, both ways,
    three pages deep along the cursors, and a search."""
    seed_small(pg_settings)
    monkeypatch.setenv("DATABASE_URL", pg_settings.database_url)
    token = bearer(make_token(pg_settings, create_admin(pg_settings, "bench@example.com")))
    last_name = str(fetch(pg_settings, "SELECT last_name FROM customer LIMIT 1")[0][0])
    starts = [f"?sort={way}{name}&limit=7" for name in sorts() for way in ("", "-")]
    starts.append(f"?search={last_name[:4].lower()}&sort=email")
    with TestClient(create_app(pg_settings)) as admin, TestClient(floor_app.app) as floor:
        for start in starts:
            query = start
            for depth in range(3):
                api = admin.get(f"/api/v1/customer{query}", headers=token)
                ours = floor.get(f"/api/customers{query}")
                assert api.status_code == ours.status_code == 200, (query, api.text[:200])
                assert ours.json() == api.json(), f"{query} (page {depth + 1}) differs"
                cursor = api.json()["next_cursor"]
                if cursor is None:
                    break
                query = f"{start}&cursor={cursor}"
            assert depth == 2 or "search" in start, f"{start}: the store has three pages"


def test_the_floors_order_list_answers_the_relation_filter_scenario(
    pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relation-filter scenario's URLs give the same orders, in the same order, on
    both: the admin's order list filtered by customer country, and the floor's `/orders`;
    every sort the scenario sends (the order list's), both ways, two pages."""
    from admin_app.admin.views.order import OrderView
    from bench.scenarios import ORDER_SORTS, relation_filter_urls
    from tests.admin.listing_helpers import row_pks
    from tests.helpers import login

    assert set(ORDER_SORTS) == set(OrderView.sortable_fields)
    assert relation_filter_urls(count=5).read_text().count("customer.country__eq=") == 5
    seed_small(pg_settings)
    create_admin(pg_settings, "bench@example.com")
    monkeypatch.setenv("DATABASE_URL", pg_settings.database_url)
    country = str(fetch(pg_settings, "SELECT country FROM customer LIMIT 1")[0][0])
    with TestClient(create_app(pg_settings)) as admin, TestClient(floor_app.app) as floor:
        assert login(admin, "bench@example.com").status_code == 303
        for sort in ORDER_SORTS:
            for direction in ("asc", "desc"):
                for page in (1, 2):
                    query = f"?filter=customer.country__eq={country}&sort={sort}__{direction}"
                    query += f"&page={page}&page_size=25"
                    ours = floor.get(f"/orders{query}")
                    theirs = admin.get(f"/admin/order/list{query}")
                    assert ours.status_code == theirs.status_code == 200, theirs.text[:300]
                    floor_ids = [int(i) for i in re.findall(r"<tr><td>(\d+)</td>", ours.text)]
                    assert floor_ids == row_pks(theirs.text), f"{query} differs"
                    assert floor_ids or page == 2, f"{query}: the country has orders"
