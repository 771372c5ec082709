"""Driving a server with `wrk` and `bench/requests.lua`, and reading what came back.

Each wrk thread holds one connection as one user (see requests.lua), so a run uses as
many threads as connections. Every run gets a seed of its own: a round that replayed
the URLs of the round before would be a repeat view again.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.database import ROOT, USERS, wait_until_idle

SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = USERS
"""One connection per user, each held by its own wrk thread."""
WARM_SECONDS = 2
TIMEOUT = "10s"
"""wrk's own default (2 s) would count a slow page as an error, not as a latency."""
SCRIPT = ROOT / "bench" / "requests.lua"

_seeds = itertools.count(secrets.randbelow(1_000_000))


@dataclass(frozen=True)
class Traffic:
    """What a wrk run asks for; the arguments of bench/requests.lua (see there)."""

    kind: str = "fixed"
    """`fixed` (the URL as given), `list`, `search`, `record` or `urls`: a new URL per
    request."""
    cookies: Sequence[str] = ()
    headers: Sequence[str] = ()
    """`Name: value` lines, one per user in turn (as `cookies`)."""
    urls: str = ""
    """For `urls`: a file of query strings, one a line."""
    gzip: bool = False
    sorts: Sequence[str] = ()
    max_page: int = 1
    ids: tuple[int, int] = (1, 1)
    origin: str = ""
    """For `record`: the list path each record is opened from (a random page and sort of
    it, as `_origin=`), as a click on a list's row opens it."""

    def arguments(self, seed: int) -> list[str]:
        args = [f"kind={self.kind}", f"seed={seed}", f"gzip={int(self.gzip)}"]
        args += [f"max_page={self.max_page}", f"low={self.ids[0]}", f"high={self.ids[1]}"]
        args += [f"sort={name}" for name in self.sorts]
        args += [f"urls={self.urls}"] if self.urls else []
        args += [f"origin={self.origin}"] if self.origin else []
        args += [f"header={header}" for header in self.headers]
        return args + [f"cookie={cookie}" for cookie in self.cookies]


@dataclass
class Figure:
    """One scenario on one app."""

    req_s: float
    p50_ms: float
    p99_ms: float
    answers: int = 0
    not_ok: dict[str, int] = field(default_factory=dict)
    """Answers other than 200 by status, and socket errors as "errors"."""
    single_p50_ms: float | None = None
    """Median latency with one connection: what one person typing waits."""
    single_p99_ms: float | None = None
    """The 99th percentile with one connection."""
    rows: int | None = None
    """Rows exported (the export only)."""
    rows_s: float | None = None
    peak_rss_mb: float | None = None
    note: str = ""


def wrk(
    url: str,
    traffic: Traffic,
    connections: int = CONNECTIONS,
    *,
    warm: bool = True,
    seconds: int = SECONDS,
) -> Figure:
    """Requests per second, latency percentiles and answers that were not 200, over
    `seconds` (after an uncounted warm-up of the same traffic, if `warm`)."""
    warmed = _run(url, traffic, connections, WARM_SECONDS) if warm else None
    figure = _run(url, traffic, connections, seconds)
    if warmed is not None:
        figure.not_ok = merge(figure.not_ok, warmed.not_ok)
    return figure


def _run(url: str, traffic: Traffic, connections: int, seconds: int) -> Figure:
    command = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", TIMEOUT, "-s", str(SCRIPT), "--", url]
    command += [*traffic.arguments(next(_seeds)), f"threads={connections}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"error: wrk failed on {url}:\n{done.stdout}{done.stderr}")
    return parse(done.stdout, url)


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_ANSWERS = re.compile(r"^bench: answers=(\d+) errors=(\d+) other=(\S*)$", re.MULTILINE)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse(output: str, url: str) -> Figure:
    """The figure in wrk's output (with `--latency` and bench/requests.lua's last line)."""
    rate, answers = _RATE.search(output), _ANSWERS.search(output)
    if rate is None or answers is None:
        raise SystemExit(f"error: wrk could not measure {url}:\n{output}")
    latencies = {p: float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(output)}
    not_ok = {}
    for part in filter(None, answers.group(3).split(",")):
        status, count = part.split("x")
        not_ok[status] = int(count)
    if int(answers.group(2)):
        not_ok["errors"] = int(answers.group(2))
    return Figure(
        req_s=float(rate.group(1)),
        p50_ms=latencies.get("50", 0.0),
        p99_ms=latencies.get("99", 0.0),
        answers=int(answers.group(1)),
        not_ok=not_ok,
    )


def merge(*counts: dict[str, int]) -> dict[str, int]:
    """Counts by status, added up."""
    total: dict[str, int] = {}
    for count in counts:
        for status, n in count.items():
            total[status] = total.get(status, 0) + n
    return total


def paired(admin_url: str, floor_url: str, traffic: Traffic) -> dict[str, Figure]:
    """Both apps under the same traffic, in `ROUNDS` alternating rounds; each side's
    median round, with every round's answers that were not 200.

    On a shared machine the rate drifts by a factor of two within minutes; alternating
    gives both sides the same drift, and the median drops a round that hit a stall. Each
    round starts once the database is idle, not while the round before still drains."""
    sides = {"admin": admin_url, "floor": floor_url}
    rounds: dict[str, list[Figure]] = {"admin": [], "floor": []}
    for n in range(ROUNDS):
        for side, url in sides.items():
            wait_until_idle()
            rounds[side].append(wrk(url, traffic, warm=n == 0))
    return {side: median(figures) for side, figures in rounds.items()}


def median(figures: list[Figure]) -> Figure:
    """The median round by rate, noting every round's rate and counting every round's
    answers that were not 200."""
    ordered = sorted(figures, key=lambda f: f.req_s)
    middle = ordered[len(ordered) // 2]
    middle.note = "rounds: " + ", ".join(f"{f.req_s:,.0f}" for f in figures) + " req/s"
    middle.not_ok = merge(*(f.not_ok for f in figures))
    middle.answers = sum(f.answers for f in figures)
    return middle
