"""The driver pool (admin_app/driver_pool.py): plain asyncpg connections, one query at a
time, for requests whose session has not begun; on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, func, select
from starlette.testclient import TestClient

from admin_app import driver_pool
from admin_app.admin.listing import ListingMixin
from admin_app.db import (
    _DRIVER_POOLS,
    DriverQuery,
    close_driver_pool,
    create_engine,
    create_sessionmaker,
    open_driver_pool,
)
from admin_app.driver_pool import DriverPool, DriverPoolDown, DriverPoolTimeout
from admin_app.main import create_app
from admin_app.models import Category
from tests.conftest import seed_small
from tests.helpers import create_admin, fetch, login

PID = "SELECT pg_backend_pid()"


def _dsn(settings: Any) -> str:
    return str(settings.database_url).replace("postgresql+asyncpg://", "postgresql://")


def pool_on(settings: Any, size: int, timeout: float = 5.0) -> DriverPool:
    dsn = _dsn(settings)

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(dsn)

    return DriverPool(connect, size, timeout)


def run(work: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(work())


def test_at_most_size_connections_and_the_next_query_waits_its_turn(pg_settings):
    async def work() -> tuple[set[int], int]:
        pool = pool_on(pg_settings, 2)
        try:
            rows = await asyncio.gather(
                *(pool.fetch("SELECT pg_backend_pid(), pg_sleep(0.1)", []) for _ in range(6))
            )
            return {row[0][0] for row in rows}, pool.in_use
        finally:
            await pool.close()

    backends, in_use = run(work)
    assert len(backends) == 2, "six queries shared two connections"
    assert in_use == 0, "every connection came back"


def test_a_query_waits_no_longer_than_the_timeout(pg_settings):
    async def work() -> None:
        pool = pool_on(pg_settings, 1, timeout=0.2)
        try:
            slow = asyncio.create_task(pool.fetch("SELECT pg_sleep(1)", []))
            await asyncio.sleep(0.05)
            with pytest.raises(DriverPoolTimeout):
                await pool.fetch(PID, [])
            await slow
            assert (await pool.fetch("SELECT 1", []))[0][0] == 1, "the pool still serves"
        finally:
            await pool.close()

    run(work)


def test_a_waiter_that_gives_up_leaves_its_turn_to_the_next(pg_settings):
    async def work() -> int:
        pool = pool_on(pg_settings, 1)
        try:
            slow = asyncio.create_task(pool.fetch("SELECT pg_sleep(0.2)", []))
            await asyncio.sleep(0.05)
            gave_up = asyncio.create_task(pool.fetch(PID, []))
            await asyncio.sleep(0.05)
            gave_up.cancel()
            await slow
            rows = await asyncio.wait_for(pool.fetch("SELECT 7", []), 2)
            return int(rows[0][0])
        finally:
            await pool.close()

    assert run(work) == 7


def test_a_failed_query_keeps_its_connection_and_a_lost_one_is_replaced(pg_settings):
    async def work() -> tuple[int, int, int]:
        pool = pool_on(pg_settings, 1)
        try:
            first = (await pool.fetch(PID, []))[0][0]
            with pytest.raises(asyncpg.PostgresError):
                await pool.fetch("SELECT 1 / 0", [])
            same = (await pool.fetch(PID, []))[0][0]
            other = await asyncpg.connect(_dsn(pg_settings))
            await other.execute("SELECT pg_terminate_backend($1)", same)
            await other.close()
            try:  # the first query may still find it dead, or find it closed already
                replaced = (await pool.fetch(PID, []))[0][0]
            except Exception:  # whichever way asyncpg reports it
                replaced = (await pool.fetch(PID, []))[0][0]
            return first, same, replaced
        finally:
            await pool.close()

    first, same, replaced = run(work)
    assert first == same, "a query error on a working connection keeps it"
    assert replaced != same, "a dead connection is replaced"


def test_close_ends_the_connections(pg_settings):
    async def work() -> int:
        pool = pool_on(pg_settings, 2)
        pids = await asyncio.gather(pool.fetch(PID, []), pool.fetch(PID, []))
        await pool.close()
        with pytest.raises(RuntimeError):
            await pool.fetch(PID, [])
        return int(pids[0][0][0])

    pid = run(work)
    assert fetch(pg_settings, "SELECT count(*) FROM pg_stat_activity WHERE pid = :p", p=pid) == [
        (0,)
    ]


_PID_QUERY = DriverQuery(select(func.pg_backend_pid()))


def test_a_session_that_has_begun_keeps_its_own_connection(pg_settings):
    """A driver query sees what its session wrote and has not committed: once a session
    has begun, its driver queries run on its own connection, not the pool's."""
    categories = DriverQuery(select(func.count()).select_from(Category))

    async def work() -> tuple[int, int, int, int]:
        engine = create_engine(pg_settings)
        open_driver_pool(engine, pg_settings)
        try:
            async with create_sessionmaker(engine)() as session:
                before = (await categories.first(session))[0]  # type: ignore[index]
                pooled = (await _PID_QUERY.first(session))[0]  # type: ignore[index]
                session.add(Category(name="Unsaved", slug="unsaved"))
                await session.flush()
                after = (await categories.first(session))[0]  # type: ignore[index]
                own = await session.scalar(select(func.pg_backend_pid()))
                on_own = (await _PID_QUERY.first(session))[0]  # type: ignore[index]
                assert on_own == own
                await session.rollback()
                return before, after, pooled, own
        finally:
            await close_driver_pool(engine)
            await engine.dispose()

    before, after, pooled, own = run(work)
    assert after == before + 1, "the driver query saw the session's own write"
    assert pooled != own, "before the session began, the query ran on the driver pool"


def test_a_repeat_list_view_checks_no_connection_out_of_sqlalchemy(pg_settings, monkeypatch):
    """On a big table (estimated total, kept for a while), the login check and the rows
    of a repeat view run on the driver pool only; what changed since still shows."""
    monkeypatch.setattr(ListingMixin, "exact_count_limit", 0)  # every table is big
    seed_small(pg_settings)
    create_admin(pg_settings, "root@example.com")
    with TestClient(create_app(pg_settings)) as client:
        assert login(client, "root@example.com").status_code == 303
        assert client.get("/admin/customer/list").status_code == 200
        checkouts: list[object] = []
        engine = client.app_state["engine"].sync_engine
        event.listen(engine, "checkout", lambda *args: checkouts.append(args))
        fetch(pg_settings, "UPDATE customer SET city = 'Quuxville'")
        page = client.get("/admin/customer/list")
    assert page.status_code == 200
    assert "Quuxville" in page.text
    assert checkouts == [], "the page took a connection from SQLAlchemy's pool"


def test_pages_still_answer_when_the_driver_pools_connections_are_lost(pg_settings):
    """Its connections die (a restart, an idle timeout on a proxy): the query runs again
    through SQLAlchemy, and the pool opens new ones."""
    create_admin(pg_settings, "root@example.com")
    with TestClient(create_app(pg_settings)) as client:
        assert login(client, "root@example.com").status_code == 303
        assert client.get("/admin/category/list").status_code == 200
        fetch(
            pg_settings,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'admin-app' AND datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'idle'",
        )
        answers = [client.get("/admin/category/list").status_code for _ in range(3)]
    # SQLAlchemy's idle connections died too: the first answer may be the 503 any
    # request gets when the database went away under it; the next ones are pages.
    assert answers[1:] == [200, 200], answers
    assert answers[0] in (200, 503), answers


def test_the_pool_follows_db_pool_size(pg_settings):
    settings = pg_settings.model_copy(update={"db_pool_size": 3})

    async def work() -> int:
        engine = create_engine(settings)
        open_driver_pool(engine, settings)
        try:
            return _DRIVER_POOLS[engine.sync_engine.pool].size
        finally:
            await close_driver_pool(engine)
            await engine.dispose()

    assert run(work) == 3


def test_after_a_failed_connect_queries_fail_at_once_for_a_moment():
    """In an outage, a query must not wait for its own connect timeout before SQLAlchemy,
    which reports the outage, gets its turn: one connect is tried, then none for a while."""
    attempts: list[float] = []

    async def refused() -> asyncpg.Connection:
        attempts.append(time.monotonic())
        raise ConnectionRefusedError("no server")

    async def work() -> None:
        pool = DriverPool(refused, 2, 5.0)
        with pytest.raises(ConnectionRefusedError):
            await pool.fetch(PID, [])
        with pytest.raises(DriverPoolDown):
            await pool.fetch(PID, [])
        assert len(attempts) == 1
        await asyncio.sleep(driver_pool.RETRY_AFTER + 0.05)
        with pytest.raises(ConnectionRefusedError):
            await pool.fetch(PID, [])
        assert len(attempts) == 2, "tried again after the pause"
        assert pool.in_use == 0

    run(work)
