"""A small pool of plain asyncpg connections for the queries that run on the driver.

Checking a connection out of SQLAlchemy (a session's transaction, a `Connection`, the
pool's events and reset-on-return, two greenlet switches) costs about 0.25 ms of CPU
under load, a fifth of a list page. asyncpg's own pool is cheaper but not cheap: each
release starts a task and arms timers, and by default runs a reset query. The queries
run here are single SELECTs outside any transaction (`admin_app.db.fetch_on_driver`),
so a connection needs nothing between uses: taking one is a `list.pop`, giving it back
an `append`. Connections open when first needed, up to `size`; a request that finds
all in use waits its turn, first come first served, for at most `timeout` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

RETRY_AFTER = 1.0
"""Seconds after a failed connect during which no new connection is tried: in an outage
each query would otherwise wait for its own connect timeout before SQLAlchemy (which
reports the outage) got its turn."""


class DriverPoolTimeout(TimeoutError):
    """Every connection stayed in use for the whole wait."""


class DriverPoolDown(ConnectionError):
    """A connect failed a moment ago; none is tried again yet."""


def lost_connection(error: BaseException) -> bool:
    """Whether `error` means the connection (and likely the server) went away, rather
    than that the query failed on a working one (or waited too long for one)."""
    if isinstance(error, DriverPoolTimeout):
        return False
    return not isinstance(error, asyncpg.PostgresError) or isinstance(
        error,
        asyncpg.exceptions.PostgresConnectionError
        | asyncpg.exceptions.AdminShutdownError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.CrashShutdownError,
    )


class DriverPool:
    """Up to `size` asyncpg connections made by `connect`, handed out one query at a time."""

    def __init__(
        self, connect: Callable[[], Awaitable[asyncpg.Connection]], size: int, timeout: float
    ) -> None:
        self._connect = connect
        self.size = size
        self.timeout = timeout
        self._idle: list[asyncpg.Connection] = []
        self._waiting: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._open = 0
        self._closed = False
        self._retry_at = 0.0

    @property
    def in_use(self) -> int:
        """Connections open (or opening) and not idle."""
        return self._open - len(self._idle)

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        """The rows of `sql` with `args`, on a connection of the pool."""
        conn = await self._take()
        healthy = False
        try:
            rows: list[Any] = await conn.fetch(sql, *args)
            healthy = True
            return rows
        except asyncpg.PostgresError as error:
            # A query that failed on a working connection (a bad value, a timeout the
            # server enforced) leaves it able to serve the next one.
            healthy = not lost_connection(error)
            raise
        finally:
            self._give_back(conn, healthy)

    def expire(self) -> None:
        """Close the idle connections (after the server went away, they are dead too)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            self._open -= 1
            conn.terminate()

    async def close(self) -> None:
        """Close the idle connections now and the others as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._open -= 1
            await conn.close()
        while self._waiting:
            self._waiting.popleft().cancel()

    async def _take(self) -> asyncpg.Connection:
        if self._closed:
            raise RuntimeError("the driver pool is closed")
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
            self._open -= 1
        if self._open < self.size:
            if time.monotonic() < self._retry_at:
                raise DriverPoolDown("the database refused a connection a moment ago")
            self._open += 1
            return await self._open_one()
        turn: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            async with asyncio.timeout(self.timeout):
                conn = await turn
        except BaseException as error:
            if turn.done() and not turn.cancelled():
                self._hand_on(turn.result())  # it came as the wait ended: the next one's
            else:
                turn.cancel()
            if isinstance(error, TimeoutError):
                raise DriverPoolTimeout(f"no connection free within {self.timeout} s") from None
            raise
        if conn is not None:
            return conn
        self._open += 1  # the place of a connection that closed: open a new one
        return await self._open_one()

    async def _open_one(self) -> asyncpg.Connection:
        """A new connection, counted in `_open` already; on failure its place goes on."""
        try:
            return await self._connect()
        except BaseException as error:
            self._open -= 1
            if isinstance(error, Exception):
                self._retry_at = time.monotonic() + RETRY_AFTER
            self._hand_on(None)
            raise

    def _give_back(self, conn: asyncpg.Connection, healthy: bool) -> None:
        if not healthy or self._closed or conn.is_closed():
            self._open -= 1
            conn.terminate()
            self._hand_on(None)
            return
        self._hand_on(conn)

    def _hand_on(self, conn: asyncpg.Connection | None) -> None:
        """Give `conn` (or, for None, the place of a closed one) to the first request
        still waiting; keep the connection idle if none is."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)
