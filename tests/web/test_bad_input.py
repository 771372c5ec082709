"""Hostile or absurd input gets a 4xx with a reason, never a 500."""

from __future__ import annotations

import base64

import pytest

from admin_app.middleware.limits import FORM_FIELDS
from tests.helpers import fetch, post_form


@pytest.mark.parametrize(
    "url",
    [
        "/admin/product/list?page=99999999999999999999",
        "/admin/product/list?page=abc",
        "/admin/product/list?sort=price__sideways",
        "/admin/product/list?filter=(((",
        "/admin/order/list?filter=status__eq=bogus",
        "/admin/product/list?q=" + "x" * 5000,
        "/admin/customer/list?q=%00",
        "/admin/_api/product/relation-lookup?pks=abc",
        "/admin/_api/customer/relation-lookup?q=%00",
        "/admin/product/detail?pk=1%00",
    ],
)
def test_bad_query_values_are_client_errors(seeded, admin_client, url):
    response = admin_client.get(url)
    assert response.status_code < 500, (url, response.status_code)


def test_text_longer_than_its_column_is_an_error_at_the_field(seeded, admin_client):
    response = post_form(admin_client, "/admin/category/create", {"name": "x" * 500, "slug": "ok"})
    assert response.status_code == 422
    assert "Use at most 120 characters" in response.text
    assert fetch(seeded, "SELECT count(*) FROM category WHERE slug = 'ok'")[0][0] == 0


def test_a_form_with_too_many_fields_is_a_400_not_a_500(client):
    """starlette-admin's CSRF check reads the form in a middleware, outside the handlers."""
    fields = {f"f{i}": "v" for i in range(FORM_FIELDS + 1)}
    response = client.post("/admin/login", data=fields, files={"file": ("a.csv", b"a", "text/csv")})
    assert response.status_code == 400
    assert "Too many fields" in response.text


DEEP_JSON = "[" * 5000 + "]" * 5000
"""Valid JSON nested deeper than Python's parser goes: json.loads raises RecursionError."""


@pytest.mark.parametrize(
    ("url", "form"),
    [
        (
            "/admin/product/create",
            {"name": "Deep", "sku": "DEEP-1", "price": "1", "stock": "1", "attributes": DEEP_JSON},
        ),
        ("/admin/role/create", {"name": "Deep", "scope": DEEP_JSON}),
        ("/admin/role/create", {"name": "Deep", "scope": "not json"}),
    ],
)
def test_json_nested_thousands_deep_is_an_error_at_the_field(seeded, admin_client, url, form):
    response = post_form(admin_client, url, form, follow_redirects=False)
    assert response.status_code == 422, f"{url}: {response.status_code}"
    assert "Enter a JSON object" in response.text
    assert fetch(seeded, "SELECT count(*) FROM role WHERE name = 'Deep'")[0][0] == 0


def test_a_list_position_nested_thousands_deep_is_a_400(seeded, admin_client):
    token = base64.urlsafe_b64encode(b"[" * 1400).rstrip(b"=").decode()
    response = admin_client.get(f"/admin/customer/list?after={token}")
    assert response.status_code == 400
    assert "position" in response.text
