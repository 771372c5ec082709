"""One run's table, goals, page weights and memory: as Markdown, and as JSON in bench/results/."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from bench.database import ROOT, USERS
from bench.goals import Goal, Results, Weights, ratio
from bench.scenarios import FLOOR_DETAIL, ONE_USER
from bench.traffic import CONNECTIONS, ROUNDS, SECONDS

RESULTS = ROOT / "bench" / "results"


@dataclass
class Run:
    results: Results
    weights: Weights
    memory: dict[str, float]
    """Which server when, and its RSS then, in MB."""
    goals: list[Goal]
    failures: list[str]
    load: tuple[float, float]
    """The load average (one minute) before and after."""
    when: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def markdown(run: Run) -> str:
    """The run as the body of bench/results/latest.md."""
    parts = [context(run), table(run.results)]
    parts.append(
        f"The floor answers the detail page and the edit form with its detail route "
        f'(`{FLOOR_DETAIL}`). "not 200" counts the answers (warm-up included) that were '
        "not a 200, and failed requests."
    )
    parts.append("## Goals\n\n" + "\n".join(f"- {goal.line}" for goal in run.goals))
    if run.failures:
        parts.append("## Not a valid run\n\n" + "\n".join(f"- {line}" for line in run.failures))
    parts.append("## Page weight\n\n" + weight_table(run.weights))
    parts.append("## Memory (resident set size, from /proc)\n\n" + memory(run))
    rounds = [
        f"- {name}: admin {pair['admin'].note}; floor {pair['floor'].note}"
        for name, pair in run.results.items()
        if pair["admin"].note.startswith("rounds")
    ]
    parts.append("## Every round\n\n" + "\n".join(rounds))
    return "\n\n".join(parts) + "\n"


def context(run: Run) -> str:
    return (
        f"{run.when}; {os.cpu_count()} CPUs; one uvicorn worker each; {USERS} users logged in, "
        f"wrk with {CONNECTIONS} connections (one thread and one user each); {ROUNDS} "
        f"alternating rounds of {SECONDS} s per scenario and app, the median round shown; "
        f"load average {run.load[0]:.2f} before, {run.load[1]:.2f} after"
    )


def table(results: Results) -> str:
    lines = [
        "| scenario | admin req/s | p50 ms | p99 ms | floor req/s | p50 ms | p99 ms | ratio "
        "| not 200 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, pair in results.items():
        a, f = pair["admin"], pair["floor"]
        rate = f"{a.rows_s:,.0f} rows/s" if a.rows_s else f"{a.req_s:,.1f}"
        floor_rate = f"{f.rows_s:,.0f} rows/s" if f.rows_s else f"{f.req_s:,.1f}"
        if name in ONE_USER and a.single_p50_ms is not None:
            rate += f" (p50 {a.single_p50_ms:.1f} ms"
            rate += f", p99 {a.single_p99_ms:.1f} ms" if a.single_p99_ms is not None else ""
            rate += " for one user)"
        bad = "; ".join(
            f"{side} " + ", ".join(f"{n:,} x {status}" for status, n in sorted(fig.not_ok.items()))
            for side, fig in pair.items()
            if fig.not_ok
        )
        lines.append(
            f"| {name} | {rate} | {a.p50_ms:.1f} | {a.p99_ms:.1f} | {floor_rate} | "
            f"{f.p50_ms:.1f} | {f.p99_ms:.1f} | {ratio(pair):.2f}x | {bad or 'none'} |"
        )
    return "\n".join(lines)


def weight_table(weights: Weights) -> str:
    lines = [
        "| page | admin HTML | admin gzipped | floor HTML | floor gzipped |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for page, sides in weights.items():
        cells = [f"{size / 1000:,.1f} kB" for side in ("admin", "floor") for size in sides[side]]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n(kB: 1,000 bytes; the floor's edit form is its detail page.)"


def memory(run: Run) -> str:
    lines = [f"- {where}: {mb:.0f} MB" for where, mb in run.memory.items()]
    return "\n".join(lines) + "\n\n(MB: 1,048,576 bytes, as /proc counts.)"


def write(run: Run) -> None:
    """The run's JSON under its time; and, unless it is not a valid run, latest.json/.md."""
    data = {
        "when": run.when,
        "cpus": os.cpu_count(),
        "load_average_before": run.load[0],
        "load_average_after": run.load[1],
        "users": USERS,
        "connections": CONNECTIONS,
        "seconds": SECONDS,
        "rounds": ROUNDS,
        "results": {k: {s: asdict(v) for s, v in pair.items()} for k, pair in run.results.items()},
        "page_weight_bytes": {
            page: {s: list(v) for s, v in sides.items()} for page, sides in run.weights.items()
        },
        "rss_mb": run.memory,
        "goals": [asdict(goal) for goal in run.goals],
        "failures": run.failures,
    }
    text = json.dumps(data, indent=2, ensure_ascii=False)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{run.when.replace(':', '')}.json").write_text(text)
    if run.failures:
        return
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / "latest.md").write_text(
        "# Latest benchmark\n\nWritten by `make bench` (bench/run.py); the floor is "
        "bench/floor_app.py. How to read it: "
        "[docs/big-tables.md](../../docs/big-tables.md#the-benchmark).\n\n" + markdown(run)
    )
