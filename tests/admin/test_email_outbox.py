"""The outbox in the admin: dead messages with their error, resend (row and batch), access."""

from __future__ import annotations

from starlette.testclient import TestClient

from admin_app.email.outbox import enqueue
from admin_app.main import create_app
from admin_app.models import OutboxStatus
from tests.email.helpers import statuses
from tests.helpers import create_admin, csrf_token, fetch, login, run, wait_until


def make_dead(settings, count: int) -> list[int]:
    """Queue messages that are dead from the start (so no running worker races us)."""

    async def work(session):
        rows = []
        for n in range(count):
            row = await enqueue(
                session, settings, to=f"reader{n}@example.com", kind="test", context={}
            )
            row.status = OutboxStatus.DEAD
            row.attempts = 8
            row.last_error = "cannot connect: SMTPConnectError: Connection refused"
            rows.append(row)
        await session.flush()
        return [row.id for row in rows]

    return run(settings, work)


def test_dead_messages_are_listed_with_their_error(mail_client, mail_settings, superuser):
    make_dead(mail_settings, 2)
    assert login(mail_client, superuser).status_code == 303
    page = mail_client.get("/admin/email-outbox/list")
    assert page.status_code == 200
    assert "reader0@example.com" in page.text and "reader1@example.com" in page.text
    assert "Connection refused" in page.text, "the error is shown in the list"
    assert 'id="smtp-breaker" data-state="closed"' in page.text
    dead_only = mail_client.get("/admin/email-outbox/list", params={"q": "dead"})
    assert "reader0@example.com" in dead_only.text
    detail = mail_client.get(f"/admin/email-outbox/detail?pk={make_ids(mail_settings)[0]}")
    assert detail.status_code == 200 and "can send email" in detail.text, "the text body is shown"
    assert mail_client.get("/admin/email-outbox/create").status_code == 403
    assert mail_client.get("/admin/email-outbox/edit?pk=1").status_code == 403


def said(client, response) -> str:
    """An action's message: in the JSON answer, or flashed on the page it redirects to."""
    body = response.json()
    if "redirect" in body:
        return client.get(body["redirect"]).text
    return str(body.get("msg", body))


def make_ids(settings) -> list[int]:
    return [row[0] for row in fetch(settings, "SELECT id FROM email_outbox ORDER BY id")]


def test_resend_one_and_many(mail_client, mail_settings, smtp, superuser):
    ids = make_dead(mail_settings, 3)
    assert login(mail_client, superuser).status_code == 303
    headers = {"X-CSRFToken": csrf_token(mail_client)}
    one = mail_client.post(
        f"/admin/_api/email-outbox/row-action?name=resend&pk={ids[0]}", headers=headers
    )
    assert one.status_code == 200, one.text
    assert "1 message(s) queued again" in said(mail_client, one)
    (first,) = smtp.wait_for(1)
    assert first.rcpt_tos == ["reader0@example.com"]
    # The server sees a message just before the sender records it as sent.
    wait_until(lambda: statuses(mail_settings).get("sent") == 1, 10, "the first marked sent")

    many = mail_client.post(
        "/admin/_api/email-outbox/action?name=resend&" + "&".join(f"pks={i}" for i in ids),
        headers=headers,
    )
    assert many.status_code == 200, many.text
    assert "2 message(s) queued again (1 already sent, left alone)" in said(mail_client, many)
    smtp.wait_for(3)
    # The server sees a message just before the sender records it as sent.
    wait_until(lambda: statuses(mail_settings) == {"sent": 3}, 10, "all three marked sent")
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == [
        f"reader{n}@example.com" for n in range(3)
    ], "each resent once; the sent one not again"
    again = mail_client.post(
        f"/admin/_api/email-outbox/row-action?name=resend&pk={ids[0]}", headers=headers
    )
    assert again.status_code == 400 and "sent messages are not sent twice" in again.text
    bad = mail_client.post(
        "/admin/_api/email-outbox/row-action?name=resend&pk=abc", headers=headers
    )
    assert bad.status_code in (400, 404), bad.status_code


def test_only_superusers_see_the_outbox(settings):
    create_admin(settings, "staff@example.com", superuser=False)
    make_dead(settings, 1)
    with TestClient(create_app(settings)) as client:
        assert login(client, "staff@example.com").status_code == 303
        assert client.get("/admin/email-outbox/list").status_code == 403
        assert "email-outbox" not in client.get("/admin/").text
        refused = client.post(
            "/admin/_api/email-outbox/action?name=resend&pks=1",
            headers={"X-CSRFToken": csrf_token(client)},
        )
        assert refused.status_code in (400, 403), refused.status_code
    assert statuses(settings) == {"dead": 1}


def test_readyz_reports_email_health(mail_client, mail_settings):
    make_dead(mail_settings, 2)
    body = mail_client.get("/readyz").json()
    assert body["status"] == "ok"
    assert body["email"] == {
        "backend": "smtp",
        "breaker": "closed",
        "consecutive_failures": 0,
        "retry_in": 0.0,
        "pending": 0,
        "dead": 2,
    }
