"""Reading the audit log: every entry renders, in the words and time zone of the viewer."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.audit.test_audit import create_product, entries, product_form
from tests.helpers import create_admin, csrf_token, fetch, local, post_form


def row_action(client, key: str, name: str, pk: int, **data: str):
    response = client.post(
        f"/admin/_api/{key}/row-action?name={name}&pk={pk}",
        data=data,
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code == 200, response.text[:300]
    return response


def history(page: str) -> str:
    assert "data-history" in page, "the detail page has a History card"
    return page[page.index("data-history") :]


def odd_entry(settings, action: str, changes) -> int:
    """An entry as older versions or other software may have written it."""
    fetch(
        settings,
        "INSERT INTO audit_entry (at, actor, ip, action, model, object_pk, object_repr, changes,"
        " note) VALUES (CURRENT_TIMESTAMP, 'x', '', :a, 'product', '1', 'p', :c, '')",
        a=action,
        c=json.dumps(changes),
    )
    return int(fetch(settings, "SELECT max(id) FROM audit_entry")[0][0])


def test_security_events_render_on_every_page_that_shows_the_log(seeded, admin_client):
    bob = create_admin(seeded, "bob@example.com", superuser=False)
    new = "a new long passphrase"
    row_action(admin_client, "admin-user", "set_password", bob, new_password=new,
               new_password_confirm=new)  # fmt: skip
    row_action(admin_client, "admin-user", "reset_2fa", bob)
    events = entries(seeded, "action IN ('password_change', '2fa_reset')")
    assert [e["changes"] for e in events] == [{"sessions_ended": 0}] * 2

    page = admin_client.get(f"/admin/admin-user/detail?pk={bob}")
    assert page.status_code == 200, f"the account's detail page fails: {page.text[:300]}"
    panel = history(page.text)
    assert re.search(r"Sessions ended</th>\s*<td>0</td>", panel), "the event's detail is shown"
    listing = admin_client.get("/admin/audit-entry/list")
    assert listing.status_code == 200, f"the audit log fails: {listing.text[:300]}"
    assert "Sessions ended: 0" in listing.text
    for event in events:
        detail = admin_client.get(f"/admin/audit-entry/detail?pk={event['id']}")
        assert detail.status_code == 200, f"entry #{event['id']} fails: {detail.text[:300]}"
        assert re.search(r"Sessions ended</th>\s*<td>0</td>", detail.text)
    exported = export_log(admin_client)
    assert {"password_change", "2fa_reset"} <= {row[4] for row in exported[1:]}


def export_log(client) -> list[list[str]]:
    response = client.post(
        "/admin/_api/audit-entry/action",
        params={"name": "export", "_list_query": ""},
        data={"scope": "all", "format": "csv", "csrftoken": csrf_token(client)},
    )
    assert response.status_code == 200, f"the export fails: {response.text[:300]}"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_entries_of_any_shape_render(seeded, admin_client):
    shapes = [
        ("update", {"price": "5.00"}),  # not a [before, after] pair
        ("update", {"price": ["1", "2", "3"]}),
        ("update", ["price"]),
        ("login", {"sessions_ended": [1, 2]}),
        ("update", {}),
        ("update", None),
    ]
    ids = [odd_entry(seeded, action, changes) for action, changes in shapes]
    assert admin_client.get("/admin/audit-entry/list").status_code == 200
    for pk in ids:
        response = admin_client.get(f"/admin/audit-entry/detail?pk={pk}")
        assert response.status_code == 200, f"entry #{pk} fails: {response.text[:300]}"
    assert admin_client.get("/admin/product/detail?pk=1").status_code == 200
    assert len(export_log(admin_client)) > len(ids)


def categories(settings) -> list[tuple[int, str]]:
    return [(int(r[0]), str(r[1])) for r in fetch(settings, "SELECT id, name FROM category")]


def test_history_names_fields_as_the_view_does_and_related_records_by_name(seeded, admin_client):
    (first, first_name), (second, second_name) = categories(seeded)[:2]
    pk = create_product(admin_client, seeded, category=str(first))
    edited = product_form(category=str(second), price="9.99")
    assert post_form(admin_client, f"/admin/product/edit?pk={pk}", edited).status_code == 200
    panel = history(admin_client.get(f"/admin/product/detail?pk={pk}").text)
    assert "category_id" not in panel, "no column names"
    assert re.search(
        rf"Category</td>\s*<td[^>]*><del[^>]*>{first_name}</del></td>\s*<td[^>]*><ins[^>]*>{second_name}<",
        panel,
    ), f"the category change is shown by name: {panel[:3000]}"
    update = entries(seeded, "model = 'product' AND action = 'update'")[-1]
    assert update["changes"]["category_id"] == [first, second]
    detail = admin_client.get(f"/admin/audit-entry/detail?pk={update['id']}").text
    assert re.search(rf"Category</td>\s*<td[^>]*><del[^>]*>{first_name}</del>", detail)
    listing = admin_client.get("/admin/audit-entry/list", params={"filter": "model__eq=product"})
    assert "Price, Category" in listing.text, "the list names the changed fields by label"


def test_a_deleted_related_record_is_shown_by_its_id(seeded, admin_client):
    (first, _), (second, _) = categories(seeded)[:2]
    pk = create_product(admin_client, seeded, category=str(first))
    post_form(admin_client, f"/admin/product/edit?pk={pk}", product_form(category=str(second)))
    fetch(seeded, "UPDATE product SET category_id = NULL WHERE category_id = :c", c=first)
    fetch(seeded, "DELETE FROM category WHERE id = :c", c=first)
    panel = history(admin_client.get(f"/admin/product/detail?pk={pk}").text)
    assert re.search(rf"Category</td>\s*<td[^>]*><del[^>]*>#{first}</del>", panel)


def test_history_times_are_in_the_viewers_time_zone(seeded, admin_client):
    pk = create_product(admin_client, seeded)
    admin_client.cookies.set("timezone", "Asia/Tokyo")
    panel = history(admin_client.get(f"/admin/product/detail?pk={pk}").text)
    tokyo = ZoneInfo("Asia/Tokyo")
    stamp = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', panel)
    assert stamp, "each entry carries its time"
    at = datetime.fromisoformat(stamp.group(1))
    assert stamp.group(2) == local(at, tokyo), "the entry's time is the viewer's local time"
    assert "UTC" not in stamp.group(2)
    created = entries(seeded, "model = 'product' AND action = 'create'")[-1]
    value = datetime.fromisoformat(created["changes"]["created_at"][1])
    assert re.search(rf"Created at</td>\s*<td[^>]*>.*?</td>\s*<td[^>]*><ins[^>]*>{local(value, tokyo)}<",
                     panel), "a logged time is shown in the viewer's zone too"  # fmt: skip
