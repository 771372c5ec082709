"""Login throttling: counted in the database, per account and per client IP."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from admin_app.auth import passwords, throttle
from admin_app.auth.provider import LOGIN_FAILED
from admin_app.db import create_engine, create_sessionmaker, utcnow
from admin_app.main import create_app
from admin_app.models import LoginFailure
from tests.conftest import make_settings
from tests.helpers import PASSWORD, create_admin, fetch, login, post_form, update_rows


def test_account_is_locked_after_five_failures_even_with_the_right_password(client, superuser):
    for _ in range(5):
        assert login(client, superuser, "not the password").status_code == 400
    refused = login(client, superuser, PASSWORD)
    assert refused.status_code == 400
    assert LOGIN_FAILED in refused.text, "a lockout says nothing different"


def test_lockout_lifts_after_the_window(client, superuser, settings):
    for _ in range(5):
        login(client, superuser, "not the password")
    assert login(client, superuser).status_code == 400
    update_rows(
        settings, LoginFailure, created_at=utcnow() - timedelta(seconds=settings.login_window + 1)
    )
    assert login(client, superuser).status_code == 303


def test_success_forgets_earlier_failures(client, superuser, settings):
    for _ in range(3):
        login(client, superuser, "not the password")
    assert login(client, superuser).status_code == 303
    assert fetch(settings, "SELECT count(*) FROM login_failure")[0][0] == 0


def test_one_client_ip_is_limited_across_accounts(settings, tmp_path):
    limited = make_settings(
        database_url=settings.database_url, data_dir=tmp_path, login_max_failures_per_ip=3
    )
    create_admin(limited, "real@example.com")
    with TestClient(create_app(limited)) as client:
        for n in range(3):
            assert login(client, f"guess{n}@example.com", "whatever it is").status_code == 400
        assert login(client, "real@example.com").status_code == 400, "this IP is refused now"


def test_limits_hold_across_processes_because_they_live_in_the_database(settings, superuser):
    # Two separate apps (as two workers would be) share the count.
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        for n in range(5):
            login(first if n % 2 else second, superuser, "not the password")
        assert login(first, superuser).status_code == 400
        assert login(second, superuser).status_code == 400


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """The hashes checked by password verifications during the test, one per check."""
    checked: list[str] = []
    real = passwords.verify_password

    def counting(encoded: str, password: str) -> bool:
        checked.append(encoded)
        return real(encoded, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    return checked


def test_racing_attempts_reach_the_hash_at_most_n_times(settings, superuser, verifications):
    limits = throttle.Limits(per_account=5, per_ip=1000, window=timedelta(minutes=15))

    async def attempt(sessions, n: int) -> bool:
        if not await throttle.begin_attempt(sessions, superuser, f"10.0.0.{n % 50}", limits):
            return False
        await passwords.verify_password_async(None, "wrong guess")
        return True

    async def go() -> int:
        engine = create_engine(settings)
        try:
            sessions = create_sessionmaker(engine)
            admitted = await asyncio.gather(*(attempt(sessions, n) for n in range(60)))
            return sum(admitted)
        finally:
            await engine.dispose()

    admitted = asyncio.run(go())
    assert admitted <= 5, f"{admitted} racing attempts were let through; the limit is 5"
    assert len(verifications) == admitted


def test_a_login_waiting_for_its_hash_holds_no_database_connection(
    settings, superuser, monkeypatch
):
    """Verifications queue for a few worker threads; a login waiting there must not keep
    a pooled connection, or 200 people signing in at once exhaust the pool (503s). The
    connections counted are the login request's own: the app's background workers (the
    outbox, webhooks) check out connections of their own at any moment."""
    from admin_app.auth import provider

    held: list[int] = []
    holders: dict[object, object] = {}
    real = provider.verify_password_async
    with TestClient(create_app(settings)) as client:
        pool = client.app_state["engine"].pool
        event.listen(pool, "checkout", lambda _c, record, _p: holders.update({record: current()}))
        event.listen(pool, "checkin", lambda _c, record: holders.pop(record, None))

        async def watched(password_hash, password):
            held.append(sum(task is current() for task in holders.values()))
            return await real(password_hash, password)

        monkeypatch.setattr(provider, "verify_password_async", watched)
        assert login(client, superuser).status_code == 303
    assert held == [0]


def current() -> object:
    """The task running now (a pool event runs in its caller's task), or None."""
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def test_guessing_the_current_password_on_the_account_page_is_throttled_like_login(
    admin_client, verifications
):
    """A borrowed session must not be a way around the login lockout."""
    change = {
        "new_password": "new sturdy passphrase",
        "new_password_confirm": "new sturdy passphrase",
    }
    for n in range(8):
        answer = post_form(
            admin_client, "/admin/account/password", {**change, "current_password": f"guess {n}"}
        )
        assert answer.status_code == 200
    assert "Too many wrong passwords" in answer.text
    checked = len(verifications)
    assert checked == 5, f"{checked} guesses were checked against the hash; the limit is 5"
    right = post_form(
        admin_client, "/admin/account/password", {**change, "current_password": PASSWORD}
    )
    assert "Password changed" not in right.text, "the right password got through a lockout"
    disable = post_form(admin_client, "/admin/account/2fa/disable", {"password": PASSWORD})
    assert "Too many wrong passwords" in disable.text
    admin_client.cookies.clear()
    assert login(admin_client, "root@example.com").status_code == 400, "login shares the lockout"
