"""Two-factor login with real TOTP codes; enrollment, recovery codes, throttling, enforcement."""

from __future__ import annotations

import asyncio
import re
import time

import pyotp
from sqlalchemy import select
from starlette.testclient import TestClient

from admin_app.auth.users import pending_totp_secret
from admin_app.db import create_engine, create_sessionmaker
from admin_app.main import SESSION_COOKIE, create_app
from admin_app.models import AdminUser
from tests.conftest import make_settings
from tests.helpers import PASSWORD, create_admin, csrf_token, fetch, login, post_form


def enroll(client: TestClient) -> tuple[str, list[str]]:
    """Set up two-factor login through the account pages; return the secret and the codes."""
    page = client.get("/admin/account/2fa/setup")
    assert page.status_code == 200
    assert "<svg" in page.text, "the QR code is drawn on the server"
    secret = re.search(r"<code data-secret>([A-Z2-7]+)</code>", page.text).group(1)
    done = post_form(client, "/admin/account/2fa/enable", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.text[:300]
    codes = re.findall(r"<li class=\"col-6 mb-2\"><code>([0-9a-f-]+)</code>", done.text)
    assert len(codes) == 10
    return secret, codes


def next_code(secret: str, steps_ahead: int = 1) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def second_step(client: TestClient, code: str):
    return client.post(
        "/admin/login/2fa",
        data={"code": code, "csrftoken": csrf_token(client)},
        follow_redirects=False,
    )


def test_enrollment_stores_a_secret_and_hashed_recovery_codes(admin_client, settings):
    _secret, codes = enroll(admin_client)
    enabled = fetch(
        settings, "SELECT totp_enabled_at FROM admin_user WHERE email = 'root@example.com'"
    )
    assert enabled[0][0] is not None
    stored = [r[0] for r in fetch(settings, "SELECT code_hash FROM recovery_code")]
    assert len(stored) == 10
    assert not set(stored) & set(codes), "recovery codes are stored hashed"
    assert (
        fetch(settings, "SELECT count(*) FROM audit_entry WHERE action = '2fa_enabled'")[0][0] == 1
    )


def test_a_wrong_code_does_not_enable_it(admin_client, settings):
    admin_client.get("/admin/account/2fa/setup")
    response = post_form(admin_client, "/admin/account/2fa/enable", {"code": "000000"})
    assert response.status_code == 400
    assert fetch(settings, "SELECT totp_enabled_at FROM admin_user")[0][0] is None


def test_login_needs_the_code_before_any_session_exists(admin_client, settings):
    secret, _ = enroll(admin_client)
    admin_client.cookies.clear()
    sessions_before = fetch(settings, "SELECT count(*) FROM admin_session")[0][0]
    step_one = login(admin_client, "root@example.com")
    assert step_one.status_code == 303
    assert step_one.headers["location"].endswith("/admin/login/2fa")
    assert SESSION_COOKIE not in admin_client.cookies
    assert fetch(settings, "SELECT count(*) FROM admin_session")[0][0] == sessions_before
    assert admin_client.get("/admin/", follow_redirects=False).status_code == 303
    assert second_step(admin_client, "123456").status_code == 400
    assert second_step(admin_client, next_code(secret)).status_code == 303
    assert admin_client.get("/admin/", follow_redirects=False).status_code == 200


def test_a_code_cannot_be_used_twice(admin_client):
    secret, _ = enroll(admin_client)
    code = next_code(secret)
    admin_client.cookies.clear()
    login(admin_client, "root@example.com")
    assert second_step(admin_client, code).status_code == 303
    admin_client.cookies.clear()
    login(admin_client, "root@example.com")
    assert second_step(admin_client, code).status_code == 400, "a replayed code is refused"


def test_a_recovery_code_works_once(admin_client):
    _secret, codes = enroll(admin_client)
    admin_client.cookies.clear()
    login(admin_client, "root@example.com")
    assert second_step(admin_client, codes[0]).status_code == 303
    admin_client.cookies.clear()
    login(admin_client, "root@example.com")
    assert second_step(admin_client, codes[0]).status_code == 400
    assert second_step(admin_client, codes[1]).status_code == 303


def test_codes_are_throttled_like_passwords(admin_client):
    secret, _ = enroll(admin_client)
    admin_client.cookies.clear()
    login(admin_client, "root@example.com")
    for _ in range(5):
        second_step(admin_client, "999999")
    assert second_step(admin_client, next_code(secret)).status_code == 400, "locked after 5 tries"


def test_without_the_password_step_there_is_no_code_step(client, superuser):
    assert client.get("/admin/login/2fa", follow_redirects=False).status_code == 303
    token = csrf_token(client)
    client.cookies.set("admin_2fa", "forged.token.value")
    forged = client.post(
        "/admin/login/2fa", data={"code": "123456", "csrftoken": token}, follow_redirects=False
    )
    assert forged.status_code == 303
    assert SESSION_COOKIE not in client.cookies


def test_required_two_factor_sends_superusers_to_enrollment(settings, tmp_path):
    strict = make_settings(database_url=settings.database_url, data_dir=tmp_path, require_2fa=True)
    create_admin(strict, "boss@example.com")
    with TestClient(create_app(strict)) as client:
        login(client, "boss@example.com")
        blocked = client.get("/admin/product/list", follow_redirects=False)
        assert blocked.status_code == 303
        assert blocked.headers["location"].endswith("/admin/account/2fa/setup")
        enroll(client)
        assert client.get("/admin/product/list").status_code == 200


def test_an_administrator_can_reset_someone_elses_two_factor(admin_client, settings):
    uid = create_admin(settings, "lost-phone@example.com", superuser=False)
    with TestClient(admin_client.app) as other:
        login(other, "lost-phone@example.com")
        enroll(other)
        response = admin_client.post(
            f"/admin/_api/admin-user/row-action?name=reset_2fa&pk={uid}",
            headers={"X-CSRFToken": csrf_token(admin_client)},
        )
        assert response.status_code == 200, response.text
        assert other.get("/admin/account", follow_redirects=False).status_code == 303, (
            "sessions end"
        )
    row = fetch(
        settings, "SELECT totp_enabled_at, totp_secret FROM admin_user WHERE id = :i", i=uid
    )[0]
    assert row == (None, None)
    assert fetch(settings, "SELECT count(*) FROM audit_entry WHERE action = '2fa_reset'")[0][0] == 1


def test_users_see_and_end_their_own_sessions(client, superuser, settings):
    with TestClient(client.app) as laptop:
        login(laptop, superuser, **{"user-agent": "Laptop Browser"})
        login(client, superuser, **{"user-agent": "Phone Browser"})
        page = client.get("/admin/account").text
        assert "Laptop Browser" in page and "Phone Browser" in page
        laptop_id = fetch(
            settings, "SELECT id FROM admin_session WHERE user_agent = 'Laptop Browser'"
        )[0][0]
        response = post_form(client, "/admin/account/sessions/revoke", {"session": laptop_id})
        assert response.status_code == 200
        assert laptop.get("/admin/", follow_redirects=False).status_code == 303
        assert client.get("/admin/", follow_redirects=False).status_code == 200


def test_superusers_end_anyones_session(admin_client, settings):
    create_admin(settings, "staff@example.com", superuser=False)
    with TestClient(admin_client.app) as staff:
        login(staff, "staff@example.com")
        sid = fetch(
            settings,
            "SELECT s.id FROM admin_session s JOIN admin_user u ON u.id = s.user_id "
            "WHERE u.email = 'staff@example.com'",
        )[0][0]
        listing = admin_client.get("/admin/admin-session/list").text
        assert "staff@example.com" in listing or "Test Admin" in listing
        response = admin_client.post(
            f"/admin/_api/admin-session/row-action?name=revoke&pk={sid}",
            headers={"X-CSRFToken": csrf_token(admin_client)},
        )
        assert response.status_code == 200, response.text
        assert staff.get("/admin/", follow_redirects=False).status_code == 303
    assert (
        fetch(settings, "SELECT count(*) FROM audit_entry WHERE action = 'session_revoked'")[0][0]
        == 1
    )


def test_changing_your_password_on_the_account_page(admin_client, settings):
    bad = post_form(
        admin_client,
        "/admin/account/password",
        {
            "current_password": "wrong",
            "new_password": "new sturdy passphrase",
            "new_password_confirm": "new sturdy passphrase",
        },
    )
    assert "not right" in bad.text
    good = post_form(
        admin_client,
        "/admin/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "new sturdy passphrase",
            "new_password_confirm": "new sturdy passphrase",
        },
    )
    assert "Password changed" in good.text
    admin_client.cookies.clear()
    assert login(admin_client, "root@example.com", "new sturdy passphrase").status_code == 303


def test_two_set_up_pages_opened_at_once_show_one_secret(settings, superuser):
    """Two tabs open the set-up page at once: both read the account before either stores
    its new secret. The second must show the first one's QR code (a code from it
    confirms), not fail on the account having changed under it."""

    async def both() -> tuple[str, str]:
        engine = create_engine(settings)
        maker = create_sessionmaker(engine)
        find = select(AdminUser).where(AdminUser.email == superuser)
        try:
            async with maker() as first, maker() as second:
                mine = (await first.scalars(find)).one()
                theirs = (await second.scalars(find)).one()
                shown_first = await pending_totp_secret(first, mine, "A" * 32)
                await first.commit()
                shown_second = await pending_totp_secret(second, theirs, "B" * 32)
                await second.commit()
                return shown_first, shown_second
        finally:
            await engine.dispose()

    assert asyncio.run(both()) == ("A" * 32, "A" * 32)
    assert fetch(settings, "SELECT totp_secret FROM admin_user") == [("A" * 32,)]
