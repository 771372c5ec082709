"""Roles and permissions, enforced on the server on every path around them."""

from __future__ import annotations

import re

import pytest

from admin_app.admin.registry import REGISTRY
from admin_app.auth.permissions import BASE_ACTIONS
from tests.helpers import create_admin, csrf_token, fetch, give_role, login, post_form


@pytest.fixture
def support(seeded, client):
    """A client logged in with only the demo "Support" role: may view orders, not delete them."""
    create_admin(seeded, "support@example.com", superuser=False)
    give_role(seeded, "support@example.com", "Support")
    assert login(client, "support@example.com").status_code == 303
    return client


def order_ids(settings, n: int = 3) -> list[int]:
    return [r[0] for r in fetch(settings, f"SELECT id FROM orders ORDER BY id LIMIT {n}")]


def test_support_sees_only_what_its_role_allows_in_the_menu(support):
    page = support.get("/admin/").text
    assert "/admin/order/list" in page and "/admin/customer/list" in page
    for hidden in ("/admin/admin-user/list", "/admin/role/list", "/admin/tag/list"):
        assert hidden not in page, f"{hidden} is in the menu of a role without access"


def test_support_can_view_orders(seeded, support):
    pk = order_ids(seeded, 1)[0]
    assert support.get("/admin/order/list").status_code == 200
    assert support.get(f"/admin/order/detail?pk={pk}").status_code == 200


def test_typed_urls_get_a_403_page(seeded, support):
    pk = order_ids(seeded, 1)[0]
    for url in (
        "/admin/order/create",
        "/admin/tag/list",
        "/admin/customer/edit?pk=1",
        "/admin/admin-user/list",
        "/admin/role/create",
    ):
        response = support.get(url)
        assert response.status_code == 403, url
        assert "text/html" in response.headers["content-type"]
    assert support.get(f"/admin/order/edit?pk={pk}").status_code == 200, "Support may edit orders"


def test_deleting_orders_is_refused_on_every_path(seeded, support):
    before = fetch(seeded, "SELECT count(*) FROM orders")[0][0]
    pks = order_ids(seeded)
    headers = {"X-CSRFToken": csrf_token(support)}
    row = support.post(f"/admin/_api/order/row-action?name=delete&pk={pks[0]}", headers=headers)
    batch = support.post(
        "/admin/_api/order/action?name=delete&" + "&".join(f"pks={p}" for p in pks), headers=headers
    )
    select_all = support.post("/admin/_api/order/action?name=delete&all=1", headers=headers)
    assert row.status_code == 404, "delete is a link to its confirmation page, not an action"
    for response in (batch, select_all):
        assert response.status_code == 400
        assert response.json()["msg"] == "Forbidden"
    preview = support.get(f"/admin/order/delete?pks={pks[0]}")
    confirmed = post_form(support, "/admin/order/delete", {"pks": pks})
    assert preview.status_code == confirmed.status_code == 403
    assert fetch(seeded, "SELECT count(*) FROM orders")[0][0] == before
    assert "delete" not in [
        a for a in re.findall(r'data-sa-name="(\w+)"', support.get("/admin/order/list").text)
    ]


def test_export_and_import_need_their_own_permission(seeded, support):
    export = support.post(
        "/admin/_api/order/action?name=export&all=1",
        data={"format": "csv", "scope": "all", "csrftoken": csrf_token(support)},
    )
    assert export.status_code == 400
    assert "csv" not in export.headers.get("content-type", "")
    imported = support.post(
        "/admin/_api/order/import",
        files={"file": ("orders.csv", b"id,notes\n1,x\n", "text/csv")},
        headers={"X-CSRFToken": csrf_token(support)},
    )
    assert imported.status_code in (403, 404), imported.status_code


def test_relation_lookups_need_view_permission_on_the_target(seeded, support):
    allowed = support.get("/admin/_api/customer/relation-lookup?q=a")
    assert allowed.status_code == 200 and allowed.json()["items"]
    refused = support.get("/admin/_api/admin-user/relation-lookup?q=")
    assert refused.status_code == 403
    tags = support.get("/admin/_api/tag/relation-lookup?q=")
    assert tags.status_code == 403


def test_a_scoped_role_sees_only_orders_of_its_countries(seeded, client):
    create_admin(seeded, "fr@example.com", superuser=False)
    give_role(seeded, "fr@example.com", "Sales France")
    login(client, "fr@example.com")
    french = {
        str(r[0])
        for r in fetch(
            seeded,
            "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id WHERE c.country = 'FR'",
        )
    }
    other = fetch(
        seeded,
        "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id WHERE c.country <> 'FR' LIMIT 1",
    )[0][0]
    listing = client.get("/admin/order/list?page_size=100").text
    shown = set(re.findall(r'data-sa-pk="(\d+)"', listing))
    assert shown == french, "the list shows exactly the French customers' orders"
    assert client.get(f"/admin/order/detail?pk={other}").status_code == 404
    export = client.post(
        "/admin/_api/order/action?name=export&all=1",
        data={"format": "csv", "scope": "all", "csrftoken": csrf_token(client)},
    )
    assert export.status_code == 200
    exported = {line.split(",")[0] for line in export.text.splitlines()[1:] if line}
    assert exported == french, "exports are scoped too"


def test_a_scoped_role_sees_only_the_lines_of_the_orders_it_sees(seeded, client):
    create_admin(seeded, "fr-lines@example.com", superuser=False)
    give_role(seeded, "fr-lines@example.com", "Sales France")
    login(client, "fr-lines@example.com")
    lines = "SELECT l.id FROM order_line l JOIN orders o ON o.id = l.order_id "
    lines += "JOIN customer c ON c.id = o.customer_id WHERE c.country {} 'FR'"
    french = {str(r[0]) for r in fetch(seeded, lines.format("="))}
    other = fetch(seeded, lines.format("<>") + " LIMIT 1")[0][0]
    assert french, "the seeded store has lines of French orders"
    listing = client.get("/admin/order-line/list?page_size=100").text
    shown = set(re.findall(r'data-sa-pk="(\d+)"', listing))
    assert shown and shown <= french, "the list shows only lines of French customers' orders"
    assert client.get(f"/admin/order-line/detail?pk={other}").status_code == 404, (
        "a line of an order the role may not see is not found, as that order is not"
    )


def test_protected_fields_are_read_only_without_their_permission(seeded, client):
    create_admin(seeded, "cat@example.com", superuser=False)
    give_role(seeded, "cat@example.com", "Catalogue editor")
    login(client, "cat@example.com")
    pk, price = fetch(seeded, "SELECT id, price FROM product ORDER BY id LIMIT 1")[0]
    form = client.get(f"/admin/product/edit?pk={pk}").text
    assert re.search(r'<input[^>]*name="price"[^>]*readonly', form), "price is read-only"
    response = post_form(
        client,
        f"/admin/product/edit?pk={pk}",
        {"name": "Renamed", "sku": "RENAMED-1", "price": "0.01", "stock": "3", "attributes": "{}"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    name, new_price = fetch(seeded, "SELECT name, price FROM product WHERE id = :p", p=pk)[0]
    assert name == "Renamed"
    assert float(new_price) == float(price), "a posted value for a read-only field is ignored"


def test_every_registered_view_gets_permissions_automatically(admin_client, seeded):
    page = admin_client.get("/admin/role/create").text
    for view in REGISTRY:
        if view.superuser_only:
            assert f'value="{view.key}:' not in page, f"{view.key} is for superusers only"
            continue
        for action in ("view", "export") if view.read_only else BASE_ACTIONS:
            assert f'value="{view.key}:{action}"' in page, (
                f"{view.key}:{action} missing from the grid"
            )
    assert 'value="audit-entry:delete"' not in page, "nobody may delete the audit log"
    assert 'value="admin-user:set_password"' in page, "custom actions get a permission too"
    assert 'value="product:edit_price"' in page, "protected fields get a permission too"


def test_a_role_is_created_from_the_grid_and_assigned(admin_client, seeded):
    response = post_form(
        admin_client,
        "/admin/role/create",
        {
            "name": "Auditor",
            "permission_codes": ["order:view", "customer:view", "bogus:view"],
            "scope": "{}",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    codes = {
        r[0]
        for r in fetch(
            seeded,
            "SELECT code FROM role_permission p JOIN role r ON r.id = p.role_id WHERE r.name = 'Auditor'",
        )
    }
    assert codes == {"order:view", "customer:view"}, "unknown codes are dropped"


def test_non_superusers_cannot_grant_superuser_or_roles(seeded, client):
    create_admin(seeded, "manager@example.com", superuser=False)
    fetch(
        seeded,
        "INSERT INTO role (name, description, scope, created_at, version) "
        "VALUES ('Managers', '', '{}', CURRENT_TIMESTAMP, 1)",
    )
    fetch(
        seeded,
        "INSERT INTO role_permission (role_id, code) SELECT id, 'admin-user:view' FROM role WHERE name='Managers'",
    )
    fetch(
        seeded,
        "INSERT INTO role_permission (role_id, code) SELECT id, 'admin-user:edit' FROM role WHERE name='Managers'",
    )
    give_role(seeded, "manager@example.com", "Managers")
    login(client, "manager@example.com")
    me = fetch(seeded, "SELECT id FROM admin_user WHERE email = 'manager@example.com'")[0][0]
    response = post_form(
        client,
        f"/admin/admin-user/edit?pk={me}",
        {"email": "manager@example.com", "is_active": "on", "is_superuser": "on"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    assert fetch(seeded, "SELECT is_superuser FROM admin_user WHERE id = :i", i=me)[0][0] in (
        False,
        0,
    )


@pytest.mark.parametrize("name", ["view", "edit", "delete", "no-such-action"])
def test_a_row_action_that_is_a_link_or_unknown_is_a_404(seeded, support, name):
    pk = order_ids(seeded, 1)[0]
    response = support.post(
        f"/admin/_api/order/row-action?name={name}&pk={pk}",
        headers={"X-CSRFToken": csrf_token(support), "accept": "application/json"},
    )
    assert response.status_code == 404, response.text[:300]
