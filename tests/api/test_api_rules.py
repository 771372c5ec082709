"""The API follows the admin's rules: scopes, permissions, protected fields, validation,
the audit log; and answers every malformed call with a 4xx in JSON."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.testclient import TestClient

from admin_app.live.hub import Page
from admin_app.live.messages import Actor
from admin_app.settings import Settings
from tests.api.helpers import bearer, make_token
from tests.helpers import create_admin, fetch, give_role


def _token_of_role(settings: Settings, email: str, role: str) -> dict[str, str]:
    user = create_admin(settings, email, superuser=False)
    give_role(settings, email, role)
    return bearer(make_token(settings, user))


def test_a_scoped_role_reads_only_its_rows(seeded: Settings, client: TestClient) -> None:
    token = _token_of_role(seeded, "fr@example.com", "Sales France")
    french = {
        pk
        for (pk,) in fetch(
            seeded,
            "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id "
            "WHERE c.country = 'FR'",
        )
    }
    seen: set[int] = set()
    url = "/api/v1/order?limit=5"
    while url:
        page = client.get(url, headers=token).json()
        seen |= {row["id"] for row in page["data"]}
        url = page["next_cursor"] and f"/api/v1/order?limit=5&cursor={page['next_cursor']}"
    assert seen == french, "a scoped token lists exactly the rows in its scope, over all pages"
    (other,) = fetch(
        seeded,
        "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id "
        "WHERE c.country <> 'FR' LIMIT 1",
    )[0]
    assert client.get(f"/api/v1/order/{other}", headers=token).status_code == 404
    assert client.get("/api/v1/product", headers=token).status_code == 403
    assert client.get("/api/v1/no-such-model", headers=token).status_code == 404
    assert client.post("/api/v1/order", json={}, headers=token).status_code == 403


def test_a_field_the_role_may_not_change_cannot_be_written(
    seeded: Settings, client: TestClient
) -> None:
    token = _token_of_role(seeded, "cat@example.com", "Catalogue editor")
    (pk, price) = fetch(seeded, "SELECT id, price FROM product ORDER BY id LIMIT 1")[0]
    refused = client.patch(f"/api/v1/product/{pk}", json={"price": "1.00"}, headers=token)
    assert refused.status_code == 422 and "price" in refused.json()["fields"], refused.text
    allowed = client.patch(f"/api/v1/product/{pk}", json={"stock": 7}, headers=token)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["price"] == str(price), "the price is readable, and unchanged"


def test_secrets_are_never_read_or_written(client: TestClient, settings: Settings) -> None:
    token = bearer(make_token(settings, create_admin(settings)))
    me = client.get("/api/v1/admin-user", headers=token).json()["data"][0]
    assert not {"password_hash", "totp_secret", "password"} & set(me), me
    written = client.patch(
        f"/api/v1/admin-user/{me['id']}", json={"password_hash": "x"}, headers=token
    )
    assert written.status_code == 422 and "password_hash" in written.json()["fields"]


def test_invalid_values_are_refused_at_each_field(client: TestClient, settings: Settings) -> None:
    token = bearer(make_token(settings, create_admin(settings)))
    first = {"name": "Lamp", "sku": "L-1", "price": "3"}
    assert client.post("/api/v1/product", json=first, headers=token).status_code == 201
    bad = client.post(
        "/api/v1/product",
        json={"name": "", "sku": "L-1", "price": "cheap", "stock": 2**40},
        headers=token,
    )
    assert bad.status_code == 422, bad.text
    assert {"name", "sku", "price", "stock"} <= set(bad.json()["fields"]), bad.json()
    assert fetch(settings, "SELECT count(*) FROM product")[0][0] == 1, "nothing half-written"


def test_changes_made_through_the_api_name_the_token(
    client: TestClient, settings: Settings
) -> None:
    user = create_admin(settings)
    token = bearer(make_token(settings, user))
    made = client.post("/api/v1/tag", json={"name": "sale"}, headers=token)
    assert made.status_code == 201, made.text
    (actor, user_id) = fetch(
        settings, "SELECT actor, user_id FROM audit_entry WHERE model = 'tag'"
    )[0]
    assert user_id == user and "API token #" in actor and "test" in actor, actor


def test_lists_sort_select_fields_and_search(seeded: Settings, client: TestClient) -> None:
    token = bearer(make_token(seeded, create_admin(seeded)))
    rows = client.get("/api/v1/product?sort=-price&fields=price&limit=200", headers=token).json()
    prices = [float(r["price"]) for r in rows["data"]]
    assert prices == sorted(prices, reverse=True) and set(rows["data"][0]) == {"id", "price"}
    (name,) = fetch(seeded, "SELECT name FROM product ORDER BY id LIMIT 1")[0]
    found = client.get(f"/api/v1/product?search={name}", headers=token).json()["data"]
    assert name in [r["name"] for r in found]


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        ("get", "/api/v1/product?limit=201", {}, 400),
        ("get", "/api/v1/product?limit=x", {}, 400),
        ("get", "/api/v1/product?sort=description", {}, 400),
        ("get", "/api/v1/product?cursor=%%%", {}, 400),
        ("get", "/api/v1/product?price=abc", {}, 400),
        ("get", "/api/v1/product?nope=1", {}, 400),
        ("get", "/api/v1/product?fields=password_hash", {}, 400),
        ("get", "/api/v1/product/abc", {}, 404),
        ("get", "/api/v1/product/99999999999999999999", {}, 404),
        (
            "post",
            "/api/v1/product",
            {"content": b"{", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("post", "/api/v1/product", {"json": [1, 2]}, 422),
        ("post", "/api/v1/product", {"data": {"name": "x"}}, 415),
        ("post", "/api/v1/product", {"json": {"tags": "x", "is_active": "yes"}}, 422),
        (
            "post",
            "/api/v1/product",
            {"json": {"category": 10**30, "name": "a", "sku": "b", "price": 1}},
            422,
        ),
        (
            "post",
            "/api/v1/product",
            {"json": {"attributes": [1], "name": "a", "sku": "b", "price": 1}},
            422,
        ),
        ("post", "/api/v1/audit-entry", {"json": {}}, 403),
    ],
)
def test_malformed_calls_get_a_clear_4xx(
    client: TestClient, settings: Settings, method: str, url: str, kwargs: dict, status: int
) -> None:
    token = bearer(make_token(settings, create_admin(settings)))
    sent = dict(kwargs)
    headers = {**token, **sent.pop("headers", {})}
    answer = getattr(client, method)(url, headers=headers, **sent)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"], "every error says what was wrong"


def test_changes_made_through_the_api_reach_open_pages_live(
    client: TestClient, settings: Settings
) -> None:
    user = create_admin(settings)
    token = bearer(make_token(settings, user))
    live = client.app_state["live"]

    async def open_list() -> Any:
        page = live.connect(Actor(99, "Viewer"), "viewer-session", frozenset({"tag"}))
        live.watch(page, Page("tag"))
        return page

    async def next_message(page: Any) -> str:
        return str(await asyncio.wait_for(page.next(), 10))

    watcher = client.portal.call(open_list)
    assert client.post("/api/v1/tag", json={"name": "live"}, headers=token).status_code == 201
    message = client.portal.call(next_message, watcher)
    assert '"tag"' in message and "created" in message, message
