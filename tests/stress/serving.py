"""A real `admin-app serve` on a seeded database, for the stress scenarios.

Scenarios talk to it over loopback as outsiders would, read its JSON log for
unhandled errors, its `/metrics` for what it did, and `/proc` for its memory.
"""

from __future__ import annotations

import re
import resource
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx2

from admin_app.settings import Settings
from tests.helpers import CSRF_COOKIE, PASSWORD, create_admin, fetch, metric
from tests.servers import Server

METRICS_TOKEN = "stress-metrics-token-" + "m" * 20
ADMIN = "root@example.com"
ERROR_LEVELS = {"error", "critical", "exception"}


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(settings.data_dir),
        "ENVIRONMENT": "test",
        "SECRET_KEY": settings.secret,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_FORMAT": "json",
        **extra,
    }


@contextmanager
def serving(settings: Settings, *args: str, **extra: str) -> Iterator[Server]:
    """`admin-app serve` on `settings` (already migrated), with a superuser `ADMIN`."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not fetch(settings, "SELECT 1 FROM admin_user WHERE email = :e", e=ADMIN):
        create_admin(settings, ADMIN)
    server = Server(server_env(settings, **extra), *args, log_file=settings.data_dir / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        if server.process.poll() is None:
            server.terminate()
            server.wait_exit()
        server.close()


def signed_in(
    base: str, email: str = ADMIN, password: str = PASSWORD, **kw: object
) -> httpx2.Client:
    """A client with a fresh session of `email`; its CSRF token is `csrf(client)`."""
    client = httpx2.Client(base_url=base, timeout=30, follow_redirects=False, **kw)  # type: ignore[arg-type]
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"username": email, "password": password, "csrftoken": client.cookies[CSRF_COOKIE]},
    )
    assert response.status_code == 303, response.text[:300]
    client.get("/admin/")  # a page after login sets the session's CSRF cookie
    return client


def csrf(client: httpx2.Client) -> str:
    return str(client.cookies[CSRF_COOKIE])


def scrape(base: str) -> str:
    response = httpx2.get(
        f"{base}/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text[:300]
    return response.text


def loop_lag_max(base: str) -> float:
    return float(metric(scrape(base), "admin_app_event_loop_lag_max_seconds") or 0.0)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else 0.0


def unhandled_errors(server: Server) -> list[str]:
    """Log lines at error level or with a traceback: each is an unhandled failure."""
    bad = []
    for line in server.lines():
        if str(line.get("level", "")).lower() in ERROR_LEVELS or "Traceback" in str(line):
            trace = str(line.get("exception", ""))
            bad.append(f"{line.get('event')} {line.get('path', '')}: ...{trace[-700:]}")
    return bad


def half_requests(signed: httpx2.Client, n: int) -> list[bytes]:
    """`n` request beginnings: headers cut short, bodies cut short, signed in or not."""
    cookie = "; ".join(f"{k}={v}" for k, v in signed.cookies.items())
    token = csrf(signed)
    kinds = [
        b"GET /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Waiting: ",
        b"POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
        b"username=",
        # Signed in, with a valid CSRF token: this one gets furthest into the app.
        b"POST /admin/category/create HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Cookie: {cookie}\r\nX-CSRFToken: {token}\r\n".encode()
        + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
        + b"name=slow",
    ]
    return [kinds[i % len(kinds)] for i in range(n)]


@contextmanager
def held_open(base: str, beginnings: list[bytes]) -> Iterator[list[socket.socket]]:
    """Connections that sent `beginnings` and wait; closed on the way out."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, len(beginnings) + 1024)), hard))
    url = urlsplit(base)
    sockets: list[socket.socket] = []
    try:
        for beginning in beginnings:
            connection = socket.create_connection((url.hostname, url.port), timeout=10)
            connection.sendall(beginning)
            sockets.append(connection)
        yield sockets
    finally:
        for connection in sockets:
            connection.close()
