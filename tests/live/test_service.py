"""The service of one process, over a real PostgreSQL connection that drops."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from admin_app.db import create_engine, create_sessionmaker
from admin_app.live.hub import RESYNC, Page
from admin_app.live.messages import Actor
from admin_app.live.service import LiveService
from tests.conftest import make_settings


@pytest.fixture
def url(postgres_backend, databases, tmp_path) -> str:
    return databases.new(postgres_backend, tmp_path)


async def test_after_a_reconnect_pages_are_told_and_the_service_still_stops(url):
    settings = make_settings(database_url=url)
    engine = create_engine(settings)
    live = LiveService(settings, create_sessionmaker(engine))
    await live.start()
    try:
        await asyncio.wait_for(live.broker.connected.wait(), 10)  # type: ignore[attr-defined]
        page = live.connect(Actor(1, "Ann"), "session", frozenset({"product"}))
        live.watch(page, Page("product"))
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'admin-app live' AND datname = current_database()"
            )
        finally:
            await connection.close()
        assert await asyncio.wait_for(page.next(), 10) == RESYNC
    finally:
        # The reconnect also woke the session watcher; stopping must not hang on it
        # (it did, when the watcher slept in asyncio.wait_for on Python 3.11).
        await asyncio.wait_for(live.stop(), 10)
        await engine.dispose()


async def test_behind_a_pooler_without_a_direct_url_it_warns_instead_of_listening(url, caplog):
    """A LISTEN through a transaction-pooling PgBouncer would hear nothing, silently: the
    service says so and does not open one."""
    settings = make_settings(database_url=url, database_pooler="pgbouncer")
    engine = create_engine(settings)
    live = LiveService(settings, create_sessionmaker(engine))
    await live.start()
    try:
        assert "set DATABASE_DIRECT_URL" in caplog.text, "no warning that live updates stay local"
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            listening = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = 'admin-app live' AND datname = current_database()"
            )
        finally:
            await connection.close()
        assert listening == 0, "it listens through the pooler"
    finally:
        await asyncio.wait_for(live.stop(), 10)
        await engine.dispose()


async def test_a_message_for_one_user_reaches_that_user_in_another_process_and_nobody_else(url):
    """An import's progress, told by the process running it, reaches its user's page
    whichever process holds that page's connection."""
    settings = make_settings(database_url=url)
    engine = create_engine(settings)
    here, there = (LiveService(settings, create_sessionmaker(engine)) for _ in range(2))
    for service in (here, there):
        await service.start()
    try:
        for service in (here, there):
            await asyncio.wait_for(service.broker.connected.wait(), 10)  # type: ignore[attr-defined]
        ann = there.connect(Actor(1, "Ann"), "s1", frozenset({"customer"}))
        bob = there.connect(Actor(2, "Bob"), "s2", frozenset({"customer"}))
        mine = here.connect(Actor(1, "Ann"), "s3", frozenset({"customer"}))
        here.tell(1, {"type": "import", "job": {"id": 7, "rows_done": 500}})
        expected = '{"type":"import","job":{"id":7,"rows_done":500}}'
        assert await asyncio.wait_for(ann.next(), 10) == expected
        assert mine.pending() == [expected], "the user's connection in the same process"
        assert bob.pending() == [], "another user was told of Ann's import"
    finally:
        for service in (here, there):
            await asyncio.wait_for(service.stop(), 10)
        await engine.dispose()
