"""The attacker sweep: every grantable permission, held on its own, reaches exactly what it
grants and can change nobody's power.

For every permission the registry defines (`<model>:<action>`, walked from the views,
so a model added later is swept too), and for the demo's scoped "Sales France" role, a
user holding only that signs in and tries every page, API, export, relation picker,
saved view, live feed and media file of every model, and every way to change an account's roles,
superuser flag, email, password or two-factor state. A request it is not granted must
be refused (4xx, never a 5xx, never a 200); one it is granted must work; and the
security tables must read the same afterwards. A password-reset link asked for during
the sweep must not appear in anything the attacker can read.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from admin_app.admin.registry import REGISTRY
from admin_app.admin.site import build_admin
from admin_app.demo.seed import DEMO_ROLES
from admin_app.main import create_app
from tests.admin.test_uploads import create_with_image, png_bytes
from tests.api.helpers import MISSING, api_sweep, bearer, make_token
from tests.conftest import seed_small
from tests.helpers import create_admin, csrf_token, fetch, give_role, login, make_role
from tests.stress.report import Report, Scale

ATTACKER_PASSWORD_GUESS = "a passphrase the attacker chose"


def every_code(settings: Any) -> list[str]:
    """Every permission the admin defines, from its registered views."""
    admin = build_admin(settings)
    return [f"{v.key}:{a}" for v in admin.model_views for a in v.permission_actions()]


def security_tables(settings: Any) -> list[Any]:
    return [
        fetch(
            settings,
            "SELECT id, email, pending_email, password_hash, is_active, is_superuser, "
            "totp_secret, totp_enabled_at FROM admin_user ORDER BY id",
        ),
        fetch(settings, "SELECT user_id, role_id FROM admin_user_role ORDER BY 1, 2"),
        fetch(settings, "SELECT role_id, code FROM role_permission ORDER BY 1, 2"),
        fetch(settings, "SELECT id, name, scope FROM role ORDER BY id"),
    ]


class Sweep:
    """One attacker's requests against every model, and what they were expected to get."""

    def __init__(
        self, client: TestClient, codes: set[str], rows: dict[str, str], scoped: bool = False
    ) -> None:
        self.scoped = scoped
        """A row-scoped role: a record outside its scope answers 404 even where it may view."""
        self.client = client
        self.codes = codes
        self.rows = rows
        self.problems: list[str] = []
        self.seen: list[str] = []
        self.requests = 0

    def holds(self, key: str, *actions: str) -> bool:
        return all(f"{key}:{a}" in self.codes for a in actions)

    def expect(self, response: Any, allowed: bool, what: str) -> None:
        self.requests += 1
        status = int(response.status_code)
        if status >= 500:
            self.problems.append(f"{what}: {status}")
        elif allowed and status != 200 and not (self.scoped and status == 404):
            self.problems.append(f"{what}: granted, yet answered {status}")
        elif not allowed and status < 400 and status not in (303,):
            self.problems.append(f"{what}: not granted, yet answered {status}")
        if status == 200:
            self.seen.append(response.text)

    def pages(self, view: Any) -> None:
        key, pk = str(view.key), self.rows.get(str(view.key))
        may_view = self.holds(key, "view")
        self.expect(self.client.get(f"/admin/{key}/list"), may_view, f"{key} list")
        lookup = self.client.get(f"/admin/_api/{key}/relation-lookup")
        self.expect(lookup, may_view, f"{key} relation picker")
        if pk is not None:
            detail = self.client.get(f"/admin/{key}/detail?pk={pk}")
            self.expect(detail, may_view, f"{key} detail")
            editable = may_view and self.holds(key, "edit") and not view.read_only
            self.expect(self.client.get(f"/admin/{key}/edit?pk={pk}"), editable, f"{key} edit")
        creatable = may_view and self.holds(key, "create") and not view.read_only
        self.expect(self.client.get(f"/admin/{key}/create"), creatable, f"{key} create")
        exported = self.client.post(
            f"/admin/_api/{key}/action",
            params={"name": "export"},
            data={"scope": "all", "format": "csv", "csrftoken": csrf_token(self.client)},
        )
        self.expect(exported, may_view and self.holds(key, "export"), f"{key} export")
        self.saved_views(key, may_view)
        if not may_view:
            events = self.client.get(f"/admin/events?model={key}")
            self.expect(events, False, f"{key} live feed")

    def saved_views(self, key: str, may_view: bool) -> None:
        """The Views menu, saving a view and remembering columns: only on a list one may view."""
        menu = self.client.get(f"/admin/_api/saved-views/{key}")
        self.expect(menu, may_view, f"{key} saved views")
        token = csrf_token(self.client)
        for path, data in (("", {"name": "Sweep", "query": "q=x"}), ("/remember", {"cols": "id"})):
            posted = self.client.post(
                f"/admin/_api/saved-views/{key}{path}", data={**data, "csrftoken": token}
            )
            self.expect(posted, may_view, f"{key} saved views{path}")

    def account_powers(self, root: int, me: int, role: int) -> None:
        """Every way to change roles, superuser, email, password or 2FA: all refused."""
        headers = {"X-CSRFToken": csrf_token(self.client)}
        token = csrf_token(self.client)
        for pk, change in (
            (root, {"email": "attacker@example.com", "_version": "1"}),
            (me, {"is_superuser": "on", "roles": "1", "_version": "1"}),
        ):
            data = {"email": "x@example.com", **change, "csrftoken": token}
            self.client.post(f"/admin/admin-user/edit?pk={pk}", data=data)
        for action in ("set_password", "reset_2fa"):
            self.client.post(
                f"/admin/_api/admin-user/row-action?name={action}&pk={root}",
                data={
                    "new_password": ATTACKER_PASSWORD_GUESS,
                    "new_password_confirm": ATTACKER_PASSWORD_GUESS,
                },
                headers=headers,
            )
        self.client.post(
            "/admin/role/create",
            data={"name": "Escalation", "permission_codes": "admin-user:edit", "csrftoken": token},
        )
        self.client.post(
            f"/admin/role/edit?pk={role}",
            data={
                "name": "x",
                "permission_codes": "admin-user:edit",
                "_version": "1",
                "csrftoken": token,
            },
        )


@pytest.fixture
def store(settings: Any, admin_client: TestClient) -> dict[str, Any]:
    """A small store with an image, an outbox message holding a reset link, and a row of
    every model to aim at."""
    seed_small(settings)
    assert create_with_image(admin_client, "a.png", png_bytes(), "image/png").status_code == 303
    image = fetch(settings, "SELECT image FROM product WHERE sku = 'PIC-1'")[0][0]
    admin_client.post(
        "/admin/password-reset",
        data={"email": "root@example.com", "csrftoken": csrf_token(admin_client)},
    )
    rows = {}
    for view in REGISTRY:
        page = admin_client.get(f"/admin/{view.key}/list").text
        found = re.search(r'data-sa-pk="([^"]+)"', page)
        if found:
            rows[str(view.key)] = found.group(1)
    return {"image": image, "rows": rows}


def test_each_permission_alone_reaches_only_what_it_grants(
    settings: Any, store: dict[str, Any], scale: Scale, report: Report
) -> None:
    root = int(fetch(settings, "SELECT id FROM admin_user WHERE email = 'root@example.com'")[0][0])
    codes = every_code(settings)
    if scale.name == "smoke":
        codes = codes[::2]  # every other permission; `make stress` sweeps them all
    attackers = [(code, [code]) for code in codes] + [("Sales France", None)]
    views = build_admin(settings).model_views
    before = security_tables(settings)
    problems: list[str] = []
    requests = 0
    with TestClient(create_app(settings)) as client:
        for n, (name, held) in enumerate(attackers):
            email = f"attacker{n}@example.com"
            me = create_admin(settings, email, superuser=False)
            role = make_role(settings, f"attacker {n}", held) if held else None
            give_role(settings, email, f"attacker {n}" if held else "Sales France")
            before = security_tables(settings)
            client.cookies.clear()
            assert login(client, email).status_code == 303
            granted = set(held) if held else _sales_france(settings)
            sweep = Sweep(client, granted, store["rows"], scoped=held is None)
            for view in views:
                sweep.pages(view)
            media = client.get(f"/admin/media/{store['image']}")
            sweep.expect(media, sweep.holds("product", "view"), "product image")
            sweep.account_powers(root, me, role or 1)
            if security_tables(settings) != before:
                sweep.problems.append("changed an account's or a role's powers")
            leaked = [t for t in sweep.seen if "/admin/password-reset/ey" in t]
            if leaked:
                sweep.problems.append("read a password-reset link")
            problems += [f"{name}: {p}" for p in sweep.problems]
            requests += sweep.requests
    report.add(
        "Privilege boundaries",
        f"Attacker sweep: each of {len(attackers) - 1} permissions alone, and the scoped role, "
        "against every page, API, export, picker, live feed, media file and account power",
        requests,
        f"{len(problems)} requests got more (or less) than their permission grants",
        not problems,
    )
    assert not problems, "\n".join(problems[:20])


def _sales_france(settings: Any) -> set[str]:
    return {
        str(row[0])
        for row in fetch(
            settings,
            "SELECT p.code FROM role_permission p JOIN role r ON r.id = p.role_id "
            "WHERE r.name = 'Sales France'",
        )
    }


@pytest.mark.parametrize("role", list(DEMO_ROLES))
def test_a_demo_roles_api_tokens_reach_no_more_than_the_role(
    settings: Any, store: dict[str, Any], role: str
) -> None:
    """A token of the role (whole, and narrowed to half its permissions) and a superuser's
    token narrowed to the role's permissions: every model, every API method, each answer
    what the permissions grant; webhooks are refused to all three (superusers only), and
    a scoped role's token lists exactly the rows in its scope."""
    codes = set(DEMO_ROLES[role][2])
    email = f"api-{role.lower().replace(' ', '-')}@example.com"
    user = create_admin(settings, email, superuser=False)
    give_role(settings, email, role)
    root = int(fetch(settings, "SELECT id FROM admin_user WHERE email = 'root@example.com'")[0][0])
    half = sorted(codes)[::2]
    tokens = {
        "own": (make_token(settings, user), codes, True),
        "narrowed": (make_token(settings, user, half), set(half), True),
        "superuser's, narrowed": (make_token(settings, root, sorted(codes)), codes, False),
    }
    keys = [str(view.key) for view in build_admin(settings).model_views]
    assert {"webhook-endpoint", "webhook-delivery"} <= set(keys), "webhooks are in the API"
    pks = {key: store["rows"].get(key, MISSING) for key in keys}
    before = security_tables(settings)
    problems: list[str] = []
    with TestClient(create_app(settings)) as client:
        whole = client.get("/api/v1/webhook-endpoint", headers=bearer(make_token(settings, root)))
        assert whole.status_code == 200, "a superuser's own token reads webhooks"
        for name, (token, held, scoped) in tokens.items():
            found = api_sweep(client, token, held, pks, every_method=True)
            if scoped and DEMO_ROLES[role][1]:
                found += _outside_scope(settings, client, token, held)
            problems += [f"{role} ({name} token): {p}" for p in found]
    assert not problems, "\n".join(problems[:30])
    assert security_tables(settings) == before, "no token changed anyone's power"


def _outside_scope(settings: Any, client: TestClient, token: str, held: set[str]) -> list[str]:
    """Orders listed to a token of a role scoped to countries (the order view's scope),
    against the orders of those countries' customers (a list of 200 holds them all)."""
    if "order:view" not in held:
        return []
    marks = ", ".join(f"'{c}'" for c in DEMO_ROLES["Sales France"][1]["countries"])
    sql = (
        "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id "
        f"WHERE c.country IN ({marks})"
    )
    allowed = {row[0] for row in fetch(settings, sql)}
    every = {row[0] for row in fetch(settings, "SELECT id FROM orders")}
    assert every - allowed, "the store has orders outside the scope to leak"
    rows = client.get("/api/v1/order?limit=200", headers=bearer(token)).json()["data"]
    listed = {row["id"] for row in rows}
    if listed == allowed:
        return []
    return [
        f"order: listed {len(listed - allowed)} rows outside the scope, "
        f"missed {len(allowed - listed)} inside it"
    ]
