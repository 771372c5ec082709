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
