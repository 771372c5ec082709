"""Live connections end with their login session, and follow their user's permissions.

A connection is authenticated once, when it opens; after that its session may be
revoked (logout, password change, deactivation) or expire, and its user's roles may
change. Checking each of 5,000
idle connections on a timer would be 5,000 queries; instead one check looks up
every distinct session behind this process's connections in a single query (per
thousand sessions), every `LIVE_CHECK_INTERVAL` seconds, and at once when told
that sessions were revoked (PostgreSQL announces revocations on commit). A
connection that sends a message is checked on the spot as well. The same query reads
each user's grants as they are now: a connection whose grants changed (a role taken away,
a scope narrowed) is closed with `CLOSE_PERMISSIONS_CHANGED`, and the browser reconnects
with what the user may see now, so an open tab never keeps a permission its user lost.

If the database cannot be reached, connections are left open: an outage is not a
logout, and the next successful check catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_app.auth.permissions import Grants, grants_of, with_role_permissions
from admin_app.auth.sessions import Timeouts, valid_in_sql
from admin_app.db import utcnow
from admin_app.live.hub import CLOSE_PERMISSIONS_CHANGED, CLOSE_SESSION_ENDED, Hub
from admin_app.models import AdminSession, AdminUser

log = logging.getLogger(__name__)

CHUNK = 1000
"""Session ids per query."""


async def live_sessions(
    sessions: async_sessionmaker[AsyncSession], ids: Iterable[str], timeouts: Timeouts
) -> dict[str, Grants]:
    """Those of `ids` that name a session still valid now (the rule every request
    applies), each with its user's grants as a request would load them now."""
    wanted = sorted(set(ids))
    superuser: dict[str, bool] = {}
    permissions: dict[str, list[Any]] = {}
    async with sessions() as db:
        for start in range(0, len(wanted), CHUNK):
            stmt = with_role_permissions(
                select(AdminSession.id, AdminUser.is_superuser)
                .join(AdminUser, AdminUser.id == AdminSession.user_id)
                .where(AdminSession.id.in_(wanted[start : start + CHUNK]))
                .where(valid_in_sql(timeouts, utcnow())),
                AdminUser.id,
                AdminUser.is_superuser,
            )
            for found, is_superuser, *permission in await db.execute(stmt):
                superuser[found] = is_superuser
                permissions.setdefault(found, []).append(permission)
    return {found: grants_of(superuser[found], permissions[found]) for found in superuser}


class SessionWatcher:
    """Closes this process's live connections whose session is no longer valid."""

    def __init__(
        self,
        hub: Hub,
        sessions: async_sessionmaker[AsyncSession],
        timeouts: Timeouts,
        interval: float,
    ) -> None:
        self.hub = hub
        self.sessions = sessions
        self.timeouts = timeouts
        self.interval = interval
        self.checks = 0
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Check every `interval` seconds, or sooner when `check_soon` is called."""
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that coincides with the wake-up, and then stop() waits forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.check()

    def check_soon(self) -> None:
        """Sessions were revoked somewhere: check without waiting for the timer."""
        self._wake.set()

    async def check(self) -> int:
        """Close connections whose session ended or whose user's grants changed; return
        how many were closed."""
        subscribers = [s for s in self.hub.subscribers if s.closing is None]
        if not subscribers:
            return 0
        try:
            valid = await live_sessions(
                self.sessions, (s.session_id for s in subscribers), self.timeouts
            )
        except (SQLAlchemyError, OSError) as error:
            log.warning("live: cannot check sessions now (%s); connections stay open", error)
            return 0
        self.checks += 1
        closed = 0
        for subscriber in subscribers:
            now = valid.get(subscriber.session_id)
            if now is None:
                subscriber.close(CLOSE_SESSION_ENDED, "Your session has ended. Sign in again.")
            elif subscriber.grants is not None and now != subscriber.grants:
                subscriber.close(CLOSE_PERMISSIONS_CHANGED, "Your permissions changed.")
            else:
                continue
            closed += 1
        return closed

    async def is_live(self, session_id: str) -> bool:
        """Whether one session is still valid; True while the database is unreachable."""
        try:
            return bool(await live_sessions(self.sessions, [session_id], self.timeouts))
        except (SQLAlchemyError, OSError) as error:
            log.warning("live: cannot check a session now (%s)", error)
            return True
