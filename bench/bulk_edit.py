"""Bulk edit at scale: 100,000 customers given a new city, on a copy of the bench database.

    .venv/bin/python -m bench.bulk_edit [--rows 100000] [--copy admin_bench_bulk] [--keep]

`make bench` runs it after the imports. The bench database is never written: it is
copied first (`CREATE DATABASE … TEMPLATE`, about half a minute for its 2.5 GB), and
the copy is dropped afterwards unless `--keep`. The edit runs in a process of its own,
through the same code as the web page's (`bulk_edit.plan`, `bulk_edit.apply`), as a
superuser, on the customers of one country as the list's filter finds them
(`?filter=country__eq=FR`), cut to `--rows`:

1. the preview: every matching row's key and version read, those already holding the
   value left out;
2. the apply: batches of 1,000 rows, each its own transaction, all one change set.

Reported: seconds of each, peak resident memory of the process, and the longest
single batch transaction (the longest any row stayed locked; no lock covers the table).
Goals: the apply within 60 s, no batch over 2 s, peak RSS at most 300 MB. Prints one
line and writes `bench/results/bulk_edit.json`; goals not met are reported, not fatal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

import asyncpg

from bench.database import BIN, DATABASE_URL, ROOT, SECRET, dsn
from bench.steps import Run, verdict

FILTER = "?filter=country__eq%3DFR"
NEW_CITY = "Bench City"


@dataclass
class Figures:
    """One run as measured."""

    rows: int
    matched: int
    preview_seconds: float
    apply_seconds: float
    changed: int
    skipped: int
    longest_batch_seconds: float
    peak_rss_mb: float
    met: bool = False

    @property
    def line(self) -> str:
        return (
            f"{verdict(self.met)} bulk edit of {self.changed:,} customers "
            f"({self.matched:,} matched): "
            f"preview {self.preview_seconds:.1f} s, apply {self.apply_seconds:.1f} s "
            f"({self.changed / max(self.apply_seconds, 0.001):,.0f} rows/s), longest batch "
            f"{self.longest_batch_seconds:.2f} s, peak RSS {self.peak_rss_mb:.0f} MB "
            "(goal: apply <= 60 s, batch <= 2 s, <= 300 MB)"
        )


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(dsn("postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def copy_database(name: str) -> str:
    """A fresh copy of the bench database named `name`; its SQLAlchemy URL."""
    source = DATABASE_URL.rsplit("/", 1)[1]
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"'))
    # FILE_COPY: the files as they are, rather than every block through the WAL.
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY'))
    return DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"


async def edit(rows: int) -> dict[str, float | int]:
    """In the child process: preview and apply the edit; its figures."""
    from starlette_admin import RequestAction

    from admin_app.admin.views.customer import CustomerView
    from admin_app.audit.context import cli_actor, set_actor
    from admin_app.audit.recorder import start_recording
    from admin_app.bulk_edit.apply import Applier
    from admin_app.bulk_edit.plan import Selection, make_plan
    from admin_app.db import create_engine, create_sessionmaker
    from admin_app.imports.requests import COMMAND_LINE, for_row, import_request
    from admin_app.settings import Settings

    settings = Settings()
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    start_recording()
    set_actor(cli_actor())
    view = CustomerView()
    try:
        started = time.monotonic()
        async with maker() as session:
            made = import_request(session=session, grants=COMMAND_LINE, settings=settings)
            request = for_row(made, RequestAction.EDIT)
            state = dict(made.scope["state"])
            plan = await make_plan(view, request, Selection(None, FILTER), {"city": NEW_CITY})
        preview = time.monotonic() - started
        plan.pks = plan.pks[:rows]
        plan.versions = plan.versions[:rows] if plan.versions is not None else None
        started = time.monotonic()
        outcome = await Applier(maker, view, state).apply(plan)
        applied = time.monotonic() - started
    finally:
        await engine.dispose()
    return {
        "rows": len(plan.pks),
        "matched": plan.matched,
        "preview_seconds": round(preview, 2),
        "apply_seconds": round(applied, 2),
        "changed": outcome.changed,
        "skipped": outcome.skipped,
        "longest_batch_seconds": round(outcome.longest_batch, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def measure(url: str, rows: int) -> Figures:
    """The edit in a child process on `url`, with a scratch data directory."""
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as scratch:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET,
            "ENVIRONMENT": "production",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATA_DIR": scratch,
        }
        command = [str(BIN / "python"), "-m", "bench.bulk_edit", "--child", "--rows", str(rows)]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"bench: bulk edit failed:\n{done.stdout[-1000:]}{done.stderr[-2000:]}")
    figures = Figures(**json.loads(done.stdout.strip().splitlines()[-1]))
    figures.met = (
        figures.apply_seconds <= 60
        and figures.longest_batch_seconds <= 2
        and figures.peak_rss_mb <= 300
        and figures.changed == figures.rows
    )
    return figures


def main(argv: list[str] | None = None) -> Figures | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--copy", default="admin_bench_bulk", help="the scratch copy's name")
    parser.add_argument("--keep", action="store_true", help="keep the copy afterwards")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(edit(args.rows))), flush=True)
        return None
    run = Run("bulk edit")
    url = copy_database(args.copy)
    try:
        figures = measure(url, args.rows)
    finally:
        if not args.keep:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{args.copy}"'))
    run.report([figures.line], asdict(figures), "bulk_edit.json")
    return figures


if __name__ == "__main__":
    main()
