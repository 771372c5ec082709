"""The trash: Undo after a delete, restore with children, unique clashes on restore, and
delete for good behind its own permission, each in the audit log."""

from __future__ import annotations

import asyncio
import re
from html import unescape
from typing import Any

from starlette.testclient import TestClient

from admin_app.live.hub import Page
from admin_app.live.messages import Actor
from admin_app.settings import Settings
from tests.admin.delete_helpers import groups, preview_state
from tests.helpers import create_admin, fetch, login, make_role, post_form


def _order_with_most_lines(settings: Settings) -> tuple[int, list[int]]:
    order = fetch(
        settings,
        "SELECT order_id FROM order_line GROUP BY order_id ORDER BY count(*) DESC, order_id LIMIT 1",
    )[0][0]
    lines = fetch(settings, "SELECT id FROM order_line WHERE order_id = :o ORDER BY id", o=order)
    return order, [r[0] for r in lines]


def _trashed(settings: Settings, table: str, pks: list[int]) -> list[bool]:
    rows = fetch(settings, f"SELECT id, deleted_at FROM {table} ORDER BY id")
    state = {pk: deleted is not None for pk, deleted in rows}
    return [state[pk] for pk in pks]


def _audit(settings: Settings, action: str, model: str) -> int:
    query = "SELECT count(*) FROM audit_entry WHERE action = :a AND model = :m"
    return int(fetch(settings, query, a=action, m=model)[0][0])


def _undo_form(html: str) -> dict[str, str]:
    form = re.search(
        r'<form method="post" class="mb-2" data-trash-undo\s+action="([^"]+)">(.*?)</form>',
        html,
        re.S,
    )
    assert form, "the page after the delete offers no Undo"
    batch = re.search(r'name="batch" value="([^"]+)"', form.group(2))
    assert batch
    return {"action": unescape(form.group(1)), "batch": batch.group(1)}


def test_undo_brings_back_an_order_with_its_lines(seeded: Settings, admin_client: TestClient):
    order, lines = _order_with_most_lines(seeded)
    done = post_form(admin_client, "/admin/order/delete", {"pks": order})
    assert done.status_code == 200 and "moved to the trash" in done.text
    assert _trashed(seeded, "order_line", lines) == [True] * len(lines), "lines left behind"
    assert _audit(seeded, "trash", "order_line") == len(lines), "each line's move is logged"
    undo = _undo_form(done.text)
    assert "Undo" not in admin_client.get("/admin/order/list").text, "Undo is offered once"
    back = post_form(admin_client, undo["action"], {"batch": undo["batch"]})
    assert back.status_code == 200 and "Restored: Order #" in unescape(back.text), back.text[:300]
    assert _trashed(seeded, "orders", [order]) == [False]
    assert _trashed(seeded, "order_line", lines) == [False] * len(lines), "lines not restored"
    assert _audit(seeded, "restore", "orders") == 1
    assert admin_client.get(f"/admin/order/detail?pk={order}").status_code == 200


def test_a_line_trashed_before_its_order_stays_when_the_order_is_restored(
    seeded: Settings, admin_client: TestClient
):
    order, lines = _order_with_most_lines(seeded)
    assert len(lines) >= 2, "the demo data has orders of several lines"
    post_form(admin_client, "/admin/order-line/delete", {"pks": lines[0]})
    post_form(admin_client, "/admin/order/delete", {"pks": order})
    restored = post_form(admin_client, "/admin/order/trash/restore", {"pks": order})
    assert restored.status_code == 200, restored.text[:300]
    assert _trashed(seeded, "order_line", lines) == [True] + [False] * (len(lines) - 1), (
        "a restore brings back only what went with the record"
    )


def _new_product(client: TestClient, sku: str) -> None:
    form = {"name": f"Lamp {sku}", "sku": sku, "price": "5.00", "stock": "1", "is_active": "on"}
    made = post_form(client, "/admin/product/create", form, follow_redirects=False)
    assert made.status_code == 303, f"creating SKU {sku} failed: {made.text[:500]}"


def test_a_trashed_sku_frees_it_and_restoring_the_clash_asks_for_a_new_one(
    seeded: Settings, admin_client: TestClient
):
    _new_product(admin_client, "LAMP-1")
    (old,) = fetch(seeded, "SELECT id FROM product WHERE sku = 'LAMP-1'")[0]
    post_form(admin_client, "/admin/product/delete", {"pks": old})
    _new_product(admin_client, "LAMP-1")  # the trashed one's SKU blocks nothing
    clash = post_form(admin_client, "/admin/product/trash/restore", {"pks": old})
    assert clash.status_code == 409, clash.text[:300]
    text = unescape(clash.text)
    assert "Another record now has this sku" in text and f'id="sku-{old}"' in text
    assert _trashed(seeded, "product", [old]) == [True], "nothing is restored on a clash"
    same = post_form(
        admin_client, "/admin/product/trash/restore", {"pks": old, f"sku-{old}": "LAMP-1"}
    )
    assert same.status_code == 409, "the same clashing value is refused again"
    blank = post_form(admin_client, "/admin/product/trash/restore", {"pks": old, f"sku-{old}": " "})
    assert blank.status_code == 409 and "Enter a sku" in unescape(blank.text)
    fixed = post_form(
        admin_client, "/admin/product/trash/restore", {"pks": old, f"sku-{old}": "LAMP-2"}
    )
    assert fixed.status_code == 200, fixed.text[:300]
    assert fetch(seeded, "SELECT sku, deleted_at FROM product WHERE id = :p", p=old) == [
        ("LAMP-2", None)
    ]


def test_a_customer_email_is_unique_among_live_customers_only(
    seeded: Settings, admin_client: TestClient
):
    form = {"first_name": "Ida", "last_name": "Twice", "email": "ida@example.com", "country": "DE"}
    assert (
        post_form(admin_client, "/admin/customer/create", form, follow_redirects=False).status_code
        == 303
    )
    (first,) = fetch(seeded, "SELECT id FROM customer WHERE email = 'ida@example.com'")[0]
    post_form(admin_client, "/admin/customer/delete", {"pks": first})
    again = {**form, "email": "IDA@example.com"}
    assert (
        post_form(admin_client, "/admin/customer/create", again, follow_redirects=False).status_code
        == 303
    )
    clash = post_form(admin_client, "/admin/customer/trash/restore", {"pks": first})
    assert clash.status_code == 409 and f'id="email-{first}"' in clash.text


def _purge_client(client: TestClient, settings: Settings, codes: list[str]) -> TestClient:
    make_role(settings, "Trash keeper", codes)
    create_admin(settings, "keeper@example.com", superuser=False)
    fetch(
        settings,
        "INSERT INTO admin_user_role (user_id, role_id) SELECT u.id, r.id FROM admin_user u, "
        "role r WHERE u.email = 'keeper@example.com' AND r.name = 'Trash keeper'",
    )
    assert login(client, "keeper@example.com").status_code == 303
    return client


def test_delete_for_good_needs_the_purge_permission(seeded: Settings, client: TestClient):
    order, _lines = _order_with_most_lines(seeded)
    keeper = _purge_client(client, seeded, ["order:view", "order:delete"])
    post_form(keeper, "/admin/order/delete", {"pks": order})
    trash = keeper.get("/admin/order/trash")
    assert trash.status_code == 200 and f'data-trash-pk="{order}"' in trash.text
    assert "Delete for good" not in trash.text, "offered without the purge permission"
    assert keeper.get(f"/admin/order/trash/purge?pks={order}").status_code == 403
    assert post_form(keeper, "/admin/order/trash/purge", {"pks": order}).status_code == 403
    assert _trashed(seeded, "orders", [order]) == [True]


def test_delete_for_good_shows_what_goes_then_removes_it(
    seeded: Settings, admin_client: TestClient
):
    order, lines = _order_with_most_lines(seeded)
    post_form(admin_client, "/admin/order/delete", {"pks": order})
    trash = admin_client.get("/admin/order/trash")
    assert "Delete for good" in trash.text
    page = admin_client.get(f"/admin/order/trash/purge?pks={order}")
    assert page.status_code == 200, page.text[:300]
    assert preview_state(page.text) == "allowed" and "Yes, delete for good</button>" in page.text
    assert 'data-delete-mode="purge"' in page.text and "cannot be undone" in page.text
    assert groups(page.text)[("deleted", "Order Lines")].count == len(lines)
    done = post_form(admin_client, "/admin/order/trash/purge", {"pks": order})
    assert done.status_code == 200 and "deleted for good" in done.text
    assert fetch(seeded, "SELECT count(*) FROM orders WHERE id = :o", o=order)[0][0] == 0
    assert fetch(seeded, "SELECT count(*) FROM order_line WHERE order_id = :o", o=order)[0][0] == 0
    assert _audit(seeded, "purge", "orders") == 1


def test_only_trashed_records_are_purged_or_restored(seeded: Settings, admin_client: TestClient):
    (live,) = fetch(seeded, "SELECT id FROM orders ORDER BY id LIMIT 1")[0]
    assert admin_client.get(f"/admin/order/trash/purge?pks={live}").status_code == 404
    assert post_form(admin_client, "/admin/order/trash/purge", {"pks": live}).status_code == 404
    assert post_form(admin_client, "/admin/order/trash/restore", {"pks": live}).status_code == 404
    assert post_form(admin_client, "/admin/order/trash/restore", {"pks": "x"}).status_code == 404
    assert admin_client.get("/admin/tag/trash").status_code == 404, "tags have no trash"


def test_the_soft_delete_page_says_where_the_records_go(seeded: Settings, admin_client: TestClient):
    order, _ = _order_with_most_lines(seeded)
    page = admin_client.get(f"/admin/order/delete?pks={order}")
    assert 'data-delete-mode="trash"' in page.text and "Orders \u203a Trash" in unescape(page.text)
    tags = admin_client.get("/admin/tag/delete?pks=1")
    assert "data-delete-mode" not in tags.text, "a hard delete says nothing of a trash"


def test_a_record_with_unique_values_is_restored_when_nothing_clashes(
    seeded: Settings, admin_client: TestClient
):
    """Its own value, in the trash, is no clash (a check that read the trash said it was)."""
    form = {"first_name": "Una", "last_name": "Undo", "email": "una@example.com", "country": "DE"}
    made = post_form(admin_client, "/admin/customer/create", form, follow_redirects=False)
    assert made.status_code == 303
    (pk,) = fetch(seeded, "SELECT id FROM customer WHERE email = 'una@example.com'")[0]
    done = post_form(admin_client, "/admin/customer/delete", {"pks": pk})
    undo = _undo_form(done.text)
    back = post_form(admin_client, undo["action"], {"batch": undo["batch"]})
    assert back.status_code == 200, unescape(back.text)[:2000]
    assert _trashed(seeded, "customer", [pk]) == [False]


def test_open_pages_are_told_live_that_a_trashed_record_is_gone(
    seeded: Settings, admin_client: TestClient
):
    """The live feed says "deleted", so open lists and detail pages drop the record."""
    order, _ = _order_with_most_lines(seeded)
    live = admin_client.app_state["live"]

    async def open_list() -> Any:
        page = live.connect(Actor(99, "Viewer"), "viewer-session", frozenset({"order"}))
        live.watch(page, Page("order"))
        return page

    async def next_message(page: Any) -> str:
        return str(await asyncio.wait_for(page.next(), 10))

    watcher = admin_client.portal.call(open_list)
    assert post_form(admin_client, "/admin/order/delete", {"pks": order}).status_code == 200
    message = admin_client.portal.call(next_message, watcher)
    assert "deleted" in message and f'"{order}"' in message, message
