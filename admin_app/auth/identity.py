"""Who the request is from: the logged-in account, and the client's address."""

from __future__ import annotations

from dataclasses import dataclass

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


def current_user(conn: HTTPConnection) -> AdminUser | None:
    """The logged-in account of this request, as a database row, if any."""
    return getattr(conn.state, "user", None)


def current_identity(conn: HTTPConnection) -> Identity | None:
    """The logged-in account of this request, as plain values, if any."""
    return getattr(conn.state, "identity", None)


def remember(conn: HTTPConnection, user: AdminUser) -> None:
    """Note the logged-in account on the request, as a row and as plain values."""
    conn.state.user = user
    conn.state.identity = Identity(
        user.id, user.email, user.display_name, user.is_superuser, user.has_2fa
    )
