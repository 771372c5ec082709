"""Two-factor secrets encrypted at rest, and rotating SECRET_KEY through SECRET_KEY_FALLBACKS.

What the old key signed or encrypted keeps working while it is a fallback; without it,
two-factor login says what to do instead of failing; `admin-app rotate-secrets` moves
everything to the current key, once, however often it runs.
"""

from __future__ import annotations

from typing import Any

import pyotp
from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import select
from starlette.testclient import TestClient

from admin_app.auth.tokens import make_token
from admin_app.cli import main
from admin_app.crypto import Keyring
from admin_app.main import create_app
from admin_app.models import AdminUser
from admin_app.settings import Settings
from tests.auth.test_two_factor import enroll, next_code, second_step
from tests.conftest import TEST_SECRET
from tests.helpers import CSRF_COOKIE, create_admin, fetch, login, post_form, run

OLD = TEST_SECRET  # what the `settings` fixture signs and encrypts with
NEW = "the-new-key-" + "n" * 40
OTHER = "a-key-nobody-configured-" + "z" * 30
UNREADABLE = "set up under a server key that is no longer configured"


def rotated(settings: Settings) -> Settings:
    """The same app after the key changed, the old key kept as a fallback."""
    return settings.model_copy(
        update={"secret_key": SecretStr(NEW), "secret_key_fallbacks": [SecretStr(OLD)]}
    )


def retired(settings: Settings) -> Settings:
    """The same app once the old key is gone."""
    return settings.model_copy(update={"secret_key": SecretStr(NEW), "secret_key_fallbacks": []})


def stored_secret(settings: Settings, email: str = "root@example.com") -> str:
    return str(
        fetch(settings, "SELECT totp_secret FROM admin_user WHERE email = :e", e=email)[0][0]
    )


def two_factor_login(settings: Settings, code: str, email: str = "root@example.com") -> Any:
    """Password, then `code`, in an app running with `settings`; the answer to the code."""
    fetch(settings, "UPDATE admin_user SET totp_last_step = NULL")  # each test step reuses codes
    with TestClient(create_app(settings)) as client:
        assert login(client, email).status_code == 303
        return second_step(client, code)


def test_a_two_factor_secret_is_stored_encrypted(admin_client, settings):
    secret, _codes = enroll(admin_client)
    stored = stored_secret(settings)
    assert secret not in stored, "the TOTP secret is stored in plain text"
    assert Keyring((OLD,), "totp-secret").decrypt(stored) == secret
    assert two_factor_login(settings, next_code(secret)).status_code == 303


def test_what_the_old_key_protects_still_works_while_it_is_a_fallback(admin_client, settings):
    secret, codes = enroll(admin_client)
    assert two_factor_login(rotated(settings), next_code(secret)).status_code == 303
    assert two_factor_login(rotated(settings), codes[0]).status_code == 303, (
        "a recovery code hashed under the old key still works"
    )


def test_a_two_factor_login_re_encrypts_the_secret_under_the_current_key(admin_client, settings):
    secret, _codes = enroll(admin_client)
    assert two_factor_login(rotated(settings), next_code(secret)).status_code == 303
    assert Keyring((NEW,), "totp-secret").decrypt(stored_secret(settings)) == secret
    assert two_factor_login(retired(settings), next_code(secret)).status_code == 303


def test_without_the_old_key_two_factor_login_says_what_to_do(admin_client, settings):
    secret, codes = enroll(admin_client)
    for code in (next_code(secret), codes[0]):
        answer = two_factor_login(retired(settings), code)
        assert answer.status_code == 400, f"{answer.status_code}: {answer.text[:300]}"
        assert UNREADABLE in answer.text, "the page must say why no code can work"
    root = fetch(settings, "SELECT id FROM admin_user WHERE email = 'root@example.com'")[0][0]
    reset = admin_client.post(
        f"/admin/_api/admin-user/row-action?name=reset_2fa&pk={root}",
        headers={"X-CSRFToken": admin_client.cookies[CSRF_COOKIE]},
    )
    assert reset.status_code == 200, reset.text
    with TestClient(create_app(retired(settings))) as client:
        assert login(client, "root@example.com").headers["location"].endswith("/admin/")
        enroll(client)  # set up again, under the new key


def test_a_pending_secret_under_a_retired_key_is_replaced_at_set_up(admin_client, settings):
    admin_client.get("/admin/account/2fa/setup")  # a secret is pending, under the old key
    pending = stored_secret(settings)
    with TestClient(create_app(retired(settings))) as client:
        login(client, "root@example.com")
        secret, _codes = enroll(client)
    assert stored_secret(settings) != pending
    assert Keyring((NEW,), "totp-secret").decrypt(stored_secret(settings)) == secret


def test_sessions_forms_and_links_signed_with_the_old_key(client, settings, superuser):
    assert login(client, superuser).status_code == 303
    client.get("/admin/")
    old_cookies = dict(client.cookies)

    async def reset_token(db: Any) -> str:
        user = await db.scalar(select(AdminUser).where(AdminUser.email == superuser))
        return make_token(settings, user, "password-reset")

    token = run(settings, reset_token)
    with TestClient(create_app(rotated(settings))) as new:
        new.cookies.update(old_cookies)
        assert new.get("/admin/", follow_redirects=False).status_code == 200, (
            "a session cookie signed with a fallback key must still log in"
        )
        assert new.get(f"/admin/password-reset/{token}").status_code == 200
        answer = post_form(new, "/admin/account/password", {"current_password": "wrong"})
        assert answer.status_code == 200, "a CSRF cookie signed with a fallback key is accepted"
    with TestClient(create_app(retired(settings))) as gone:
        gone.cookies.update(old_cookies)
        assert gone.get("/admin/", follow_redirects=False).status_code == 303
        assert gone.get(f"/admin/password-reset/{token}").status_code == 400


def seal_for(key: str, secret: str) -> str:
    return Keyring((key,), "totp-secret").encrypt(secret)


def rotate_secrets(settings: Settings, tmp_path: Any, monkeypatch: Any, *fallbacks: str) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": NEW,
        "SECRET_KEY_FALLBACKS": ",".join(fallbacks),
    }
    result = CliRunner().invoke(main, ["rotate-secrets"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, f"one line of summary, not:\n{result.stdout}"
    return lines[0]


def test_rotate_secrets_moves_webhook_secrets_to_the_current_key(settings, tmp_path, monkeypatch):
    from admin_app.models import WebhookEndpoint

    plain = {"old": "whsec_old", "new": "whsec_new", "lost": "whsec_lost"}
    keys = {"old": OLD, "new": NEW, "lost": OTHER}

    async def work(session: Any) -> None:
        for name, secret in plain.items():
            sealed = Keyring((keys[name],), "webhook-secret").encrypt(secret)
            session.add(
                WebhookEndpoint(
                    url=f"https://{name}.example.com/",
                    models=["tag"],
                    events=["create"],
                    secret=sealed,
                )
            )

    run(settings, work)
    line = rotate_secrets(settings, tmp_path, monkeypatch, OLD)
    assert "webhook secrets: 1 re-encrypted with the current key, 1 already current" in line
    assert ", 1 under no configured key (endpoint ids 3): give those endpoints a new" in line
    current = Keyring((NEW,), "webhook-secret")
    stored = dict(fetch(settings, "SELECT url, secret FROM webhook_endpoint"))
    assert current.decrypt(stored["https://old.example.com/"]) == "whsec_old"
    assert current.decrypt(stored["https://new.example.com/"]) == "whsec_new"


def test_rotate_secrets_moves_every_secret_to_the_current_key(settings, tmp_path, monkeypatch):
    secrets = {f"user{n}@example.com": pyotp.random_base32() for n in range(4)}
    stored = {
        "user0@example.com": secrets["user0@example.com"],  # plain text, from before 0007
        "user1@example.com": seal_for(OLD, secrets["user1@example.com"]),
        "user2@example.com": seal_for(NEW, secrets["user2@example.com"]),
        "user3@example.com": seal_for(OTHER, secrets["user3@example.com"]),
    }
    for email, value in stored.items():
        create_admin(settings, email, totp_secret=value)
        fetch(
            settings, "UPDATE admin_user SET totp_enabled_at = created_at WHERE email = :e", e=email
        )
    lost = fetch(settings, "SELECT id FROM admin_user WHERE email = 'user3@example.com'")[0][0]

    first = rotate_secrets(settings, tmp_path, monkeypatch, OLD)
    assert "2 re-encrypted with the current key (1 were plain text), 1 already current" in first
    assert f"1 under no configured key (account ids {lost})" in first, first
    current = Keyring((NEW,), "totp-secret")
    for n in range(3):
        email = f"user{n}@example.com"
        assert current.decrypt(stored_secret(settings, email)) == secrets[email]
    assert stored_secret(settings, "user3@example.com") == stored["user3@example.com"]

    again = rotate_secrets(settings, tmp_path, monkeypatch, OLD)
    assert "0 re-encrypted with the current key (0 were plain text), 3 already current" in again
    assert "webhook secrets: 0 re-encrypted with the current key, 0 already current" in again
    code = pyotp.TOTP(secrets["user1@example.com"]).now()
    answer = two_factor_login(retired(settings), code, "user1@example.com")
    assert answer.status_code == 303, "after the rotation the old key is no longer needed"
