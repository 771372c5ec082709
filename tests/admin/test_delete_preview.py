"""Before a delete, the admin shows what goes with it and what blocks it, as Django's does."""

from __future__ import annotations

import dataclasses
import re
from html import unescape

import pytest

from admin_app.admin.registry import REGISTRY
from admin_app.admin.views.customer import CustomerView
from admin_app.models import ChangeRequest, OutboxMessage, WebhookDelivery, WebhookEndpoint
from tests.admin.delete_helpers import (
    add_lines,
    add_orders,
    confirm_button,
    groups,
    new_customer,
    preview_state,
)
from tests.admin.listing_helpers import capture_sql, with_row_cells
from tests.helpers import (
    create_admin,
    csrf_token,
    fetch,
    give_role,
    login,
    post_form,
    run,
    table_counts,
)


def busiest_customer(settings) -> tuple[int, list[int]]:
    """The customer with the most orders, and their order ids."""
    customer = fetch(
        settings,
        "SELECT customer_id FROM orders GROUP BY customer_id ORDER BY count(*) DESC, "
        "customer_id LIMIT 1",
    )[0][0]
    orders = fetch(settings, "SELECT id FROM orders WHERE customer_id = :c ORDER BY id", c=customer)
    return customer, [r[0] for r in orders]


def test_a_customer_with_orders_is_shown_its_orders_as_blocking_and_not_deleted(
    seeded, admin_client
):
    customer, orders = busiest_customer(seeded)
    before = table_counts(seeded)
    from_row = admin_client.get(f"/admin/customer/delete?pks={customer}")
    from_batch = admin_client.post(
        f"/admin/_api/customer/action?name=delete&pks={customer}",
        headers={"X-CSRFToken": csrf_token(admin_client)},
    )
    for how, page in (("the row's Delete", from_row), ("With selected → Delete", from_batch)):
        assert page.status_code == 200, f"{how}: {page.text[:300]}"
        assert preview_state(page.text) == "blocked", f"{how} offers a delete that would fail"
        assert not confirm_button(page.text), f"{how}: a blocked delete can still be confirmed"
        blocking = groups(page.text)[("blocking", "Orders")]
        assert blocking.count == len(orders), f"{how}: the blocking orders are miscounted"
        assert blocking.links == [
            (f"http://testserver/admin/order/detail?pk={o}", f"Order #{o}") for o in orders[:5]
        ], f"{how}: the first orders are not named and linked"
    confirmed = post_form(admin_client, "/admin/customer/delete", {"pks": customer})
    assert confirmed.status_code == 409, "a forced confirmation must be refused"
    assert "Nothing was deleted" in confirmed.text
    assert table_counts(seeded) == before, "something was deleted although orders block it"


def test_a_customer_without_orders_goes_to_the_trash_after_confirming(seeded, admin_client):
    customer = new_customer(seeded, "nobuys@example.com")
    page = admin_client.get(f"/admin/customer/delete?pks={customer}&_origin=/admin/customer/list")
    assert preview_state(page.text) == "allowed" and confirm_button(page.text)
    assert "No other record is affected." in page.text
    assert fetch(seeded, "SELECT count(*) FROM customer WHERE id = :c", c=customer)[0][0] == 1, (
        "the preview deleted something"
    )
    done = post_form(
        admin_client,
        "/admin/customer/delete?_origin=/admin/customer/list",
        {"pks": customer},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("/admin/customer/list")
    listing = unescape(admin_client.get(done.headers["location"]).text)
    assert 'The item "Nora Nobuys <nobuys@example.com>" was moved to the trash.' in listing
    trashed = "SELECT count(*) FROM customer WHERE id = :c AND deleted_at IS NOT NULL"
    assert fetch(seeded, trashed, c=customer)[0][0] == 1, "the customer is not in the trash"
    logged = fetch(
        seeded,
        "SELECT count(*) FROM audit_entry WHERE model = 'customer' AND action = 'trash' "
        "AND object_pk = :p",
        p=str(customer),
    )
    assert logged[0][0] == 1, "the delete is not in the audit log"


def test_deleting_an_order_shows_and_takes_its_lines_to_the_trash(seeded, admin_client):
    order = fetch(
        seeded, "SELECT order_id FROM order_line GROUP BY order_id ORDER BY count(*) DESC LIMIT 1"
    )[0][0]
    lines = [
        r[0]
        for r in fetch(seeded, "SELECT id FROM order_line WHERE order_id = :o ORDER BY id", o=order)
    ]
    page = admin_client.get(f"/admin/order/delete?pks={order}")
    assert preview_state(page.text) == "allowed"
    cascade = groups(page.text)[("deleted", "Order Lines")]
    assert cascade.count == len(lines), "the lines that go with the order are miscounted"
    assert [url for url, _ in cascade.links] == [
        f"http://testserver/admin/order-line/detail?pk={pk}" for pk in lines[:5]
    ]
    done = post_form(admin_client, "/admin/order/delete", {"pks": order}, follow_redirects=False)
    assert done.status_code == 303, done.text[:300]
    (batch,) = fetch(seeded, "SELECT trash_batch FROM orders WHERE id = :o", o=order)[0]
    assert batch, "the order is not in the trash"
    left = fetch(
        seeded,
        "SELECT count(*) FROM order_line WHERE order_id = :o "
        "AND (trash_batch IS NULL OR trash_batch != :b)",
        o=order,
        b=batch,
    )[0][0]
    assert left == 0, "the order's lines did not go to the trash with it, in its batch"


def test_a_category_keeps_its_products_and_says_so(seeded, admin_client):
    category, products = fetch(
        seeded,
        "SELECT category_id, count(*) FROM product WHERE category_id IS NOT NULL "
        "GROUP BY category_id ORDER BY category_id LIMIT 1",
    )[0]
    page = admin_client.get(f"/admin/category/delete?pks={category}")
    assert preview_state(page.text) == "allowed"
    assert groups(page.text)[("detached", "Products")].count == products
    post_form(admin_client, "/admin/category/delete", {"pks": category})
    kept = fetch(seeded, "SELECT count(*) FROM product WHERE category_id IS NULL")[0][0]
    assert kept >= products, "the category's products were not kept"


def add_webhook_delivery(settings) -> None:
    """An endpoint with one delivery owed to it (once per test)."""

    async def work(session) -> None:
        if await session.get(WebhookEndpoint, 1) is not None:
            return
        endpoint = WebhookEndpoint(
            url="https://hooks.example.com/", models=["tag"], events=["create"], secret="x"
        )
        session.add(endpoint)
        await session.flush()
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id="evt_walk",
                event_type="tag.create",
                record_id="1",
                body="{}",
            )
        )

    run(settings, work)


def a_row(settings, view) -> str:
    """The key of one row of the view's table (the outbox gets one first)."""
    if view.model is OutboxMessage:

        async def work(session) -> None:
            session.add(
                OutboxMessage(
                    message_id="<walk@test>",
                    kind="test",
                    recipient="a@example.com",
                    subject="Walk",
                    text_body="",
                    html_body="",
                )
            )

        run(settings, work)
    if view.model in (WebhookEndpoint, WebhookDelivery):
        add_webhook_delivery(settings)
    if view.model is ChangeRequest:

        async def propose(session) -> None:
            session.add(
                ChangeRequest(
                    model="product", record_pk="1", record_repr="Walk", changes={"price": [1, 2]}
                )
            )

        run(settings, propose)
    table = view.model.__table__
    column = next(iter(table.primary_key.columns))
    rows = fetch(settings, f"SELECT {column.name} FROM {table.name} ORDER BY 1 LIMIT 1")
    assert rows, f"{view.key}: no row to preview"
    return str(rows[0][0])


ROLES = {
    "superuser": None,
    "Catalogue editor": {"product", "category", "tag"},
    "Support": set(),
}
"""Who walks the registry, and the views each may delete from (None: all but read-only)."""


def test_every_view_previews_a_delete_or_refuses_it_never_fails(seeded, client):
    views = [view() for view in REGISTRY]
    create_admin(seeded, "editor@example.com", superuser=False)
    give_role(seeded, "editor@example.com", "Catalogue editor")
    create_admin(seeded, "support@example.com", superuser=False)
    give_role(seeded, "support@example.com", "Support")
    accounts = {"superuser": "root@example.com", "Catalogue editor": "editor@example.com"}
    accounts["Support"] = "support@example.com"
    create_admin(seeded, "root@example.com", superuser=True)
    rows: dict[str | None, str] = {}
    for role, may in ROLES.items():
        client.cookies.clear()
        assert login(client, accounts[role]).status_code == 303
        rows = rows or {view.key: a_row(seeded, view) for view in views}  # after a login: sessions
        headers = {"X-CSRFToken": csrf_token(client)}
        for view in views:
            allowed = not view.read_only if may is None else view.key in may
            page = client.get(f"/admin/{view.key}/delete?pks={rows[view.key]}")
            assert page.status_code == (200 if allowed else 403), (
                f"{role}, {view.key}: the preview answered {page.status_code}: {page.text[:300]}"
            )
            if allowed:
                assert preview_state(page.text) in ("allowed", "blocked")
                assert "data-delete-selected" in page.text, f"{view.key}: the row is not named"
            batch = client.post(
                f"/admin/_api/{view.key}/action?name=delete&pks={rows[view.key]}", headers=headers
            )
            assert batch.status_code == (200 if allowed else 400), f"{role}, {view.key}: batch"
            if not allowed:
                refused = post_form(client, f"/admin/{view.key}/delete", {"pks": rows[view.key]})
                assert refused.status_code == 403, f"{role} confirmed a delete in {view.key}"


def test_a_big_cascade_costs_the_same_queries_as_a_small_one(seeded, admin_client):
    customers = [new_customer(seeded, f"big{i}@example.com") for i in range(2)]
    small_orders, big_orders = (
        add_orders(seeded, customers[0], 1),
        add_orders(seeded, customers[1], 2000),
    )
    add_lines(seeded, small_orders[0], 2)
    add_lines(seeded, big_orders[0], 2000)
    for key, small, big, group, table in (
        ("order", small_orders[0], big_orders[0], ("deleted", "Order Lines"), "order_line"),
        ("customer", customers[0], customers[1], ("blocking", "Orders"), "orders"),
    ):
        with capture_sql(seeded) as few:
            assert admin_client.get(f"/admin/{key}/delete?pks={small}").status_code == 200
        with capture_sql(seeded) as many:
            page = admin_client.get(f"/admin/{key}/delete?pks={big}")
        shown, total = groups(page.text)[group], 2000
        assert (shown.count, len(shown.links), shown.more) == (total, 5, total - 5), (
            f"{key}: {total} related rows must read as a count, five names and 'and N more'"
        )
        assert len(many.sql) == len(few.sql), (
            f"{key}: {len(many.sql)} statements for {total} related rows, {len(few.sql)} for a few"
        )
        reads = [
            s for s in many.selects() if re.search(rf"^\s*SELECT .*?\sFROM {table}\b", s, re.S)
        ]
        unbounded = [s for s in reads if "LIMIT" not in s.upper() and "count(*)" not in s]
        assert not unbounded, f"{key}: statements that may load every related row: {unbounded}"


def test_names_are_shown_only_for_records_the_user_may_see(seeded, client):
    create_admin(seeded, "editor@example.com", superuser=False)
    give_role(seeded, "editor@example.com", "Catalogue editor")
    login(client, "editor@example.com")
    product = fetch(seeded, "SELECT product_id FROM order_line ORDER BY product_id LIMIT 1")[0][0]
    lines = fetch(seeded, "SELECT count(*) FROM order_line WHERE product_id = :p", p=product)[0][0]
    page = client.get(f"/admin/product/delete?pks={product}")
    assert preview_state(page.text) == "blocked"
    blocking = groups(page.text)[("blocking", "Order Lines")]
    assert blocking.count == lines, "the editor must learn how many lines block the delete"
    assert not blocking.links and not blocking.plain, "lines the editor may not view are named"
    assert "/admin/order-line/detail" not in page.text
    assert "not named: you may not view them" in page.text, "the editor is not told why"


def test_a_scoped_role_previews_and_deletes_only_within_its_scope(seeded, client):
    fetch(
        seeded,
        "INSERT INTO role_permission (role_id, code) SELECT id, 'order:delete' FROM role "
        "WHERE name = 'Sales France'",
    )
    create_admin(seeded, "fr@example.com", superuser=False)
    give_role(seeded, "fr@example.com", "Sales France")
    login(client, "fr@example.com")
    french, other = (
        fetch(
            seeded,
            "SELECT min(o.id) FROM orders o JOIN customer c ON c.id = o.customer_id "
            f"WHERE c.country {op} 'FR'",
        )[0][0]
        for op in ("=", "<>")
    )
    assert french and other, "the demo data has no French order, or no other"
    assert client.get(f"/admin/order/delete?pks={french}").status_code == 200
    assert client.get(f"/admin/order/delete?pks={other}").status_code == 404
    assert post_form(client, "/admin/order/delete", {"pks": other}).status_code == 404
    assert fetch(seeded, "SELECT count(*) FROM orders WHERE id = :o", o=other)[0][0] == 1
    both = client.get(f"/admin/order/delete?pks={french}&pks={other}")
    assert "Delete this order?" in both.text, "an order out of the role's scope is offered"


def test_an_account_is_not_offered_its_own_deletion(seeded, admin_client):
    me = fetch(seeded, "SELECT id FROM admin_user WHERE email = 'root@example.com'")[0][0]
    page = admin_client.get(f"/admin/admin-user/delete?pks={me}")
    assert preview_state(page.text) == "blocked" and not confirm_button(page.text)
    assert "You cannot delete your own account." in page.text
    forced = post_form(admin_client, "/admin/admin-user/delete", {"pks": me})
    assert forced.status_code == 409
    assert fetch(seeded, "SELECT count(*) FROM admin_user WHERE id = :i", i=me)[0][0] == 1


def test_delete_links_lead_to_the_preview_and_back_to_the_list(seeded, admin_client):
    customer = new_customer(seeded, "linked@example.com")
    listing = with_row_cells(admin_client.get("/admin/customer/list").text)
    assert (
        f"/admin/customer/delete?pks={customer}&amp;_origin=%2Fadmin%2Fcustomer%2Flist" in listing
    )
    detail = admin_client.get(f"/admin/customer/detail?pk={customer}&_origin=/admin/customer/list")
    link = re.search(r'href="([^"]*/admin/customer/delete\?[^"]*)"', detail.text)
    assert link, "the detail page has no Delete link"
    page = admin_client.get(link.group(1).replace("&amp;", "&"))
    form = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert form, "the preview offers no confirmation"
    done = post_form(
        admin_client, form.group(1).replace("&amp;", "&"), {"pks": customer}, follow_redirects=False
    )
    assert done.headers["location"].endswith("/admin/customer/list"), (
        "after deleting from its detail page, the user must land on the list, not a 404"
    )


@pytest.mark.parametrize("query", ["", "pks=abc", "pks=99999999999999", "pks=-5"])
def test_a_preview_of_nothing_is_a_client_error(seeded, admin_client, query):
    response = admin_client.get(f"/admin/product/delete?{query}")
    assert response.status_code in (400, 404), response.status_code


def test_a_batch_names_every_selected_row_and_counts_shared_records_once(seeded, admin_client):
    tags = fetch(seeded, "SELECT id, name FROM tag ORDER BY id LIMIT 2")
    ids = [t[0] for t in tags]
    products = fetch(
        seeded,
        "SELECT count(DISTINCT product_id) FROM product_tag WHERE tag_id IN (:a, :b)",
        a=ids[0],
        b=ids[1],
    )[0][0]
    page = admin_client.post(
        "/admin/_api/tag/action?name=delete&" + "&".join(f"pks={i}" for i in ids),
        headers={"X-CSRFToken": csrf_token(admin_client)},
    )
    assert "Delete 2 tags?" in page.text
    found = groups(page.text)
    assert [name for _, name in found[("selected", "Tags")].links] == [t[1] for t in tags]
    assert found[("detached", "Products")].count == products, "a product with both tags counts once"


def test_select_all_previews_every_matching_row_within_the_limit(seeded, admin_client, monkeypatch):
    total = fetch(seeded, "SELECT count(*) FROM customer")[0][0]
    browser = {"X-CSRFToken": csrf_token(admin_client), "accept": "text/html,*/*"}
    url = "/admin/_api/customer/action?name=delete&all=1&_origin=/admin/customer/list"
    page = admin_client.post(url, headers=browser)
    assert page.status_code == 200, page.text[:300]
    assert f"These {total} customers" in page.text or f"Delete {total} customers?" in page.text
    monkeypatch.setattr(CustomerView, "action_select_all_limit", total - 1)
    refused = admin_client.post(url, headers=browser, follow_redirects=False)
    assert refused.status_code == 303, "the browser must be sent back, not shown JSON"
    assert refused.headers["location"].endswith("/admin/customer/list")
    assert "Too many rows match" in unescape(admin_client.get(refused.headers["location"]).text)


def test_an_order_placed_after_the_preview_stops_the_confirmed_delete(seeded, admin_client):
    customer = new_customer(seeded, "late@example.com")
    page = admin_client.get(f"/admin/customer/delete?pks={customer}")
    assert preview_state(page.text) == "allowed"
    add_orders(seeded, customer, 1)
    confirmed = post_form(admin_client, "/admin/customer/delete", {"pks": customer})
    assert confirmed.status_code == 409
    assert groups(confirmed.text)[("blocking", "Orders")].count == 1, "the new order is not shown"
    assert fetch(seeded, "SELECT count(*) FROM customer WHERE id = :c", c=customer)[0][0] == 1


def test_a_delete_the_database_refuses_is_a_409_page_and_changes_nothing(
    seeded, admin_client, monkeypatch
):
    """Should a rule escape the preview, the database still refuses, and the user is told."""
    from admin_app.admin import delete_page

    customer, _ = busiest_customer(seeded)
    real = delete_page.preview
    calls = []

    async def blind_once(*args, **kwargs):
        found = await real(*args, **kwargs)
        calls.append(found)
        return dataclasses.replace(found, blocking=()) if len(calls) == 1 else found

    monkeypatch.setattr(delete_page, "preview", blind_once)
    before = table_counts(seeded)
    response = post_form(admin_client, "/admin/customer/delete", {"pks": customer})
    assert response.status_code == 409, response.text[:300]
    assert "The database refused the delete; nothing was deleted." in response.text
    assert preview_state(response.text) == "blocked"
    assert table_counts(seeded) == before
