"""Header filters and filters through relations (admin_app/admin/header_filters.py,
admin_app/admin/relation_filters.py): what each filters, the URL state a header filter
leaves, periods in the user's calendar, who is offered what, and bad values refused."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from admin_app.admin.filters import period_days
from admin_app.main import create_app
from admin_app.models import Order
from tests.admin.listing_helpers import capture_sql, row_pks
from tests.forms import header_filter_forms, read_forms
from tests.helpers import create_admin, fetch, give_role, login, run

ORDERS = "/admin/order/list"


def listed(client: TestClient, url: str, **params: str) -> set[int]:
    response = client.get(url, params={"page_size": "100", **params})
    assert response.status_code == 200, response.text[:500]
    return set(row_pks(response.text))


def orders_with_country(settings: Any) -> tuple[str, set[int], set[int]]:
    """The most common customer country among the orders, its orders, and the others."""
    rows = fetch(
        settings, "SELECT o.id, c.country FROM orders o JOIN customer c ON c.id = o.customer_id"
    )
    country = Counter(c for _, c in rows if c).most_common(1)[0][0]
    mine = {i for i, c in rows if c == country}
    return country, mine, {i for i, _ in rows} - mine


def test_orders_filter_by_their_customers_country(admin_client, seeded, settings):
    country, mine, others = orders_with_country(settings)
    assert mine and others, "the store has orders of several countries"
    assert listed(admin_client, ORDERS, filter=f"customer.country__eq={country}") == mine
    assert listed(admin_client, ORDERS, filter=f"customer.country__in={country},ZZ") == mine


def test_orders_filter_by_part_of_their_customers_email(admin_client, seeded, settings):
    rows = fetch(
        settings, "SELECT o.id, c.email FROM orders o JOIN customer c ON c.id = o.customer_id"
    )
    email = rows[0][1]
    part = email.split("@")[0][-5:].upper()  # any case
    expected = {i for i, e in rows if part.lower() in e.lower()}
    assert expected != {i for i, _ in rows}
    assert listed(admin_client, ORDERS, filter=f"customer.email__contains={part}") == expected
    assert listed(admin_client, ORDERS, filter=f"customer.email__eq={email}") == {
        i for i, e in rows if e == email
    }


def test_products_filter_by_category_name(admin_client, seeded, settings):
    rows = fetch(
        settings, "SELECT p.id, c.name FROM product p LEFT JOIN category c ON c.id = p.category_id"
    )
    name = Counter(n for _, n in rows if n).most_common(1)[0][0]
    expected = {i for i, n in rows if n == name}
    assert expected and expected != {i for i, _ in rows}
    found = listed(admin_client, "/admin/product/list", filter=f'category.name__eq="{name}"')
    assert found == expected


def test_order_lines_filter_by_product_sku(admin_client, seeded, settings):
    rows = fetch(
        settings, "SELECT l.id, p.sku FROM order_line l JOIN product p ON p.id = l.product_id"
    )
    sku = Counter(s for _, s in rows).most_common(1)[0][0]
    expected = {i for i, s in rows if s == sku}
    assert expected != {i for i, _ in rows}
    found = listed(admin_client, "/admin/order-line/list", filter=f'product.sku__eq="{sku}"')
    assert found == expected


def test_a_related_field_is_filtered_inside_a_subquery_not_a_join(admin_client, seeded, settings):
    country, _, _ = orders_with_country(settings)
    with capture_sql(settings) as sql:
        listed(admin_client, ORDERS, filter=f"customer.country__eq={country}")
    listing = next(s for s in sql.selects() if s.startswith("SELECT orders.id"))
    assert "orders.customer_id IN (SELECT customer.id" in listing, listing
    assert "JOIN customer" not in listing, "a join would not be needed, and may multiply rows"


def test_text_filters_leave_the_column_bare_and_take_wildcards_literally(
    admin_client, seeded, settings
):
    with capture_sql(settings) as sql:
        assert not listed(admin_client, "/admin/customer/list", filter="email__contains=%_%")
    listing = next(s for s in sql.selects() if s.startswith("SELECT customer.id"))
    assert "CAST(" not in listing.upper(), "a cast would hide the column from its index"


def test_a_header_filter_sets_the_filter_builders_url_state(admin_client, seeded, settings):
    country, mine, _ = orders_with_country(settings)
    first = admin_client.get(
        ORDERS,
        params={"sort": "total__desc", "page": "2", "hf": "customer.country", "hf_v": country},
        follow_redirects=False,
    )
    assert first.status_code == 303
    state = parse_qs(urlsplit(first.headers["location"]).query)
    assert state == {"sort": ["total__desc"], "filter": [f"customer.country__eq={country}"]}
    page = admin_client.get(first.headers["location"])
    assert set(row_pks(page.text)) <= mine
    assert "Customer country: Equal" in page.text, "the filter shows as a chip"

    def then(url: str, **form: str) -> str:
        joined = url + ("&" if "?" in url else "?") + urlencode(form)
        response = admin_client.get(joined, follow_redirects=False)
        assert response.status_code == 303
        return response.headers["location"]

    def filter_of(url: str) -> str:
        return parse_qs(urlsplit(url).query).get("filter", [""])[0]

    both = then(first.headers["location"], hf="status", hf_v="shipped")
    assert filter_of(both) == f"customer.country__eq={country} AND status__eq=shipped"
    moved = then(both, hf="customer.country", hf_v="ZZ")
    assert filter_of(moved) == "status__eq=shipped AND customer.country__eq=ZZ", "replaced"
    cleared = then(moved, hf="status", hf_clear="1", hf_v="paid")
    assert filter_of(cleared) == "customer.country__eq=ZZ"
    ranged = then(cleared, hf="total", hf_v="10", hf_v2="")
    assert filter_of(ranged).endswith("AND total__gte=10")
    texts = then("/admin/customer/list", hf="city", hf_op="eq", hf_v="a b")
    assert filter_of(texts) == 'city__eq="a b"'


def test_each_filterable_column_header_offers_its_filter(admin_client, seeded):
    page = admin_client.get(ORDERS).text
    assert not [f for f in read_forms(page) if "hf" in f.names()], (
        "the list page carries the header filters' forms; they are fetched when first opened"
    )
    forms = {f.control("hf").value: f for f in header_filter_forms(page, admin_client)}
    assert {"customer", "status", "total", "placed_at"} <= set(forms), set(forms)
    assert "id" not in forms, "the order list is not filtered by id (not searchable)"
    assert {"customer.country", "customer.email"} <= set(forms), "under the customer column"
    assert {f.action for f in forms.values()} == {ORDERS}, "each form applies to the list"
    period = forms["placed_at"].control("hf_period")
    assert [v for v, _ in period.options] == ["", "today", "last_7_days", "this_month"]
    assert (
        forms["customer"]
        .control("hf_v")
        .attrs["data-app-lookup"]
        .endswith("/customer/relation-lookup")
    )
    assert forms["status"].control("hf_v").tag == "select"
    countries = forms["customer.country"].control("hf_v").options
    assert ("FR", "France") in countries, "the fetched form offers every choice"
    assert 'aria-expanded="false"' in page and 'aria-label="Filter by Customer"' in page
    assert 'popovertarget="hf-pop-customer"' in page and '<div popover id="hf-pop-customer"' in page


def test_a_fetched_header_filter_keeps_the_lists_state_but_its_position(admin_client, seeded):
    """The forms come with the list's sort, search and filters as the page had them, and
    show the column's filter in force; a new filter starts at the first page."""
    params = {"sort": "total__desc", "q": "a", "filter": "status__eq=paid", "page": "2"}
    page = admin_client.get(ORDERS, params=params).text
    forms = {f.control("hf").value: f for f in header_filter_forms(page, admin_client)}
    kept = dict(forms["total"].submission())
    assert kept["sort"] == "total__desc" and kept["q"] == "a", kept
    assert kept["filter"] == "status__eq=paid" and "page" not in kept, kept
    assert forms["status"].control("hf_v").selected == ["paid"], "the filter in force shows"
    status = admin_client.get(
        "/admin/_api/order/header-filter?hf_form=status&filter=status__eq=paid"
    )
    assert 'name="hf_clear"' in status.text, "a filtered column's form offers to clear it"


def test_header_filter_forms_are_the_users_own_at_the_time_they_are_asked(settings, seeded):
    """A permission given or taken away shows in the next form fetched, without signing in
    again; a list the user may not see gives no forms."""
    create_admin(settings, "support@example.com", superuser=False)
    give_role(settings, "support@example.com", "Support")  # no category:view
    url = "/admin/_api/product/header-filter?hf_form=category"
    with TestClient(create_app(settings)) as client:
        assert login(client, "support@example.com").status_code == 303

        def offered() -> set[str]:
            response = client.get(url)
            assert response.status_code == 200, response.text[:300]
            return {f.control("hf").value for f in read_forms(response.text)}

        assert offered() == {"category"}
        fetch(
            settings,
            "INSERT INTO role_permission (role_id, code) "
            "SELECT id, 'category:view' FROM role WHERE name = 'Support'",
        )
        assert offered() == {"category", "category.name"}, "a permission given shows at once"
        fetch(
            settings,
            "DELETE FROM role_permission WHERE code = 'product:view' "
            "AND role_id = (SELECT id FROM role WHERE name = 'Support')",
        )
        assert client.get(url).status_code == 403, "nor forms of a list no longer shown"
        assert client.get("/admin/_api/role/header-filter?hf_form=name").status_code == 403


def test_a_header_filters_new_choice_shows_at_once(admin_client, seeded, monkeypatch):
    from admin_app.admin.views.customer import CustomerView

    choices = [("FR", "France")]
    field = next(f for f in CustomerView.fields if getattr(f, "name", None) == "country")
    monkeypatch.setattr(field, "_get_choices", lambda request: list(choices), raising=False)
    url = "/admin/_api/customer/header-filter?hf_form=country"

    def offered() -> list[str]:
        return [v for v, _ in read_forms(admin_client.get(url).text)[0].control("hf_v").options]

    assert offered() == ["", "FR"]
    choices.append(("AT", "Atlantis"))
    assert offered() == ["", "FR", "AT"], "the form offers the choices of the moment"


@pytest.mark.parametrize("column", ["nope", "id", "notes", ""])
def test_a_column_without_a_header_filter_has_no_forms(admin_client, seeded, column):
    response = admin_client.get(f"/admin/_api/order/header-filter?hf_form={column}")
    assert response.status_code == 404, (column, response.status_code)


def test_date_periods_are_counted_in_the_users_calendar(admin_client, seeded, settings):
    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: its today is mostly UTC's tomorrow
    today = datetime.now(zone).date()
    ids = [r[0] for r in fetch(settings, "SELECT id FROM orders ORDER BY id LIMIT 4")]
    when = {
        ids[0]: datetime.combine(today, time(0, 30), zone),
        ids[1]: datetime.combine(today - timedelta(days=1), time(23, 30), zone),
        ids[2]: datetime.combine(today - timedelta(days=6), time(0, 1), zone),
        ids[3]: datetime.combine(today - timedelta(days=7), time(23, 59), zone),
    }

    async def place(session: Any) -> None:  # through the model: stored in UTC on both backends
        await session.execute(update(Order).values(placed_at=datetime(2001, 1, 1, tzinfo=UTC)))
        for pk, moment in when.items():
            await session.execute(update(Order).where(Order.id == pk).values(placed_at=moment))

    run(settings, place)
    admin_client.cookies.set("timezone", "Pacific/Kiritimati")
    assert listed(admin_client, ORDERS, filter="placed_at__within=today") == {ids[0]}
    week = listed(admin_client, ORDERS, filter="placed_at__within=last_7_days")
    assert week == {ids[0], ids[1], ids[2]}
    first, after = period_days("this_month", today)
    month = {pk for pk, m in when.items() if first <= m.date() < after}
    assert listed(admin_client, ORDERS, filter="placed_at__within=this_month") == month
    chips = admin_client.get(ORDERS, params={"filter": "placed_at__within=last_7_days"}).text
    assert "Is within Last 7 days" in chips, "the period shows by its name in the chip"


def test_periods_span_whole_days_and_months():
    day = datetime(2026, 12, 31).date()
    assert period_days("today", day) == (day, day + timedelta(days=1))
    assert period_days("last_7_days", day) == (day - timedelta(days=6), day + timedelta(days=1))
    assert period_days("this_month", day) == (day.replace(day=1), day.replace(2027, 1, 1))


@pytest.mark.parametrize(
    "value",
    [
        "placed_at__within=yesterday",
        "placed_at__between=9999-12-31T23:59:59..9999-12-31T23:59:59",
        "placed_at__between=2026-02-30..2026-03-01",
        "total__between=abc..1",
        "customer.country__eq",
        "customer.country__neq=FR",
        "customer.email__not_contains=x",
        "customer.nope__eq=1",
        "customer__is=" + "9" * 80,
    ],
)
def test_a_bad_filter_in_the_url_is_a_clear_400(admin_client, seeded, value):
    admin_client.cookies.set("timezone", "America/Adak")  # UTC-10: 9999-12-31 overflows
    response = admin_client.get(ORDERS, params={"filter": value})
    assert response.status_code == 400, (value, response.status_code, response.text[:300])
    assert "filter" in response.text.lower()


@pytest.mark.parametrize(
    "form",
    [
        {"hf": "nope", "hf_v": "1"},
        {"hf": "total", "hf_v": "1e999999", "hf_v2": "x"},
        {"hf": "placed_at", "hf_v": "2026-13-01"},
        {"hf": "placed_at", "hf_period": "yesterday"},
        {"hf": "notes", "hf_v": "not a column of the list"},
        {"hf": "customer.email", "hf_op": "regex", "hf_v": "x"},
        {"hf": "status", "hf_v": "\x00"},
        {"hf": "customer", "hf_v": "not a key " * 20},
        {"hf": "customer.country", "hf_v": "FR", "filter": "((("},
    ],
)
def test_a_header_filter_with_a_bad_value_is_a_notice_not_an_error(admin_client, seeded, form):
    response = admin_client.get(ORDERS, params=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    page = admin_client.get(response.headers["location"])
    assert page.status_code in (200, 400), page.text[:300]
    if "filter" not in form:
        assert "filter=" not in response.headers["location"], "the list is left as it was"
        assert "The filter was not applied" in page.text, "and the notice says why"


def test_a_relation_filter_needs_the_related_list(settings, seeded):
    create_admin(settings, "support@example.com", superuser=False)
    give_role(settings, "support@example.com", "Support")  # no category:view
    with TestClient(create_app(settings)) as client:
        assert login(client, "support@example.com").status_code == 303
        page = client.get("/admin/product/list")
        assert page.status_code == 200
        assert 'value="category.name"' not in page.text
        refused = client.get("/admin/product/list", params={"filter": "category.name__eq=x"})
        assert refused.status_code == 400
        orders = client.get(ORDERS, params={"filter": "customer.country__eq=FR"})
        assert orders.status_code == 200, "customers are Support's to see"
