"""List pages: keyset pagination that keeps order, search and filters; totals; query counts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import insert

from admin_app.admin.lists import counting, keyset
from admin_app.admin.views.customer import CustomerView
from admin_app.db import table_of
from admin_app.models import AdminUser
from tests.admin.listing_helpers import (
    BASE_TIME,
    add_customers,
    capture_sql,
    customers,
    filter_fields,
    flat,
    pagination_links,
    row_pks,
    summary,
    walk,
)
from tests.helpers import fetch, password_hash, run

LIST = "/admin/customer/list"


@pytest.fixture(autouse=True)
def _fresh_estimates() -> None:
    counting.forget_estimates()


@pytest.fixture
def sixty(settings: Any) -> list[dict[str, Any]]:
    rows = customers(60)
    add_customers(settings, rows)
    return rows


def expected_order(rows: list[dict[str, Any]], sort: str) -> list[int]:
    if sort == "":
        return sorted((r["id"] for r in rows), reverse=True)
    name, direction = sort.split("__")
    ordered = sorted(rows, key=lambda r: (r[name], r["id"]), reverse=direction == "desc")
    return [r["id"] for r in ordered]


@pytest.mark.parametrize("sort", ["", "first_name__asc", "first_name__desc", "last_name__desc"])
def test_next_and_previous_visit_every_row_once_in_order(admin_client, sixty, sort):
    url = LIST + (f"?sort={sort}" if sort else "")
    expected = expected_order(sixty, sort)
    forward = walk(admin_client, url, "next")
    assert [len(p) for p in forward] == [25, 25, 10]
    assert flat(forward) == expected, "Next must continue exactly where the page ended"
    last = admin_client.get(pagination_links(admin_client.get(url).text)["last"] or "")
    assert row_pks(last.text) == expected[-25:], "Last shows the final rows, in order"
    backward = walk(admin_client, pagination_links(last.text)["prev"] or "", "prev")
    assert backward[0] == expected[10:35], "Previous shows the rows just before, in order"
    assert backward[-1] == expected[:25], "Previous ends on a full first page, not a stub"
    assert len(backward) == 2


def test_ties_in_the_sort_column_are_broken_by_id_both_ways(admin_client, sixty):
    pages = walk(admin_client, f"{LIST}?sort=first_name__asc&sort=last_name__desc", "next")
    rows = {r["id"]: r for r in sixty}
    seen = flat(pages)
    keys = [(rows[i]["first_name"], rows[i]["last_name"]) for i in seen]
    assert len(seen) == 60 == len(set(seen))
    assert keys == sorted(keys, key=lambda k: (k[0], [-ord(c) for c in k[1]]))


def test_nullable_sort_columns_page_without_losing_rows(admin_client, settings):
    users = [
        {
            "id": 100 + i,
            "email": f"user{i}@example.com",
            "full_name": "",
            "password_hash": password_hash(),
            "last_login": None if i % 3 == 0 else BASE_TIME.replace(day=1 + i % 5),
            "is_active": True,
            "is_superuser": False,
            "password_changed_at": BASE_TIME,
            "created_at": BASE_TIME,
        }
        for i in range(40)
    ]

    async def work(session: Any) -> None:
        await session.execute(insert(table_of(AdminUser)), users)

    run(settings, work)
    all_ids = {row[0] for row in fetch(settings, "SELECT id FROM admin_user")}
    for direction in ("asc", "desc"):
        pages = walk(admin_client, f"/admin/admin-user/list?sort=last_login__{direction}", "next")
        seen = flat(pages)
        assert sorted(seen) == sorted(all_ids), f"{direction}: every account exactly once"
        nulls = {u["id"] for u in users if u["last_login"] is None}
        positions = [i for i, pk in enumerate(seen) if pk in nulls]
        end = len(seen)
        expected = range(end - len(nulls), end) if direction == "asc" else range(len(nulls))
        assert positions == list(expected), "empty dates sort last going up, first going down"


def test_search_and_filters_stay_on_every_page(admin_client, settings):
    rows = customers(70)
    for row in rows:
        row["city"] = "Lyon" if row["id"] % 2 else "Paris"
    add_customers(settings, rows)
    url = f"{LIST}?q=LYO&filter=is_active__is_true"
    pages = walk(admin_client, url, "next")
    lyon = sorted((r["id"] for r in rows if r["city"] == "Lyon"), reverse=True)
    assert flat(pages) == lyon
    page_two = pagination_links(admin_client.get(url).text)["next"] or ""
    assert "q=LYO" in page_two and "filter=is_active__is_true" in page_two and "after=" in page_two
    assert summary(admin_client.get(url).text) == "Showing 1 to 25 of 35 entries"


def test_a_page_link_works_in_a_new_session(admin_client, client, sixty, superuser):
    next_url = pagination_links(admin_client.get(f"{LIST}?sort=first_name__asc").text)["next"]
    assert next_url
    expected = row_pks(admin_client.get(next_url).text)
    admin_client.cookies.clear()
    from tests.helpers import login

    assert login(client, superuser).status_code == 303
    assert row_pks(client.get(next_url).text) == expected


def test_summary_counts_positions_when_the_total_is_exact(admin_client, sixty):
    first = admin_client.get(LIST).text
    assert summary(first) == "Showing 1 to 25 of 60 entries"
    second = admin_client.get(pagination_links(first)["next"] or "").text
    assert summary(second) == "Showing 26 to 50 of 60 entries"
    last = admin_client.get(f"{LIST}?last=1").text
    assert summary(last) == "Showing 36 to 60 of 60 entries", "the last page is a full page"
    links = pagination_links(first)
    assert links["first"] is None and links["prev"] is None, "nothing before the first page"
    assert pagination_links(last)["next"] is None and pagination_links(last)["last"] is None


def test_changing_sort_page_size_or_columns_starts_from_the_first_page(admin_client, sixty):
    page = admin_client.get(pagination_links(admin_client.get(LIST).text)["next"] or "").text
    header_links = re.findall(r'class="[^"]*sort-link[^"]*"[^>]*href="([^"]*)"', page)
    header_links += re.findall(r'data-sa-hook="sort-link"\s+href="([^"]*)"', page)
    sizes = re.findall(r'<option value="([^"]*page_size=[^"]*)"', page)
    assert header_links and sizes
    for link in header_links + sizes:
        assert "after=" not in link and "before=" not in link and "last=" not in link, link


def test_numbered_pages_are_served_while_shallow(admin_client, sixty):
    second = admin_client.get(f"{LIST}?page=2")
    assert row_pks(second.text) == expected_order(sixty, "")[25:50]
    assert summary(second.text) == "Showing 26 to 50 of 60 entries"
    deep = admin_client.get(f"{LIST}?page=100000")
    assert deep.status_code == 400
    assert "too far into the list" in deep.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("after=not-a-position!", "does not name a place in the list"),
        (f"after={keyset.encode([1, 2])}", "different sort order"),
        (f"after={keyset.encode([2**40])}", "invalid value for id"),
        (f"after={keyset.encode(['7'])}", "invalid value for id"),
        ("sort=first_name__asc&before=" + keyset.encode(["a\x00b", 1]), "invalid value"),
        (f"after={keyset.encode([3])}&before={keyset.encode([3])}", "Use only one of"),
        ("last=yes", "last=1"),
        ("page=-2", "whole number"),
    ],
)
def test_malformed_positions_are_a_clear_400(admin_client, sixty, query, message):
    response = admin_client.get(f"{LIST}?{query}")
    assert response.status_code == 400, response.text[:300]
    assert message in response.text
    assert "Traceback" not in response.text


def test_a_stale_link_past_the_end_shows_the_last_page(admin_client, sixty):
    response = admin_client.get(f"{LIST}?after={keyset.encode([1])}")
    assert response.status_code == 200
    assert row_pks(response.text) == expected_order(sixty, "")[-25:]


def test_totals_are_estimated_above_the_exact_limit(
    admin_client, settings, sixty, backend, monkeypatch
):
    monkeypatch.setattr(CustomerView, "exact_count_limit", 10)
    if backend == "postgresql":
        fetch(settings, "ANALYZE customer")
    text = summary(admin_client.get(LIST).text)
    if backend == "postgresql":
        assert text == "Showing 1 to 25 of about 60 entries", "the planner's estimate, marked"
        banner = admin_client.get(LIST).text
        assert "Select all about 60 rows" in banner
    else:
        assert text == "Showing 1 to 25 of 60 entries", "SQLite has no estimate and counts"


def test_an_underestimate_is_shown_as_a_lower_bound(admin_client, sixty, backend, monkeypatch):
    monkeypatch.setattr(CustomerView, "exact_count_limit", 10)

    async def low(*args: Any) -> int:
        return 3

    monkeypatch.setattr(counting, "planner_rows", low)
    text = summary(admin_client.get(LIST).text)
    if backend == "postgresql":
        assert text == "Showing 1 to 25 of more than 10 entries", "counting stops at the limit"
    else:
        assert text == "Showing 1 to 25 of 60 entries"


def test_big_totals_never_count_every_row(admin_client, settings, sixty, backend, monkeypatch):
    monkeypatch.setattr(CustomerView, "exact_count_limit", 10)
    if backend == "postgresql":
        fetch(settings, "ANALYZE customer")
    with capture_sql(settings) as sql:
        admin_client.get(LIST)
        admin_client.get(f"{LIST}?last=1")
    counts = [s for s in sql.selects() if "count(" in s.lower()]
    if backend == "postgresql":
        assert counts == [], f"no COUNT on a big table: {counts}"
        assert sum("EXPLAIN" in s for s in sql.sql) == 1, "one estimate, reused for the next page"


def page_queries(client: Any, settings: Any, url: str) -> list[str]:
    with capture_sql(settings) as sql:
        response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    return sql.selects()


def test_queries_per_page_do_not_grow_with_rows_or_depth(admin_client, seeded):
    small = page_queries(admin_client, seeded, "/admin/product/list?q=Espresso")
    # A list opened with an empty URL first asks, in one query, for a role's default view
    # and the user's remembered columns (admin_app/admin/saved_views/opening.py).
    opened = page_queries(admin_client, seeded, "/admin/product/list")
    full = page_queries(admin_client, seeded, "/admin/product/list?view=none")
    assert len(opened) == len(full) + 1, (opened, full)
    second = pagination_links(admin_client.get("/admin/product/list").text)["next"]
    assert second
    deeper = page_queries(admin_client, seeded, second)
    last = page_queries(admin_client, seeded, "/admin/product/list?last=1")
    bigger = page_queries(admin_client, seeded, "/admin/product/list?page_size=50")
    assert len(full) == len(bigger), "a first page costs the same for 25 or 50 rows"
    # A page that holds the whole list (6 matches) is its own total: nothing is counted.
    assert not [s for s in small if "count(" in s.lower() or "EXPLAIN" in s], small
    assert len(small) < len(full), (small, full)
    # A later page may also count the rows before it (only when the total is exact and
    # small): at most one estimate and one capped count more, whatever its depth.
    assert len(full) <= len(deeper) <= len(full) + 2, (full, deeper)
    assert len(last) <= len(full) + 2, (full, last)
    # login check, rows, category, tags, and the total (estimate, then count when small)
    assert len(full) <= 6, full
    tag_loads = [s for s in full if "product_tag" in s]
    assert len(tag_loads) == 1, "tags come in one query for the whole page"
    main = next(s for s in full if "FROM product" in s and "product_tag" not in s)
    assert "JOIN tag" not in main and "product_tag" not in main, "no join that multiplies rows"


def test_order_pages_load_customers_without_extra_queries_per_row(admin_client, seeded):
    few = page_queries(admin_client, seeded, "/admin/order/list?q=cancelled")
    many = page_queries(admin_client, seeded, "/admin/order/list?page_size=50")
    counts = [s for s in many if "count(" in s.lower() or "EXPLAIN" in s]
    assert len(few) == len(many) - len(counts), (few, many)  # `few` fits on one page
    customers = [s for s in many if "FROM customer" in s and "orders" not in s]
    assert len(customers) == 1, ("the page's customers come in one query", customers)


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("UTC", "Jan 1, 2026, 12:07:00\u202fAM"),
        ("Asia/Kolkata", "Jan 1, 2026, 5:37:00\u202fAM"),
        ("America/New_York", "Dec 31, 2025, 7:07:00\u202fPM"),
    ],
)
def test_list_dates_read_in_the_viewers_time_zone_as_on_the_detail_page(
    admin_client, settings, zone, shown
):
    add_customers(settings, customers(7))  # customer 7 was created at 00:07 UTC
    admin_client.cookies.set("timezone", zone)
    try:
        listed = admin_client.get(LIST).text
        detail = admin_client.get("/admin/customer/detail?pk=7").text
    finally:
        admin_client.cookies.delete("timezone")
    row = re.search(r'<tr data-sa-pk="7".*?</tr>', listed, re.S)
    assert row is not None
    assert f">{shown}</span>" in row.group(0), f"the list shows another time for {zone}"
    assert shown in detail, "the detail page (starlette-admin's own formatting) differs"


def test_the_filter_builder_offers_every_searchable_field_on_every_request(admin_client, sixty):
    def builder() -> dict[str, Any]:
        fields = filter_fields(admin_client, admin_client.get(LIST).text)
        return {f["name"]: f for f in fields}

    first, again = builder(), builder()
    assert first == again
    assert {"first_name", "last_name", "email", "city", "country"} <= set(first)
    assert first["email"]["label"] == "Email"
    assert "contains" in {f["name"] for f in first["email"]["filters"]}
    assert ["GB", "United Kingdom"] in first["country"]["choices"]


def test_list_pages_are_matched_first_without_hiding_other_pages(admin_client, seeded):
    """The list route is tried early, yet paths it could also match keep their own page."""
    mount = next(r for r in admin_client.app.routes if getattr(r, "name", "") == "admin")
    names = [getattr(r, "name", None) for r in mount.routes]
    shadowing = {"password-reset-confirm", "invitation", "media"}
    assert shadowing <= set(names[: names.index("list")])
    assert names.index("list") < names.index("account"), "fixed paths come after the list"
    assert admin_client.app.routes[-1].name != "admin", "the probes are tried after the admin"
    reset = admin_client.get("/admin/password-reset/list")
    assert "This link is no longer valid" in reset.text
    assert admin_client.get("/admin/customer/list").status_code == 200
    assert admin_client.get("/admin/media/list").status_code == 404


def test_the_column_chooser_comes_with_its_menu(admin_client, settings):
    """A list page names where its column chooser's checkboxes are, with the columns it
    shows; they are fetched when the menu opens, ticked as the page shows them."""
    from starlette.testclient import TestClient

    from admin_app.main import create_app
    from tests.helpers import create_admin, give_role, login

    def ticked(html: str) -> dict[str, bool]:
        boxes = re.findall(r'value="(\w+)"( checked)?>', html)
        return {name: bool(on) for name, on in boxes}

    page = admin_client.get(LIST, params={"cols": "id,email"}).text
    assert "column-visibility-toggle" not in page, "the page carries the checkboxes"
    url = re.search(r'data-app-column-choices="([^"]+)"', page)
    assert url is not None and url.group(1).endswith("?cols=id%2Cemail"), url
    fetched = admin_client.get(url.group(1).replace("&amp;", "&"))
    assert fetched.status_code == 200 and "no-cache" in fetched.headers["cache-control"]
    boxes = ticked(fetched.text)
    assert boxes["id"] and boxes["email"] and not boxes["first_name"], boxes
    assert all(ticked(admin_client.get("/admin/_api/customer/column-choices").text).values())
    create_admin(settings, "catalogue@example.com", superuser=False)
    give_role(settings, "catalogue@example.com", "Catalogue editor")  # no customer list
    with TestClient(create_app(settings)) as client:
        assert login(client, "catalogue@example.com").status_code == 303
        assert client.get("/admin/_api/customer/column-choices").status_code == 403
