"""A delegated administrator can never become, or take over, more than they hold.

Roles granting every combination of view, edit and delete on admin users and on
roles try every way into a superuser's account and into a wider role: edit its fields,
set its password, reset its 2FA, deactivate or delete it, grant themselves a role or a
permission. Nothing may change. Email addresses change only once the new address
confirms.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.forms import read_form
from tests.helpers import (
    create_admin,
    csrf_token,
    fetch,
    give_role,
    login,
    make_role,
    post_form,
)

ACTIONS = ("view", "edit", "delete")
COMBOS = [
    (users, roles)
    for users in itertools.chain.from_iterable(itertools.combinations(ACTIONS, n) for n in range(4))
    for roles in itertools.chain.from_iterable(itertools.combinations(ACTIONS, n) for n in range(4))
    if users or roles
]


def snapshot(settings: Any) -> list[Any]:
    """Everything that says who may do what, and how to get into an account."""
    return [
        fetch(
            settings,
            "SELECT id, email, pending_email, full_name, password_hash, is_active, "
            "is_superuser, totp_secret, totp_enabled_at FROM admin_user ORDER BY id",
        ),
        fetch(settings, "SELECT user_id, role_id FROM admin_user_role ORDER BY 1, 2"),
        fetch(settings, "SELECT role_id, code FROM role_permission ORDER BY 1, 2"),
        fetch(settings, "SELECT id, name, scope FROM role ORDER BY id"),
    ]


def _try_everything(
    client: TestClient, root_id: int, my_role: int, wide_role: int, codes: list[str]
) -> None:
    """Every door into the superuser's account and into a wider role, as one user."""
    headers = {"X-CSRFToken": csrf_token(client)}
    page = client.get(f"/admin/admin-user/edit?pk={root_id}")
    assert page.status_code in (403, 404), f"the superuser's edit form opened ({page.status_code})"
    for change in (
        {"email": "attacker@example.com"},
        {"is_active": ""},
        {"full_name": "Owned"},
        {"roles": str(my_role)},
    ):
        post_form(client, f"/admin/admin-user/edit?pk={root_id}", {"_version": "1", **change})
    for action in ("set_password", "reset_2fa"):
        client.post(
            f"/admin/_api/admin-user/row-action?name={action}&pk={root_id}",
            data={
                "new_password": "an attacker's passphrase",
                "new_password_confirm": "an attacker's passphrase",
            },
            headers=headers,
        )
    post_form(client, "/admin/admin-user/delete", {"pks": [root_id]})
    everything = "admin-user:edit"
    post_form(client, "/admin/role/create", {"name": "Mine", "permission_codes": [everything]})
    page = client.get(f"/admin/role/edit?pk={my_role}")
    if page.status_code == 200:
        form = read_form(page.text)
        pairs = form.with_values({"permission_codes": [*codes, "order:delete"]})
        post_form(client, f"/admin/role/edit?pk={my_role}", dict(_multi(pairs)))
    page = client.get(f"/admin/role/edit?pk={wide_role}")
    assert page.status_code in (403, 404), "a role granting more than the user holds opened"
    post_form(
        client, f"/admin/role/edit?pk={wide_role}", {"_version": "1", "name": "Wide", "users": "2"}
    )


def _multi(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return {k: v if len(v) > 1 or k == "permission_codes" else v[0] for k, v in data.items()}


def test_no_combination_of_account_permissions_reaches_a_superuser_or_a_wider_role(seeded):
    root_id = create_admin(seeded, "root@example.com", superuser=True)
    wide_role = make_role(seeded, "Everything", ["admin-user:edit", "role:edit", "order:delete"])
    accounts = []
    for n, (on_users, on_roles) in enumerate(COMBOS):
        codes = [f"admin-user:{a}" for a in on_users] + [f"role:{a}" for a in on_roles]
        role_id = make_role(seeded, f"combo {n}", codes)
        email = f"combo{n}@example.com"
        create_admin(seeded, email, superuser=False)
        give_role(seeded, email, f"combo {n}")
        accounts.append((email, role_id, codes))
    before = snapshot(seeded)
    with TestClient(create_app(seeded)) as client:
        for email, role_id, codes in accounts:
            client.cookies.clear()
            assert login(client, email).status_code == 303
            _try_everything(client, root_id, role_id, wide_role, codes)
            assert snapshot(seeded) == before, f"a role holding {codes} changed who may do what"


def test_a_delegated_administrator_still_manages_accounts_within_their_reach(seeded):
    create_admin(seeded, "root@example.com", superuser=True)
    make_role(seeded, "Managers", ["admin-user:view", "admin-user:edit", "order:view"])
    make_role(seeded, "Clerks", ["order:view"])
    create_admin(seeded, "manager@example.com", superuser=False)
    give_role(seeded, "manager@example.com", "Managers")
    clerk = create_admin(seeded, "clerk@example.com", superuser=False, full_name="Clerk")
    give_role(seeded, "clerk@example.com", "Clerks")
    with TestClient(create_app(seeded)) as client:
        assert login(client, "manager@example.com").status_code == 303
        form = read_form(client.get(f"/admin/admin-user/edit?pk={clerk}").text)
        saved = post_form(
            client,
            f"/admin/admin-user/edit?pk={clerk}",
            dict(form.with_values({"full_name": "Clerk Kent"})),
            follow_redirects=False,
        )
        assert saved.status_code == 303, (
            "an account holding less than the manager is theirs to edit"
        )
        listing = client.get("/admin/admin-user/list").text
    assert fetch(seeded, "SELECT full_name FROM admin_user WHERE id = :i", i=clerk) == [
        ("Clerk Kent",)
    ]
    root_row = re.search(r'<tr data-sa-pk="1".*?</tr>', listing, re.S)
    assert root_row is not None and "/admin/admin-user/edit?pk=1" not in root_row.group(0), (
        "the superuser's row offers no edit link to a delegated administrator"
    )


@pytest.fixture
def mailed(mail_settings: Any, smtp: Any) -> Any:
    create_admin(mail_settings, "root@example.com", superuser=True, full_name="Root")
    create_admin(mail_settings, "ada@example.com", superuser=False, full_name="Ada")
    return mail_settings


def test_a_new_email_address_takes_effect_only_once_it_confirms(mailed, mail_client, smtp):
    ada = fetch(mailed, "SELECT id FROM admin_user WHERE email = 'ada@example.com'")[0][0]
    with TestClient(mail_client.app) as ada_client:
        assert login(ada_client, "ada@example.com").status_code == 303
        assert login(mail_client, "root@example.com").status_code == 303
        form = read_form(mail_client.get(f"/admin/admin-user/edit?pk={ada}").text)
        saved = post_form(
            mail_client,
            f"/admin/admin-user/edit?pk={ada}",
            dict(form.with_values({"email": "ada@new.example"})),
            follow_redirects=False,
        )
        assert saved.status_code == 303
        row = fetch(mailed, "SELECT email, pending_email FROM admin_user WHERE id = :i", i=ada)
        assert row == [("ada@example.com", "ada@new.example")], "nothing changes before confirming"
        messages = {m.rcpt_tos[0]: m for m in smtp.wait_for(2)}
        assert "ada@new.example" in messages["ada@new.example"].text
        assert "ada@new.example" in messages["ada@example.com"].text, "the old address is told"
        link = re.search(
            r"http://testserver(/admin/email-change/\S+)", messages["ada@new.example"].text
        )
        assert link is not None, messages["ada@new.example"].text
        assert "Confirm the new address" in mail_client.get(link.group(1)).text
        assert fetch(mailed, "SELECT email FROM admin_user WHERE id = :i", i=ada) == [
            ("ada@example.com",)
        ]
        done = post_form(mail_client, link.group(1), {}, follow_redirects=False)
        assert done.status_code == 303
        assert fetch(
            mailed, "SELECT email, pending_email FROM admin_user WHERE id = :i", i=ada
        ) == [("ada@new.example", None)]
        assert ada_client.get("/admin/", follow_redirects=False).status_code == 303, (
            "the account's sessions end when its address changes"
        )
        assert mail_client.get(link.group(1)).status_code == 400, "the link works once"
