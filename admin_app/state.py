"""Typed accessors for what every request carries: the settings and the database.

The lifespan (`admin_app.main`) puts these on the app's state and Starlette copies them
into each request's `request.state`. This module stays a leaf that knows only the
settings, because nearly every layer reads it; each service's own accessor lives beside
the service (`get_mailer`, `get_live`, `get_metrics`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from admin_app.settings import Settings


def get_settings(conn: HTTPConnection) -> Settings:
    """The app's settings."""
    settings: Settings = conn.state.settings
    return settings


def get_session(conn: HTTPConnection) -> AsyncSession:
    """The request's database session, opened by `DBSessionMiddleware`."""
    session: AsyncSession = conn.state.session
    return session


def get_sessionmaker(conn: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    """A factory for sessions that live outside the request (streams, websockets)."""
    maker: async_sessionmaker[AsyncSession] = conn.state.sessionmaker
    return maker


def get_engine(conn: HTTPConnection) -> AsyncEngine:
    """The app's engine (the primary), for single statements outside the request's
    session, such as the rate limits' counts."""
    engine: AsyncEngine = conn.state.engine
    return engine
