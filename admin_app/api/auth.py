"""Who calls the API: a personal token in `Authorization: Bearer`, and nothing else.

No cookie is read, so no page a browser visits can make it act (no CSRF to defend).
The request then carries what the admin's own login check would put on it: the
identity, the grants (the owner's, narrowed to the token's) and the audit actor, which
names the token too.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request

from admin_app.api.errors import ApiError
from admin_app.audit.context import Actor, set_actor, visitor
from admin_app.auth import rate_limit
from admin_app.auth.api_tokens import TOKEN_ACCESS, TokenAccess, access_of, hash_token, token_params
from admin_app.auth.identity import client_ip, remember
from admin_app.db import autocommit, utcnow
from admin_app.state import get_engine, get_settings

BUCKET = "api-token"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}


def presented_token(request: Request) -> str | None:
    """The bearer token of the request, if it sent one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def authorize(request: Request) -> TokenAccess:
    """The token's access, put on the request; a 401 when there is none that works."""
    set_actor(visitor(client_ip(request)))
    token = presented_token(request)
    if token is None:
        raise ApiError(401, "Send an API token: Authorization: Bearer <token>.", headers=CHALLENGE)
    access = await _counted_access(request, token)
    if access is None:
        raise ApiError(
            401, "This token is not valid: unknown, expired or revoked.", headers=CHALLENGE
        )
    remember(request, access.user)
    request.state.grants = access.grants
    request.state.api_token = access
    label = f"{access.user.email} (API token #{access.token_id} {access.token_name})"
    set_actor(Actor(access.user.id, label[:254], client_ip(request)))
    return access


_COUNTED_ACCESS = rate_limit.counted(TOKEN_ACCESS)


async def _counted_access(request: Request, token: str) -> TokenAccess | None:
    """Count the call against `API_RATE_LIMIT` calls per token per `API_RATE_WINDOW` (a
    429 with Retry-After beyond it), and read the token's access: one statement on
    PostgreSQL. On a connection of its own, committed as it runs: counted in the database
    so that every process sees the same count, before the request's session writes
    (SQLite has one writer at a time), and before any work is done for a token over its
    limit."""
    settings = get_settings(request)
    window = timedelta(seconds=settings.api_rate_window)
    call = rate_limit.Counted(
        BUCKET, hash_token(token)[:32], settings.api_rate_limit, window, utcnow()
    )
    read = rate_limit.Reading(TOKEN_ACCESS, _COUNTED_ACCESS, token_params(token, call.now))
    async with autocommit(get_engine(request)).connect() as db:
        count, rows = await rate_limit.hit_reading(db, call, read)
        if not count.allowed:
            raise ApiError(
                429,
                f"This token made more than {settings.api_rate_limit} calls in "
                f"{settings.api_rate_window} s; try again in {count.retry_after} s.",
                headers={"Retry-After": str(count.retry_after)},
            )
        return await access_of(db, rows, call.now)
