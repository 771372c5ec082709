"""The token sweep: for every permission the registry defines, a token holding only it
(an account's whole grant, and a superuser's token narrowed to it) reaches exactly that
through the API, over every registered model, and never reads a secret or changes an
account's power. The demo's scoped role is swept too: rows outside its scope are 404.
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from admin_app.auth.api_tokens import create_token
from admin_app.models import AdminUser, Role, admin_user_role
from admin_app.settings import Settings
from tests.api.helpers import MISSING, api_sweep, bearer
from tests.helpers import create_admin, fetch, run
from tests.stress.test_attacker_sweep import every_code, security_tables

# Each model is tried with every token whose permission is about it, and all models with
# the tokens that may read one: about 600 calls, under 20 s on SQLite.


def _tokens_per_code(settings: Settings, codes: list[str]) -> dict[str, tuple[str, str]]:
    """For each code: a token of an account holding only it, and a superuser's token
    narrowed to it; made in one transaction."""
    root = create_admin(settings, "sweep-root@example.com")

    async def work(session: Any) -> dict[str, tuple[str, str]]:
        superuser = await session.get(AdminUser, root)
        made = {}
        for n, code in enumerate(codes):
            role = Role(name=f"only {code}", description="", scope={})
            role.permission_codes = [code]
            user = AdminUser(
                email=f"sweep{n}@example.com",
                full_name="Sweep",
                password_hash="x",
                is_superuser=False,
            )
            session.add_all([role, user])
            await session.flush()
            await session.execute(admin_user_role.insert().values(user_id=user.id, role_id=role.id))
            own = await create_token(session, user, name="own", days=1, permissions=None)
            narrow = await create_token(session, superuser, name="n", days=1, permissions=[code])
            made[code] = (own.secret, narrow.secret)
        return made

    return dict(run(settings, work))


def _first_keys(settings: Settings, client: TestClient, keys: list[str]) -> dict[str, Any]:
    token = bearer(
        str(
            run(
                settings,
                lambda s: _superuser_token(s, "sweep-root@example.com"),
            )
        )
    )
    found = {}
    for key in keys:
        rows = client.get(f"/api/v1/{key}?limit=1", headers=token).json()["data"]
        found[key] = rows[0]["id"] if rows else MISSING
    return found


async def _superuser_token(session: Any, email: str) -> str:
    from sqlalchemy import select

    user = (await session.scalars(select(AdminUser).where(AdminUser.email == email))).one()
    return (await create_token(session, user, name="root", days=1, permissions=None)).secret


def test_every_permission_alone_reaches_exactly_what_it_grants(
    seeded: Settings, client: TestClient
) -> None:
    codes = [
        c for c in every_code(seeded) if c.split(":")[1] in ("view", "create", "edit", "delete")
    ]
    tokens = _tokens_per_code(seeded, codes)
    pks = _first_keys(seeded, client, sorted({c.split(":")[0] for c in codes}))
    before = security_tables(seeded)
    problems = []
    for code, (own, narrow) in tokens.items():
        problems += [f"{code} (own): {p}" for p in api_sweep(client, own, {code}, pks)]
        problems += [f"{code} (narrowed): {p}" for p in api_sweep(client, narrow, {code}, pks)]
    assert not problems, "\n".join(problems[:40])
    assert security_tables(seeded) == before, "no token changed anyone's power"


def test_a_scoped_roles_token_meets_404_outside_its_scope(
    seeded: Settings, client: TestClient
) -> None:
    from tests.api.helpers import make_token
    from tests.helpers import give_role

    user = create_admin(seeded, "fr-sweep@example.com", superuser=False)
    give_role(seeded, "fr-sweep@example.com", "Sales France")
    token = bearer(make_token(seeded, user))
    outside = fetch(
        seeded,
        "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id WHERE c.country <> 'FR'",
    )
    answers = {client.get(f"/api/v1/order/{pk}", headers=token).status_code for (pk,) in outside}
    assert answers == {404}, f"orders outside France answered {answers}"
