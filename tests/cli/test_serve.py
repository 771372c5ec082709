"""`admin-app serve`: several workers, JSON logs, shared metrics, and a graceful shutdown."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlencode

import httpx2
import pytest

from admin_app.cli.serve import MULTIPROC_ENV, metrics_directory
from tests.conftest import make_settings
from tests.helpers import CSRF_COOKIE, PASSWORD, create_admin, fetch, metric
from tests.servers import Server, poll

TOKEN = "serve-test-metrics-token-0123"


@pytest.fixture
def server_env(settings, database_url, tmp_path) -> dict[str, str]:
    create_admin(settings, "root@example.com")
    return {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "serve-test-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "METRICS_TOKEN": TOKEN,
    }


def scrape(server: Server) -> str:
    response = httpx2.get(
        server.url("/metrics"), headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.text


def start_slow_login(server: Server) -> tuple[socket.socket, bytes]:
    """Send a login's headers and half its body; return the socket and the other half."""
    page = httpx2.get(server.url("/admin/login"), timeout=10)
    csrf = page.cookies[CSRF_COOKIE]
    body = urlencode(
        {"username": "root@example.com", "password": PASSWORD, "csrftoken": csrf}
    ).encode()
    head = (
        f"POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nCookie: {CSRF_COOKIE}={csrf}\r\n\r\n"
    ).encode()
    half = len(body) // 2
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    connection.sendall(head + body[:half])
    return connection, body[half:]


def read_response(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_sigterm_lets_a_request_in_flight_finish_across_two_workers(server_env, settings):
    server = Server(server_env, "--workers", "2")
    try:
        server.wait_ready()
        connection, rest = start_slow_login(server)
        # The login is in flight once the app has started it: the shared in-flight gauge
        # counts it (plus the scrape asking).
        poll(
            lambda: (metric(scrape(server), "admin_app_http_requests_in_progress") or 0) >= 2,
            within=20,
            what="the slow login counted in flight",
        )
        server.terminate()
        poll(
            lambda: any("Waiting for connections to close" in line for line in server.output),
            within=20,
            what="a worker waiting for the open request during shutdown",
        )
        connection.sendall(rest)
        response = read_response(connection)
        connection.close()
        assert server.wait_exit() == 0, "\n".join(server.output)
    finally:
        server.close()
    status_line = response.split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 303 See Other", response[:500]
    assert b"set-cookie: admin_session=" in response.lower()
    sessions = fetch(settings, "SELECT count(*) FROM admin_session")
    assert sessions[0][0] == 1, "the login finished and was committed during shutdown"
    assert server.logged(event="request", route="/admin/login", method="POST", status=303)
    assert PASSWORD not in "\n".join(server.output)
    metrics_dir = server.logged(logger="admin_app.serve")[0]["metrics_dir"]
    assert metrics_dir and not Path(metrics_dir).exists(), "the metrics directory is removed"


def test_metrics_add_up_across_workers(server_env):
    server = Server(server_env, "--workers", "2")
    sent = 0
    login_200 = {"method": "GET", "route": "/admin/login", "status": "200"}
    try:
        server.wait_ready()

        def both_workers_answered() -> bool:
            nonlocal sent
            httpx2.get(server.url("/admin/login"), timeout=10)  # a new connection each time
            sent += 1
            lines = server.logged(event="request", route="/admin/login")
            return len({line["pid"] for line in lines}) == 2

        poll(both_workers_answered, within=60, what="requests reaching both workers", every=0)
        # Each worker records a request just after answering it: wait for the last ones.
        poll(
            lambda: metric(scrape(server), "admin_app_http_requests_total", **login_200) == sent,
            within=10,
            what=f"the scrape counting all {sent} requests, whichever worker served them",
        )
        server.terminate()
        assert server.wait_exit() == 0
    finally:
        server.close()
    assert len(server.logged(event="request", route="/admin/login")) == sent


def test_a_configured_metrics_directory_is_emptied_before_and_after(tmp_path, monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    settings = make_settings(prometheus_multiproc_dir=directory)
    with metrics_directory(settings, workers=1) as used:
        assert used == directory
        assert os.environ[MULTIPROC_ENV] == str(directory)
        assert not list(directory.iterdir()), "stale files from a previous run are removed"
        (directory / "counter_456.db").write_bytes(b"this run")
    assert directory.exists() and not list(directory.iterdir())
    assert MULTIPROC_ENV not in os.environ, "the variable is only for the server's lifetime"


def test_one_worker_without_a_directory_stays_single_process(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with metrics_directory(make_settings(), workers=1) as used:
        assert used is None
        assert MULTIPROC_ENV not in os.environ
