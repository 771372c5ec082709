"""The request an import runs under, outside HTTP.

The forms' rules, permissions and row scopes all read the request: its action, its
database session and the user's grants. A job (in the CLI or a background task) has
no HTTP request, so it makes one with the same state a logged-in request carries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette_admin import RequestAction

from admin_app.auth.identity import Identity
from admin_app.auth.permissions import Grants
from admin_app.settings import Settings

COMMAND_LINE = Grants(superuser=True)
"""What `admin-app import` may do: everything, as every command may."""


def import_request(
    *,
    session: AsyncSession,
    grants: Grants,
    settings: Settings,
    identity: Identity | None = None,
) -> Request:
    """A request for the import action, carrying the session, grants and user."""
    state: dict[str, Any] = {
        "action": RequestAction.IMPORT,
        "session": session,
        "grants": grants,
        "settings": settings,
        "offered_choices": {},  # shared by the rows' requests (`for_row`), as one request's
    }
    if identity is not None:
        state["identity"] = identity
    scope = {"type": "http", "method": "POST", "path": "/import", "headers": [], "state": state}
    return Request({**scope, "query_string": b""})


def for_row(request: Request, action: RequestAction, pk: Any = None) -> Request:
    """The same request as a form of `action` would be, for the record `pk` if any."""
    state = {**request.scope["state"], "action": action}
    query = f"pk={pk}".encode() if pk is not None else b""
    return Request({**request.scope, "state": state, "query_string": query})
