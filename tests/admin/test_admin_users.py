"""Creating admin accounts: with a password or by invitation, the form's choices are kept."""

from __future__ import annotations

from tests.helpers import create_admin, fetch, give_role, login, post_form


def roles_of(settings, email: str) -> set[str]:
    rows = fetch(
        settings,
        "SELECT r.name FROM role r JOIN admin_user_role ur ON ur.role_id = r.id "
        "JOIN admin_user u ON u.id = ur.user_id WHERE u.email = :e",
        e=email,
    )
    return {str(r[0]) for r in rows}


def two_roles(settings) -> dict[str, str]:
    rows = fetch(settings, "SELECT id, name FROM role ORDER BY id LIMIT 2")
    assert len(rows) == 2, "the demo data has roles"
    return {str(r[0]): str(r[1]) for r in rows}


def invite(client, email: str, **fields):
    form = {"email": email, "full_name": "Invited", "is_active": "on", "send_invitation": "on"}
    return post_form(client, "/admin/admin-user/create", {**form, **fields}, follow_redirects=False)


def test_an_invitation_keeps_the_roles_chosen_in_the_form(seeded, admin_client):
    roles = two_roles(seeded)
    response = invite(admin_client, "ivy@example.com", roles=list(roles))
    assert response.status_code == 303, response.text[:500]
    assert roles_of(seeded, "ivy@example.com") == set(roles.values()), (
        "the invited account has the roles picked in the form"
    )
    (kind,) = fetch(seeded, "SELECT kind FROM email_outbox WHERE recipient = 'ivy@example.com'")[0]
    assert kind == "invitation"


def test_an_account_with_a_password_keeps_its_roles_too(seeded, admin_client):
    roles = two_roles(seeded)
    password = "orchid lantern meadow 7"
    form = {"email": "pat@example.com", "password": password, "password_confirm": password}
    response = post_form(
        admin_client,
        "/admin/admin-user/create",
        {**form, "is_active": "on", "roles": list(roles)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]
    assert roles_of(seeded, "pat@example.com") == set(roles.values())


def test_only_a_superuser_hands_out_roles_by_invitation(seeded, client):
    create_admin(seeded, "manager@example.com", superuser=False)
    fetch(
        seeded,
        "INSERT INTO role (name, description, scope, created_at, version) "
        "VALUES ('Managers', '', '{}', CURRENT_TIMESTAMP, 1)",
    )
    for code in ("admin-user:view", "admin-user:create"):
        fetch(
            seeded,
            "INSERT INTO role_permission (role_id, code) SELECT id, :c FROM role "
            "WHERE name = 'Managers'",
            c=code,
        )
    give_role(seeded, "manager@example.com", "Managers")
    assert login(client, "manager@example.com").status_code == 303
    managers = fetch(seeded, "SELECT id FROM role WHERE name = 'Managers'")[0][0]
    response = invite(client, "eve@example.com", roles=[str(managers)], is_superuser="on")
    assert response.status_code == 303, response.text[:500]
    assert roles_of(seeded, "eve@example.com") == set(), "a role cannot be handed out by invite"
    superuser = fetch(seeded, "SELECT is_superuser FROM admin_user WHERE email = 'eve@example.com'")
    assert superuser[0][0] in (False, 0)
