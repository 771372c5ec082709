"""What the lifespan shares with every request, and typed accessors for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from admin_app.email.delivery import Mailer
from admin_app.live.service import LiveService
from admin_app.media import MediaStore
from admin_app.settings import Settings

if TYPE_CHECKING:
    # Only for the annotation: importing prometheus-client early would fix its
    # single- or multi-process mode before `serve` has chosen.
    from admin_app.observability.metrics import Metrics


class AppState(TypedDict):
    """Lifespan state; Starlette copies it into each request's `request.state`."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    media: MediaStore
    mailer: Mailer
    metrics: Metrics
    live: LiveService


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


def get_metrics(conn: HTTPConnection) -> Metrics:
    """The app's Prometheus metrics."""
    metrics: Metrics = conn.state.metrics
    return metrics


def get_live(conn: HTTPConnection) -> LiveService:
    """This process's live feed: connections, presence, publishing."""
    live: LiveService = conn.state.live
    return live


def find_live(conn: HTTPConnection) -> LiveService | None:
    """The live feed, or None in an app built without a lifespan (some unit tests)."""
    return getattr(conn.state, "live", None)
