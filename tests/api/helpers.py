"""Tokens and calls for the API tests."""

from __future__ import annotations

from typing import Any

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
