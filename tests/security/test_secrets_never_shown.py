"""Secrets never shown: a reset or invitation link is readable by its recipient alone.

Real links are captured from the emails a real SMTP server received. Then every page,
search, JSON answer and export that a superuser, and a role that may only read (and
export) the outbox and the audit log, can reach is searched for them, as are the JSON
log lines and the live messages both received. Finally the links of messages that
died and were resent from the outbox are used: a new password, then a login with it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import inspect, select
from starlette.testclient import TestClient, WebSocketTestSession

from admin_app.admin.registry import REGISTRY
from admin_app.main import create_app
from admin_app.settings import Settings
from tests.conftest import LogCapture
from tests.email.helpers import statuses
from tests.email.sink import Received, SmtpSink
from tests.helpers import CSRF_COOKIE, create_admin, fetch, login, run, wait_until
from tests.web.test_live import kind, next_json, watching

READER = "reader@example.com"
READER_PERMISSIONS = (
    "email-outbox:view",
    "email-outbox:export",
    "audit-entry:view",
    "audit-entry:export",
)
NEW_PASSWORD = "a phrase only its owner knows"
LINK = re.compile(r"http://testserver/admin/(?:password-reset|invitation)/([A-Za-z0-9_.-]+)")
SEARCHES = ("reset", "invitation", "http", "admin", "link")


class Secret:
    """A link captured from a delivered email, and the strings that would give it away."""

    def __init__(self, message: Received) -> None:
        found = LINK.search(message.text)
        assert found, f"no reset or invitation link in {message.subject!r}:\n{message.text}"
        self.url, self.token = found.group(0), found.group(1)
        self.path = self.url.removeprefix("http://testserver")
        self.recipient = message.rcpt_tos[0]

    def found_in(self, text: str) -> str | None:
        """What of the link `text` gives away (the token, or its signature), if anything."""
        signature = self.token.rsplit(".", 1)[-1]
        for name, needle in (("token", self.token), ("token's signature", signature)):
            if needle in text:
                return name
        return None


class Visitor:
    """One person in the shared app: their own cookies, sent with each request."""

    def __init__(self, client: TestClient, email: str | None = None) -> None:
        self.client = client
        client.cookies.clear()
        if email is not None:
            assert login(client, email).status_code == 303, f"{email} cannot log in"
        client.get("/admin/login")
        self.cookies = dict(client.cookies)
        client.cookies.clear()

    @property
    def headers(self) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {"cookie": cookie, "x-csrftoken": self.cookies[CSRF_COOKIE]}

    def get(self, url: str, **params: Any) -> Any:
        response = self.client.get(url, params=params, headers=self.headers)
        self.client.cookies.clear()
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **params: Any) -> Any:
        form = {**(data or {}), "csrftoken": self.cookies[CSRF_COOKIE]}
        response = self.client.post(
            url, params=params, data=form, headers=self.headers, follow_redirects=False
        )
        self.client.cookies.clear()
        return response

    def socket(self) -> Any:
        headers = {"cookie": self.headers["cookie"], "origin": "http://testserver"}
        return self.client.websocket_connect("/admin/ws", headers=headers)


def add_reader(settings: Settings) -> None:
    """An account whose only role may read and export the outbox and the audit log."""
    create_admin(settings, READER, superuser=False, full_name="Rea Der")
    fetch(
        settings,
        "INSERT INTO role (name, description, scope, created_at, version) "
        "VALUES ('Outbox readers', '', '{}', CURRENT_TIMESTAMP, 1)",
    )
    for code in READER_PERMISSIONS:
        fetch(
            settings,
            "INSERT INTO role_permission (role_id, code) SELECT id, :c FROM role",
            c=code,
        )
    fetch(
        settings,
        "INSERT INTO admin_user_role (user_id, role_id) SELECT u.id, r.id "
        "FROM admin_user u, role r WHERE u.email = :e",
        e=READER,
    )


def ask_reset(client: TestClient, email: str) -> None:
    """ "Forgot password?" on the login page, as an anonymous visitor."""
    visitor = Visitor(client)
    answer = visitor.post("/admin/password-reset", {"email": email})
    assert answer.status_code == 200 and "Check your email" in answer.text, answer.text[:500]


def invite(root: Visitor, email: str) -> None:
    """Admin users → new user, with "Send an invitation" ticked."""
    form = {"email": email, "full_name": "", "is_active": "on", "send_invitation": "on"}
    created = root.post("/admin/admin-user/create", form)
    assert created.status_code == 303, created.text[:800]


def outbox_id(settings: Settings, recipient: str) -> int:
    return int(
        fetch(settings, "SELECT id FROM email_outbox WHERE recipient = :r", r=recipient)[0][0]
    )


def choose_password(client: TestClient, secret: Secret) -> None:
    """The recipient opens the link, chooses a password and logs in with it."""
    visitor = Visitor(client)
    page = visitor.get(secret.path)
    assert page.status_code == 200, f"the resent link to {secret.recipient} does not work"
    done = visitor.post(secret.path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 303, done.text[:500]
    client.cookies.clear()
    assert login(client, secret.recipient, NEW_PASSWORD).status_code == 303, (
        f"{secret.recipient} cannot log in with the password chosen from the resent link"
    )
    client.cookies.clear()


def primary_keys(settings: Settings, model: type[Any]) -> list[str]:
    """Every row's key, as the detail page takes it."""
    (column,) = inspect(model).primary_key

    async def work(session: Any) -> list[str]:
        return [str(pk) for pk in (await session.scalars(select(column))).all()]

    return list(run(settings, work))


def readable(response: Any) -> str:
    """A response's text; for an XLSX file, the text of every part of the archive."""
    if response.headers.get("content-type", "").startswith("application/vnd.openxmlformats"):
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            return "\n".join(archive.read(name).decode() for name in archive.namelist())
    return str(response.text)


def everything_seen_by(visitor: Visitor, settings: Settings) -> Iterator[tuple[str, str]]:
    """(where, what) for every page, search, JSON answer and export the visitor can reach."""
    for url in ("/admin/", "/admin/account"):
        yield url, readable(visitor.get(url))
    for view in REGISTRY:
        key = view.key
        listing = visitor.get(f"/admin/{key}/list")
        if listing.status_code == 403:
            continue
        assert listing.status_code == 200, f"{key}: list answered {listing.status_code}"
        yield f"{key} list", listing.text
        pks = primary_keys(settings, view.model)
        for pk in pks:
            detail = visitor.get(f"/admin/{key}/detail", pk=pk)
            assert detail.status_code == 200, f"{key} {pk}: detail answered {detail.status_code}"
            yield f"{key} detail {pk}", detail.text
        for term in SEARCHES:
            yield f"{key} search {term!r}", visitor.get(f"/admin/{key}/list", q=term).text
        lookup = f"/admin/_api/{key}/relation-lookup"
        yield f"{key} lookup", visitor.get(lookup, q="").text
        if pks:
            yield (
                f"{key} lookup by key",
                visitor.client.get(
                    lookup, params=[("pks", pk) for pk in pks], headers=visitor.headers
                ).text,
            )
        yield from exports(visitor, view)


def exports(visitor: Visitor, view: Any) -> Iterator[tuple[str, str]]:
    """The view's whole list in each format it offers, when the visitor may export it."""
    for fmt in view.export_formats:
        form = {"scope": "all", "format": fmt}
        response = visitor.post(f"/admin/_api/{view.key}/action", form, name="export")
        if response.status_code in (400, 403) and "export" in response.text.lower():
            continue  # not this visitor's to export
        assert response.status_code == 200, f"{view.key} {fmt}: {response.text[:300]}"
        yield f"{view.key} {fmt} export", readable(response)


def received_until_watching(ws: WebSocketTestSession, model: str) -> list[dict[str, Any]]:
    """Every message queued for the socket, up to the answer to one more watch message."""
    seen: list[dict[str, Any]] = []

    def record(message: dict[str, Any]) -> bool:
        seen.append(message)
        return bool(message["type"] == "watching")

    ws.send_json({"type": "watch", "model": model})
    next_json(ws, record)
    return seen


@pytest.fixture
def app_settings(mail_settings: Settings) -> Settings:
    """Sending through the SMTP sink; a message that cannot be sent is dead at once."""
    settings = mail_settings.model_copy(update={"email_max_attempts": 1})
    create_admin(settings, "root@example.com", full_name="Rita Root")
    create_admin(settings, "bob@example.com", superuser=False, full_name="Bob")
    add_reader(settings)
    return settings


def test_reset_and_invitation_links_reach_only_their_recipient(
    app_settings: Settings, smtp: SmtpSink, json_logs: LogCapture
) -> None:
    settings = app_settings
    with TestClient(create_app(settings)) as client:
        root, reader = Visitor(client, "root@example.com"), Visitor(client, READER)
        with root.socket() as root_ws, reader.socket() as reader_ws:
            watching(root_ws, "admin-user")
            watching(reader_ws, "email-outbox")
            ask_reset(client, "root@example.com")
            invite(root, "ada@example.com")
            delivered = smtp.wait_for(2)

            smtp.stop()  # the next two die, then are resent from the outbox
            ask_reset(client, "bob@example.com")
            invite(root, "eve@example.com")
            wait_until(lambda: statuses(settings).get("dead") == 2, 20, "two dead messages")
            smtp.start()
            resend_one = root.post(
                "/admin/_api/email-outbox/row-action",
                name="resend",
                pk=outbox_id(settings, "bob@example.com"),
            )
            assert resend_one.status_code == 200, resend_one.text
            resend_many = root.post(
                "/admin/_api/email-outbox/action",
                name="resend",
                pks=outbox_id(settings, "eve@example.com"),
            )
            assert resend_many.status_code == 200, resend_many.text
            delivered = smtp.wait_for(4)

            live = [next_json(root_ws, kind("change", model="admin-user"))]
            live += received_until_watching(root_ws, "admin-user")
            live += received_until_watching(reader_ws, "email-outbox")
        secrets = [Secret(m) for m in delivered]
        assert sorted(s.recipient for s in secrets) == [
            "ada@example.com",
            "bob@example.com",
            "eve@example.com",
            "root@example.com",
        ]

        # The recipient opens a link, and posts its form with a stale CSRF cookie.
        opened = Visitor(client).get(secrets[0].path)
        assert opened.status_code == 200
        stale = client.post(secrets[0].path, data={"password": "x"}, follow_redirects=False)
        assert stale.status_code == 403
        client.cookies.clear()

        seen = [
            (f"as {name}: {where}", text)
            for name, visitor in (("superuser", root), ("outbox reader", reader))
            for where, text in everything_seen_by(visitor, settings)
        ]
        seen += [("the JSON log", json_logs.text)]
        seen += [(f"live message {m}", str(m)) for m in live]
        leaks = [
            f"{where} shows the {what} of the link sent to {secret.recipient}"
            for where, text in seen
            for secret in secrets
            if (what := secret.found_in(text))
        ]
        assert not leaks, "\n".join(leaks[:40])
        assert len(seen) > 100, f"only {len(seen)} places were read: the walk is broken"

        reset_row = outbox_id(settings, "root@example.com")
        detail = reader.get("/admin/email-outbox/detail", pk=reset_row).text
        assert "[password-reset link: only the recipient sees it]" in detail, (
            "the outbox says where the link was"
        )
        for secret in secrets:
            if secret.recipient in ("bob@example.com", "eve@example.com"):
                choose_password(client, secret)


def test_an_outbox_row_is_audited_without_its_bodies(client, superuser, settings):
    ask_reset(client, superuser)
    (logged,) = fetch(settings, "SELECT changes FROM audit_entry WHERE model = 'email_outbox'")
    changes = logged[0] if isinstance(logged[0], dict) else json.loads(logged[0])
    assert {"subject", "recipient", "kind"} <= set(changes), changes
    assert not {"text_body", "html_body"} & set(changes), (
        "the audit log repeats the rendered email: its subject, recipient and kind say enough"
    )
