"""My account's API tokens: make one (its secret shown once), list and revoke them.

Owners revoke their own tokens; superusers see and revoke everyone's. Both are
security events in the audit log, naming the token.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette_admin.i18n import gettext
from starlette_admin.routing import route

from admin_app.admin import compat
from admin_app.admin.account_page import AccountPage
from admin_app.audit.events import record_event
from admin_app.auth.api_tokens import (
    MAX_DAYS,
    TokenRequestError,
    create_token,
    live_tokens,
    revoke_token,
)
from admin_app.auth.identity import Identity
from admin_app.auth.permissions import code, load_grants
from admin_app.models import AdminUser, ApiToken
from admin_app.state import get_session

DEFAULT_DAYS = 90


class ApiTokenPages(AccountPage):
    """The API tokens card of My account, and the two forms it posts."""

    async def token_context(self, request: Request, user: AdminUser) -> dict[str, Any]:
        """What the account page shows about tokens."""
        db = get_session(request)
        everyone = await live_tokens(db) if user.is_superuser else []
        owners = {t.user_id for t in everyone} - {user.id}
        emails = {u.id: u.email for u in [await db.get(AdminUser, i) for i in owners] if u}
        return {
            "tokens": await live_tokens(db, user.id),
            "others_tokens": [
                (t, emails.get(t.user_id, "")) for t in everyone if t.user_id != user.id
            ],
            "token_permissions": await self._offered_permissions(request, user),
            "token_days": DEFAULT_DAYS,
            "token_max_days": MAX_DAYS,
        }

    async def _offered_permissions(self, request: Request, user: AdminUser) -> list[str]:
        """The codes a token of `user` may be narrowed to: those the user holds."""
        held = await load_grants(get_session(request), Identity.of(user))
        every = [
            code(str(view.key), action)
            for view in compat.model_views(compat.admin_of(self))
            for action in getattr(view, "permission_actions", list)()
        ]
        return [c for c in every if held.allows(*c.split(":", 1))]

    @route("/tokens", methods=["POST"], name="account-tokens-create")
    async def create_api_token(self, request: Request) -> Response:
        """Make a token and show its secret, once."""
        user = await self._me(request)
        form = await request.form()
        chosen = [str(v) for v in form.getlist("permissions")]
        narrow = form.get("access") == "chosen"
        try:
            days = int(str(form.get("days") or DEFAULT_DAYS))
        except ValueError:
            days = 0
        db = get_session(request)
        try:
            made = await create_token(
                db,
                user,
                name=str(form.get("name") or ""),
                days=days,
                permissions=chosen if narrow else None,
            )
        except TokenRequestError as error:
            return self._back(request, str(error), "error")
        await record_event(
            db, "api_token_created", user=user, note=str(made.record), **_details(made.record)
        )
        return self._render(
            request,
            "account_token_created.html",
            token=made.record,
            secret=made.secret,
            title="New API token",
        )

    @route("/tokens/revoke", methods=["POST"], name="account-tokens-revoke")
    async def revoke_api_token(self, request: Request) -> Response:
        """End a token: the user's own, or anyone's for a superuser."""
        user = await self._me(request)
        db = get_session(request)
        raw = str((await request.form()).get("token") or "")
        token = await db.get(ApiToken, int(raw)) if raw.isdigit() and len(raw) < 10 else None
        if token is None or not (token.user_id == user.id or user.is_superuser):
            return self._back(
                request, gettext("That token is not one you can revoke here."), "error"
            )
        if not await revoke_token(db, token):
            return self._back(request, gettext("That token had already been revoked."), "info")
        owner = await db.get(AdminUser, token.user_id)
        await record_event(db, "api_token_revoked", user=owner, note=str(token), **_details(token))
        return self._back(
            request,
            gettext("The token %(name)s was revoked; it no longer works.") % {"name": token.name},
        )


def _details(token: ApiToken) -> dict[str, Any]:
    return {"token_id": token.id, "token": token.name, "permissions": token.permissions}
