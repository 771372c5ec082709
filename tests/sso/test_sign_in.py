"""Single sign-on end to end: the app, a real provider's pages, the database, on each backend."""

from __future__ import annotations

import json

from admin_app.db import utcnow
from admin_app.settings import Settings
from tests.helpers import create_admin, fetch, login, post_form, table_counts
from tests.sso.conftest import sign_in, start_and_authorize
from tests.sso.provider import Browser, Provider


def account(settings: Settings, email: str) -> dict[str, object]:
    """The account's id, flags and role names, as stored."""
    rows = fetch(
        settings,
        "SELECT id, is_superuser, is_active FROM admin_user WHERE lower(email) = lower(:e)",
        e=email,
    )
    assert rows, f"no account for {email}"
    user_id, superuser, active = rows[0]
    names = fetch(
        settings,
        "SELECT r.name FROM role r JOIN admin_user_role ur ON ur.role_id = r.id "
        "WHERE ur.user_id = :u ORDER BY r.name",
        u=user_id,
    )
    return {
        "id": user_id,
        "superuser": bool(superuser),
        "active": bool(active),
        "roles": [name for (name,) in names],
    }


def audit(settings: Settings, action: str) -> list[tuple[str, str, object]]:
    rows = fetch(
        settings,
        "SELECT actor, note, changes FROM audit_entry WHERE action = :a ORDER BY id",
        a=action,
    )
    return [(actor, note, json.loads(c) if isinstance(c, str) else c) for actor, note, c in rows]


def test_first_sign_in_creates_the_account_and_later_ones_follow_the_groups(
    settings, provider: Provider, sso_app
):
    provider.accounts(
        alice={"email": "alice@corp.test", "name": "Alice Doe", "groups": ["support", "x"]}
    )
    app, browser = sso_app(), Browser(provider)
    page = app.get("/admin/login")
    assert "Sign in with Test ID" in page.text, "the login page should offer single sign-on"

    done = sign_in(app, browser, "alice", next_url="/admin/customer/list")
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith("/admin/customer/list"), "back where she was headed"
    first = account(settings, "alice@corp.test")
    assert first["roles"] == ["Support"], "support maps to Support; x maps to nothing"
    assert first["superuser"] is False
    assert app.get("/admin/customer/list").status_code == 200, (
        "the session works like a password one"
    )
    (actor, _, changes), *_ = audit(settings, "login")
    assert (actor, changes) == ("alice@corp.test", {"method": "sso"}), "logged as an SSO login"
    created = fetch(
        settings, "SELECT actor FROM audit_entry WHERE action = 'create' AND model = 'admin_user'"
    )
    assert created == [("sso:alice@corp.test",)], "the new account is logged as made by her sign-in"

    # At the provider: the address changes, support is removed, admins and sales added.
    provider.accounts(
        alice={"email": "alice.doe@corp.test", "groups": ["admins", "sales"], "name": "Alice"}
    )
    again = sign_in(app, browser, "alice")  # the provider remembers her: no login form
    assert again.status_code == 303, again.text
    second = account(settings, "alice.doe@corp.test")
    assert second["id"] == first["id"], "the same person (issuer + subject), not a second account"
    assert second["roles"] == ["Sales"], "a removed group removes its role at the next sign-in"
    assert second["superuser"] is True, "admins maps to Superuser"
    assert fetch(settings, "SELECT count(*) FROM admin_user")[0][0] == 1

    out = post_form(app, "/admin/logout", {}, follow_redirects=False)
    assert out.status_code == 303
    assert app.get("/admin/", follow_redirects=False).status_code in (302, 303, 307)
    assert [a for a, *_ in audit(settings, "logout")] == ["alice.doe@corp.test"]


def test_roles_the_map_does_not_name_are_left_to_administrators(settings, provider, sso_app):
    create_admin(settings, "bob@corp.test", superuser=False)
    fetch(
        settings,
        "INSERT INTO admin_user_role (user_id, role_id) SELECT u.id, r.id FROM admin_user u, "
        "role r WHERE u.email = 'bob@corp.test' AND r.name IN ('Auditor', 'Support')",
    )
    provider.accounts(bob={"email": "bob@corp.test", "groups": ["sales"]})
    done = sign_in(sso_app(), Browser(provider), "bob")
    assert done.status_code == 303, done.text
    assert account(settings, "bob@corp.test")["roles"] == ["Auditor", "Sales"], (
        "an existing account with a verified address is linked; Support (mapped, group "
        "missing) goes, Auditor (not in the map) stays"
    )


def test_no_mapped_role_is_refused_with_a_page_and_nothing_is_kept(settings, provider, sso_app):
    provider.accounts(carol={"email": "carol@corp.test", "groups": ["interns"]})
    before = table_counts(settings)
    refused = sign_in(sso_app(), Browser(provider), "carol")
    assert refused.status_code == 403
    assert "gives you no role" in refused.text
    after = table_counts(settings)
    assert after["admin_user"] == before["admin_user"], "no account is created for nobody"
    assert after["admin_session"] == before["admin_session"]
    notes = [note for _, note, _ in audit(settings, "login_failed")]
    assert any("no role" in note for note in notes), notes


def test_a_disabled_account_cannot_sign_in(settings, provider, sso_app):
    provider.accounts(dave={"email": "dave@corp.test", "groups": ["support"]})
    app, browser = sso_app(), Browser(provider)
    assert sign_in(app, browser, "dave").status_code == 303
    fetch(settings, "UPDATE admin_user SET is_active = false WHERE email = 'dave@corp.test'")
    refused = sign_in(sso_app(), browser, "dave")
    assert refused.status_code == 403
    assert "disabled" in refused.text
    assert account(settings, "dave@corp.test")["active"] is False


def test_a_callback_with_another_state_is_refused(settings, provider, sso_app):
    provider.accounts(erin={"email": "erin@corp.test", "groups": ["support"]})
    app, browser = sso_app(), Browser(provider)
    back = start_and_authorize(app, browser, "erin")
    refused = app.get(back.replace("state=", "state=forged"), follow_redirects=False)
    assert refused.status_code == 400
    assert "state does not match" in refused.text
    assert app.get("/admin/", follow_redirects=False).status_code != 200, "not signed in"
    back = start_and_authorize(app, browser, "erin")
    other_issuer = back.replace("iss=", "iss=https%3A%2F%2Fevil.example")
    assert "another provider" in app.get(other_issuer, follow_redirects=False).text
    assert fetch(settings, "SELECT count(*) FROM admin_session")[0][0] == 0


def test_a_replayed_code_is_refused(settings, provider, sso_app):
    provider.accounts(frank={"email": "frank@corp.test", "groups": ["support"]})
    app = sso_app()
    back = start_and_authorize(app, Browser(provider), "frank")
    flow_cookie = app.cookies["admin_sso"]
    assert app.get(back, follow_redirects=False).status_code == 303
    thief = sso_app()
    thief.cookies.set("admin_sso", flow_cookie, path="/admin/sso")
    replayed = thief.get(back, follow_redirects=False)
    assert replayed.status_code == 400, "the provider refuses a code used once already"
    assert "refused to complete the sign-in" in replayed.text
    assert fetch(settings, "SELECT count(*) FROM admin_session")[0][0] == 1


def test_sso_only_refuses_passwords_except_the_break_glass_superuser(settings, provider, sso_app):
    create_admin(settings, "root@example.com", superuser=True)
    create_admin(settings, "staff@example.com", superuser=True)
    app = sso_app(sso_only=True, sso_break_glass_email="Root@Example.com")
    page = app.get("/admin/login").text
    assert "Sign in with Test ID" in page
    assert 'id="break-glass"' in page, "the password form is tucked away for emergencies"
    refused = login(app, "staff@example.com")
    assert refused.status_code == 400
    assert "only for the emergency administrator" in refused.text
    assert login(app, "root@example.com", "wrong password!").status_code == 400
    assert login(app, "root@example.com").status_code == 303, "the break-glass account gets in"


def test_require_2fa_takes_the_providers_mfa_or_asks_for_enrollment(settings, provider, sso_app):
    provider.accounts(
        gina={"email": "gina@corp.test", "groups": ["admins"], "amr": ["pwd", "mfa"]},
        hank={"email": "hank@corp.test", "groups": ["admins"], "amr": ["pwd"]},
    )
    app = sso_app(require_2fa=True)
    assert sign_in(app, Browser(provider), "gina").status_code == 303
    assert app.get("/admin/", follow_redirects=False).status_code == 200, (
        "the provider checked a second factor (amr mfa): no enrollment asked"
    )
    other = sso_app(require_2fa=True)
    assert sign_in(other, Browser(provider), "hank").status_code == 303
    home = other.get("/admin/", follow_redirects=False)
    assert home.status_code == 303
    assert "/account/2fa" in home.headers["location"], "password only at the provider: enroll"


def test_the_apps_own_two_factor_step_follows_a_sign_in_without_mfa(settings, provider, sso_app):
    create_admin(
        settings,
        "ivy@corp.test",
        superuser=True,
        totp_secret="JBSWY3DPEHPK3PXP",
        totp_enabled_at=utcnow(),
    )
    provider.accounts(ivy={"email": "ivy@corp.test", "groups": ["admins"], "amr": ["pwd"]})
    app = sso_app()
    done = sign_in(app, Browser(provider), "ivy")
    assert done.status_code == 303
    assert done.headers["location"].endswith("/admin/login/2fa"), "the code is asked for"
    assert fetch(settings, "SELECT count(*) FROM admin_session")[0][0] == 0, "no session yet"
    provider.accounts(ivy={"email": "ivy@corp.test", "groups": ["admins"], "amr": ["hwk"]})
    keyed = sign_in(sso_app(), Browser(provider), "ivy")
    assert keyed.headers["location"].endswith("/admin/"), "a security key at the provider is enough"
