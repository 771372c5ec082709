"""The trash page pages through every trashed record, searches it, and acts on a
selection: restore many (with their children, holding back those whose unique value is
taken), delete many for good (with the purge permission only), each behind a
confirmation page, each key checked against the user's scope before anything changes."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from starlette.testclient import TestClient

from admin_app.admin.lists import keyset
from admin_app.main import create_app
from admin_app.settings import Settings
from tests.helpers import create_admin, fetch, give_role, login, make_role, post_form


def shown(html: str) -> list[int]:
    """The keys of the records the trash page lists, top to bottom."""
    return [
        int(pk)
        for pk in re.findall(r'<li class="list-group-item[^"]*" data-trash-pk="(\d+)"', html)
    ]


def link(html: str, rel: str) -> str | None:
    """The page link `rel` (next, prev, first, last), if it leads anywhere."""
    found = re.search(rf'<a class="page-link" href="([^"#]+)" rel="{rel}"', html)
    return unescape(found.group(1)) if found else None


def trashed(settings: Settings, table: str, pks: list[int]) -> list[bool]:
    rows = dict(fetch(settings, f"SELECT id, deleted_at IS NOT NULL FROM {table}"))
    return [bool(rows[pk]) for pk in pks]


def audited(settings: Settings, action: str, model: str) -> int:
    query = "SELECT count(*) FROM audit_entry WHERE action = :a AND model = :m"
    return int(fetch(settings, query, a=action, m=model)[0][0])


def orders(settings: Settings, count: int) -> list[int]:
    return [r[0] for r in fetch(settings, f"SELECT id FROM orders ORDER BY id LIMIT {count}")]


def lines_of(settings: Settings, order_ids: list[int]) -> int:
    marks = ",".join(str(pk) for pk in order_ids)
    return int(
        fetch(settings, f"SELECT count(*) FROM order_line WHERE order_id IN ({marks})")[0][0]
    )


def trash(client: TestClient, key: str, pks: list[int]) -> None:
    done = post_form(client, f"/admin/{key}/delete", {"pks": pks})
    assert done.status_code == 200 and "moved to the trash" in done.text, done.text[:300]


def test_the_trash_pages_through_every_record_newest_deletion_first(
    seeded: Settings, admin_client: TestClient
):
    ids = orders(seeded, 30)
    batches = [ids[:10], ids[10:20], ids[20:]]
    for batch in batches:  # three deletes, one after the other
        trash(admin_client, "order", batch)
    first = admin_client.get("/admin/order/trash")
    assert first.status_code == 200
    newest_first = [pk for batch in reversed(batches) for pk in sorted(batch, reverse=True)]
    assert shown(first.text) == newest_first[:25], "the first page is not the 25 newest deletions"
    assert "Showing 1 to 25 of 30 entries" in first.text
    assert link(first.text, "prev") is None
    second = admin_client.get(link(first.text, "next") or "")
    assert second.status_code == 200 and shown(second.text) == newest_first[25:]
    assert link(second.text, "next") is None, "a page after the last trashed record"
    back = admin_client.get(link(second.text, "prev") or "")
    assert shown(back.text) == newest_first[:25], "Previous does not lead back to the first page"
    last = admin_client.get(link(first.text, "last") or "")
    assert shown(last.text) == newest_first[-25:], "Last shows the 25 oldest deletions"
    bigger = admin_client.get("/admin/order/trash", params={"page_size": 50})
    assert shown(bigger.text) == newest_first and link(bigger.text, "next") is None


def _customer(client: TestClient, settings: Settings, last_name: str) -> int:
    email = f"{last_name.lower()}@example.com"
    form = {"first_name": "Ida", "last_name": last_name, "email": email, "country": "DE"}
    made = post_form(client, "/admin/customer/create", form, follow_redirects=False)
    assert made.status_code == 303, made.text[:500]
    return int(fetch(settings, "SELECT id FROM customer WHERE email = :e", e=email)[0][0])


def test_the_trash_searches_the_fields_the_list_searches(
    seeded: Settings, admin_client: TestClient
):
    zebra = _customer(admin_client, seeded, "Zebrafinch")
    other = _customer(admin_client, seeded, "Otterly")
    trash(admin_client, "customer", [zebra, other])
    assert shown(admin_client.get("/admin/customer/trash").text) == [other, zebra]
    found = admin_client.get("/admin/customer/trash", params={"q": "zebrafin"})
    assert shown(found.text) == [zebra], "the search did not narrow the trash"
    assert 'value="zebrafin"' in found.text, "the search box forgets the term"
    by_email = admin_client.get("/admin/customer/trash", params={"q": "otterly@"})
    assert shown(by_email.text) == [other], "the list searches emails; the trash does not"
    none = admin_client.get("/admin/customer/trash", params={"q": "no such name"})
    assert shown(none.text) == [] and "match" in unescape(none.text)


def test_a_garbage_position_or_size_is_a_400_never_a_500(
    seeded: Settings, admin_client: TestClient
):
    trash(admin_client, "order", orders(seeded, 2))
    wrong_shape = keyset.encode([1])
    for params in (
        {"after": "garbage!!"},
        {"before": "%%%"},
        {"after": wrong_shape},
        {"after": keyset.encode(["not a time", 1])},
        {"last": "2"},
        {"page": "3"},
        {"after": "x", "before": "y"},
        {"page_size": "7"},
        {"page_size": "lots"},
        {"q": "nul\x00"},
    ):
        answer = admin_client.get("/admin/order/trash", params=params)
        assert answer.status_code == 400, f"{params} answered {answer.status_code}"


def test_restoring_a_selection_brings_back_each_record_with_its_children(
    seeded: Settings, admin_client: TestClient
):
    first, second, kept = orders(seeded, 3)
    trash(admin_client, "order", [first])
    trash(admin_client, "order", [second])
    trash(admin_client, "order", [kept])
    lines = lines_of(seeded, [first, second])
    query = {"all_on_page": "1", "page_pks": [first, second]}  # "Select all on this page"
    page = admin_client.get("/admin/order/trash/restore", params=query)
    assert page.status_code == 200, page.text[:300]
    text = unescape(page.text)
    assert "Restore 2 orders?" in text and f"Order Lines: {lines}" in text, text[:3000]
    done = post_form(admin_client, "/admin/order/trash/restore", {"pks": [first, second]})
    assert done.status_code == 200 and "Restored: Order #" in unescape(done.text)
    assert trashed(seeded, "orders", [first, second, kept]) == [False, False, True]
    left = fetch(
        seeded,
        "SELECT count(*) FROM order_line WHERE order_id IN (:a, :b) AND deleted_at IS NOT NULL",
        a=first,
        b=second,
    )[0][0]
    assert left == 0, "lines stayed in the trash"
    assert audited(seeded, "restore", "orders") == 2
    assert audited(seeded, "restore", "order_line") == lines


def _product(client: TestClient, settings: Settings, sku: str) -> int:
    form = {"name": f"Lamp {sku}", "sku": sku, "price": "5.00", "stock": "1", "is_active": "on"}
    made = post_form(client, "/admin/product/create", form, follow_redirects=False)
    assert made.status_code == 303, made.text[:500]
    query = "SELECT id FROM product WHERE sku = :s AND deleted_at IS NULL"
    return int(fetch(settings, query, s=sku)[0][0])


def test_a_restore_of_many_holds_back_the_clashing_ones_and_restores_the_rest(
    seeded: Settings, admin_client: TestClient
):
    clashing = _product(admin_client, seeded, "SEL-1")
    free = _product(admin_client, seeded, "SEL-2")
    trash(admin_client, "product", [clashing, free])
    _product(admin_client, seeded, "SEL-1")  # a live product takes the SKU
    page = admin_client.get("/admin/product/trash/restore", params={"pks": [clashing, free]})
    assert "Restore this product?" in unescape(page.text) and f'id="sku-{clashing}"' in page.text
    done = post_form(admin_client, "/admin/product/trash/restore", {"pks": [clashing, free]})
    assert done.status_code == 200, done.text[:300]
    assert str(done.url).endswith(f"/trash/restore?pks={clashing}"), done.url
    text = unescape(done.text)
    assert "1 not restored" in text and "Another record now has this sku" in text
    assert trashed(seeded, "product", [clashing, free]) == [True, False]
    fixed = post_form(
        admin_client, "/admin/product/trash/restore", {"pks": clashing, f"sku-{clashing}": "SEL-3"}
    )
    assert fixed.status_code == 200 and trashed(seeded, "product", [clashing]) == [False]
    assert fetch(seeded, "SELECT sku FROM product WHERE id = :p", p=clashing) == [("SEL-3",)]


def test_two_trashed_records_with_one_value_come_back_one_at_a_time(
    seeded: Settings, admin_client: TestClient
):
    older = _product(admin_client, seeded, "TWIN")
    trash(admin_client, "product", [older])
    newer = _product(admin_client, seeded, "TWIN")
    trash(admin_client, "product", [newer])
    asked = admin_client.get("/admin/product/trash/restore", params={"pks": [older, newer]})
    assert "Another record you are restoring has this sku" in unescape(asked.text)
    assert f'id="sku-{older}"' in asked.text and f'id="sku-{newer}"' not in asked.text
    both = post_form(admin_client, "/admin/product/trash/restore", {"pks": [older, newer]})
    assert both.status_code == 200, both.text[:300]
    assert trashed(seeded, "product", [older, newer]) == [True, False], "the newest comes back"
    assert "Another record now has this sku" in unescape(both.text), "the older is not asked for"
    again = post_form(admin_client, "/admin/product/trash/restore", {"pks": older})
    assert again.status_code == 409 and trashed(seeded, "product", [older]) == [True]


def _keeper(client: TestClient, settings: Settings, codes: list[str], scope: Any = None) -> None:
    make_role(settings, "Trash keeper", codes, scope)
    create_admin(settings, "keeper@example.com", superuser=False)
    give_role(settings, "keeper@example.com", "Trash keeper")
    assert login(client, "keeper@example.com").status_code == 303


def test_deleting_a_selection_for_good_needs_the_purge_permission(
    seeded: Settings, client: TestClient
):
    first, second = orders(seeded, 2)
    _keeper(client, seeded, ["order:view", "order:delete"])
    trash(client, "order", [first, second])
    page = client.get("/admin/order/trash")
    assert "Restore selected" in page.text and "Delete selected for good" not in page.text
    refused = client.get("/admin/order/trash/purge", params={"pks": [first, second]})
    assert refused.status_code == 403
    assert (
        post_form(client, "/admin/order/trash/purge", {"pks": [first, second]}).status_code == 403
    )
    assert trashed(seeded, "orders", [first, second]) == [True, True]


def test_deleting_a_selection_for_good_counts_what_goes_then_removes_it(
    seeded: Settings, admin_client: TestClient
):
    first, second, kept = orders(seeded, 3)
    lines = lines_of(seeded, [first, second])
    trash(admin_client, "order", [first, second, kept])
    assert "Delete selected for good" in admin_client.get("/admin/order/trash").text
    page = admin_client.get("/admin/order/trash/purge", params={"pks": [first, second]})
    text = unescape(page.text)
    assert page.status_code == 200 and "Delete 2 orders?" in text
    assert f"Order Lines: {lines}" in text and "cannot be undone" in text
    done = post_form(admin_client, "/admin/order/trash/purge", {"pks": [first, second]})
    assert done.status_code == 200 and "2 deleted for good" in done.text
    assert shown(done.text) == [kept], "the trash page after the purge"
    assert fetch(seeded, "SELECT id FROM orders WHERE id IN (:a, :b)", a=first, b=second) == []
    assert lines_of(seeded, [first, second]) == 0
    assert audited(seeded, "purge", "orders") == 2


def _orders_by_country(settings: Settings) -> tuple[int, int]:
    query = (
        "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id "
        "WHERE (c.country = 'FR') = :fr ORDER BY o.id LIMIT 1"
    )
    return int(fetch(settings, query, fr=True)[0][0]), int(fetch(settings, query, fr=False)[0][0])


def test_a_key_outside_the_users_scope_refuses_the_whole_selection(
    seeded: Settings, admin_client: TestClient
):
    french, other = _orders_by_country(seeded)
    trash(admin_client, "order", [french])
    trash(admin_client, "order", [other])
    codes = ["order:view", "order:delete", "order:purge", "customer:view"]
    with TestClient(create_app(seeded)) as client:
        _keeper(client, seeded, codes, {"countries": ["FR"]})
        assert shown(client.get("/admin/order/trash").text) == [french], "the scope is ignored"
        both = {"pks": [french, other]}
        assert client.get("/admin/order/trash/restore", params=both).status_code == 404
        assert post_form(client, "/admin/order/trash/restore", both).status_code == 404
        assert client.get("/admin/order/trash/purge", params=both).status_code == 404
        assert post_form(client, "/admin/order/trash/purge", both).status_code == 404
        forged = {"all_on_page": "1", "page_pks": [french, other]}
        assert post_form(client, "/admin/order/trash/restore", forged).status_code == 404
    assert trashed(seeded, "orders", [french, other]) == [True, True], "something was half-done"
    assert audited(seeded, "restore", "orders") == 0 and audited(seeded, "purge", "orders") == 0


def test_a_restore_without_the_csrf_token_changes_nothing(
    seeded: Settings, admin_client: TestClient
):
    (order,) = orders(seeded, 1)
    trash(admin_client, "order", [order])
    refused = admin_client.post("/admin/order/trash/restore", data={"pks": order})
    assert refused.status_code == 403 and trashed(seeded, "orders", [order]) == [True]


def test_nothing_chosen_goes_back_to_the_trash_with_a_notice(
    seeded: Settings, admin_client: TestClient
):
    trash(admin_client, "order", orders(seeded, 1))
    for route in ("restore", "purge"):
        back = admin_client.get(f"/admin/order/trash/{route}", params={"page_pks": "1"})
        assert back.status_code == 200 and str(back.url).endswith("/admin/order/trash")
        assert "Choose the records first" in back.text
    assert post_form(admin_client, "/admin/order/trash/restore", {}).status_code == 400
