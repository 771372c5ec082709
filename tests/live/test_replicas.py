"""Two app processes sharing one PostgreSQL database, as two replicas behind a load balancer.

The requirement: a change made through one reaches a WebSocket client of the other
within one second. Both servers are real uvicorn processes; nothing is shared but
the database (and the secret key, as replicas share it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.helpers import create_admin, fetch
from tests.live.clients import (
    SESSION_COOKIE,
    next_message,
    of_type,
    open_socket,
    signed_in,
    submit,
)
from tests.live.servers import AppServer, server_env


@pytest.fixture
def replicas(
    postgres_backend: str, databases, tmp_path: Path
) -> Iterator[tuple[AppServer, AppServer, str]]:
    url = databases.new(postgres_backend, tmp_path)
    create_admin(make_settings(database_url=url), "ann@example.com", full_name="Ann Editor")
    create_admin(make_settings(database_url=url), "bob@example.com", full_name="Bob Viewer")
    env = server_env(url, tmp_path / "data")
    with (
        AppServer(env, tmp_path / "a.log") as first,
        AppServer(env, tmp_path / "b.log") as second,
    ):
        yield first, second, url


def test_a_change_through_one_replica_reaches_a_socket_on_the_other_within_a_second(replicas):
    first, second, url = replicas
    ann = signed_in(first.url, "ann@example.com")
    bob = signed_in(second.url, "bob@example.com")

    async def scenario() -> tuple[dict, float]:
        async with open_socket(second.ws_url, bob.cookies[SESSION_COOKIE], second.url) as ws:
            await next_message(ws, of_type("hello"), within=5)
            await ws.send('{"type": "watch", "model": "category"}')
            await next_message(ws, of_type("watching"), within=5)
            created = await asyncio.to_thread(
                submit, ann, "/admin/category/create", {"name": "Garden", "slug": "garden"}
            )
            committed = time.monotonic()
            assert created.status_code == 303, created.text
            message = await next_message(ws, of_type("change", model="category"), within=1.0)
            return message, time.monotonic() - committed

    message, latency = asyncio.run(scenario())
    pk = fetch(make_settings(database_url=url), "SELECT id FROM category WHERE slug = 'garden'")
    assert message["pks"] == [str(pk[0][0])]
    assert message["action"] == "created"
    assert message["user"]["name"] == "Ann Editor", "the change names who made it"
    assert latency < 1.0, f"the change took {latency:.3f} s to reach the other replica"


def test_presence_spans_replicas(replicas):
    first, second, url = replicas
    settings = make_settings(database_url=url)
    ann = signed_in(first.url, "ann@example.com")
    bob = signed_in(second.url, "bob@example.com")
    submit(ann, "/admin/category/create", {"name": "Tools", "slug": "tools"})
    pk = str(fetch(settings, "SELECT id FROM category WHERE slug = 'tools'")[0][0])
    watch = f'{{"type": "watch", "model": "category", "pk": "{pk}", "mode": "editing"}}'

    def names(message: dict) -> set[str]:
        return {viewer["name"] for viewer in message["viewers"]}

    async def scenario() -> None:
        async with (
            open_socket(first.ws_url, ann.cookies[SESSION_COOKIE], first.url) as ws_ann,
            open_socket(second.ws_url, bob.cookies[SESSION_COOKIE], second.url) as ws_bob,
        ):
            await ws_ann.send(watch)
            await next_message(ws_ann, of_type("watching"), within=5)
            await ws_bob.send(watch.replace("editing", "viewing"))
            seen_by_bob = await next_message(
                ws_bob, lambda m: m["type"] == "presence" and len(m["viewers"]) == 2, within=5
            )
            assert names(seen_by_bob) == {"Ann Editor", "Bob Viewer"}
            modes = {v["name"]: v["mode"] for v in seen_by_bob["viewers"]}
            assert modes["Ann Editor"] == "editing"
            seen_by_ann = await next_message(
                ws_ann, lambda m: m["type"] == "presence" and len(m["viewers"]) == 2, within=5
            )
            assert names(seen_by_ann) == {"Ann Editor", "Bob Viewer"}
            await ws_bob.close()
            left = await next_message(
                ws_ann, lambda m: m["type"] == "presence" and len(m["viewers"]) == 1, within=5
            )
            assert names(left) == {"Ann Editor"}, "Bob left the record: he must drop out"

    asyncio.run(scenario())
