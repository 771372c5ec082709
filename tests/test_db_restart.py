"""PostgreSQL restarted under load: requests fail fast with a 503, then recover by themselves.

The test owns its PostgreSQL (`tests.pgcluster`), serves through a real `admin-app
serve`, and keeps requests running in a thread while the cluster stops and starts.
"""

from __future__ import annotations

import threading
import time

import httpx2
import pytest

from admin_app.migrations import upgrade
from tests.conftest import make_settings
from tests.helpers import CSRF_COOKIE, PASSWORD, create_admin
from tests.pgcluster import pg_cluster  # noqa: F401 (fixture)
from tests.servers import Server, poll

LIST = "/admin/product/list"
HANG = 15.0
"""Client timeout: a request still unanswered after this long has hung (the database
timeouts below are 2 s each), and fails the test."""


def log_in(base: str) -> httpx2.Client:
    client = httpx2.Client(base_url=base, timeout=HANG, follow_redirects=False)
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={
            "username": "root@example.com",
            "password": PASSWORD,
            "csrftoken": client.cookies[CSRF_COOKIE],
        },
    )
    assert response.status_code == 303, response.text
    return client


class Load:
    """Requests in a loop on another thread; every status (or error) is kept."""

    def __init__(self, client: httpx2.Client) -> None:
        self.client = client
        self.results: list[int | str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.results.append(self.client.get(LIST).status_code)
            except httpx2.HTTPError as error:
                self.results.append(f"{type(error).__name__}: {error}")

    def finish(self) -> list[int | str]:
        self.stop.set()
        self.thread.join(timeout=HANG * 2)
        return self.results


@pytest.fixture
def served(pg_cluster, tmp_path):  # noqa: F811
    url = pg_cluster.url()
    settings = make_settings(database_url=url, data_dir=tmp_path)
    upgrade(settings)
    create_admin(settings, "root@example.com")
    env = {
        "DATABASE_URL": url,
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "restart-test-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DB_CONNECT_TIMEOUT": "2",
        "DB_POOL_TIMEOUT": "2",
    }
    server = Server(env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.terminate()
        server.wait_exit()
        server.close()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_gives_503s_then_recovers_within_5_seconds(pg_cluster, served, mode):  # noqa: F811
    """`fast` is an operator's restart; `immediate` is a crash (recovery runs on start)."""
    user = log_in(served.base)
    probe = httpx2.Client(base_url=served.base, timeout=HANG, cookies=user.cookies)
    assert probe.get(LIST).status_code == 200
    load = Load(httpx2.Client(base_url=served.base, timeout=HANG, cookies=user.cookies))
    poll(lambda: 200 in load.results, within=20, what="the load running")

    pg_cluster.stop(mode)
    poll(lambda: probe.get(LIST).status_code == 503, within=10, what="a 503 during the outage")
    page = probe.get(LIST, headers={"accept": "text/html"})
    assert page.status_code == 503
    assert "Temporarily unavailable" in page.text
    assert page.headers["retry-after"] == "5"
    assert probe.get("/healthz").status_code == 200, "liveness never depends on the database"
    assert probe.get("/readyz").status_code == 503
    during = len(load.results)
    poll(
        lambda: len(load.results) > during + 3,
        within=HANG,
        what="requests answered during the outage",
    )

    pg_cluster.start()  # returns once PostgreSQL accepts connections
    accepting = time.monotonic()
    poll(lambda: probe.get(LIST).status_code == 200, within=5, what="recovery after the restart")
    recovered_after = time.monotonic() - accepting
    poll(lambda: probe.get("/readyz").status_code == 200, within=5, what="ready again")
    results = load.finish()

    unexpected = [r for r in results if r not in (200, 503)]
    problems = [line for line in served.output if '"level": "error"' in line]
    assert not unexpected, (
        f"every request is a 200 or a fast 503, got: {unexpected[:5]}; server said:\n"
        + "\n".join(problems[-20:])
    )
    assert results.count(503) >= 3, "the outage was seen by the load"
    assert results[-1] == 200, "the load recovered too"
    assert "Traceback" not in "\n".join(served.output), "an outage is logged without tracebacks"
    print(f"recovered {recovered_after:.2f} s after PostgreSQL accepted connections")
    print(
        "\n".join(line for line in served.output if '"warning"' in line or '"error"' in line)[:3000]
    )
