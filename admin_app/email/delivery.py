"""`Mailer`: one per process; claims outbox rows, sends them, and records what happened.

Both paths that send go through `Mailer.deliver_batch`: the immediate attempt made
right after a request commits (`submit`, `deliver_after_commit`) and the worker's
retries. So every send is made under a lease, behind the circuit breaker, and
recorded one message at a time: a process killed mid-batch can have sent at most
the message in flight without recording it (a duplicate on retry), never lose one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection, Request
from starlette_admin.helpers import on_commit

from admin_app.email import outbox, secret_links
from admin_app.email.breaker import BreakerState, CircuitBreaker
from admin_app.email.outgoing import Outgoing
from admin_app.email.sender import (
    ConnectError,
    Connection,
    SendError,
    Transport,
    build_message,
    transport_for,
)
from admin_app.models import OutboxMessage, OutboxStatus
from admin_app.settings import Settings

log = logging.getLogger(__name__)

MAX_IMMEDIATE = 64
"""Immediate deliveries running at once per process; beyond that the worker takes over."""


def worker_name() -> str:
    """Who holds a lease: host, process and a random tag (pids are reused across restarts)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class Mailer:
    """Delivers outbox messages for one process; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        transport: Transport | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.transport = transport or transport_for(settings)
        self.breaker = breaker or CircuitBreaker(
            settings.email_breaker_threshold, settings.email_breaker_cooldown
        )
        self.name = worker_name()
        self.lease = timedelta(seconds=settings.email_lease)
        self.stopping = False
        self.wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def deliver_batch(self, ids: list[int] | None = None) -> int:
        """Claim due messages (or exactly `ids`) and send them; return how many were claimed."""
        if self.breaker.state is BreakerState.OPEN:
            return 0
        claimed, batch = await self._claim(ids)
        if not batch:
            return claimed
        if not self.breaker.allow():
            await self._release(batch)
            return 0
        try:
            connection = await self.transport.connect()
        except ConnectError as error:
            self.breaker.failed(str(error))
            await self._failed_all(batch, f"cannot connect: {error}")
            return claimed
        self.breaker.succeeded()
        await self._send_all(connection, batch)
        return claimed

    async def _claim(self, ids: list[int] | None) -> tuple[int, list[Outgoing]]:
        """Claim messages and mint their links: how many were claimed, and those to send.

        A message whose link may no longer be sent (the account is gone, or changed its
        address) is dead at once, its error saying why.
        """
        async with self.sessions.begin() as db:
            claimed = await outbox.claim(
                db, worker=self.name, lease=self.lease,
                limit=len(ids) if ids else self.settings.email_batch_size, ids=ids,
            )  # fmt: skip
            batch, refused = await secret_links.fill_all(db, self.settings, claimed)
        for message, reason in refused:
            log.warning("email %s to %s: %s", message.id, message.recipient, reason)
            await self._record_failure(message, reason, permanent=True)
        return len(claimed), batch

    async def _send_all(self, connection: Connection, batch: list[Outgoing]) -> None:
        # Stop early while the lease still has a margin, so no row is sent after
        # another worker may have claimed it again.
        deadline = time.monotonic() + self.lease.total_seconds() * 0.75
        sent = 0
        try:
            for index, message in enumerate(batch):
                if self.stopping or time.monotonic() > deadline:
                    await self._release(batch[index:])
                    break
                if not await self._send_one(connection, message):
                    await self._release(batch[index + 1 :])
                    break
                sent += 1
        except asyncio.CancelledError:
            await asyncio.shield(self._release(batch[sent:]))
            raise
        finally:
            await connection.close()
        log.info(
            "email: batch of %d, %d handed to %s", len(batch), sent, self.transport.description
        )

    async def _send_one(self, connection: Connection, message: Outgoing) -> bool:
        """Send and record one message; False when the connection is no longer usable."""
        try:
            await connection.send(build_message(self.settings, message))
        except SendError as error:
            status = await self._record_failure(message, str(error), error.permanent)
            log.warning(
                "email %s to %s failed (%s): %s", message.id, message.recipient, status, error
            )
            if error.connection_lost:
                self.breaker.failed(str(error))
            return not error.connection_lost
        async with self.sessions.begin() as db:
            await outbox.mark_sent(db, message.id)
        return True

    async def _record_failure(self, message: Outgoing, error: str, permanent: bool) -> OutboxStatus:
        async with self.sessions.begin() as db:
            return await outbox.mark_failed(
                db, self.settings, message, worker=self.name, error=error, permanent=permanent
            )

    async def _failed_all(self, batch: list[Outgoing], error: str) -> None:
        log.warning("email: %s; %d message(s) will be retried", error, len(batch))
        for message in batch:
            await self._record_failure(message, error, permanent=False)

    async def _release(self, batch: Iterable[Outgoing]) -> None:
        ids = [message.id for message in batch]
        if ids:
            async with self.sessions.begin() as db:
                await outbox.release(db, self.name, ids)

    def submit(self, ids: list[int]) -> None:
        """Try to deliver these just-committed messages now, in the background."""
        if not ids or self.stopping:
            return
        if len(self._tasks) >= MAX_IMMEDIATE:
            log.info(
                "email: %d immediate deliveries running; leaving %s to the worker",
                len(self._tasks),
                ids,
            )
            return
        task = asyncio.get_running_loop().create_task(self._deliver_now(ids))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver_soon(self, ids: list[int]) -> None:
        """`submit`, as an awaitable for a Starlette `BackgroundTask`."""
        self.submit(ids)

    async def _deliver_now(self, ids: list[int]) -> None:
        try:
            await self.deliver_batch(ids)
        except Exception:
            log.exception("email: immediate delivery of %s failed; the worker will retry", ids)

    def wake(self) -> None:
        """Make this process's worker look for due messages now."""
        self.wakeup.set()

    async def aclose(self, grace: float = 5.0) -> None:
        """Stop: let immediate deliveries finish within `grace` seconds, then cancel them."""
        self.stopping = True
        self.wakeup.set()
        tasks = list(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def get_mailer(conn: HTTPConnection) -> Mailer:
    """The app's mailer (made by the lifespan)."""
    mailer: Mailer = conn.state.mailer
    return mailer


def deliver_after_commit(request: Request, *rows: OutboxMessage) -> None:
    """Send these queued messages right after the request's transaction commits.

    For code that cannot attach a `BackgroundTask` to the response (admin views):
    the app's `DBSessionMiddleware` runs the callback only after a successful commit,
    never after a rollback.
    """
    ids = [row.id for row in rows]
    mailer = get_mailer(request)
    on_commit(request, lambda: mailer.submit(ids))
