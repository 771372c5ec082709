"""Under load, every request gets a database connection in its turn: none waits for seconds
while later ones overtake it (admin_app.fair_pool)."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty, QueueCommon

from admin_app.db import create_engine
from admin_app.fair_pool import FairQueue, FairQueuePool
from admin_app.settings import Settings

WORKERS = 12
POOL = 3
HOLD = 0.004  # a query and a page's rendering


async def _longest_waits(engine: AsyncEngine, seconds: float) -> list[float]:
    """Each of `WORKERS` loops for `seconds`: check out, query, hold, return. Their longest waits."""
    deadline = time.monotonic() + seconds

    async def worker() -> float:
        longest = 0.0
        while time.monotonic() < deadline:
            asked = time.monotonic()
            async with engine.connect() as connection:
                longest = max(longest, time.monotonic() - asked)
                await connection.execute(text("SELECT 1"))
                await asyncio.sleep(HOLD)
        return longest

    return list(await asyncio.gather(*(worker() for _ in range(WORKERS))))


def test_under_load_every_connection_comes_back_and_nobody_waits_long(
    pg_settings: Settings,
) -> None:
    settings = pg_settings.model_copy(update={"db_pool_size": POOL})

    async def go() -> tuple[list[float], int]:
        engine = create_engine(settings)
        try:
            waits = await _longest_waits(engine, 2.0)
            return waits, engine.pool.checkedin()  # type: ignore[attr-defined]
        finally:
            await engine.dispose()

    waits, idle = asyncio.run(go())
    # In turn, a worker waits for the others ahead of it: about WORKERS / POOL holds.
    assert max(waits) < 0.5, f"a checkout waited {max(waits):.2f} s with {WORKERS} on {POOL}"
    assert idle == POOL, f"{POOL - idle} connection(s) never came back to the pool"


def test_the_app_engine_uses_the_fair_pool(pg_settings: Settings) -> None:
    engine = create_engine(pg_settings)
    assert isinstance(engine.pool, FairQueuePool)
    assert isinstance(engine.pool._pool, FairQueue), (
        "SQLAlchemy no longer builds its queue from `_queue_class`"
    )


def test_sqlalchemy_still_builds_the_pool_queue_from_queue_class() -> None:
    assert "_queue_class" in vars(AsyncAdaptedQueuePool), (
        "SQLAlchemy renamed the queue hook of its asyncio pool"
    )
    assert QueuePool(lambda: None, pool_size=1)._pool.__class__ is QueuePool._queue_class


def test_a_waiter_that_gives_up_is_skipped_and_loses_nothing() -> None:
    async def go() -> tuple[str, list[str]]:
        queue: FairQueue[str] = FairQueue(2)
        with pytest.raises(Empty):
            await queue._wait(within=0.01)  # nobody returns anything in time
        served = asyncio.ensure_future(queue._wait(within=5))
        await asyncio.sleep(0)
        queue.put_nowait("a")  # goes to the one still waiting, not to the one that gave up
        first = await served
        late = asyncio.ensure_future(queue._wait(within=5))
        await asyncio.sleep(0)
        queue.put_nowait("b")  # handed over...
        late.cancel()  # ...just as its request was cancelled: "b" goes back, not lost
        with pytest.raises(asyncio.CancelledError):
            await late
        return first, [queue.get_nowait() for _ in range(queue.qsize())]

    first, left = asyncio.run(go())
    assert first == "a"
    assert left == ["b"]


def _served_first(queue: QueueCommon[str]) -> list[str]:
    """Who gets a connection first: a request that has waited, or one that arrived as the
    connection came back (its first step queued in the same turn, as under load)."""

    async def go() -> list[str]:
        served: list[str] = []

        async def checkout(name: str) -> None:
            connection = await greenlet_spawn(queue.get, True, 2.0)  # as the pool asks
            served.append(name)
            await asyncio.sleep(0.01)
            queue.put_nowait(connection)

        waiting = asyncio.ensure_future(checkout("waiting"))
        await asyncio.sleep(0)
        newcomer = asyncio.ensure_future(checkout("newcomer"))
        queue.put_nowait("connection")
        await asyncio.gather(waiting, newcomer)
        return served

    return asyncio.run(go())


def test_a_returned_connection_goes_to_the_request_waiting_longest() -> None:
    assert _served_first(FairQueue(1)) == ["waiting", "newcomer"]


def test_a_request_that_arrives_as_a_connection_returns_overtakes_in_sqlalchemys_queue() -> None:
    """Why the fair queue exists; when SQLAlchemy serves in order, drop it."""
    assert _served_first(AsyncAdaptedQueue(1)) == ["newcomer", "waiting"]


def test_waiters_are_served_in_order() -> None:
    async def go() -> list[int]:
        queue: FairQueue[str] = FairQueue(1)
        order: list[int] = []

        async def wait(n: int) -> None:
            await queue._wait(within=5)
            order.append(n)

        waiters = [asyncio.ensure_future(wait(n)) for n in range(3)]
        await asyncio.sleep(0)
        for _ in range(3):
            queue.put_nowait("connection")
            assert queue.empty(), "a connection sat idle while someone waited"
        await asyncio.gather(*waiters)
        return order

    assert asyncio.run(go()) == [0, 1, 2]
