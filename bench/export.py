"""A full CSV export from each app, timed and weighed in server memory while it streams."""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx2

from bench.servers import CSRF_COOKIE, RssSampler, Server
from bench.traffic import Figure


def export_admin(admin: Server, cookie: str) -> Figure:
    """Every customer through the admin's export action, with the login's CSRF token."""
    jar = dict(part.split("=", 1) for part in cookie.split("; "))
    params = {"name": "export", "_list_query": ""}
    form = {"scope": "all", "format": "csv", "csrftoken": jar[CSRF_COOKIE]}
    path = "/admin/_api/customer/action"
    return export_stream(admin, "POST", path, {"Cookie": cookie}, (params, form))


def export_floor(floor: Server) -> Figure:
    """Every customer from the floor's COPY."""
    return export_stream(floor, "GET", "/customers.csv", {}, None)


def export_stream(
    server: Server, method: str, path: str, headers: dict[str, str], post: Any
) -> Figure:
    """Download a whole CSV, counting rows, while sampling the server's memory."""
    sampler = RssSampler(server.pid)
    sampler.start()
    started = time.perf_counter()
    rows = -1  # the header line
    headers = {**headers, "Accept-Encoding": "identity"}
    with httpx2.Client(base_url=server.url, timeout=600) as client:
        kwargs: dict[str, Any] = {"headers": headers}
        if post is not None:
            kwargs.update(params=post[0], data=post[1])
        with client.stream(method, path, **kwargs) as response:
            if response.status_code != 200:
                sys.exit(f"error: the export at {server.url}{path} answered {response.status_code}")
            for chunk in response.iter_raw():
                rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    peak = sampler.stop()
    return Figure(
        req_s=1 / elapsed,
        p50_ms=elapsed * 1000,
        p99_ms=elapsed * 1000,
        answers=1,
        rows=rows,
        rows_s=rows / elapsed,
        peak_rss_mb=peak,
        note=f"{rows:,} rows in {elapsed:.1f} s",
    )
