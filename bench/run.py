"""`make bench`: the admin against a raw Starlette + asyncpg floor, on a million customers.

1. Makes sure the PostgreSQL database `BENCH_DATABASE_URL` (default `admin_bench` on
   the local server) exists, is migrated, and holds at least 1,000,000 customers and
   2,000,000 orders; seeds it with `admin-app seed` (about two minutes) if not.
2. Starts the admin (one uvicorn worker) and the floor app (`bench/floor_app.py`)
   on free loopback ports, and logs in to the admin.
3. Drives each page of both with `wrk` (16 connections) from separate processes, in
   `BENCH_ROUNDS` (3) alternating rounds of `BENCH_SECONDS` (5) per app, and keeps each
   app's median round; times a full CSV export of each with a streaming client,
   sampling the server's resident memory while it runs.
4. Prints the table, and writes it to `bench/results/<time>.json`, `latest.json` and
   `latest.md`. Then runs `bench/ws_capacity.py` when that file exists.

Rates depend on the machine: read the ratios, and the load average printed with them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx2

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = ROOT / ".venv" / "bin"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/admin_bench"
)
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 16
CUSTOMERS, ORDERS = 1_000_000, 2_000_000
PAGE_SIZE = 25
DEEP_PAGE = 10_000
EMAIL, PASSWORD = "bench@example.com", "quiet-harbor-lantern-77"
SECRET = "bench-only-secret-key-" + "b" * 40
SEARCH_TERM, LOOKUP_TERM = "smith", "smit"
CSRF_COOKIE = "starlette_admin_csrftoken"


@dataclass
class Figure:
    """One scenario on one app."""

    req_s: float
    p50_ms: float
    p99_ms: float
    single_p50_ms: float | None = None
    """Median latency with one connection: what one person typing waits."""
    rows_s: float | None = None
    peak_rss_mb: float | None = None
    note: str = ""


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is not installed; install it with: apt-get install wrk")
    load_before = os.getloadavg()
    prepare_database()
    env = {**os.environ, **app_environment()}
    with serve("admin_app.main:app", env) as admin, serve("bench.floor_app:app", env) as floor:
        cookie = login(admin.url)
        after_id = asyncio.run(deep_page_id())
        results = run_all(admin, floor, cookie, after_id)
    load_after = os.getloadavg()
    report(results, load_before, load_after)
    capacity = ROOT / "bench" / "ws_capacity.py"
    if capacity.exists():
        print("\nbench/ws_capacity.py:", flush=True)
        try:
            subprocess.run([str(BIN / "python"), str(capacity)], cwd=ROOT, check=False, timeout=600)
        except subprocess.TimeoutExpired:
            print("bench/ws_capacity.py: gave up after 10 minutes", file=sys.stderr)


def app_environment() -> dict[str, str]:
    return {
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": SECRET,
        "ENVIRONMENT": "production",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DB_POOL_SIZE": "10",
    }


def _dsn(database: str | None = None) -> str:
    dsn = DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://")
    return dsn if database is None else dsn.rsplit("/", 1)[0] + f"/{database}"


def prepare_database() -> None:
    """Create, migrate and seed the bench database unless it is already complete."""
    asyncio.run(_create_database())
    env = {**os.environ, **app_environment()}
    subprocess.run([str(BIN / "admin-app"), "db", "upgrade"], env=env, check=True, cwd=ROOT)
    if asyncio.run(_row_counts()) < (CUSTOMERS, ORDERS):
        print("bench: seeding 1,000,000 customers and 2,000,000 orders", flush=True)
        seed = [str(BIN / "admin-app"), "seed", "--force"]
        seed += ["--customers", str(CUSTOMERS), "--orders", str(ORDERS)]
        subprocess.run(seed, env=env, check=True, cwd=ROOT)
    asyncio.run(_vacuum())
    asyncio.run(_ensure_admin())


async def _vacuum() -> None:
    """Fresh statistics and visibility maps, as autovacuum would leave them in production."""
    conn = await asyncpg.connect(_dsn())
    try:
        await conn.execute("VACUUM ANALYZE customer")
    finally:
        await conn.close()


async def _create_database() -> None:
    name = _dsn().rsplit("/", 1)[1]
    server = await asyncpg.connect(_dsn("postgres"))
    try:
        if not await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            print(f"bench: creating database {name}", flush=True)
            await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()


async def _row_counts() -> tuple[int, int]:
    conn = await asyncpg.connect(_dsn())
    try:
        customers = await conn.fetchval("SELECT count(*) FROM customer")
        orders = await conn.fetchval("SELECT count(*) FROM orders")
        return int(customers), int(orders)
    finally:
        await conn.close()


async def _ensure_admin() -> None:
    os.environ.update(app_environment())
    from admin_app.auth.users import create_user, get_user_by_email
    from admin_app.db import create_engine, create_sessionmaker
    from admin_app.settings import load_settings

    engine = create_engine(load_settings())
    try:
        async with create_sessionmaker(engine).begin() as session:
            if await get_user_by_email(session, EMAIL) is None:
                await create_user(
                    session=session, email=EMAIL, password=PASSWORD, is_superuser=True
                )
    finally:
        await engine.dispose()


async def deep_page_id() -> int:
    """The id of the last row of page 9,999 in the default order (id descending)."""
    conn = await asyncpg.connect(_dsn())
    try:
        offset = (DEEP_PAGE - 1) * PAGE_SIZE - 1
        return int(
            await conn.fetchval(
                "SELECT id FROM customer ORDER BY id DESC OFFSET $1 LIMIT 1", offset
            )
        )
    finally:
        await conn.close()


@dataclass
class Server:
    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: str, env: dict[str, str], cwd: Path = ROOT) -> Iterator[Server]:
    """A uvicorn process with one worker, serving `app` from `cwd`, stopped on exit.

    Its output (the admin writes a JSON line per request) goes to a temporary file, as
    a server's log goes to a collector in production; shown on the terminal it buried
    the table and cost the admin a terminal write per request. If the server does not
    start, the end of its log is shown."""
    port = free_port()
    command = [str(BIN / "uvicorn"), app, "--port", str(port), "--workers", "1"]
    command += ["--log-level", "warning", "--no-access-log"]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=log)
        try:
            problem = _wait_until_up(url, process)
            if problem is not None:
                log.seek(0)
                sys.exit(f"{log.read()[-3000:]}\nerror: {url} {problem}")
            yield Server(url, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> str | None:
    """None once `url` accepts connections, else what went wrong."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with status {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), 0.5):
                return None
        except OSError:
            time.sleep(0.2)
    return "did not start within 60 seconds"


def login(base: str) -> str:
    """The admin's cookies after a real login, as one Cookie header."""
    with httpx2.Client(base_url=base) as client:
        client.get("/admin/login")
        token = client.cookies[CSRF_COOKIE]
        form = {"username": EMAIL, "password": PASSWORD, "csrftoken": token}
        response = client.post("/admin/login", data=form)
        if response.status_code != 303:
            sys.exit(f"error: bench login failed ({response.status_code})")
        # Login drops the CSRF cookie issued before it; a browser gets a new one with the
        # next page and sends it from then on. Without it every request would be issued
        # a fresh token, as no browser's is.
        client.get("/admin/")
        if CSRF_COOKIE not in client.cookies:
            sys.exit("error: the admin issued no CSRF cookie after login")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def run_all(admin: Server, floor: Server, cookie: str, after_id: int) -> dict[str, Any]:
    from admin_app.admin import keyset

    after = keyset.encode([after_id])
    pages = {
        "first page": ("/admin/customer/list", "/customers"),
        f"page {DEEP_PAGE:,}": (
            f"/admin/customer/list?after={after}",
            f"/customers?after={after_id}",
        ),
        "last page": ("/admin/customer/list?last=1", "/customers?last=1"),
        f"search '{SEARCH_TERM}'": (
            f"/admin/customer/list?q={SEARCH_TERM}",
            f"/customers?q={SEARCH_TERM}",
        ),
        "autocomplete": (
            f"/admin/_api/customer/relation-lookup?q={LOOKUP_TERM}&skip=0&limit=20",
            f"/customers/lookup?q={LOOKUP_TERM}",
        ),
    }
    results: dict[str, Any] = {}
    for name, (admin_path, floor_path) in pages.items():
        check(admin.url + admin_path, cookie)
        results[name] = paired(admin.url + admin_path, cookie, floor.url + floor_path)
        if name == "first page":
            # The admin keeps each user's page shell per URL (admin_app/admin/page_shell.py),
            # so a repeated URL is a repeat view. Someone paging through new URLs is not.
            results[FIRST_VISIT] = paired(
                admin.url + admin_path, cookie, floor.url + floor_path, fresh_urls=True
            )
        if name == "autocomplete":
            for side, base, path, jar in (
                ("admin", admin.url, admin_path, cookie),
                ("floor", floor.url, floor_path, ""),
            ):
                alone = wrk(base + path, jar, connections=1)
                results[name][side].single_p50_ms = alone.p50_ms
        print(f"bench: {name}: {results[name]['admin'].req_s:.0f} req/s", flush=True)
    results["export (CSV, all rows)"] = {
        "admin": export_admin(admin, cookie),
        "floor": export_stream(floor, "GET", "/customers.csv", {}, None),
    }
    return results


def paired(admin_url: str, cookie: str, floor_url: str, **options: Any) -> dict[str, Figure]:
    """Both apps on one page, in `ROUNDS` alternating rounds; each side's median round.

    On a shared machine the rate drifts by a factor of two within minutes; alternating
    gives both sides the same drift, and the median drops a round that hit a stall."""
    rounds: dict[str, list[Figure]] = {"admin": [], "floor": []}
    for n in range(ROUNDS):
        rounds["admin"].append(wrk(admin_url, cookie, warm=n == 0, **options))
        rounds["floor"].append(wrk(floor_url, "", warm=n == 0, **options))
    return {side: _median(figures) for side, figures in rounds.items()}


def _median(figures: list[Figure]) -> Figure:
    ordered = sorted(figures, key=lambda f: f.req_s)
    middle = ordered[len(ordered) // 2]
    middle.note = "rounds: " + ", ".join(f"{f.req_s:,.0f}" for f in figures) + " req/s"
    return middle


def check(url: str, cookie: str) -> None:
    response = httpx2.get(url, headers={"Cookie": cookie}, follow_redirects=False)
    if response.status_code != 200:
        sys.exit(f"error: {url} answered {response.status_code}; is the login working?")


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


# A wrk script that sends every request to a URL not seen before (an extra parameter,
# which both apps ignore), numbered per wrk thread.
_FRESH_URLS = """
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
function init(args) n = 0 end
function request()
  n = n + 1
  local sep = string.find(wrk.path, "?", 1, true) and "&" or "?"
  return wrk.format(nil, wrk.path .. sep .. "visit=" .. id .. "-" .. n)
end
"""


def wrk(
    url: str,
    cookie: str,
    connections: int = CONNECTIONS,
    *,
    fresh_urls: bool = False,
    warm: bool = True,
) -> Figure:
    """Requests per second and latency percentiles (after a short warm-up, if `warm`)."""
    header = ["-H", f"Cookie: {cookie}"] if cookie else []
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if fresh_urls:
            script.write(_FRESH_URLS)
            script.flush()
            header += ["-s", script.name]
        if warm:
            subprocess.run(
                ["wrk", "-t1", "-c4", "-d2s", *header, url], check=True, capture_output=True
            )
        threads = min(2, connections)
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{SECONDS}s", "--latency"]
        command += [*header, url]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rate = _RATE.search(output)
    latencies = {p: float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(output)}
    if rate is None or "Non-2xx" in output:
        sys.exit(f"error: wrk could not measure {url}:\n{output}")
    return Figure(float(rate.group(1)), latencies.get("50", 0.0), latencies.get("99", 0.0))


def export_admin(admin: Server, cookie: str) -> Figure:
    """A full CSV export through the admin's export action, with the login's CSRF token."""
    jar = dict(part.split("=", 1) for part in cookie.split("; "))
    params = {"name": "export", "_list_query": ""}
    form = {"scope": "all", "format": "csv", "csrftoken": jar[CSRF_COOKIE]}
    path = "/admin/_api/customer/action"
    return export_stream(admin, "POST", path, {"Cookie": cookie}, (params, form))


def export_stream(
    server: Server, method: str, path: str, headers: dict[str, str], post: Any
) -> Figure:
    """Download a whole CSV, counting rows, while sampling the server's memory."""
    sampler = _RssSampler(server.pid)
    sampler.start()
    started = time.perf_counter()
    rows = -1
    headers = {**headers, "Accept-Encoding": "identity"}
    with httpx2.Client(base_url=server.url, timeout=600) as client:
        kwargs: dict[str, Any] = {"headers": headers}
        if post is not None:
            kwargs.update(params=post[0], data=post[1])
        with client.stream(method, path, **kwargs) as response:
            if response.status_code != 200:
                sys.exit(f"error: export answered {response.status_code}")
            for chunk in response.iter_raw():
                rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    peak = sampler.stop()
    return Figure(
        req_s=1 / elapsed,
        p50_ms=elapsed * 1000,
        p99_ms=elapsed * 1000,
        rows_s=rows / elapsed,
        peak_rss_mb=peak,
        note=f"{rows:,} rows in {elapsed:.1f} s",
    )


class _RssSampler:
    """The largest resident set size of a process, sampled every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid = pid
        self.peak = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> float:
        self.stopping.set()
        self.thread.join()
        return self.peak / 1024

    def _run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self.stopping.wait(0.05):
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.peak = max(self.peak, int(line.split()[1]))


FIRST_VISIT = "first page, a new URL each time"

GOALS = {
    "first page": "≥ 0.5x floor",
    FIRST_VISIT: "(shown; the goal is on the row above)",
    f"page {DEEP_PAGE:,}": "≥ 0.5x first page",
    "last page": "≥ 0.5x first page",
    f"search '{SEARCH_TERM}'": "≥ 50 req/s",
    "autocomplete": "p50 < 50 ms (one user)",
    "export (CSV, all rows)": "≥ 100,000 rows/s, ≤ 250 MB",
}


def verdicts(results: dict[str, Any]) -> dict[str, bool]:
    first = results["first page"]["admin"].req_s
    search = results[f"search '{SEARCH_TERM}'"]["admin"]
    export = results["export (CSV, all rows)"]["admin"]
    return {
        "first page": first >= 0.5 * results["first page"]["floor"].req_s,
        FIRST_VISIT: results[FIRST_VISIT]["admin"].req_s
        >= 0.5 * results[FIRST_VISIT]["floor"].req_s,
        f"page {DEEP_PAGE:,}": results[f"page {DEEP_PAGE:,}"]["admin"].req_s >= 0.5 * first,
        "last page": results["last page"]["admin"].req_s >= 0.5 * first,
        f"search '{SEARCH_TERM}'": search.req_s >= 50,
        "autocomplete": (results["autocomplete"]["admin"].single_p50_ms or 1e9) < 50,
        "export (CSV, all rows)": (export.rows_s or 0) >= 100_000
        and (export.peak_rss_mb or 1e9) <= 250,
    }


def report(results: dict[str, Any], before: tuple[float, ...], after: tuple[float, ...]) -> None:
    met = verdicts(results)
    lines = [
        "| page | admin req/s | p50 ms | p99 ms | floor req/s | floor p50 ms | ratio "
        "| goal | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, pair in results.items():
        a, f = pair["admin"], pair["floor"]
        rate = f"{a.rows_s:,.0f} rows/s" if a.rows_s else f"{a.req_s:,.1f}"
        floor_rate = f"{f.rows_s:,.0f} rows/s" if f.rows_s else f"{f.req_s:,.1f}"
        ratio = (a.rows_s or a.req_s) / (f.rows_s or f.req_s)
        extra = f" (peak RSS {a.peak_rss_mb:.0f} MB)" if a.peak_rss_mb else ""
        if a.single_p50_ms is not None:
            extra += f" (p50 {a.single_p50_ms:.1f} ms for one user)"
        lines.append(
            f"| {name} | {rate}{extra} | {a.p50_ms:.1f} | {a.p99_ms:.1f} | {floor_rate} | "
            f"{f.p50_ms:.1f} | {ratio:.2f}x | {GOALS[name]} | {'yes' if met[name] else 'NO'} |"
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    context = (
        f"{stamp}; {os.cpu_count()} CPUs; one uvicorn worker each; wrk -c{CONNECTIONS}, "
        f"{ROUNDS} alternating rounds of {SECONDS} s per page and app, the median round "
        f"shown; load average {before[0]:.2f} before, {after[0]:.2f} after"
    )
    spread = "\n".join(
        f"- {name}: admin {pair['admin'].note}; floor {pair['floor'].note}"
        for name, pair in results.items()
        if pair["admin"].note.startswith("rounds")
    )
    table = "\n".join(lines)
    print(f"\n{table}\n\n{context}\n\n{spread}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {
        "when": stamp,
        "cpus": os.cpu_count(),
        "load_average_before": before,
        "load_average_after": after,
        "connections": CONNECTIONS,
        "seconds": SECONDS,
        "rounds": ROUNDS,
        "results": {k: {s: asdict(v) for s, v in pair.items()} for k, pair in results.items()},
        "goals_met": met,
    }
    text = json.dumps(data, indent=2)
    (RESULTS / f"{stamp.replace(':', '')}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / "latest.md").write_text(
        "# Latest benchmark\n\nWritten by `make bench` (bench/run.py); "
        "the floor is bench/floor_app.py.\n\n"
        f"{table}\n\n{context}\n\nEvery round:\n\n{spread}\n"
    )


if __name__ == "__main__":
    main()
