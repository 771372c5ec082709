"""Who the request is from: the logged-in account, and the client's address."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from admin_app.models import AdminUser


def client_ip(conn: HTTPConnection) -> str:
    """The client's address, as corrected by the trusted-proxy middleware."""
    return conn.client.host if conn.client else ""


@dataclass(frozen=True)
class Identity:
    """Who is logged in, as plain values that stay readable whatever the ORM session does."""

    id: int
    email: str
    display_name: str
    is_superuser: bool
    has_2fa: bool
    theme: str = "auto"
    """The account's colour theme (`admin_app.models.admin_user.THEMES`). Part of the
    identity, so a kept page chrome (keyed by it) never shows another theme."""
    locale: str = "en"
    """The account's language (`admin_app.languages.LANGUAGES`), for the same reason."""

    @classmethod
    def of(cls, user: AdminUser) -> Identity:
        return cls(
            user.id,
            user.email,
            user.display_name,
            user.is_superuser,
            user.has_2fa,
            user.theme,
            user.locale,
        )


async def load_current_user(conn: HTTPConnection) -> AdminUser | None:
    """The logged-in account of this request, as a row of the request's session, if any.

    The login check reads plain values only; the row is loaded on first use (one
    query; later calls find it in the session)."""
    identity = current_identity(conn)
    if identity is None:
        return None
    session: AsyncSession = conn.state.session  # `admin_app.state.get_session`
    return await session.get(AdminUser, identity.id)


def current_identity(conn: HTTPConnection) -> Identity | None:
    """The logged-in account of this request, as plain values, if any."""
    return getattr(conn.state, "identity", None)


def remember(conn: HTTPConnection, identity: Identity) -> None:
    """Note the logged-in account on the request."""
    conn.state.identity = identity
