"""A connection pool that hands a returned connection to the request waiting longest.

SQLAlchemy's asyncio pool keeps idle connections in an `asyncio.Queue`, and its
checkout takes an idle connection at once when there is one. When every connection is
in use, a connection coming back wakes the first waiter, but a request that arrives
before the waiter runs takes the connection first; the waiter finds the queue empty
and joins the back of the line. Under steady load the same requests keep overtaking,
and one waiter can wait for seconds, then fail with the pool's timeout: with 20
browsers on a pool of 20, a tenth of the pages took over 2 seconds and some over 8
(sqlalchemy/sqlalchemy#7679 describes it for threads; asyncio has it the same way).

`FairQueue` gives a returned connection straight to the oldest waiter, so a connection
is idle only when nobody waits, and a checkout that finds one overtakes nobody.
`FairQueuePool` is SQLAlchemy's `AsyncAdaptedQueuePool` with that queue: its
`_queue_class` hook is the one name here that SQLAlchemy does not document, and
tests/test_fair_pool.py pins it against the installed version.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TypeVar

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_
from sqlalchemy.util.queue import Empty, Full, QueueCommon

_T = TypeVar("_T")


class FairQueue(QueueCommon[_T]):
    """First come, first served: `put` hands an item to the oldest waiting `get`."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._items: deque[_T] = deque()
        self._waiters: deque[asyncio.Future[_T]] = deque()

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: _T) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter that timed out is skipped
                waiter.set_result(item)
                return
        if self.full():
            raise Full()
        self._items.append(item)

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        self.put_nowait(item)  # never blocks: the pool never holds more than its size

    def get_nowait(self) -> _T:
        if not self._items:
            raise Empty()
        return self._items.pop() if self.use_lifo else self._items.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        if self._items or not block:
            return self.get_nowait()  # an idle item means nobody is waiting
        return await_(self._wait(within=timeout))

    async def _wait(self, *, within: float | None) -> _T:
        waiter: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(within):
                return await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())  # handed over as we gave up: pass it on
            waiter.cancel()  # a waiter that gave up is skipped by `put_nowait`
            if isinstance(error, TimeoutError):
                raise Empty() from None
            raise


class FairQueuePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio pool, serving waiting checkouts in the order they came."""

    _queue_class: type[QueueCommon[ConnectionPoolEntry]] = FairQueue
