"""Between processes: PostgreSQL `LISTEN/NOTIFY` on one dedicated connection per process.

No broker beyond the database every replica already shares. The connection is
outside the SQLAlchemy pool, so requests never wait behind it and it never waits
for them; it both listens and sends (one sender task, so one statement at a time).
When it drops (a database restart, a network cut, a silent peer caught by the
heartbeat query) it is reopened with capped exponential backoff, and the service
is told, so pages learn they may have missed something. It goes to
`DATABASE_DIRECT_URL`: a transaction-pooling PgBouncer cannot keep a LISTEN.

On SQLite there is only one process, so there is nothing to send: `LocalBroker`;
likewise behind such a pooler with no direct URL (the service warns).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any, Protocol

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.live.messages import CHANNEL, pack, unpack

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 1000
"""Payloads kept while the connection is down; the oldest are dropped beyond this."""

RETRY_FIRST, RETRY_MAX = 0.25, 2.0
"""Seconds before reconnecting: doubling from the first to the cap, with jitter."""

_LOST = ""
"""Outbox sentinel: the connection is gone (a real payload is never empty)."""

OnMessages = Callable[[str, list[dict[str, Any]]], None]
OnConnected = Callable[[bool], None]


RECHECK = next(pack("database", [{"type": "recheck"}]))
"""The payload that tells every process to re-check the sessions of its live connections."""


async def announce_revocation(db: AsyncSession) -> None:
    """When `db`'s transaction commits, every process re-checks its connections' sessions.

    PostgreSQL delivers a NOTIFY only if, and when, its transaction commits, so a
    logout or password change closes live connections everywhere at that moment,
    whichever process (or CLI command) made it. Elsewhere the periodic check does.
    """
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(select(func.pg_notify(CHANNEL, RECHECK)))


class Broker(Protocol):
    async def start(self) -> None: ...
    def send(self, messages: list[dict[str, Any]]) -> None: ...
    async def stop(self, drain: float = 1.0) -> None: ...


class LocalBroker:
    """One process (SQLite): everything is delivered in-process, nothing goes out."""

    def __init__(self, on_connected: OnConnected) -> None:
        self.on_connected = on_connected

    async def start(self) -> None:
        self.on_connected(True)

    def send(self, messages: list[dict[str, Any]]) -> None:
        pass

    async def stop(self, drain: float = 1.0) -> None:
        pass


def listen_options(url: URL, timeout: float) -> dict[str, Any]:
    """`asyncpg.connect` arguments for the app's database URL."""
    options: dict[str, Any] = url.translate_connect_args(username="user")
    if "ssl" in url.query:
        options["ssl"] = url.query["ssl"]
    options["timeout"] = timeout
    options["server_settings"] = {"application_name": "admin-app live"}
    return options


class PostgresBroker:
    """Sends batches of messages with NOTIFY and hands what others send to `on_messages`."""

    def __init__(
        self,
        *,
        node: str,
        connect_options: dict[str, Any],
        on_messages: OnMessages,
        on_connected: OnConnected,
        heartbeat: float,
    ) -> None:
        self.node = node
        self.connect_options = connect_options
        self.on_messages = on_messages
        self.on_connected = on_connected
        self.heartbeat = heartbeat
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._retry: str | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live-broker")

    def send(self, messages: list[dict[str, Any]]) -> None:
        for payload in pack(self.node, messages):
            if self.outbox.qsize() >= OUTBOX_LIMIT:
                self.outbox.get_nowait()
                self.outbox.task_done()
                log.warning("live: database connection down too long; dropped a message")
            self.outbox.put_nowait(payload)

    async def stop(self, drain: float = 1.0) -> None:
        """Send what is queued (for up to `drain` seconds if connected), then disconnect."""
        if self.connected.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(drain):
                    await self.outbox.join()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay, first, failing = RETRY_FIRST, True, False
        while True:
            try:
                connection = await asyncpg.connect(**self.connect_options)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                if not failing:
                    log.warning("live: cannot listen on the database (%s); retrying", error)
                failing = True
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311
                delay = min(delay * 2, RETRY_MAX)
                continue
            if failing:
                log.warning("live: listening on the database again")
            delay, failing = RETRY_FIRST, False
            await self._serve(connection, first)
            first = False

    async def _serve(self, connection: asyncpg.Connection, first: bool) -> None:
        def lost(_: Any) -> None:
            self.outbox.put_nowait(_LOST)

        connection.add_termination_listener(lost)
        try:
            await connection.add_listener(CHANNEL, self._on_notify)
            self.connected.set()
            self.on_connected(first)
            await self._pump(connection)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
            log.warning("live: lost the database connection (%s); reconnecting", error)
        finally:
            self.connected.clear()
            connection.remove_termination_listener(lost)
            connection.terminate()

    async def _pump(self, connection: asyncpg.Connection) -> None:
        while True:
            payload = self._retry
            if payload is None:
                try:
                    async with asyncio.timeout(self.heartbeat):
                        payload = await self.outbox.get()
                except TimeoutError:
                    await connection.execute("SELECT 1", timeout=5)  # is the peer still there?
                    continue
            if payload == _LOST:
                self.outbox.task_done()
                if not connection.is_closed():
                    continue  # left over from an earlier connection
                log.warning("live: the database closed the connection; reconnecting")
                return
            self._retry = payload
            await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload, timeout=5)
            self._retry = None
            self.outbox.task_done()

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        unpacked = unpack(payload)
        if unpacked is None:
            log.warning("live: ignored a notification that is not ours: %.80s", payload)
            return
        node, messages = unpacked
        if node != self.node:
            try:
                self.on_messages(node, messages)
            except Exception:  # one bad message must not stop the listener
                log.exception("live: failed to handle a notification")
