"""A real `admin-app serve` on a seeded database, for the stress scenarios.

Scenarios talk to it over loopback as outsiders would, read its JSON log for
unhandled errors, its `/metrics` for what it did, and `/proc` for its memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
