"""Login and logout: database sessions that really end, a generic failure, fresh ids, timeouts."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import timedelta

import httpx2
import pytest
from argon2 import PasswordHasher
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient

from admin_app.auth.passwords import needs_rehash
from admin_app.auth.provider import LOGIN_FAILED
from admin_app.db import utcnow
from admin_app.main import SESSION_COOKIE, create_app
from admin_app.models import AdminSession, AdminUser
from tests.conftest import TEST_SECRET, make_settings
from tests.helpers import (
    CSRF_COOKIE,
    PASSWORD,
    create_admin,
    csrf_token,
    fetch,
    login,
    post_form,
    update_rows,
)
from tests.server import running_server


def cookie_payload(client: TestClient) -> dict[str, str]:
    signed = client.cookies[SESSION_COOKIE].encode()
    data = TimestampSigner(TEST_SECRET).unsign(signed)
    return json.loads(base64.b64decode(data))


def test_login_starts_a_database_session_and_the_cookie_holds_only_its_token(client, superuser):
    response = login(client, superuser)
    assert response.status_code == 303
    assert response.headers["location"].endswith("/admin/")
    payload = cookie_payload(client)
    assert set(payload) == {"sid"}, f"the cookie must carry only the session token: {payload}"
    assert len(payload["sid"]) >= 22, "the token must have at least 128 bits"
    assert client.get("/admin/").status_code == 200


def test_login_drops_the_csrf_token_issued_before_it(client, superuser):
    before = csrf_token(client)
    response = login(client, superuser)
    assert response.status_code == 303
    cleared = [h for h in response.headers.get_list("set-cookie") if h.startswith(CSRF_COOKIE)]
    assert cleared and "max-age=0" in cleared[0].lower(), (
        f"the pre-login CSRF cookie must be deleted at login: {response.headers}"
    )
    client.get("/admin/")
    assert csrf_token(client) != before, "the signed-in session got a fresh CSRF token"


def test_session_cookie_flags(client, superuser):
    response = login(client, superuser)
    set_cookie = [
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    ]
    assert set_cookie, response.headers
    flags = set_cookie[0].lower()
    assert "httponly" in flags and "samesite=lax" in flags
    assert "secure" not in flags, "without HTTPS_ONLY the cookie is not Secure"


def test_session_cookie_is_secure_when_https_only(settings, tmp_path):
    secure = make_settings(database_url=settings.database_url, https_only=True, data_dir=tmp_path)
    create_admin(secure, "s@example.com")
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        response = login(client, "s@example.com")
        assert response.status_code == 303
        cookie = next(
            h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
        )
        assert "secure" in cookie.lower()


@pytest.mark.parametrize(
    ("email", "password"),
    [("root@example.com", "wrong password here"), ("nobody@example.com", PASSWORD), ("", "")],
)
def test_failed_logins_all_say_the_same_generic_thing(client, superuser, email, password):
    response = login(client, email, password)
    assert response.status_code == 400
    assert LOGIN_FAILED in response.text
    assert SESSION_COOKIE not in client.cookies


def test_a_failed_login_keeps_the_email_and_asks_only_for_the_password(client, superuser):
    page = login(client, "Root@Example.com", "wrong password here").text
    field = re.search(r'<input type="email" id="username"[^>]*>', page)
    assert field, "the login form is shown again"
    assert 'value="Root@Example.com"' in field.group(0), "the address typed is kept, as typed"
    assert "autofocus" not in field.group(0)
    password = re.search(r'<input type="password" id="password"[^>]*>', page)
    assert password and "autofocus" in password.group(0), "the cursor waits in the password"
    assert "wrong password here" not in page, "the password is never sent back"


def test_the_login_form_escapes_the_email_it_shows_again(client, superuser):
    page = login(client, '"><script>alert(1)</script>', "whatever").text
    assert "<script>alert(1)</script>" not in page
    assert "&#34;&gt;&lt;script&gt;" in page or "&quot;&gt;&lt;script&gt;" in page


def test_inactive_account_gets_the_same_generic_message(client, settings):
    create_admin(settings, "off@example.com", is_active=False)
    response = login(client, "off@example.com")
    assert response.status_code == 400 and LOGIN_FAILED in response.text


def test_email_is_case_insensitive_at_login(client, superuser):
    assert login(client, "ROOT@Example.COM").status_code == 303


def test_a_cookie_captured_before_logout_is_refused_after_it(client, superuser, settings):
    login(client, superuser)
    captured = client.cookies[SESSION_COOKIE]
    response = post_form(client, "/admin/logout", {}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, captured)
    page = client.get("/admin/product/list", follow_redirects=False)
    assert page.status_code == 303 and "/admin/login" in page.headers["location"]
    revoked = fetch(settings, "SELECT count(*) FROM admin_session WHERE revoked_at IS NOT NULL")
    assert revoked[0][0] == 1


def test_session_id_is_new_at_every_login_and_the_old_one_ends(client, superuser, settings):
    login(client, superuser)
    first = cookie_payload(client)["sid"]
    post_form(client, "/admin/logout", {})
    login(client, superuser)
    second = cookie_payload(client)["sid"]
    assert first != second
    live = fetch(settings, "SELECT count(*) FROM admin_session WHERE revoked_at IS NULL")
    assert live[0][0] == 1, "only the newest login is live"


def test_idle_timeout_ends_the_session(client, superuser, settings):
    login(client, superuser)
    update_rows(settings, AdminSession, last_seen_at=_ago(settings.session_idle_timeout + 5))
    response = client.get("/admin/", follow_redirects=False)
    assert response.status_code == 303 and "/admin/login" in response.headers["location"]


def test_absolute_timeout_ends_even_an_active_session(client, superuser, settings):
    login(client, superuser)
    update_rows(settings, AdminSession, expires_at=_ago(1))
    response = client.get("/admin/", follow_redirects=False)
    assert response.status_code == 303


def test_timeouts_are_configurable(settings, tmp_path):
    custom = make_settings(
        database_url=settings.database_url,
        data_dir=tmp_path,
        session_idle_timeout=600,
        session_absolute_timeout=3600,
    )
    create_admin(custom, "t@example.com")
    with TestClient(create_app(custom)) as client:
        login(client, "t@example.com")
        row = fetch(custom, "SELECT created_at, expires_at FROM admin_session")[0]
        created, expires = (_aware(v) for v in row)
        assert abs((expires - created) - timedelta(seconds=3600)) < timedelta(seconds=5)
        update_rows(custom, AdminSession, last_seen_at=_ago(601))
        assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_password_change_ends_all_sessions_of_that_user(client, superuser, settings):
    with TestClient(client.app) as other:
        _password_change_ends_other_sessions(client, other, superuser, settings)


def _password_change_ends_other_sessions(client, other, superuser, settings):
    login(other, superuser)
    login(client, superuser)
    uid = fetch(settings, "SELECT id FROM admin_user")[0][0]
    response = client.post(
        f"/admin/_api/admin-user/row-action?name=set_password&pk={uid}",
        data={
            "new_password": "a brand new passphrase",
            "new_password_confirm": "a brand new passphrase",
        },
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code == 200, response.text
    assert other.get("/admin/", follow_redirects=False).status_code == 303, "other sessions end"
    assert client.get("/admin/", follow_redirects=False).status_code == 200, "your own continues"
    other.cookies.clear()
    assert login(other, superuser, "a brand new passphrase").status_code == 303


def test_deactivating_an_account_ends_its_sessions(admin_client, settings):
    with TestClient(admin_client.app) as victim:
        _deactivation_ends_sessions(admin_client, victim, settings)


def _deactivation_ends_sessions(admin_client, victim, settings):
    uid = create_admin(settings, "staff@example.com", superuser=False)
    assert login(victim, "staff@example.com").status_code == 303
    response = post_form(
        admin_client,
        f"/admin/admin-user/edit?pk={uid}",
        {"email": "staff@example.com", "full_name": "Staff"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert fetch(settings, "SELECT is_active FROM admin_user WHERE id = :i", i=uid)[0][0] in (
        False,
        0,
    )
    assert victim.get("/admin/", follow_redirects=False).status_code == 303


def _ago(seconds: int):
    return utcnow() - timedelta(seconds=seconds)


def _aware(value):
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_an_account_form_opened_before_its_user_logs_in_still_saves(admin_client, settings):
    """A login is bookkeeping, not an edit: it must not make an administrator's open
    form of that account stale (the save would be refused as a conflict)."""
    uid = create_admin(settings, "staff@example.com", superuser=False)
    page = admin_client.get(f"/admin/admin-user/edit?pk={uid}").text
    version = re.search(r'name="_version" value="(\d+)"', page)
    assert version, "the edit form carries the row version"
    with TestClient(admin_client.app) as staff:
        assert login(staff, "staff@example.com").status_code == 303
    response = post_form(
        admin_client,
        f"/admin/admin-user/edit?pk={uid}",
        {"email": "staff@example.com", "full_name": "Renamed", "is_active": "on"}
        | {"_version": version.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    name, last_login = fetch(
        settings, "SELECT full_name, last_login FROM admin_user WHERE id = :i", i=uid
    )[0]
    assert name == "Renamed"
    assert last_login is not None, "the login was still recorded"


def test_logins_of_one_account_at_once_all_succeed(pg_settings):
    """Two browsers (or tabs) signing in to one account at the same moment: each gets
    its session. Each login stamps the account, and two stamps of one row version were
    a lost race (a 500) for all but the first."""
    create_admin(pg_settings, "root@example.com")

    async def sign_in(base: str) -> int:
        async with httpx2.AsyncClient(base_url=base, timeout=60) as browser:
            await browser.get("/admin/login")
            token = browser.cookies[CSRF_COOKIE]
            form = {"username": "root@example.com", "password": PASSWORD, "csrftoken": token}
            return (await browser.post("/admin/login", data=form)).status_code

    async def together(base: str) -> list[int]:
        return list(await asyncio.gather(*(sign_in(base) for _ in range(4))))

    with running_server(pg_settings) as base:
        statuses = asyncio.run(together(base))
    assert statuses == [303] * 4, statuses
    sessions = fetch(pg_settings, "SELECT count(*) FROM admin_session WHERE revoked_at IS NULL")
    assert sessions == [(4,)]


def test_a_login_upgrades_a_hash_made_with_older_parameters(client, settings):
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    uid = create_admin(settings, "old@example.com", superuser=False)
    update_rows(settings, AdminUser, password_hash=weak)
    assert login(client, "old@example.com").status_code == 303
    stored, version = fetch(
        settings, "SELECT password_hash, version FROM admin_user WHERE id = :i", i=uid
    )[0]
    assert stored != weak
    assert not needs_rehash(stored), "stored under today's parameters"
    assert version == 1, "an upgraded hash is no edit: open forms of the account stay current"
    client.cookies.clear()
    assert login(client, "old@example.com").status_code == 303, "the password still works"
