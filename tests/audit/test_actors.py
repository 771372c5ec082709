"""Who the audit log names: a web request's user, never the OS user who started the server."""

from __future__ import annotations

import re

import httpx2

from tests.audit.test_audit import entries
from tests.helpers import CSRF_COOKIE, fetch
from tests.server import running_server

NEW_PASSWORD = "tangerine orbit velvet 42"


def post(client: httpx2.Client, url: str, data: dict[str, str]) -> httpx2.Response:
    if CSRF_COOKIE not in client.cookies:
        client.get("/admin/login")
    token = client.cookies[CSRF_COOKIE]
    return client.post(url, data={**data, "csrftoken": token}, follow_redirects=False)


def reset_link(smtp) -> str:
    """The link of the reset email as its recipient gets it (the outbox never holds it)."""
    (message,) = smtp.wait_for(1)
    found = re.search(r"https?://[^/\s]+(/admin/password-reset/\S+)", message.text)
    assert found, message.text
    return found.group(1)


def test_entries_made_by_web_requests_name_the_requests_user(settings, superuser, smtp):
    start = fetch(settings, "SELECT coalesce(max(id), 0) FROM audit_entry")[0][0]
    mail = {"EMAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port)}
    with running_server(settings, **mail) as base:  # `admin-app serve`: a CLI command
        with httpx2.Client(base_url=base) as visitor:
            sent = post(visitor, "/admin/password-reset", {"email": superuser})
            assert sent.status_code == 200, sent.text[:300]
            refused = post(visitor, "/admin/login", {"username": "nobody@example.com",
                                                     "password": "not a password"})  # fmt: skip
            assert refused.status_code == 400
        with httpx2.Client(base_url=base) as owner:
            link = reset_link(smtp)
            done = post(owner, link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
            assert done.status_code == 303, done.text[:300]
        with httpx2.Client(base_url=base) as admin:
            signed_in = post(admin, "/admin/login", {"username": superuser,
                                                     "password": NEW_PASSWORD})  # fmt: skip
            assert signed_in.status_code == 303, signed_in.text[:300]
            invited = post(admin, "/admin/admin-user/create",
                           {"email": "new@example.com", "send_invitation": "on"})  # fmt: skip
            assert invited.status_code == 303, invited.text[:300]

    log = entries(settings, "id > :s", s=start)
    assert log, "the requests were logged"
    process = [
        (e["action"], e["model"], e["actor"])
        for e in log
        if e["actor"].startswith("cli:") or e["actor"] == "system"
    ]
    assert not process, f"entries named after the server process, not a request: {process}"

    def actors(action: str, model: str, **changes: str) -> set[str]:
        found = {
            e["actor"]
            for e in log
            if e["action"] == action
            and e["model"] == model
            and all(e["changes"].get(k, [None, None])[1] == v for k, v in changes.items())
        }
        assert found, f"no {action} of {model} {changes} in {log}"
        return found

    assert actors("create", "email_outbox", kind="password_reset") == {"anonymous"}
    assert {e["actor"] for e in log if e["action"] == "login_failed"} == {"anonymous"}
    assert actors("update", "admin_user") == {superuser}, "a reset link names its owner"
    assert actors("create", "email_outbox", kind="password_changed") == {superuser}
    assert actors("create", "admin_user") == {superuser}, "the inviting administrator"
    assert actors("create", "email_outbox", kind="invitation") == {superuser}
    assert {e["ip"] for e in log} == {"127.0.0.1"}, "each entry has the request's address"
