"""List pages read from a streaming replica: a standby of the bench server, made for the run.

`standby()` copies the bench's PostgreSQL server with `pg_basebackup -R` (as
tests/replicas does with its own throw-away primary) into a temporary directory, starts
it as a hot standby on a free port, waits until it streams and has caught up, and
removes it afterwards. The admin then runs with `DATABASE_REPLICA_URLS` naming it, and
the list scenario is driven against the floor on the primary. `pg_stat_database` on the
standby tells whether the reads really went there.

The bench server must accept replication connections from the bench's host (Debian's
default pg_hba.conf does not); when it does not, the scenario is skipped with a line
saying which pg_hba.conf line to add. `BENCH_REPLICA=0` skips it too.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.database import DATABASE_URL, dsn
from bench.servers import free_port

ENABLED = os.environ.get("BENCH_REPLICA", "1") != "0"
SAME_AS_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
"""Settings a hot standby must have at least as high as its primary's."""
READS = """SELECT xact_commit + xact_rollback FROM pg_stat_database
    WHERE datname = current_database()"""


class NoStandby(Exception):
    """The standby could not be made; the message says why, in one line."""


@dataclass(frozen=True)
class Standby:
    port: int

    @property
    def url(self) -> str:
        """The bench database on the standby, for `DATABASE_REPLICA_URLS`."""
        host = DATABASE_URL.rsplit("@", 1)[0]
        return f"{host}@127.0.0.1:{self.port}/{DATABASE_URL.rsplit('/', 1)[1]}"

    def transactions(self) -> int:
        """Transactions run on the bench database of the standby so far (its own count)."""
        return int(asyncio.run(_fetchval(self.url, READS)))


@contextmanager
def standby() -> Iterator[Standby]:
    """A caught-up streaming standby of the bench server, removed on exit."""
    tools = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
    if not tools:
        raise NoStandby("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are absent")
    bin_dir = Path(tools[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="bench-standby-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    data = root / "data"
    try:
        _copy(bin_dir, data, as_postgres)
        _configure(data, as_postgres)
        _pg_ctl(bin_dir, as_postgres, "-D", str(data), "-o", _options(port, root))
        made = Standby(port)
        _wait_until_caught_up(made)
        yield made
    finally:
        if (data / "postmaster.pid").exists():
            _run(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], as_postgres
            )
        shutil.rmtree(root, ignore_errors=True)


def _copy(bin_dir: Path, data: Path, as_postgres: bool) -> None:
    url = dsn().removeprefix("postgresql://")
    user, _, address = url.partition("@")
    host, _, port = address.split("/", 1)[0].partition(":")
    started = time.monotonic()
    print("bench: copying the bench server into a standby (pg_basebackup)", flush=True)
    command = [str(bin_dir / "pg_basebackup"), "-D", str(data), "-R", "-X", "stream"]
    command += ["-c", "fast", "--no-sync", "-h", host, "-p", port or "5432", "-U", user]
    done = _run(command, as_postgres, check=False)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        reason = reason.removeprefix("pg_basebackup: ")
        if "replication connection" in reason or "pg_hba.conf" in reason:
            reason += (
                f"; let it replicate to this host, e.g. add `host replication {user} "
                f"{host}/32 trust` to its pg_hba.conf and reload it"
            )
        raise NoStandby(f"pg_basebackup: {reason}")
    print(f"bench: standby copied in {time.monotonic() - started:.0f} s", flush=True)


def _configure(data: Path, as_postgres: bool) -> None:
    """The files a Debian cluster keeps in /etc, and the settings a standby must share."""
    primary = asyncio.run(_settings())
    lines = [f"{name} = {value}" for name, value in primary.items()]
    lines += ["hot_standby = on", "fsync = off", "full_page_writes = off"]
    (data / "postgresql.conf").write_text("\n".join(lines) + "\n")
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    if as_postgres:
        for name in ("postgresql.conf", "pg_hba.conf"):
            shutil.chown(data / name, "postgres", "postgres")


def _options(port: int, root: Path) -> str:
    return f"-p {port} -k {root} -c listen_addresses=127.0.0.1"


def _pg_ctl(bin_dir: Path, as_postgres: bool, *args: str) -> None:
    log = str(Path(args[1]).parent / "log")
    done = _run([str(bin_dir / "pg_ctl"), *args, "-l", log, "-w", "start"], as_postgres, False)
    if done.returncode != 0:
        tail = Path(log).read_text()[-500:] if Path(log).exists() else done.stderr
        raise NoStandby(f"the standby did not start: {tail.strip()}")


def _run(
    command: list[str], as_postgres: bool, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if as_postgres:  # the server refuses to run as root
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=check)


def _wait_until_caught_up(made: Standby, seconds: float = 120) -> None:
    """Return once the standby streams and has replayed what the primary had written."""
    target = asyncio.run(_fetchval(DATABASE_URL, "SELECT pg_current_wal_lsn()::text"))
    query = (
        "SELECT (SELECT status = 'streaming' FROM pg_stat_wal_receiver)"
        " AND pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
    )
    deadline = time.monotonic() + seconds
    while not asyncio.run(_fetchval(made.url, query, target)):
        if time.monotonic() > deadline:
            raise NoStandby(f"the standby did not catch up within {seconds:.0f} s")
        time.sleep(0.2)


async def _settings() -> dict[str, str]:
    conn = await asyncpg.connect(dsn())
    try:
        return {name: str(await conn.fetchval(f"SHOW {name}")) for name in SAME_AS_PRIMARY}
    finally:
        await conn.close()


async def _fetchval(url: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()
