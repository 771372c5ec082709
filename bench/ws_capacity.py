"""Capacity of one worker for live connections: 5,000 idle WebSockets, then one change.

    .venv/bin/python bench/ws_capacity.py [--database-url postgresql+asyncpg://...]

What it does, each step real:

1. makes a throw-away PostgreSQL database next to `--database-url`, migrated to head,
   with one administrator and one login session per connection (5,000 sessions: the
   session re-check then has as many to look at as in real use);
2. starts ONE uvicorn worker (`admin_app.main:app`, production settings);
3. from a separate process, opens `--connections` WebSockets to `/admin/ws` (each with
   its own session cookie, offering compression as browsers do) and has each watch the
   category list; then holds them idle for `--idle` seconds, sampling the server's RSS;
4. saves a category through the admin's edit form and times until the change has
   reached every one of the connections (both processes read the same monotonic clock);
5. writes `bench/results/ws_capacity.json` and exits 1 if the peak RSS is over
   `--max-rss-mb` (500) or the change took over `--max-seconds` (1.0) to reach all,
   or any connection failed.

Not part of the test suite: it measures, it does not assert behaviour. It needs about
two minutes and most of two cores; the open-file limit is raised as far as allowed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import re
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ws_capacity.json"
WATCH = json.dumps({"type": "watch", "model": "category"})


def main() -> int:
    args = parse_args()
    raise_open_file_limit(args.connections + 512)
    if args.client:
        return asyncio.run(client(args))
    return run(args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server the script may create (and drop) a database on",
    )
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds to hold them idle")
    parser.add_argument("--max-rss-mb", type=float, default=500.0)
    parser.add_argument("--max-seconds", type=float, default=1.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="deflate",
        help="what the clients offer (browsers offer deflate)",
    )
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ws-url", help=argparse.SUPPRESS)
    parser.add_argument("--cookies", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def raise_open_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(max(soft, wanted), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        sys.exit(f"error: {wanted} open files needed, the hard limit is {hard}; raise it first")


# The orchestrating process


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    base = make_url(args.database_url).set(drivername="postgresql+asyncpg")
    name = f"ws_capacity_{os.getpid()}"
    database = base.set(database=name).render_as_string(hide_password=False)
    secret = secrets.token_urlsafe(50)
    asyncio.run(admin_sql(base, f'CREATE DATABASE "{name}"'))
    work = Path(os.environ.get("TMPDIR", "/tmp")) / name  # noqa: S108
    work.mkdir(exist_ok=True)
    try:
        cookies = prepare(database, secret, args.connections)
        (work / "cookies.json").write_text(json.dumps(cookies))
        with Server(database, secret, work / "server.log") as server:
            result = measure(args, server, work / "cookies.json", cookies[0])
    finally:
        asyncio.run(admin_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return report(args, result)


async def admin_sql(url: Any, statement: str) -> None:
    import asyncpg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def prepare(database: str, secret: str, count: int) -> list[str]:
    """Migrate, create an administrator and `count` sessions; return their signed cookies."""
    from admin_app.migrations import upgrade
    from admin_app.settings import load_settings

    settings = load_settings(database_url=database, secret_key=secret, environment="production")
    upgrade(settings)
    tokens = asyncio.run(make_sessions(settings, count))
    return [sign_cookie(secret, token) for token in tokens]


async def make_sessions(settings: Any, count: int) -> list[str]:
    from admin_app.auth.sessions import Device, Timeouts, start_session
    from admin_app.auth.users import create_user
    from admin_app.db import create_engine, create_sessionmaker
    from admin_app.models import Category

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as db:
            # A superuser: every model may be watched without setting up a role.
            user = await create_user(
                session=db,
                email="bench@example.com",
                password=secrets.token_urlsafe(24),
                is_superuser=True,
            )
            db.add(Category(name="Benchmarks", slug="benchmarks"))
            device, timeouts = Device("127.0.0.1", "ws_capacity"), Timeouts.from_settings(settings)
            return [await start_session(db, user, device, timeouts) for _ in range(count)]
    finally:
        await engine.dispose()


def sign_cookie(secret: str, token: str) -> str:
    """The `admin_session` cookie Starlette's SessionMiddleware would set for this token."""
    from itsdangerous import TimestampSigner

    data = base64.b64encode(json.dumps({"sid": token}).encode())
    return TimestampSigner(secret).sign(data).decode()


class Server:
    """One uvicorn worker, as `admin-app serve` runs it, on a free port."""

    def __init__(self, database: str, secret: str, log: Path) -> None:
        self.log = log
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("LIVE_", "DB_"))},
            "ENVIRONMENT": "production",
            "DATABASE_URL": database,
            "SECRET_KEY": secret,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATA_DIR": str(log.parent),
            # The connections stand for 5,000 people but share one account: lift the
            # per-account cap (LIVE_MAX_CONNECTIONS_PER_USER) that would refuse them.
            "LIVE_MAX_CONNECTIONS_PER_USER": "10000",
        }

    def __enter__(self) -> Server:
        command = [sys.executable, "-m", "uvicorn", "admin_app.main:app", "--host", "127.0.0.1"]
        # As `admin-app serve` runs it (admin_app/cli/serve.py), on a free port.
        command += ["--port", "0", "--no-access-log", "--no-proxy-headers", "--backlog", "4096"]
        command += ["--ws-per-message-deflate", "false", "--timeout-graceful-shutdown", "30"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", self.log.read_text())
            if found:
                self.port = int(found.group(1))
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.__exit__()
        sys.exit(f"error: the server did not start:\n{self.log.read_text()}")

    def __exit__(self, *_: Any) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def rss_mb(self) -> tuple[float, float]:
        """Resident memory now, and its peak so far, in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        values = dict(re.findall(r"(VmRSS|VmHWM):\s+(\d+) kB", status))
        return int(values["VmRSS"]) / 1024, int(values["VmHWM"]) / 1024


def measure(args: argparse.Namespace, server: Server, cookies: Path, cookie: str) -> dict[str, Any]:
    ws_url = f"ws://127.0.0.1:{server.port}/admin/ws"
    command = [sys.executable, __file__, "--client", "--ws-url", ws_url, "--cookies", str(cookies)]
    command += ["--connections", str(args.connections), "--compression", args.compression]
    peer = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert peer.stdin is not None
    assert peer.stdout is not None
    try:
        opened = json.loads(peer.stdout.readline())
        baseline = server.rss_mb()[0]
        samples = []
        deadline = time.monotonic() + args.idle
        while time.monotonic() < deadline:  # holding them idle, sampling memory once a second
            samples.append(server.rss_mb()[0])
            time.sleep(1)
        peer.stdin.write("go\n")
        peer.stdin.flush()
        peer.stdout.readline()  # the client is listening
        started, committed = edit_category(server.port, cookie)
        arrived = json.loads(peer.stdout.readline())
        rss, peak = server.rss_mb()
    finally:
        peer.kill()
        peer.wait()
    last = arrived["last"]
    return {
        **opened,
        "rss_mb_after_connecting": round(baseline, 1),
        "rss_mb_idle_max": round(max(samples or [baseline]), 1),
        "rss_mb_after_event": round(rss, 1),
        "rss_mb_peak": round(peak, 1),
        "received": arrived["received"],
        "request_seconds": round(committed - started, 4),
        "event_to_all_seconds": None if last is None else round(last - started, 4),
        "event_to_all_after_response_seconds": None if last is None else round(last - committed, 4),
        "event_to_first_seconds": None if last is None else round(arrived["first"] - started, 4),
    }


def edit_category(port: int, cookie: str) -> tuple[float, float]:
    """Save the category through the admin's edit form; return when it started and ended."""
    import httpx2

    base = f"http://127.0.0.1:{port}"
    with httpx2.Client(base_url=base, cookies={"admin_session": cookie}, timeout=30) as http:
        form = http.get("/admin/category/edit?pk=1")
        if form.status_code != 200:
            sys.exit(f"error: the edit form answered {form.status_code}: {form.text[:200]}")
        data = {"name": "Benchmarks (edited)", "slug": "benchmarks"}
        data["csrftoken"] = http.cookies["starlette_admin_csrftoken"]
        started = time.monotonic()
        saved = http.post("/admin/category/edit?pk=1", data=data, follow_redirects=False)
        committed = time.monotonic()
        if saved.status_code != 303:
            sys.exit(f"error: saving answered {saved.status_code}: {saved.text[:200]}")
    return started, committed


def report(args: argparse.Namespace, result: dict[str, Any]) -> int:
    problems = []
    if result["connected"] < args.connections:
        problems.append(f"only {result['connected']} of {args.connections} connections opened")
    if result["received"] < result["connected"]:
        problems.append(f"the change reached only {result['received']} connections")
    if result["rss_mb_peak"] > args.max_rss_mb:
        problems.append(f"peak RSS {result['rss_mb_peak']} MB is over {args.max_rss_mb} MB")
    took = result["event_to_all_seconds"]
    if took is None or took > args.max_seconds:
        problems.append(f"the change took {took} s to reach all, over {args.max_seconds} s")
    summary = {
        "benchmark": "ws_capacity",
        "connections": args.connections,
        "limits": {"max_rss_mb": args.max_rss_mb, "max_seconds": args.max_seconds},
        **result,
        "ok": not problems,
        "problems": problems,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


# The client process: many browsers' worth of sockets


async def client(args: argparse.Namespace) -> int:
    from websockets.asyncio.client import connect

    cookies = json.loads(args.cookies.read_text())[: args.connections]
    origin = args.ws_url.replace("ws://", "http://").split("/admin")[0]
    gate = asyncio.Semaphore(100)  # handshakes in flight at once

    async def open_one(cookie: str) -> Any:
        async with gate:
            ws = await connect(
                args.ws_url,
                origin=origin,
                additional_headers={"Cookie": f"admin_session={cookie}"},
                ping_interval=None,  # browsers answer pings but do not send them
                compression=None if args.compression == "none" else "deflate",
                open_timeout=60,
            )
            await ws.send(WATCH)
            while True:  # an error (refused watch) fails this connection, never hangs it
                message = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if message["type"] == "error":
                    raise RuntimeError(message["detail"])
                if message["type"] == "watching":
                    return ws

    started = time.monotonic()
    opened = await asyncio.gather(*(open_one(c) for c in cookies), return_exceptions=True)
    sockets = [ws for ws in opened if not isinstance(ws, BaseException)]
    errors = sorted({repr(e)[:120] for e in opened if isinstance(e, BaseException)})
    say(
        {
            "connected": len(sockets),
            "connect_seconds": round(time.monotonic() - started, 2),
            "connect_errors": errors[:5],
        }
    )
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    arrivals: list[float] = []

    async def hear(ws: Any) -> None:
        while json.loads(await ws.recv())["type"] != "change":
            pass
        arrivals.append(time.monotonic())

    listeners = [asyncio.create_task(hear(ws)) for ws in sockets]
    say({"listening": True})
    await asyncio.wait(listeners, timeout=30)
    say(
        {
            "received": len(arrivals),
            "first": min(arrivals, default=None),
            "last": max(arrivals, default=None),
        }
    )
    return 0


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
