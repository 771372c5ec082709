"""Tokens and calls for the API tests."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from admin_app.audit.values import SECRET_FIELDS
from admin_app.auth.api_tokens import create_token
from admin_app.models import AdminUser
from admin_app.settings import Settings
from tests.helpers import run


def make_token(
    settings: Settings, user_id: int, permissions: list[str] | None = None, days: int = 30
) -> str:
    """A fresh token of account `user_id`, made by the same service as the account page."""

    async def work(session: Any) -> str:
        owner = await session.get(AdminUser, user_id)
        made = await create_token(session, owner, name="test", days=days, permissions=permissions)
        return made.secret

    return str(run(settings, work))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def proposes_a_field(key: str, held: set[str] | frozenset[str]) -> bool:
    """Whether `held` lets its owner change a field of `key` through a change request (four
    eyes): the edit form and a PATCH open to them, and what they change waits for approval."""
    from admin_app.admin.registry import REGISTRY

    fields = [f for v in REGISTRY if v.key == key for f in getattr(v, "protected_fields", ())]
    return any(f"{key}:propose_{name}" in held for name in fields)


MISSING = 2_000_000_000
"""A key no seeded record has: a permitted delete answers 404 and removes nothing."""


def api_sweep(
    client: TestClient,
    token: str,
    held: set[str],
    pks: dict[str, Any],
    *,
    every_method: bool = False,
) -> list[str]:
    """Every API method on every model of `pks` with `token`: what it got that `held` does
    not grant (anything but a 403), or was refused though granted. Without `every_method`,
    a model the token holds nothing of is tried with one list call (refused alike)."""
    problems = []
    headers = bearer(token)

    def check(what: str, status: int, granted: bool, ok: set[int]) -> None:
        if status >= 500 or (granted and status not in ok) or (not granted and status != 403):
            problems.append(f"{what}: {'granted' if granted else 'not granted'}, got {status}")

    for key, pk in pks.items():
        can = {a for a in ("view", "create", "edit", "delete") if f"{key}:{a}" in held}
        if proposes_a_field(key, held):
            can.add("edit")  # a PATCH of such a field files a change request
        if not (every_method or can or any(code.endswith(":view") for code in held)):
            continue  # reading is refused alike on every model; one model shows it
        listed = client.get(f"/api/v1/{key}?limit=5", headers=headers)
        check(f"GET {key}", listed.status_code, "view" in can, {200})
        for row in listed.json().get("data", []) if listed.status_code == 200 else []:
            if SECRET_FIELDS & set(row):
                problems.append(f"GET {key}: shows {SECRET_FIELDS & set(row)}")
        if not (can or every_method):
            continue
        one = client.get(f"/api/v1/{key}/{pk}", headers=headers)
        check(f"GET {key}/{pk}", one.status_code, "view" in can, {200, 404})
        made = client.post(f"/api/v1/{key}", json={}, headers=headers)
        check(f"POST {key}", made.status_code, "create" in can, {201, 403, 409, 422})
        edit = client.patch(f"/api/v1/{key}/{pk}", json={}, headers=headers)
        check(
            f"PATCH {key}", edit.status_code, "edit" in can and "view" in can, {200, 403, 404, 422}
        )
        gone = client.delete(f"/api/v1/{key}/{MISSING}", headers=headers)
        check(f"DELETE {key}", gone.status_code, "delete" in can and "view" in can, {404})
    return problems
