"""Imports at scale: new customers end to end, an upsert by email, and SQLite.

    .venv/bin/python -m bench.imports [--rows 1000000] [--upsert 100000] [--sqlite-rows 100000]
                                      [--database-url postgresql+asyncpg://...]

`make bench` runs it after the page scenarios, on the bench database; run alone it takes
a few minutes, so this is how to measure imports while working on them. Each step is
`admin-app import` in a process of its own (the same `Importer` a web job runs), timed
as the command reports it (from reading the file to the commit), with its peak
resident memory sampled every 50 ms:

1. `--rows` new customers from a CSV, mode create: validated, then applied with COPY
   (goal: at least 5,000 rows/s end to end, peak RSS at most 300 MB);
2. the first `--upsert` of those rows again, each with a new city, mode upsert by
   email (goal: at least 2,000 rows/s);
3. `--sqlite-rows` new customers into a fresh, migrated SQLite database (goal: at most
   2 minutes for 100,000).

The imported customers are deleted afterwards, so the bench database stays as seeded.
Prints one line per step and writes `bench/results/imports.json`; exits 1 if an
import failed. Goals not met are reported, not fatal. Rates depend on the machine and
its load, printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg

from bench.database import BIN, DATABASE_URL, ROOT, SECRET, app_environment
from bench.servers import RssSampler
from bench.steps import Run, verdict

PREFIX = "import-bench-"
"""The imported customers' addresses start with this, to find and delete them after."""

HEADER = ["first_name", "last_name", "email", "phone", "city", "country", "is_active"]
COUNTRIES = ("FR", "DE", "US", "GB", "ES", "IT", "NL", "BE")


@dataclass
class Step:
    """One import as measured: rows, seconds, rows per second, peak RSS (MB), goal met."""

    name: str
    rows: int
    seconds: float
    rows_per_s: float
    peak_rss_mb: float
    goal: str
    met: bool

    @property
    def line(self) -> str:
        figures = f"{self.rows:,} rows in {self.seconds:.1f} s ({self.rows_per_s:,.0f} rows/s)"
        memory = f"peak RSS {self.peak_rss_mb:.0f} MB"
        return f"{verdict(self.met)} {self.name}: {figures}, {memory} ({self.goal})"


def write_customers(path: Path, rows: int, city: str = "Paris") -> Path:
    """A CSV of `rows` new customers, addresses `import-bench-<n>@example.com`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            country = COUNTRIES[n % len(COUNTRIES)]
            email = f"{PREFIX}{n}@example.com"
            active = "true" if n % 7 else "false"
            phone = "+33 1 23 45 67 89"
            writer.writerow([f"Ann{n}", f"Lee{n}", email, phone, city, country, active])
    return path


def run_import(name: str, url: str, file: Path, *extra: str) -> tuple[float, float]:
    """`admin-app import customer FILE`: (seconds, as the command reports them from its
    start to the commit, Python's start-up left out; peak RSS of the process in MB)."""
    # Its spool and error report go beside the file, in the run's scratch directory.
    env = {**os.environ, **app_environment(), "DATABASE_URL": url, "DATA_DIR": str(file.parent)}
    command = [str(BIN / "admin-app"), "import", "customer", str(file), *extra]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = Peak(process.pid)
    peak.start()
    output, _ = process.communicate()
    found = REPORTED.search(output)
    if process.returncode or found is None:
        sys.exit(f"bench: {name}: admin-app import failed:\n{output[-2000:]}")
    return max(float(found["seconds"]), 0.1), peak.stop()  # printed to 0.1 s


REPORTED = re.compile(r"imported [\d,]+ rows into \S+ in (?P<seconds>[\d.]+)s")


class Peak(RssSampler):
    """The sampler, ending quietly when the process has exited (no memory to read)."""

    def _run(self) -> None:
        try:
            super()._run()
        except (RuntimeError, OSError):
            return


def step(name: str, rows: int, measured: tuple[float, float], goal: str, met: bool) -> Step:
    seconds, peak = measured
    return Step(name, rows, round(seconds, 1), round(rows / seconds), round(peak), goal, met)


def upgrade(url: str, data_dir: Path | None = None) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET}
    if data_dir is not None:
        env["DATA_DIR"] = str(data_dir)
    subprocess.run([str(BIN / "admin-app"), "db", "upgrade"], env=env, check=True, cwd=ROOT)


async def delete_imported(url: str) -> None:
    """Remove the customers and jobs of earlier runs (one that failed half-way too)."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("DELETE FROM import_job WHERE original_name LIKE 'bench-%'")
        await connection.execute("DELETE FROM customer WHERE email LIKE $1", PREFIX + "%")
    finally:
        await connection.close()


def postgres_steps(url: str, rows: int, upsert: int, work: Path) -> list[Step]:
    asyncio.run(delete_imported(url))
    new = write_customers(work / "bench-new.csv", rows)
    created = run_import("create", url, new, "--mode", "create")
    changed = write_customers(work / "bench-upsert.csv", upsert, city="Lyon")
    upserted = run_import("upsert", url, changed, "--mode", "upsert", "--key", "email")
    asyncio.run(delete_imported(url))
    rate, peak = rows / created[0], created[1]
    return [
        step(
            f"PostgreSQL, {rows:,} new customers end to end",
            rows,
            created,
            "goal: >= 5,000 rows/s, <= 300 MB",
            rate >= 5000 and peak <= 300,
        ),
        step(
            f"PostgreSQL, upsert of {upsert:,} by email",
            upsert,
            upserted,
            "goal: >= 2,000 rows/s",
            upsert / upserted[0] >= 2000,
        ),
    ]


def sqlite_step(rows: int, work: Path) -> Step:
    url = f"sqlite+aiosqlite:///{work / 'bench-import.db'}"
    upgrade(url, work)
    measured = run_import("sqlite", url, write_customers(work / "bench-sqlite.csv", rows))
    limit = 120 * rows / 100_000
    return step(
        f"SQLite, {rows:,} new customers end to end",
        rows,
        measured,
        f"goal: <= {limit:.0f} s",
        measured[0] <= limit,
    )


def measure(url: str, rows: int, upsert: int, sqlite_rows: int) -> list[Step]:
    """Every step, in a scratch directory removed at the end."""
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as scratch:
        work = Path(scratch)
        steps = postgres_steps(url, rows, upsert, work)
        if sqlite_rows:
            steps.append(sqlite_step(sqlite_rows, work))
    return steps


def main(argv: list[str] | None = None) -> list[Step]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--upsert", type=int, default=100_000)
    parser.add_argument("--sqlite-rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    if args.upsert > args.rows:
        parser.error("--upsert updates rows the first step created: use at most --rows")
    upgrade(args.database_url)
    run = Run("imports")
    steps = measure(args.database_url, args.rows, args.upsert, args.sqlite_rows)
    run.report((s.line for s in steps), {"steps": [asdict(s) for s in steps]}, "imports.json")
    return steps


if __name__ == "__main__":
    main()
