"""The audit log: every change with before/after values, security events, history, revert."""

from __future__ import annotations

import json
import re
from typing import Any

from admin_app.models import Product
from tests.cli.test_cli import admin_app
from tests.helpers import csrf_token, fetch, login, post_form, run


def entries(settings, where: str = "1=1", **params):
    rows = fetch(
        settings,
        f"SELECT action, model, object_pk, actor, ip, changes, note, id FROM audit_entry "
        f"WHERE {where} ORDER BY id",
        **params,
    )
    return [
        {
            "action": r[0],
            "model": r[1],
            "pk": r[2],
            "actor": r[3],
            "ip": r[4],
            "changes": r[5] if isinstance(r[5], dict) else json.loads(r[5]),
            "note": r[6],
            "id": r[7],
        }
        for r in rows
    ]


def product_form(**overrides):
    form = {
        "name": "Audited",
        "sku": "AUD-1",
        "price": "5.00",
        "stock": "2",
        "attributes": "{}",
        "description": "",
    }
    form.update(overrides)
    return form


def create_product(client, seeded, **overrides) -> int:
    response = post_form(
        client, "/admin/product/create", product_form(**overrides), follow_redirects=False
    )
    assert response.status_code == 303, response.text[:300]
    return fetch(
        seeded, "SELECT id FROM product WHERE sku = :s", s=product_form(**overrides)["sku"]
    )[0][0]


def test_create_update_delete_are_logged_with_who_where_and_diffs(seeded, admin_client):
    pk = create_product(admin_client, seeded)
    post_form(admin_client, f"/admin/product/edit?pk={pk}", product_form(price="7.50"))
    post_form(admin_client, "/admin/product/delete", {"pks": pk})  # to the trash
    post_form(admin_client, "/admin/product/trash/purge", {"pks": pk})  # for good
    log = entries(seeded, "model = 'product' AND object_pk = :p", p=str(pk))
    assert [e["action"] for e in log] == ["create", "update", "trash", "purge"]
    for e in log:
        assert e["actor"] == "root@example.com"
        assert e["ip"] == "testclient"
    assert log[0]["changes"]["sku"] == [None, "AUD-1"]
    assert log[1]["changes"] == {"price": ["5.00", "7.50"]}, "only the changed field"
    assert set(log[2]["changes"]) == {"deleted_at", "trash_batch"}, "the move to the trash"
    assert log[3]["changes"]["name"] == ["Audited", None], "the deleted row is kept whole"


def test_a_failed_save_logs_nothing(seeded, admin_client):
    before = len(entries(seeded, "model = 'product'"))
    response = post_form(admin_client, "/admin/product/create", product_form(price="-1"))
    assert response.status_code == 422
    assert len(entries(seeded, "model = 'product'")) == before


def test_batch_deletes_log_every_row(seeded, admin_client):
    ids = [r[0] for r in fetch(seeded, "SELECT id FROM tag ORDER BY id LIMIT 3")]
    post_form(admin_client, "/admin/tag/delete", {"pks": ids})
    logged = {e["pk"] for e in entries(seeded, "model = 'tag' AND action = 'delete'")}
    assert logged == {str(i) for i in ids}


def test_imports_are_logged(seeded, admin_client):
    response = admin_client.post(
        "/admin/_api/tag/import",
        files={"file": ("tags.csv", b"name\nimported-one\nimported-two\n", "text/csv")},
        data={"csrftoken": csrf_token(admin_client), "format": "csv"},
    )
    assert response.status_code < 400, response.text[:300]
    names = {
        e["changes"].get("name", [None, None])[1]
        for e in entries(seeded, "model = 'tag' AND action = 'create'")
    }
    assert {"imported-one", "imported-two"} <= names


def test_cli_changes_are_logged_as_the_cli(seeded, tmp_path):
    env = {
        "DATABASE_URL": seeded.database_url,
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "k" * 50,
    }
    result = admin_app(
        "createsuperuser",
        "--email",
        "cli@example.com",
        "--password-stdin",
        env=env,
        stdin="a sturdy cli passphrase\n",
    )
    assert result.returncode == 0, result.stderr
    logged = entries(seeded, "model = 'admin_user' AND action = 'create'")
    assert logged, "the account createsuperuser made is missing from the audit log"
    created = logged[-1]
    assert created["actor"].startswith("cli:")
    assert created["changes"]["password_hash"] == [None, "[redacted]"], "secrets are redacted"


def test_security_events_are_logged(seeded, client, superuser):
    login(client, superuser, "wrong password for sure")
    login(client, superuser)
    post_form(client, "/admin/logout", {})
    actions = [
        e["action"] for e in entries(seeded, "action IN ('login', 'logout', 'login_failed')")
    ]
    assert actions == ["login_failed", "login", "logout"]


def test_password_changes_are_logged(seeded, admin_client):
    uid = fetch(seeded, "SELECT id FROM admin_user")[0][0]
    admin_client.post(
        f"/admin/_api/admin-user/row-action?name=set_password&pk={uid}",
        data={
            "new_password": "a new long passphrase",
            "new_password_confirm": "a new long passphrase",
        },
        headers={"X-CSRFToken": csrf_token(admin_client)},
    )
    assert entries(seeded, "action = 'password_change'"), "a password change is a security event"


def test_history_panel_shows_the_diffs_on_the_detail_page(seeded, admin_client):
    pk = create_product(admin_client, seeded)
    post_form(admin_client, f"/admin/product/edit?pk={pk}", product_form(price="9.99"))
    page = admin_client.get(f"/admin/product/detail?pk={pk}").text
    panel = page[page.index("data-history") :]
    assert "update" in panel and "create" in panel
    assert re.search(
        r"Price</td>\s*<td[^>]*><del[^>]*>5.00</del></td>\s*<td[^>]*><ins[^>]*>9.99</ins>", panel
    )


def test_revert_restores_an_update_and_is_logged(seeded, admin_client):
    pk = create_product(admin_client, seeded)
    post_form(
        admin_client, f"/admin/product/edit?pk={pk}", product_form(price="8.00", name="Changed")
    )
    update = entries(seeded, "model = 'product' AND action = 'update'")[-1]
    response = admin_client.post(
        f"/admin/_api/audit-entry/row-action?name=revert&pk={update['id']}",
        headers={"X-CSRFToken": csrf_token(admin_client)},
    )
    assert response.status_code == 200, response.text
    name, price = fetch(seeded, "SELECT name, price FROM product WHERE id = :p", p=pk)[0]
    assert (name, float(price)) == ("Audited", 5.0)
    revert = entries(seeded, "action = 'revert'")[-1]
    assert revert["note"] == f"revert of #{update['id']}"
    assert revert["changes"]["price"] == ["8.00", "5.00"]


def test_revert_is_refused_when_the_record_changed_again(seeded, admin_client):
    pk = create_product(admin_client, seeded)
    post_form(admin_client, f"/admin/product/edit?pk={pk}", product_form(price="8.00"))
    first = entries(seeded, "model = 'product' AND action = 'update'")[-1]
    post_form(admin_client, f"/admin/product/edit?pk={pk}", product_form(price="9.00"))
    response = admin_client.post(
        f"/admin/_api/audit-entry/row-action?name=revert&pk={first['id']}",
        headers={"X-CSRFToken": csrf_token(admin_client)},
    )
    assert response.status_code == 400
    assert "changed again" in response.json()["msg"]
    assert float(fetch(seeded, "SELECT price FROM product WHERE id = :p", p=pk)[0][0]) == 9.0


async def _hard_delete(db: Any, pk: int) -> None:
    await db.delete(await db.get(Product, pk))


def test_revert_recreates_a_deleted_row_with_its_tags(seeded, admin_client):
    tags = [str(r[0]) for r in fetch(seeded, "SELECT id FROM tag ORDER BY id LIMIT 2")]
    pk = create_product(admin_client, seeded, tags=tags)
    # The admin's Delete moves a product to the trash; a delete made elsewhere (a script,
    # through the ORM) is what leaves a `delete` entry to revert.
    run(seeded, lambda db: _hard_delete(db, pk))
    deletion = entries(seeded, "model = 'product' AND action = 'delete'")[-1]
    response = admin_client.post(
        f"/admin/_api/audit-entry/row-action?name=revert&pk={deletion['id']}",
        headers={"X-CSRFToken": csrf_token(admin_client)},
    )
    assert response.status_code == 200, response.text
    assert fetch(seeded, "SELECT sku FROM product WHERE id = :p", p=pk)[0][0] == "AUD-1"
    restored = {
        str(r[0])
        for r in fetch(seeded, "SELECT tag_id FROM product_tag WHERE product_id = :p", p=pk)
    }
    assert restored == set(tags)


def test_the_audit_log_is_read_only_and_filterable(seeded, admin_client):
    create_product(admin_client, seeded)
    entry = entries(seeded)[-1]["id"]
    assert admin_client.get(f"/admin/audit-entry/edit?pk={entry}").status_code == 403
    assert admin_client.get("/admin/audit-entry/create").status_code == 403
    delete = admin_client.post(
        f"/admin/_api/audit-entry/row-action?name=delete&pk={entry}",
        headers={"X-CSRFToken": csrf_token(admin_client)},
    )
    assert delete.status_code == 404, "the audit log offers no delete action"
    assert admin_client.get(f"/admin/audit-entry/delete?pks={entry}").status_code == 403
    for query in ("model__eq=product", "action__eq=create", "actor__contains=root"):
        page = admin_client.get("/admin/audit-entry/list", params={"filter": query})
        assert page.status_code == 200, (query, page.text[:200])
        assert re.search(r'data-sa-pk="\d+"', page.text), query


def test_rate_limit_counters_are_not_logged_as_records(seeded, client):
    post_form(client, "/admin/password-reset", {"email": "root@example.com"})
    counters = fetch(seeded, "SELECT bucket, hits FROM rate_limit_counter ORDER BY bucket")
    assert counters == [("reset-email", 1), ("reset-ip", 1)], "the request counted"
    assert not entries(seeded, "model = 'rate_limit_counter'"), "a counter is no record to audit"
