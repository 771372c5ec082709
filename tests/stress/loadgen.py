"""Sign-in load from a separate, lower-priority process, as clients on other machines.

A load generator of 200 threads inside the test process competes with the server for
the same two cores, so the server's event loop is starved by its own clients and the
lag it reports says more about the test than about the app. Here the clients are one
asyncio process at nice 10: they still send everything at once, but when a core is
short, the server runs first, as it would with the clients elsewhere.

    python -m tests.stress.loadgen < attempts.json > results.json

Input: {"base": url, "concurrency": n, "attempts": [[email, password, ip or null], ...]}.
Output: [[status, seconds], ...] in the same order; status 0 means signed in but the
session did not open the dashboard; -1 a transport error (written to stderr).

With `"mode": "pages"`, signed-in clients browse instead: {"base", "cookies": [{name:
value}, ...] (one client each, all starting at once), "urls": [[path, ...], ...] (each
client's pages, in order)}; the output is every request's [status, seconds].
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2

CSRF_COOKIE = "starlette_admin_csrftoken"
ROOT = Path(__file__).resolve().parents[2]


async def login(
    transport: httpx2.AsyncBaseTransport, base: str, attempt: list[str | None]
) -> tuple[int, float]:
    email, password, ip = attempt
    headers = {"x-forwarded-for": ip} if ip else {}
    # Not closed on its own: closing a client closes the transport all clients share.
    client = httpx2.AsyncClient(base_url=base, timeout=120, headers=headers, transport=transport)
    await client.get("/admin/login")
    started = time.monotonic()
    response = await client.post(
        "/admin/login",
        data={
            "username": email,
            "password": password,
            "csrftoken": client.cookies[CSRF_COOKIE],
        },
    )
    took = time.monotonic() - started
    if response.status_code == 303 and (await client.get("/admin/")).status_code != 200:
        return 0, took
    return response.status_code, took


async def run(spec: dict[str, Any]) -> list[tuple[int, float]]:
    gate = asyncio.Semaphore(spec["concurrency"])
    transport = httpx2.AsyncHTTPTransport(
        limits=httpx2.Limits(
            max_connections=spec["concurrency"], max_keepalive_connections=spec["concurrency"]
        )
    )

    async def one(attempt: list[str | None]) -> tuple[int, float]:
        async with gate:
            try:
                return await login(transport, spec["base"], attempt)
            except httpx2.HTTPError as error:  # counted as a failure, and said why
                print(f"{attempt[0]}: {error!r}", file=sys.stderr)
                return -1, 0.0

    async with transport:
        return list(await asyncio.gather(*(one(a) for a in spec["attempts"])))


async def pages(spec: dict[str, Any]) -> list[tuple[int, float]]:
    """Every client fetches its pages one after another; all clients at once."""
    clients = len(spec["cookies"])
    transport = httpx2.AsyncHTTPTransport(
        limits=httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    )
    start = asyncio.Event()

    async def browse(cookies: dict[str, str], urls: list[str]) -> list[tuple[int, float]]:
        client = httpx2.AsyncClient(
            base_url=spec["base"], timeout=120, cookies=cookies, transport=transport
        )
        client.headers["accept-encoding"] = "gzip"
        await start.wait()
        seen = []
        for url in urls:
            began = time.monotonic()
            try:
                status = (await client.get(url)).status_code
            except httpx2.HTTPError as error:
                print(f"{url}: {error!r}", file=sys.stderr)
                status = -1
            seen.append((status, time.monotonic() - began))
        return seen

    async with transport:
        tasks = [
            asyncio.create_task(browse(c, u))
            for c, u in zip(spec["cookies"], spec["urls"], strict=True)
        ]
        await asyncio.sleep(0.1)
        start.set()
        return [result for done in await asyncio.gather(*tasks) for result in done]


def burst(
    base: str, cookies: list[dict[str, str]], urls: list[list[str]]
) -> list[tuple[int, float]]:
    """Signed-in clients (`cookies`) browse their `urls` all at once, from a nice-10 child."""
    return _child({"mode": "pages", "base": base, "cookies": cookies, "urls": urls})


def logins(
    base: str, attempts: list[tuple[str, str, str | None]], concurrency: int
) -> list[tuple[int, float]]:
    """Run `attempts` (email, password, client address) from a nice-10 child process."""
    return _child({"base": base, "concurrency": concurrency, "attempts": attempts})


def _child(spec: dict[str, Any]) -> list[tuple[int, float]]:
    done = subprocess.run(
        ["nice", "-n", "10", sys.executable, "-m", "tests.stress.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    if done.stderr:
        print(done.stderr[-2000:])
    return [(int(status), float(took)) for status, took in json.loads(done.stdout)]


if __name__ == "__main__":
    given = json.load(sys.stdin)
    json.dump(asyncio.run(pages(given) if given.get("mode") == "pages" else run(given)), sys.stdout)
