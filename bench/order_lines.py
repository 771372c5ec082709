"""An order of 200 lines, edited in its form: the form and its saves, timed one at a time.

    .venv/bin/python -m bench.order_lines [--lines 200] [--times 20]

Issue 22's goal: with 200 lines on an order, neither the form nor its save takes more
than 300 ms on the server. The bench gives one order of the bench database `--lines`
lines, serves the admin (one uvicorn worker), and as one bench user, one request at a
time, opens the order's edit form, saves it with one line changed, and saves it with
every line changed (a new quantity each). The median and the slowest of `--times`
each are printed, as seen by the client on loopback (the server's time plus well under
a millisecond), with the server process's median CPU time (from /proc: a loaded
machine stretches wall times far more), and written to
`bench/results/order_lines.json`. The order's lines are put back as they were
afterwards. Exits 1 if a request does not answer as a browser expects (200 for the
form, 303 for a save); goals not met are reported, not fatal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import httpx2

from bench.database import app_environment, dsn, prepare_database
from bench.servers import login, serve
from bench.steps import Run, verdict
from tests.forms import read_form

GOAL_MS = 300.0
PREFIX = "inlines.order-line"
"""The lines' field names in the order form: `inlines.order-line.<row>.<field>`."""


@dataclass
class Timing:
    """One kind of request, timed `times` times: median and slowest, in ms."""

    name: str
    median_ms: float
    max_ms: float
    median_cpu_ms: float
    met: bool

    @property
    def line(self) -> str:
        return (
            f"{verdict(self.met)} {self.name}: median {self.median_ms:.0f} ms, slowest "
            f"{self.max_ms:.0f} ms, server CPU {self.median_cpu_ms:.0f} ms "
            f"(goal: median <= {GOAL_MS:.0f} ms on the server)"
        )


Statement = tuple[str, tuple[object, ...]]


def sql(*statements: Statement) -> object:
    """Run `statements` (each SQL and its arguments) on the bench database in one
    transaction; the first value of the last one's result."""

    async def run() -> object:
        conn = await asyncpg.connect(dsn())
        try:
            *rest, (last, args) = statements
            async with conn.transaction():
                for statement, arguments in rest:
                    await conn.execute(statement, *arguments)
                return await conn.fetchval(last, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def big_order(lines: int) -> int:
    """The first order, holding `lines` lines of one product (its own set aside)."""
    order = int(str(sql(("SELECT min(id) FROM orders", ()))))
    sql(
        ("DROP TABLE IF EXISTS bench_set_aside, bench_set_aside_total", ()),
        ("CREATE TABLE bench_set_aside_total AS SELECT total FROM orders WHERE id = $1", (order,)),
        ("CREATE TABLE bench_set_aside AS SELECT * FROM order_line WHERE order_id = $1", (order,)),
        ("DELETE FROM order_line WHERE order_id = $1", (order,)),
        (
            "INSERT INTO order_line (order_id, product_id, quantity, unit_price, position, "
            "version) SELECT $1, (SELECT min(id) FROM product), 1, 2.50, n, 1 "
            "FROM generate_series(1, $2::int) AS n",
            (order, lines),
        ),
    )
    return order


def put_back(order: int) -> None:
    """The order's own lines and total again, as they were before the bench."""
    sql(
        ("DELETE FROM order_line WHERE order_id = $1", (order,)),
        ("INSERT INTO order_line SELECT * FROM bench_set_aside", ()),
        (
            "UPDATE orders SET total = (SELECT total FROM bench_set_aside_total) WHERE id = $1",
            (order,),
        ),
        ("DROP TABLE bench_set_aside, bench_set_aside_total", ()),
    )


def measure(lines: int, times: int) -> list[Timing]:
    order = big_order(lines)
    try:
        with serve("admin_app.main:app", {**os.environ, **app_environment()}) as admin:
            cookie = login(admin.url)
            with httpx2.Client(base_url=admin.url, headers={"Cookie": cookie}) as client:
                return Drive(client, order, admin.pid).steps(lines, times)
    finally:
        put_back(order)


@dataclass
class Drive:
    """One user's browser on one order's edit form."""

    client: httpx2.Client
    order: int
    pid: int
    """The server's process, whose CPU time each request's is read from."""

    @property
    def url(self) -> str:
        return f"/admin/order/edit?pk={self.order}"

    def form(self) -> list[tuple[str, str]]:
        page = self.client.get(self.url)
        if page.status_code != 200:
            sys.exit(f"error: the order form answered {page.status_code}")
        return list(read_form(page.text).submission())

    def save(self, pairs: list[tuple[str, str]]) -> None:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        saved = self.client.post(self.url, content=urlencode(pairs), headers=headers)
        if saved.status_code != 303:
            refused = problems(saved.text)
            sys.exit(f"error: saving the order answered {saved.status_code}: {refused}")

    def saves(self, name: str, times: int, changed: Callable[[str], bool]) -> Timing:
        """`times` saves, each of the form as just opened (untimed) with the fields
        `changed` picks set to a new quantity, on the order's lines (not the blank one
        the form offers for a new line)."""
        seconds: list[float] = []
        cpu: list[float] = []
        for n in range(times):
            form = self.form()
            lines = {k.rpartition(".")[0] for k, v in form if k.endswith(".pk") and v}
            new = str(n % 7 + 2)
            mine = [changed(k) and k.rpartition(".")[0] in lines for k, _ in form]
            pairs = [(k, new if change else v) for (k, v), change in zip(form, mine, strict=True)]
            with self.timed(seconds, cpu):
                self.save(pairs)
        return timing(name, seconds, cpu)

    def forms(self, name: str, times: int) -> Timing:
        seconds: list[float] = []
        cpu: list[float] = []
        for _ in range(times):
            with self.timed(seconds, cpu):
                self.form()
        return timing(name, seconds, cpu)

    @contextmanager
    def timed(self, seconds: list[float], cpu: list[float]) -> Iterator[None]:
        """The block's wall time and the server's CPU time meanwhile, in ms: a busy
        machine stretches the first far more than the second."""
        start, used = time.perf_counter(), cpu_ms(self.pid)
        yield
        seconds.append((time.perf_counter() - start) * 1000)
        cpu.append(cpu_ms(self.pid) - used)

    def steps(self, lines: int, times: int) -> list[Timing]:
        self.form()  # warm: templates compiled, the page's chrome kept
        first = f"{PREFIX}.0.quantity"
        return [
            self.forms(f"the form of an order of {lines} lines", times),
            self.saves(f"a save of 1 changed line of {lines}", times, lambda k: k == first),
            self.saves(
                f"a save of all {lines} lines changed",
                times,
                lambda k: k.startswith(PREFIX) and k.endswith(".quantity"),
            ),
        ]


def problems(html: str) -> list[str]:
    """The messages a refused form shows (at its fields, or above them)."""
    found = re.findall(r'class="invalid-feedback"[^>]*>\s*(.*?)\s*</div>', html, re.S)
    return [m for m in found if m.strip()] or [html[:300]]


def cpu_ms(pid: int) -> float:
    """The CPU time process `pid` has used so far (user and system), in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def timing(name: str, milliseconds: list[float], cpu: list[float]) -> Timing:
    median = statistics.median(milliseconds)
    return Timing(
        name,
        round(median, 1),
        round(max(milliseconds), 1),
        round(statistics.median(cpu), 1),
        median <= GOAL_MS,
    )


def main(argv: list[str] | None = None) -> list[Timing]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--times", type=int, default=20)
    args = parser.parse_args(argv)
    prepare_database()
    run = Run("order lines")
    steps = measure(args.lines, args.times)
    run.report((s.line for s in steps), {"steps": [asdict(s) for s in steps]}, "order_lines.json")
    return steps


if __name__ == "__main__":
    main()
