"""Server CPU per request for one admin page, for this checkout and others, side by side.

    .venv/bin/python -m bench.cpu [--path /admin/customer/list] [--rounds 3] [CHECKOUT ...]

Rates on a shared machine drift by a third within minutes; the CPU time the server
process spends per request (from /proc, under `wrk` with the bench's 20 connections)
drifts far less, and alternating rounds give every side the same drift. This is how
the changes in docs/big-tables.md were chosen. Each CHECKOUT (another worktree, say
`git worktree add /tmp/before HEAD~1`) is served by this checkout's environment from
its own directory; the floor app is measured alongside as the yardstick. Uses the
`make bench` database (seeded on first use) and its `wrk` rounds (`BENCH_SECONDS`,
default 5). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from contextlib import ExitStack
from pathlib import Path

from bench.database import ROOT, app_environment, prepare_database
from bench.servers import Server, login, serve
from bench.traffic import SECONDS, Traffic, wrk

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def measure(server: Server, url: str, cookie: str) -> tuple[float, float]:
    """Requests per second and server CPU milliseconds per request over one wrk round."""
    before = cpu_seconds(server.pid)
    figure = wrk(url, Traffic(cookies=[cookie] if cookie else []), warm=False)
    used = cpu_seconds(server.pid) - before
    return figure.req_s, 1000 * used / (figure.req_s * SECONDS)


def comparison_parser(doc: str) -> argparse.ArgumentParser:
    """Arguments of a tool that measures one page on this checkout and others."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="*", type=Path, help="other checkouts to compare")
    parser.add_argument("--path", default="/admin/customer/list")
    return parser


def check_checkouts(checkouts: list[Path]) -> None:
    """Exit with one line if any of `checkouts` is not a checkout of this project."""
    for checkout in checkouts:
        if not (checkout / "admin_app").is_dir():
            sys.exit(f"error: {checkout} is not a checkout of this project (no admin_app/)")


def main(argv: list[str] | None = None) -> None:
    parser = comparison_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    check_checkouts(args.checkouts)
    prepare_database()
    env = {**os.environ, **app_environment()}
    sides: dict[str, tuple[Server, str, str]] = {}
    with ExitStack() as stack:
        for checkout in [ROOT, *args.checkouts]:
            server = stack.enter_context(serve("admin_app.main:app", env, cwd=checkout))
            sides[str(checkout)] = (server, server.url + args.path, login(server.url))
        floor = stack.enter_context(serve("bench.floor_app:app", env))
        sides["floor"] = (floor, floor.url + "/customers", "")
        for server, url, cookie in sides.values():
            measure(server, url, cookie)  # warm up
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for n in range(args.rounds):
            for name, (server, url, cookie) in sides.items():
                rate, ms = measure(server, url, cookie)
                figures[name].append((rate, ms))
                print(f"round {n + 1}  {name}: {rate:,.0f} req/s, {ms:.3f} ms CPU a request")
    print("\nmedians:")
    for name, rounds in figures.items():
        rate = statistics.median(r for r, _ in rounds)
        ms = statistics.median(m for _, m in rounds)
        print(f"  {name}: {ms:.3f} ms CPU a request ({rate:,.0f} req/s)")


if __name__ == "__main__":
    main()
