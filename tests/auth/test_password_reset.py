"""Password reset through a real SMTP server: the link in the received email, single use, limits."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from starlette.testclient import TestClient

from admin_app.auth.tokens import _fingerprint
from admin_app.main import create_app
from admin_app.models import AdminUser
from tests.conftest import TEST_SECRET
from tests.helpers import PASSWORD, create_admin, csrf_token, fetch, login, post_form, run

NEW_PASSWORD = "a brand new passphrase for ada"
LINK = re.compile(r"https?://\S+/admin/password-reset/[\w.-]+")


def ask_for_reset(client: TestClient, email: str):
    return post_form(client, "/admin/password-reset", {"email": email})


def reset_link(message) -> str:
    links = LINK.findall(message.text)
    assert len(links) == 1, f"expected one reset link in the text part:\n{message.text}"
    assert links[0] in message.html, "the HTML part must carry the same link"
    return links[0]


def same_page(html: str, email: str) -> str:
    """The page with what legitimately differs (the echoed address, nonces) blanked out."""
    html = html.replace(email, "EMAIL").replace(quote(email), "EMAIL")
    return re.sub(r'nonce="[^"]*"', "", html)


def outbox_rows(settings) -> list:
    return fetch(settings, "SELECT recipient, kind, status FROM email_outbox ORDER BY id")


def test_reset_end_to_end_from_the_received_email(mail_client, mail_settings, smtp):
    client = mail_client
    create_admin(mail_settings, "ada@example.com", full_name="Ada Lovelace")
    assert login(client, "ada@example.com").status_code == 303
    old_session = dict(client.cookies)
    client.cookies.clear()

    login_page = client.get("/admin/login")
    assert 'href="/admin/password-reset"' in login_page.text, (
        "the login page must link to the reset form"
    )
    form = client.get("/admin/password-reset")
    assert form.status_code == 200 and 'name="email"' in form.text
    answer = ask_for_reset(client, "ada@example.com")
    assert answer.status_code == 200 and "Check your email" in answer.text

    (message,) = smtp.wait_for(1)
    assert message.rcpt_tos == ["ada@example.com"]
    assert message.subject == "Reset your Store Admin password"
    assert message.message["From"] == "Store Admin <admin@store.test>"
    assert "Hello Ada Lovelace" in message.text and "Hello Ada Lovelace" in message.html
    link = reset_link(message)
    path = link.removeprefix("http://testserver")

    page = client.get(path)
    assert page.status_code == 200 and "Choose a new password" in page.text
    done = post_form(
        client,
        path,
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert "/admin/login" in done.headers["location"]
    assert "password was changed" in client.get(done.headers["location"]).text

    notice = smtp.wait_for(2)[1]
    assert notice.subject == "Your Store Admin password was changed"
    assert notice.rcpt_tos == ["ada@example.com"]

    assert login(client, "ada@example.com", PASSWORD).status_code == 400, "old password still works"
    assert login(client, "ada@example.com", NEW_PASSWORD).status_code == 303
    assert client.get("/admin/", follow_redirects=False).status_code == 200

    client.cookies.clear()
    client.cookies.update(old_session)
    stale = client.get("/admin/", follow_redirects=False)
    assert stale.status_code == 303 and "/admin/login" in stale.headers["location"], (
        "the session from before the reset must be revoked"
    )
    client.cookies.clear()
    reused = client.get(path)
    assert reused.status_code == 400 and "no longer valid" in reused.text, "a link works once"


def test_unknown_email_gets_the_same_page_and_sends_nothing(mail_client, mail_settings, smtp):
    create_admin(mail_settings, "ada@example.com")
    known = ask_for_reset(mail_client, "ada@example.com")
    unknown = ask_for_reset(mail_client, "nobody@example.com")
    assert unknown.status_code == known.status_code == 200
    assert same_page(unknown.text, "nobody@example.com") == same_page(known.text, "ada@example.com")
    assert [row[0] for row in outbox_rows(mail_settings)] == ["ada@example.com"]
    smtp.wait_for(1)
    assert smtp.to("nobody@example.com") == []


def test_inactive_account_gets_no_link(mail_client, mail_settings):
    create_admin(mail_settings, "off@example.com", is_active=False)
    assert ask_for_reset(mail_client, "off@example.com").status_code == 200
    assert outbox_rows(mail_settings) == []


def test_invalid_email_input_is_a_clear_422(mail_client):
    for value in ["", "not-an-address", "x@" + "y" * 300]:
        response = ask_for_reset(mail_client, value)
        assert response.status_code == 422, value
        assert "Enter your email address." in response.text


def test_requests_are_limited_per_email(mail_settings, smtp):
    settings = mail_settings.model_copy(update={"password_reset_max_per_email": 2})
    create_admin(settings, "ada@example.com")
    with TestClient(create_app(settings)) as client:
        codes = [ask_for_reset(client, "ada@example.com").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert "Too many reset requests" in ask_for_reset(client, "ADA@example.com").text
    assert len(outbox_rows(settings)) == 2, "a refused request queues nothing"


def test_requests_are_limited_per_ip(mail_settings):
    settings = mail_settings.model_copy(update={"password_reset_max_per_ip": 3})
    with TestClient(create_app(settings)) as client:
        codes = [ask_for_reset(client, f"u{n}@example.com").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


def _token(settings, user_id: int, *, age: int = 0, purpose: str = "password-reset") -> str:
    async def load(session):
        return await session.get(AdminUser, user_id)

    user = run(settings, load)

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - age

    serializer = URLSafeTimedSerializer(TEST_SECRET, salt=f"admin-app.{purpose}", signer=Past)
    return serializer.dumps({"u": user.id, "p": _fingerprint(user, "password-reset")})


def test_expired_tampered_and_foreign_tokens_get_the_invalid_page(mail_client, mail_settings):
    user_id = create_admin(mail_settings, "ada@example.com")
    fresh = _token(mail_settings, user_id)
    assert mail_client.get(f"/admin/password-reset/{fresh}").status_code == 200
    expired = _token(mail_settings, user_id, age=31 * 60)
    tampered = fresh[:-2] + ("AA" if not fresh.endswith("AA") else "BB")
    invitation = _token(mail_settings, user_id, purpose="invitation")
    for token in [expired, tampered, invitation, "garbage", "x" * 5000]:
        for method in ("GET", "POST"):
            if method == "GET":
                page = mail_client.get(f"/admin/password-reset/{token}")
            else:
                page = post_form(
                    mail_client,
                    f"/admin/password-reset/{token}",
                    {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
                )
            assert page.status_code == 400, (token[:20], method)
            assert "This link is no longer valid" in page.text
            assert 'href="/admin/password-reset"' in page.text, "offer a new link"


def test_reset_form_enforces_the_password_policy(mail_client, mail_settings, smtp):
    user_id = create_admin(mail_settings, "ada@example.com")
    path = f"/admin/password-reset/{_token(mail_settings, user_id)}"
    cases = {
        "short": ("short", "short"),
        "common": ("password123456", "password123456"),
        "mismatch": (NEW_PASSWORD, NEW_PASSWORD + "x"),
    }
    for name, (password, confirm) in cases.items():
        page = post_form(mail_client, path, {"password": password, "password_confirm": confirm})
        assert page.status_code == 422, name
        assert 'class="alert alert-danger"' in page.text, name
    assert login(mail_client, "ada@example.com", PASSWORD).status_code == 303, "nothing changed"
    assert outbox_rows(mail_settings) == [], "no notice for a refused change"


def test_reset_form_needs_the_csrf_token(mail_client, mail_settings):
    user_id = create_admin(mail_settings, "ada@example.com")
    path = f"/admin/password-reset/{_token(mail_settings, user_id)}"
    response = mail_client.post(
        path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 403
    assert login(mail_client, "ada@example.com", PASSWORD).status_code == 303


def test_a_reset_link_takes_the_apps_port_not_the_clients_host_header(
    mail_client, mail_settings, smtp
):
    create_admin(mail_settings, "ada@example.com")
    mail_client.get("/admin/password-reset", headers={"host": "localhost:9999"})
    answer = mail_client.post(
        "/admin/password-reset",
        data={"email": "ada@example.com", "csrftoken": csrf_token(mail_client)},
        headers={"host": "localhost:9999"},
    )
    assert answer.status_code == 200
    (message,) = smtp.wait_for(1)
    link = reset_link(message)
    assert link.startswith("http://localhost/admin/password-reset/"), (
        f"the link must use the port the app serves on (80 here), not the Host header's: {link}"
    )


@pytest.mark.parametrize("email", ["ada@example.com", "nobody@example.com"])
def test_the_account_is_looked_up_only_after_the_answer_has_gone(
    mail_settings, smtp, monkeypatch, email
):
    """So the answer takes as long whoever asks (it took 6 ms more for a real account)."""
    import time

    from admin_app.auth import reset
    from admin_app.main import create_app

    create_admin(mail_settings, "ada@example.com")
    events: list[tuple[str, float]] = []
    lookup = reset.get_user_by_email

    async def looked_up(db, address):
        events.append(("lookup", time.monotonic()))
        return await lookup(db, address)

    monkeypatch.setattr(reset, "get_user_by_email", looked_up)
    app = create_app(mail_settings)

    async def watched(scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.start" and scope["path"].endswith("reset"):
                events.append(("answer", time.monotonic()))
            await send(message)

        await app(scope, receive, sending)

    with TestClient(watched) as client:
        client.get("/admin/password-reset")
        assert ask_for_reset(client, email).status_code == 200
        if email == "ada@example.com":
            assert smtp.wait_for(1), "the real account still gets its email"
    assert [name for name, _ in events][-2:] == ["answer", "lookup"], events
