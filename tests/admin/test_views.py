"""The admin over every model: list, search, sort, filter, detail, create, edit, delete."""

from __future__ import annotations

import json
import re

import pytest

from admin_app.admin.registry import REGISTRY
from tests.admin.listing_helpers import with_row_cells
from tests.helpers import csrf_token, fetch, login, post_form, table_counts

# The outbox, the webhooks and the change requests start empty;
# tests/admin/test_email_outbox.py, tests/webhooks/ and tests/admin/test_approvals.py cover them.
EMPTY_AT_START = {"email-outbox", "webhook-endpoint", "webhook-delivery", "change-request"}
KEYS = [view.key for view in REGISTRY if view.key not in EMPTY_AT_START]
READ_ONLY_VIEWS = {"audit-entry", "admin-session"}


@pytest.mark.parametrize("key", KEYS)
def test_every_view_lists_details_and_offers_forms(seeded, admin_client, key):
    listing = admin_client.get(f"/admin/{key}/list")
    assert listing.status_code == 200, listing.text
    pk = re.search(rf"/admin/{key}/detail\?pk=([^\"&]+)", with_row_cells(listing.text))
    assert pk, f"{key}: the list shows no rows"
    assert admin_client.get(f"/admin/{key}/detail?pk={pk.group(1)}").status_code == 200
    writable = key not in READ_ONLY_VIEWS
    expected = 200 if writable else 403
    assert admin_client.get(f"/admin/{key}/edit?pk={pk.group(1)}").status_code == expected
    assert admin_client.get(f"/admin/{key}/create").status_code == expected


def test_relations_are_shown_by_name_not_by_id(seeded, admin_client):
    products = admin_client.get("/admin/product/list").text
    category = fetch(
        seeded,
        "SELECT c.name FROM product p JOIN category c ON c.id = p.category_id "
        "ORDER BY p.id DESC LIMIT 1",
    )[0][0]
    assert category.replace("&", "&amp;") in products
    assert "Category(" not in products
    orders = admin_client.get("/admin/order/list").text
    assert "@example.com" in orders and "Customer(" not in orders


def test_empty_values_read_as_not_set_or_none_in_lists_and_details(seeded, admin_client):
    pk = fetch(seeded, "SELECT id FROM product WHERE image IS NULL ORDER BY id DESC LIMIT 1")[0][0]
    pages = {
        "list": admin_client.get("/admin/product/list").text,
        "detail": admin_client.get(f"/admin/product/detail?pk={pk}").text,
    }
    for name, page in pages.items():
        assert "-null-" not in page, f"the {name} page shows starlette-admin's -null-"
        assert 'title="Not set"' in page and "not set</span>" in page, f"{name}: no empty mark"
    tagless = fetch(
        seeded,
        "SELECT id FROM product p WHERE NOT EXISTS "
        "(SELECT 1 FROM product_tag t WHERE t.product_id = p.id) ORDER BY id DESC LIMIT 1",
    )[0][0]
    detail = admin_client.get(f"/admin/product/detail?pk={tagless}").text
    assert "-empty-" not in pages["list"] + detail, "no tags must read as none, not -empty-"
    assert "none</span>" in detail


def test_search_sort_and_filter(seeded, admin_client):
    sku = fetch(seeded, "SELECT sku FROM product ORDER BY id DESC LIMIT 1")[0][0]
    found = with_row_cells(admin_client.get("/admin/product/list", params={"q": sku}).text)
    assert sku in found
    assert len(set(re.findall(r"/admin/product/detail\?pk=(\d+)", found))) == 1, "only the match"
    ordered = admin_client.get("/admin/product/list", params={"sort": "price__asc"}).text
    prices = [
        float(p.replace(",", ""))
        for p in re.findall(r'<td data-column="price"><span[^>]*>€([\d,]+\.\d\d)<', ordered)
    ]
    assert prices and prices == sorted(prices)
    inactive = admin_client.get("/admin/product/list", params={"filter": "is_active__is_false"})
    shown = set(re.findall(r'data-sa-pk="(\d+)"', inactive.text))
    expected = {str(r[0]) for r in fetch(seeded, "SELECT id FROM product WHERE NOT is_active")}
    assert shown == expected
    bad = admin_client.get("/admin/product/list", params={"filter": "password_hash__eq=x"})
    assert bad.status_code == 400, "filters only on declared fields"


def test_create_edit_and_delete_a_product_with_category_and_tags(seeded, admin_client):
    category_id = fetch(seeded, "SELECT id FROM category ORDER BY id LIMIT 1")[0][0]
    tag_ids = [row[0] for row in fetch(seeded, "SELECT id FROM tag ORDER BY id LIMIT 2")]
    form = {
        "name": "Test Kettle",
        "sku": "KET-TEST-1",
        "price": "39.90",
        "stock": "7",
        "is_active": "on",
        "category": str(category_id),
        "tags": [str(t) for t in tag_ids],
        "attributes": '{"colour": "steel"}',
        "description": "Pours well.",
    }
    created = post_form(admin_client, "/admin/product/create", form, follow_redirects=False)
    assert created.status_code == 303, created.text
    row = fetch(seeded, "SELECT id, price, category_id FROM product WHERE sku = 'KET-TEST-1'")[0]
    assert float(row[1]) == 39.90 and row[2] == category_id
    links = fetch(seeded, "SELECT count(*) FROM product_tag WHERE product_id = :p", p=row[0])
    assert links[0][0] == 2
    edited = post_form(
        admin_client,
        f"/admin/product/edit?pk={row[0]}",
        {**form, "price": "41.00"},
        follow_redirects=False,
    )
    assert edited.status_code == 303, edited.text
    assert float(fetch(seeded, "SELECT price FROM product WHERE id = :p", p=row[0])[0][0]) == 41.0
    deleted = post_form(
        admin_client, "/admin/product/delete", {"pks": row[0]}, follow_redirects=False
    )
    assert deleted.status_code == 303, deleted.text
    gone = "SELECT count(*) FROM product WHERE id = :p AND deleted_at IS NULL"
    assert fetch(seeded, gone, p=row[0])[0][0] == 0, "the product is still outside the trash"
    assert admin_client.get(f"/admin/product/detail?pk={row[0]}").status_code == 404


def test_batch_delete(seeded, admin_client):
    ids = [r[0] for r in fetch(seeded, "SELECT id FROM tag ORDER BY id LIMIT 3")]
    page = admin_client.post(
        "/admin/_api/tag/action?name=delete&" + "&".join(f"pks={i}" for i in ids),
        headers={"X-CSRFToken": csrf_token(admin_client)},
    )
    assert page.status_code == 200 and "Delete 3 tags?" in page.text, page.text[:300]
    response = post_form(admin_client, "/admin/tag/delete", {"pks": ids}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert (
        fetch(
            seeded,
            "SELECT count(*) FROM tag WHERE id IN (:a, :b, :c)",
            a=ids[0],
            b=ids[1],
            c=ids[2],
        )[0][0]
        == 0
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"price": "-5"}, "price", ""),
        ({"sku": "TAKEN"}, "sku", "already has this sku"),
        ({"name": ""}, "name", ""),
        ({"attributes": "[1, 2]"}, "attributes", "Enter a JSON object"),
        ({"attributes": "{not json"}, "attributes", "Enter a JSON object"),
        # Numbers the column cannot hold (starlette-admin's checks raised on these: 500s).
        ({"price": "NaN"}, "price", "Enter a number, such as 12.50."),
        ({"price": "Infinity"}, "price", "Enter a number, such as 12.50."),
        ({"price": "1e30"}, "price", "Enter a number below 10,000,000,000."),
        ({"stock": "99999999999999999999"}, "stock", "Enter a whole number between"),
    ],
)
def test_invalid_values_rerender_the_form_with_errors_and_save_nothing(
    seeded, admin_client, change, field, message
):
    fetch(seeded, "UPDATE product SET sku = 'TAKEN' WHERE id = (SELECT min(id) FROM product)")
    before = table_counts(seeded)
    form = {"name": "Valid", "sku": "NEW-1", "price": "3.00", "stock": "1", "attributes": "{}"}
    response = post_form(admin_client, "/admin/product/create", {**form, **change})
    assert response.status_code == 422, response.text[:500]
    assert "is-invalid" in response.text
    assert message in response.text
    assert table_counts(seeded) == before


def test_unknown_id_gets_the_404_page(seeded, admin_client):
    page = admin_client.get("/admin/product/detail?pk=999999")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    api = admin_client.get("/admin/product/edit?pk=999999", headers={"accept": "application/json"})
    assert api.status_code == 404 and api.json()["status"] == 404
    for bad in ("not-a-number", "99999999999999999999", "-1", ""):
        assert admin_client.get(f"/admin/product/detail?pk={bad}").status_code == 404, bad
    bad_action = admin_client.post(
        "/admin/_api/product/action?name=delete&pks=abc",
        headers={"X-CSRFToken": csrf_token(admin_client)},
    )
    assert bad_action.status_code == 400
    nameless = admin_client.post(
        "/admin/_api/product/action", headers={"X-CSRFToken": csrf_token(admin_client)}
    )
    assert nameless.status_code == 400
    assert admin_client.get("/admin/nothing/list").status_code == 404


def test_password_hashes_never_appear(admin_client, settings):
    uid = fetch(settings, "SELECT id FROM admin_user")[0][0]
    pages = [
        admin_client.get("/admin/admin-user/list").text,
        admin_client.get(f"/admin/admin-user/detail?pk={uid}").text,
        admin_client.get(f"/admin/admin-user/edit?pk={uid}").text,
        admin_client.get("/admin/admin-user/create").text,
        admin_client.post(
            "/admin/_api/admin-user/action?name=export&all=1",
            data={"format": "csv", "scope": "all", "csrftoken": csrf_token(admin_client)},
        ).text,
    ]
    for page in pages:
        assert "$argon2" not in page
        # The history panel may say that the hash changed, never what it was.
        for cell in re.findall(r"password_hash</td>(.*?)</tr>", page, re.S):
            assert re.sub(r"<[^>]+>|\s", "", cell) in ("", "[redacted]", "[redacted][redacted]")


def test_creating_an_admin_user_hashes_the_password_and_checks_the_policy(admin_client, settings):
    weak = post_form(
        admin_client,
        "/admin/admin-user/create",
        {"email": "new@example.com", "password": "short", "password_confirm": "short"},
    )
    assert weak.status_code == 422 and "at least 12" in weak.text
    created = post_form(
        admin_client,
        "/admin/admin-user/create",
        {
            "email": "new@example.com",
            "full_name": "New Person",
            "password": "orchid lantern meadow 7",
            "password_confirm": "orchid lantern meadow 7",
            "is_active": "on",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    stored = fetch(settings, "SELECT password_hash FROM admin_user WHERE email = 'new@example.com'")
    assert stored[0][0].startswith("$argon2id$")
    admin_client.cookies.clear()
    assert login(admin_client, "new@example.com", "orchid lantern meadow 7").status_code == 303


def test_dashboard_counts_every_model_and_charts_thirty_days_of_orders(seeded, admin_client):
    page = admin_client.get("/admin/").text
    for label in ("Products", "Customers", "Orders", "Categories"):
        assert label in page
    assert re.search(r"data-series='\[\{\"name\": \"Orders\", \"data\": \[[\d, ]+\]", page)
    days = re.search(r'"categories": \[([^\]]*)\]', page).group(1).count('"') // 2
    assert days == 30


@pytest.mark.parametrize("key", ["product", "customer", "admin-user"])
def test_new_records_start_active(seeded, admin_client, key):
    """An untouched switch saves False, so the create form must start with it on."""
    page = admin_client.get(f"/admin/{key}/create").text
    switch = re.search(r'<input[^>]*name="is_active"[^>]*>', page)
    assert switch is not None, "no Active switch on the create form"
    assert "checked" in switch.group(0)


def test_an_untouched_json_editor_saves_an_empty_object(seeded, admin_client):
    form = {"name": "Plain", "sku": "PLAIN-1", "price": "3.00", "stock": "1", "attributes": "null"}
    created = post_form(admin_client, "/admin/product/create", form, follow_redirects=False)
    assert created.status_code == 303, created.text
    stored = fetch(seeded, "SELECT attributes FROM product WHERE sku = 'PLAIN-1'")[0][0]
    assert (json.loads(stored) if isinstance(stored, str) else stored) == {}
