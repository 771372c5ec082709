"""`/admin/events` under a real server: the stream ends as soon as the client goes away,
not at the next keep-alive, so abandoned streams never pile up."""

from __future__ import annotations

import time

from admin_app.main import create_app
from tests.helpers import create_admin
from tests.live.clients import signed_in
from tests.live.servers import ThreadedServer


def test_the_stream_is_released_when_the_client_disconnects(settings):
    slow = settings.model_copy(
        update={"live_heartbeat": 600.0, "allowed_hosts": ["127.0.0.1"]}
    )  # no keep-alive will come to reveal the disconnect
    create_admin(slow, "root@example.com")
    with ThreadedServer(create_app(slow)) as server:
        client = signed_in(server.url, "root@example.com")
        live = server.state["live"]
        with client.stream("GET", "/admin/events") as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 3000"
            assert '"type":"hello"' in next(lines)
            assert len(live.hub.subscribers) == 1
        deadline = time.monotonic() + 5
        while live.hub.subscribers and time.monotonic() < deadline:
            time.sleep(0.01)  # polling: the server sees the disconnect asynchronously
        assert not live.hub.subscribers, "the stream outlived its client"
