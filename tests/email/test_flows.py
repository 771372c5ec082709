"""The emails the app sends, end to end through the admin and a real SMTP server."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.email.helpers import statuses
from tests.helpers import PASSWORD, create_admin, csrf_token, fetch, login, post_form

NEW_PASSWORD = "an invitee chooses this phrase"


def order_form(settings, order_id: int, **changes: str) -> dict[str, str]:
    customer, total, placed, notes = fetch(
        settings,
        "SELECT customer_id, total, placed_at, notes FROM orders WHERE id = :i",
        i=order_id,
    )[0]
    placed_at = placed if isinstance(placed, str) else placed.strftime("%Y-%m-%dT%H:%M:%S")
    form = {
        "customer": str(customer),
        "status": "paid",
        "total": f"{float(total):.2f}",
        "placed_at": str(placed_at)[:19].replace(" ", "T"),
        "notes": notes or "",
    }
    form.update(changes)
    return form


def unshipped_order(settings) -> tuple[int, str, str]:
    order_id, email, first, last = fetch(
        settings,
        "SELECT o.id, c.email, c.first_name, c.last_name FROM orders o "
        "JOIN customer c ON c.id = o.customer_id WHERE o.status <> 'shipped' ORDER BY o.id LIMIT 1",
    )[0]
    return int(order_id), str(email), f"{first} {last}"


def test_marking_an_order_shipped_emails_its_customer_once(seeded, mail_settings, smtp, superuser):
    order_id, email, name = unshipped_order(seeded)
    lines = fetch(seeded, "SELECT count(*) FROM order_line WHERE order_id = :i", i=order_id)[0][0]
    with TestClient(create_app(mail_settings)) as client:
        assert login(client, superuser).status_code == 303
        url = f"/admin/order/edit?pk={order_id}"
        form = order_form(seeded, order_id, status="shipped")
        response = post_form(client, url, form, follow_redirects=False)
        assert response.status_code == 303, response.text[:800]
        (message,) = smtp.wait_for(1)
        again = post_form(client, url, {**form, "notes": "left the depot"}, follow_redirects=False)
        assert again.status_code == 303
    assert message.rcpt_tos == [email]
    assert message.subject == f"Your order #{order_id} has shipped"
    assert f"Hello {name}" in message.text and f"#{order_id}</strong>" in message.html
    assert len(re.findall(r"^\s+\d+ x ", message.text, re.M)) == lines, message.text
    assert len(smtp.to(email)) == 1 and statuses(seeded) == {"sent": 1}, (
        "saving an order that was already shipped sends nothing"
    )


def refuse_notes(settings, backend: str, value: str) -> None:
    """Make the database itself refuse an order update carrying `value` in its notes.

    On PostgreSQL the refusal is a deferred constraint trigger, so it fires at COMMIT,
    after the edit and its outbox row were flushed: the hardest case for an outbox. SQLite
    has no deferred triggers; there the update itself is refused inside the edit.
    """
    if backend == "sqlite":
        fetch(
            settings,
            "CREATE TRIGGER refuse BEFORE UPDATE ON orders "
            f"WHEN NEW.notes = '{value}' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        return
    fetch(
        settings,
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$",
    )
    fetch(
        settings,
        "CREATE CONSTRAINT TRIGGER refuse AFTER UPDATE ON orders "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        f"WHEN (NEW.notes = '{value}') EXECUTE FUNCTION refuse()",
    )


def test_a_shipped_edit_that_rolls_back_sends_nothing(
    seeded, backend, mail_settings, smtp, superuser
):
    order_id, email, _ = unshipped_order(seeded)
    refuse_notes(seeded, backend, "boom")
    with TestClient(create_app(mail_settings), raise_server_exceptions=False) as client:
        assert login(client, superuser).status_code == 303
        url = f"/admin/order/edit?pk={order_id}"
        refused = post_form(
            client, url, order_form(seeded, order_id, status="shipped", notes="boom")
        )
        assert refused.status_code >= 400, refused.status_code
        assert (
            fetch(seeded, "SELECT status FROM orders WHERE id = :i", i=order_id)[0][0] != "shipped"
        )
        assert statuses(seeded) == {}, "the outbox row went with the rolled-back edit"
        # A control that succeeds: had the refused edit queued anything, it would arrive first.
        ok = post_form(
            client, url, order_form(seeded, order_id, status="shipped"), follow_redirects=False
        )
        assert ok.status_code == 303
        smtp.wait_for(1)
    assert [m.rcpt_tos for m in smtp.messages] == [[email]]


def test_invitation_lets_the_invitee_choose_a_password(mail_client, mail_settings, smtp, superuser):
    client = mail_client
    assert login(client, superuser).status_code == 303
    form = {"email": "grace@example.com", "full_name": "Grace Hopper", "is_active": "on"}
    refused = post_form(client, "/admin/admin-user/create", form)
    assert refused.status_code == 422 and "Enter a password, or choose to send an invitation" in (
        refused.text
    )
    both = post_form(
        client, "/admin/admin-user/create", {**form, "send_invitation": "on", "password": "x" * 20}
    )
    assert both.status_code == 422 and "Leave the password empty" in both.text
    created = post_form(
        client,
        "/admin/admin-user/create",
        {**form, "send_invitation": "on"},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text[:800]

    (invite,) = smtp.wait_for(1)
    assert invite.rcpt_tos == ["grace@example.com"]
    assert invite.subject == "You are invited to Store Admin"
    assert "Test Admin has created an account for you" in invite.text
    link = re.search(r"http://testserver(/admin/invitation/\S+)", invite.text)
    assert link and link.group(0) in invite.html
    path = link.group(1)

    client.cookies.clear()
    assert login(client, "grace@example.com", "").status_code == 400, "no password works yet"
    page = client.get(path)
    assert page.status_code == 200 and "Welcome! Choose your password" in page.text
    done = post_form(
        client,
        path,
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert login(client, "grace@example.com", NEW_PASSWORD).status_code == 303
    client.cookies.clear()
    assert client.get(path).status_code == 400, "an invitation works once"
    assert len(smtp.messages) == 1, "accepting an invitation is no password change to warn of"


def test_a_login_from_a_new_address_sends_a_notice(settings, smtp, superuser):
    from tests.conftest import smtp_overrides

    trusting = settings.model_copy(update=smtp_overrides(smtp, forwarded_allow_ips=["*"]))
    with TestClient(create_app(trusting)) as client:
        home = {"X-Forwarded-For": "198.51.100.1"}
        for _ in range(2):
            client.cookies.clear()  # a logged-in client is not logged in again
            assert login(client, superuser, **home).status_code == 303
        assert fetch(trusting, "SELECT count(*) FROM admin_session")[0][0] == 2
        assert fetch(trusting, "SELECT count(*) FROM email_outbox")[0][0] == 0, (
            "the first login and a known address send nothing"
        )
        client.cookies.clear()
        away = login(
            client, superuser, **{"X-Forwarded-For": "203.0.113.9", "User-Agent": "Firefox/140"}
        )
        assert away.status_code == 303
        (notice,) = smtp.wait_for(1)
    assert notice.rcpt_tos == [superuser]
    assert notice.subject == "New sign-in to Store Admin from 203.0.113.9"
    assert "Firefox/140" in notice.text and "Firefox/140" in notice.html


def test_setting_a_password_in_the_admin_sends_a_notice(
    mail_client, mail_settings, smtp, superuser
):
    assert login(mail_client, superuser).status_code == 303
    other = create_admin(mail_settings, "bob@example.com", superuser=False)
    response = mail_client.post(
        f"/admin/_api/admin-user/row-action?name=set_password&pk={other}",
        data={"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
        headers={"X-CSRFToken": csrf_token(mail_client)},
    )
    assert response.status_code == 200, response.text
    (notice,) = smtp.wait_for(1)
    assert notice.rcpt_tos == ["bob@example.com"]
    assert notice.subject == "Your Store Admin password was changed"
    assert "http://testserver/admin/password-reset" in notice.text
    mail_client.cookies.clear()
    assert login(mail_client, "bob@example.com", PASSWORD).status_code == 400
    assert login(mail_client, "bob@example.com", NEW_PASSWORD).status_code == 303
