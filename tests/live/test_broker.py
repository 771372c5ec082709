"""PostgreSQL LISTEN/NOTIFY between processes: delivery, reconnection, revocations on commit."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from admin_app.db import create_engine, create_sessionmaker
from admin_app.live.broker import PostgresBroker, announce_revocation, listen_options
from tests.conftest import make_settings


class Node:
    """One process's broker, recording what it hears."""

    def __init__(self, name: str, url: str) -> None:
        self.heard: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.connections: asyncio.Queue[bool] = asyncio.Queue()
        settings = make_settings(database_url=url)
        self.broker = PostgresBroker(
            node=name,
            connect_options=listen_options(settings.db_url, 5),
            on_messages=lambda node, ms: [self.heard.put_nowait((node, m)) for m in ms],
            on_connected=self.connections.put_nowait,
            heartbeat=30,
        )

    async def next(self, within: float = 5) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.heard.get(), within)


@pytest.fixture
def url(postgres_backend, databases, tmp_path) -> str:
    return databases.new(postgres_backend, tmp_path)


async def started(*nodes: Node) -> None:
    for node in nodes:
        await node.broker.start()
        assert await asyncio.wait_for(node.connections.get(), 10) is True


async def test_messages_reach_the_other_process_and_not_the_sender(url):
    a, b = Node("a", url), Node("b", url)
    await started(a, b)
    try:
        a.broker.send([{"type": "sync"}])
        b.broker.send([{"type": "marker"}])
        assert await b.next() == ("a", {"type": "sync"})
        assert await a.next() == ("b", {"type": "marker"}), "a must not hear its own message"
    finally:
        await a.broker.stop()
        await b.broker.stop()


async def test_a_dropped_connection_is_reopened_and_reported(url):
    a, b = Node("a", url), Node("b", url)
    await started(a, b)
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    try:
        admin = await asyncpg.connect(dsn)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'admin-app live' AND datname = current_database()"
            )
        finally:
            await admin.close()
        assert killed == 2
        assert await asyncio.wait_for(a.connections.get(), 10) is False, "a reconnects"
        assert await asyncio.wait_for(b.connections.get(), 10) is False, "b reconnects"
        a.broker.send([{"type": "after"}])
        assert await b.next() == ("a", {"type": "after"})
    finally:
        await a.broker.stop()
        await b.broker.stop()


async def test_revocations_are_announced_only_when_they_commit(url):
    listener, sender = Node("listener", url), Node("sender", url)
    await started(listener, sender)
    engine = create_engine(make_settings(database_url=url))
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            await announce_revocation(db)
            await db.rollback()
        sender.broker.send([{"type": "marker"}])
        assert (await listener.next())[1] == {"type": "marker"}, (
            "a rolled-back revocation is silent"
        )
        async with create_sessionmaker(engine).begin() as db:
            await announce_revocation(db)
        assert await listener.next() == ("database", {"type": "recheck"})
    finally:
        await engine.dispose()
        await listener.broker.stop()
        await sender.broker.stop()
