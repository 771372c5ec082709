"""The bench database: 1,000,000 customers, 2,000,000 orders and `USERS` accounts.

`prepare_database` creates, migrates and seeds it (with `admin-app seed`, about two
minutes) unless it is already complete; every run after that reuses it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/admin_bench"
)
CUSTOMERS, ORDERS = 1_000_000, 2_000_000
USERS = 20
"""Distinct logged-in users: the admin keeps pages per user, as people are many."""
PASSWORD = "quiet-harbor-lantern-77"  # noqa: S105 (the bench database's own accounts)
SECRET = "bench-only-secret-key-" + "b" * 40


def user_email(n: int) -> str:
    """The address of bench user `n` (1 to `USERS`)."""
    return f"bench-{n:02d}@example.com"


def app_environment() -> dict[str, str]:
    """The environment both servers run with: production settings on the bench database."""
    return {
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": SECRET,
        "ENVIRONMENT": "production",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DB_POOL_SIZE": "10",
        # Every API call is still counted; the limit is set beyond what 20 clients reach,
        # so the bench measures the API rather than its 429s.
        "API_RATE_LIMIT": "1000000",
    }


def dsn(database: str | None = None) -> str:
    """The bench database's address for asyncpg (or another database on its server)."""
    url = DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://")
    return url if database is None else url.rsplit("/", 1)[0] + f"/{database}"


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
    # Fresh statistics and visibility maps, as autovacuum would leave them in production.
    asyncio.run(_vacuum())
    asyncio.run(_ensure_users())


async def _fetch(sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn())
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def _vacuum() -> None:
    conn = await asyncpg.connect(dsn())
    try:
        await conn.execute("VACUUM ANALYZE customer")
    finally:
        await conn.close()


async def _create_database() -> None:
    name = dsn().rsplit("/", 1)[1]
    server = await asyncpg.connect(dsn("postgres"))
    try:
        if not await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            print(f"bench: creating database {name}", flush=True)
            await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()


async def _row_counts() -> tuple[int, int]:
    rows = await _fetch("SELECT (SELECT count(*) FROM customer), (SELECT count(*) FROM orders)")
    return int(rows[0][0]), int(rows[0][1])


async def _ensure_users() -> None:
    """`USERS` superuser accounts, made through the app's own service (once)."""
    os.environ.update(app_environment())
    from admin_app.auth.users import create_user, get_user_by_email
    from admin_app.db import create_engine, create_sessionmaker
    from admin_app.settings import load_settings

    engine = create_engine(load_settings())
    try:
        async with create_sessionmaker(engine).begin() as session:
            for n in range(1, USERS + 1):
                if await get_user_by_email(session, user_email(n)) is None:
                    await create_user(
                        session=session, email=user_email(n), password=PASSWORD, is_superuser=True
                    )
    finally:
        await engine.dispose()


def customer_ids() -> tuple[int, int]:
    """The lowest and highest customer id; exits if ids are missing between them."""
    row = asyncio.run(_fetch("SELECT min(id), max(id), count(*) FROM customer"))[0]
    low, high, count = int(row[0]), int(row[1]), int(row[2])
    if high - low + 1 != count:
        raise SystemExit(
            f"error: customer ids {low:,} to {high:,} have {high - low + 1 - count:,} gaps, so a "
            "random id could answer 404; reseed with: .venv/bin/admin-app seed --force "
            f"--customers {CUSTOMERS} --orders {ORDERS} (with DATABASE_URL={DATABASE_URL})"
        )
    return low, high


def deep_page_id(page: int, size: int) -> int:
    """The id of the last row before page `page` in the default order (id descending)."""
    offset = (page - 1) * size - 1
    sql = "SELECT id FROM customer ORDER BY id DESC OFFSET $1 LIMIT 1"
    return int(asyncio.run(_fetch(sql, offset))[0][0])


IDLE_QUERY = """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
    AND backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()"""


def wait_until_idle(seconds: float = 60) -> None:
    """Return once no client runs a query on the bench database (or after `seconds`).

    A scenario's slow requests outlive its wrk run: the server finishes them after the
    clients have gone, and they would slow the next run down."""
    asyncio.run(_until_idle(seconds))


async def _until_idle(seconds: float) -> None:
    conn = await asyncpg.connect(dsn())
    try:
        deadline = time.monotonic() + seconds
        while await conn.fetchval(IDLE_QUERY):
            if time.monotonic() > deadline:
                print(
                    f"bench: warning: queries still running after {seconds:.0f} s", file=sys.stderr
                )
                return
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
