"""Who is on the other end of a live connection, and whether the browser may connect at all.

Live connections use the admin's own login: the session cookie names a session
token (`scope["session"]["sid"]`), checked exactly as every admin request checks it.
WebSockets are not covered by the same-origin policy, so a page on another site
could open one with the user's cookie; `allowed_origin` refuses that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette_admin import BaseModelView

from admin_app.auth.permissions import Grants
from admin_app.auth.provider import SESSION_KEY
from admin_app.auth.sessions import Timeouts, load_session
from admin_app.live.messages import Actor
from admin_app.state import get_sessionmaker, get_settings


@dataclass(frozen=True)
class Identity:
    """A signed-in connection: the user, their session, the models they may see."""

    user: Actor
    session_id: str
    models: frozenset[str]
    grants: Grants
    """The user's permissions and row scopes, as a request of theirs would have them."""


def allowed_origin(conn: HTTPConnection, allowed_hosts: Sequence[str]) -> bool:
    """The page that opened the connection is our own: same host, or one of ALLOWED_HOSTS."""
    origin = conn.headers.get("origin", "")
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.netloc.lower() == conn.headers.get("host", "").lower():
        return True
    host = parts.hostname.lower()
    return any(_matches(host, pattern.lower()) for pattern in allowed_hosts if pattern != "*")


def _matches(host: str, pattern: str) -> bool:
    if pattern.startswith("."):
        return host == pattern[1:] or host.endswith(pattern)
    return host == pattern.strip("[]")


async def identify(conn: HTTPConnection, views: Sequence[BaseModelView]) -> Identity | None:
    """The signed-in user of this connection, or None. Database errors propagate."""
    session = conn.scope.get("session") or {}
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    timeouts = Timeouts.from_settings(get_settings(conn))
    async with get_sessionmaker(conn).begin() as db:
        found = await load_session(db, token, timeouts)
        if found is None:
            return None
        user = found.user
        grants = found.grants
    # What the views' permission checks read; not kept for the life of the connection.
    conn.state.identity, conn.state.grants = user, grants
    try:
        models = frozenset(str(v.key) for v in views if v.is_accessible(conn))  # type: ignore[arg-type]
    finally:
        del conn.state.identity, conn.state.grants
    return Identity(Actor(user.id, user.display_name), found.id, _shared(models), grants)


_SETS: dict[frozenset[str], frozenset[str]] = {}


def _shared(models: frozenset[str]) -> frozenset[str]:
    """One object per distinct set of models, however many connections hold it."""
    return _SETS.setdefault(models, models)
