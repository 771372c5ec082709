"""Migration 0007 on a database that already holds links: out of the outbox and the audit
log, and a message still waiting is sent with a fresh link that works."""

from __future__ import annotations

import json
import re

from starlette.testclient import TestClient

from admin_app.main import create_app
from admin_app.migrations import downgrade, upgrade
from tests.conftest import make_settings, smtp_overrides
from tests.helpers import fetch, password_hash

STALE = "http://testserver/admin/password-reset/eyJ1IjoxfQ.axVpng.ig5j8m2UnzPzNw2y-Fw"
NOTE = "[password-reset link: only the recipient sees it]"


def old_account(settings, email: str) -> int:
    """An account as a database at 0006 holds it (the ORM model is newer than that)."""
    fetch(
        settings,
        "INSERT INTO admin_user (email, full_name, password_hash, is_active, is_superuser, "
        "password_changed_at, created_at, version) VALUES (:e, '', :h, true, false, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)",
        e=email,
        h=password_hash(),
    )
    return int(fetch(settings, "SELECT id FROM admin_user WHERE email = :e", e=email)[0][0])


def old_rows(settings) -> None:
    """What a database at 0006 holds after a reset was asked: a row and its audit entry."""
    text = f"Choose a new password here:\n\n{STALE}\n"
    html = f'<a href="{STALE}">Choose</a> or copy <a href="{STALE}">{STALE}</a>'
    fetch(
        settings,
        "INSERT INTO email_outbox (message_id, kind, recipient, subject, text_body, html_body, "
        "status, attempts, next_attempt_at, last_error, created_at) VALUES ('<m1@store.test>', "
        "'password_reset', 'Ada@Example.com', 'Reset your password', :t, :h, 'pending', 0, "
        "CURRENT_TIMESTAMP, '', CURRENT_TIMESTAMP)",
        t=text,
        h=html,
    )
    changes = {"subject": [None, "Reset your password"], "text_body": [None, text]}
    changes["html_body"] = [None, html]
    fetch(
        settings,
        "INSERT INTO audit_entry (at, actor, ip, action, model, object_pk, object_repr, "
        "changes, note) VALUES (CURRENT_TIMESTAMP, '', '', 'create', 'email_outbox', '1', "
        "'Reset your password', :c, '')",
        c=json.dumps(changes),
    )


def test_0007_takes_stored_links_out_and_a_waiting_message_still_works(
    databases, backend, tmp_path, smtp
):
    settings = make_settings(
        database_url=databases.empty(backend, tmp_path), data_dir=tmp_path / "data"
    )
    upgrade(settings, "0006")
    user_id = old_account(settings, "ada@example.com")
    old_rows(settings)
    upgrade(settings)

    text, html, purpose, owner, base = fetch(
        settings,
        "SELECT text_body, html_body, link_purpose, link_user_id, link_base FROM email_outbox",
    )[0]
    assert STALE not in text + html and NOTE in text and f'href="{NOTE}"' in html
    assert (purpose, owner, base) == (
        "password-reset",
        user_id,
        "http://testserver/admin/password-reset/",
    )
    logged = fetch(settings, "SELECT changes FROM audit_entry WHERE model = 'email_outbox'")[0][0]
    logged = logged if isinstance(logged, dict) else json.loads(logged)
    assert set(logged) == {"subject"}, f"the audit entry still carries {set(logged)}"

    with TestClient(create_app(settings.model_copy(update=smtp_overrides(smtp)))) as client:
        (sent,) = smtp.wait_for(1)
        link = re.search(r"http://testserver(/admin/password-reset/\S+)", sent.text)
        assert link and link.group(0) != STALE and NOTE not in sent.text + sent.html
        assert client.get(link.group(1)).status_code == 200, "the fresh link works"


def test_0007_downgrade_marks_waiting_link_messages_dead(databases, backend, tmp_path):
    settings = make_settings(database_url=databases.empty(backend, tmp_path))
    upgrade(settings, "0006")
    old_account(settings, "ada@example.com")
    old_rows(settings)
    upgrade(settings)
    downgrade(settings, "0006")
    status, error = fetch(settings, "SELECT status, last_error FROM email_outbox")[0]
    assert status == "dead" and "downgrade" in error
    upgrade(settings)
