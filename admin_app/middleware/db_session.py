"""One database session per HTTP request, committed only if the response succeeds.

Pure ASGI rather than `BaseHTTPMiddleware`: the commit happens when the response
starts, before any byte reaches the client, so a client never sees a success for
data that was not stored; streaming bodies are not buffered. It replaces
starlette-admin's own `DBSessionMiddleware`, so the admin and the app's own routes
share one way of getting a session (`admin_app.state.get_session`).

Requests that only read (`reads_only(scope)`, for the admin's list pages and relation
pickers) run on PostgreSQL without a transaction: each statement commits by itself,
which for reads is what READ COMMITTED gives anyway, and saves the BEGIN and COMMIT
round trips, a tenth of a list page. A write they make (the login check's
`last_seen_at`, once a minute) is one statement, committed as it runs.

Requests that `replica_reads(scope)` names (set only with `DATABASE_REPLICA_URLS`) read
from a replica where `admin_app.replicas.routing.route_reads` decides they may.

When that commit fails (the database went away between the last query and the
commit), nothing has been sent yet: the client gets the app's error page for the
failure (503 for a lost database) instead of the success it was about to get, and the
exception goes no further. Raised past the response, it would make the server log a
traceback and drop the keep-alive connection under the next request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_admin.helpers import run_on_commit_callbacks

from admin_app.db import autocommit
from admin_app.replicas.routing import route_reads

log = logging.getLogger(__name__)

ErrorPage = Callable[[Request, Exception], Awaitable[Response]]
ReadsOnly = Callable[[Scope], bool]


class DBSessionMiddleware:
    """Put an `AsyncSession` on `request.state.session`; commit below 400, else roll back.

    `error_page(request, error)` renders a failed commit; without it the error is raised.
    `reads_only(scope)` names the requests that run without a transaction;
    `replica_reads(scope)` those that may read from a replica.
    """

    def __init__(
        self,
        app: ASGIApp,
        error_page: ErrorPage | None = None,
        reads_only: ReadsOnly | None = None,
        replica_reads: ReadsOnly | None = None,
    ) -> None:
        self.app = app
        self.error_page = error_page
        self.reads_only = reads_only
        self.replica_reads = replica_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        maker: async_sessionmaker[AsyncSession] = scope["state"]["sessionmaker"]
        autocommit = self._autocommit_bind(scope)
        session = maker() if autocommit is None else maker(bind=autocommit)
        if self.replica_reads is not None and self.replica_reads(scope):
            route_reads(session, HTTPConnection(scope))
        scope["state"]["session"] = session
        committed = False
        failed: Exception | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal committed, failed
            if failed is not None:
                return  # an error page went out instead of this response
            if message["type"] == "http.response.start":
                if message["status"] >= 400:
                    await _rollback_quietly(session)
                else:
                    try:
                        if autocommit is None or _has_changes(session):
                            await session.commit()
                    except Exception as error:
                        if self.error_page is None:
                            raise
                        failed = error
                        page = await self.error_page(Request(scope), error)
                        await page(scope, receive, send)
                        return
                    committed = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException:
            await _rollback_quietly(session)
            raise
        finally:
            if not _untouched(session):
                await session.__aexit__(None, None, None)  # close, shielded from cancellation
        if committed:
            await _run_callbacks(Request(scope))

    def _autocommit_bind(self, scope: Scope) -> AsyncEngine | None:
        """For a request that only reads, on PostgreSQL: the app's engine in autocommit
        mode. None elsewhere (SQLite's driver already reads outside a transaction until
        the first write)."""
        if self.reads_only is None or not self.reads_only(scope):
            return None
        engine: AsyncEngine = scope["state"]["engine"]
        if engine.dialect.name != "postgresql":
            return None
        return autocommit(engine)


def _untouched(session: AsyncSession) -> bool:
    """Whether `session` never began a transaction nor held an object, so closing it would
    release nothing. Closing runs in a task of its own with a greenlet switch (about 30 us)."""
    return not (session.in_transaction() or session.identity_map or session.new or session.deleted)


def _has_changes(session: AsyncSession) -> bool:
    """ORM changes not yet flushed. Without a transaction everything else has already
    committed as it ran, so a session with none has nothing left to commit."""
    return bool(session.new or session.dirty or session.deleted)


async def _rollback_quietly(session: AsyncSession) -> None:
    # On a connection the server has closed, the rollback fails too; the server has
    # dropped the transaction anyway, and the error that matters is the first one.
    try:
        await session.rollback()
    except Exception as error:
        log.debug("rollback failed: %s", error)


async def _run_callbacks(request: Request) -> None:
    # The data is already committed; a failing hook must not turn that into an error page.
    try:
        await run_on_commit_callbacks(request)
    except Exception:
        log.exception("an after-commit callback failed")
