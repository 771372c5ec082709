"""Personal API tokens: made and revoked on My account, bounded by their owner, audited."""

from __future__ import annotations

import re
from datetime import timedelta

from starlette.testclient import TestClient

from admin_app.auth.api_tokens import hash_token
from admin_app.db import utcnow
from admin_app.models import AdminUser, ApiToken
from admin_app.settings import Settings
from tests.api.helpers import bearer, make_token
from tests.helpers import create_admin, fetch, give_role, login, make_role, post_form, update_rows

SECRET = re.compile(r'value="(aat_[0-9a-f]{8}_[A-Za-z0-9_-]+)"')


def _make_on_account_page(client: TestClient, **form: str | list[str]) -> str:
    page = post_form(client, "/admin/account/tokens", {"name": "sync", "days": "30", **form})
    assert page.status_code == 200, page.text
    found = SECRET.search(page.text)
    assert found, "the new token is shown once, on the page after creating it"
    return found.group(1)


def test_a_token_is_shown_once_stored_hashed_and_audited(
    admin_client: TestClient, settings: Settings
) -> None:
    secret = _make_on_account_page(admin_client)
    stored = fetch(settings, "SELECT secret_hash, prefix FROM api_token")
    assert stored == [(hash_token(secret), secret[4:12])], "only the hash and prefix are kept"
    account = admin_client.get("/admin/account").text
    assert secret not in account and f"aat_{secret[4:12]}" in account
    assert admin_client.get("/api/v1/product", headers=bearer(secret)).status_code == 200
    events = fetch(settings, "SELECT action, note FROM audit_entry WHERE action LIKE 'api_token%'")
    assert events == [("api_token_created", "sync (" + secret[4:12] + "…)")]


def test_the_owner_revokes_a_token_and_it_stops_at_once(
    admin_client: TestClient, settings: Settings
) -> None:
    secret = _make_on_account_page(admin_client)
    (token_id,) = fetch(settings, "SELECT id FROM api_token")[0]
    post_form(admin_client, "/admin/account/tokens/revoke", {"token": str(token_id)})
    refused = admin_client.get("/api/v1/product", headers=bearer(secret))
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]
    actions = [a for (a,) in fetch(settings, "SELECT action FROM audit_entry ORDER BY id")]
    assert actions[-1] == "api_token_revoked"


def test_only_the_owner_or_a_superuser_may_revoke(client: TestClient, settings: Settings) -> None:
    owner = create_admin(settings, "owner@example.com", superuser=False)
    create_admin(settings, "other@example.com", superuser=False)
    secret = make_token(settings, owner)
    (token_id,) = fetch(settings, "SELECT id FROM api_token")[0]
    login(client, "other@example.com")
    post_form(client, "/admin/account/tokens/revoke", {"token": str(token_id)})
    assert client.get("/api/v1/product", headers=bearer(secret)).status_code != 401
    client.cookies.clear()
    create_admin(settings, "root@example.com")
    login(client, "root@example.com")
    assert "owner@example.com" in client.get("/admin/account").text, "superusers see every token"
    post_form(client, "/admin/account/tokens/revoke", {"token": str(token_id)})
    assert client.get("/api/v1/product", headers=bearer(secret)).status_code == 401


def test_a_token_never_holds_more_than_its_owner(client: TestClient, settings: Settings) -> None:
    make_role(settings, "clerk", ["product:view", "category:view"])
    owner = create_admin(settings, "clerk@example.com", superuser=False)
    give_role(settings, "clerk@example.com", "clerk")
    login(client, "clerk@example.com")
    refused = post_form(
        client,
        "/admin/account/tokens",
        {"name": "x", "days": "30", "access": "chosen", "permissions": ["order:view"]},
    )
    assert "You do not hold order:view" in refused.text
    narrow = make_token(settings, owner, ["category:view"])
    assert client.get("/api/v1/category", headers=bearer(narrow)).status_code == 200
    assert client.get("/api/v1/product", headers=bearer(narrow)).status_code == 403
    full = make_token(settings, owner)
    assert client.get("/api/v1/product", headers=bearer(full)).status_code == 200
    fetch(settings, "DELETE FROM role_permission WHERE code = 'category:view'")
    assert client.get("/api/v1/category", headers=bearer(narrow)).status_code == 403, (
        "taking a permission from the owner takes it from their tokens at once"
    )


def test_expired_tokens_and_disabled_owners_are_refused(
    client: TestClient, settings: Settings
) -> None:
    owner = create_admin(settings)
    secret = make_token(settings, owner)
    assert client.get("/api/v1/tag", headers=bearer(secret)).status_code == 200
    update_rows(settings, AdminUser, is_active=False)
    assert client.get("/api/v1/tag", headers=bearer(secret)).status_code == 401
    update_rows(settings, AdminUser, is_active=True)
    update_rows(settings, ApiToken, expires_at=utcnow() - timedelta(seconds=1))
    assert client.get("/api/v1/tag", headers=bearer(secret)).status_code == 401


def test_a_change_to_the_owners_roles_holds_from_the_next_call(
    client: TestClient, settings: Settings
) -> None:
    make_role(settings, "clerk", ["product:view", "category:view"])
    owner = create_admin(settings, "clerk@example.com", superuser=False)
    give_role(settings, "clerk@example.com", "clerk")
    clerk = bearer(make_token(settings, owner))
    assert client.get("/api/v1/product", headers=clerk).status_code == 200
    fetch(settings, "DELETE FROM admin_user_role")
    assert client.get("/api/v1/product", headers=clerk).status_code == 403, (
        "a role taken from the owner is taken from their tokens at the next call"
    )
    give_role(settings, "clerk@example.com", "clerk")
    assert client.get("/api/v1/category", headers=clerk).status_code == 200
    root = bearer(make_token(settings, create_admin(settings)))
    assert client.get("/api/v1/admin-user", headers=root).status_code == 200
    fetch(settings, "UPDATE admin_user SET is_superuser = FALSE WHERE email = 'root@example.com'")
    assert client.get("/api/v1/admin-user", headers=root).status_code == 403, (
        "a superuser no more: their token holds only what their roles grant, at the next call"
    )


def test_last_use_is_noted_at_most_once_a_minute(client: TestClient, settings: Settings) -> None:
    secret = make_token(settings, create_admin(settings))
    client.get("/api/v1/tag", headers=bearer(secret))
    (first,) = fetch(settings, "SELECT last_used_at FROM api_token")[0]
    assert first is not None
    client.get("/api/v1/tag", headers=bearer(secret))
    assert fetch(settings, "SELECT last_used_at FROM api_token")[0][0] == first


def test_cookies_do_not_open_the_api(admin_client: TestClient) -> None:
    answer = admin_client.get("/api/v1/product")
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
