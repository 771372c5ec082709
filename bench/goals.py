"""The issue's goals, and the answers that make a run invalid, read off one run's figures."""

from __future__ import annotations

from dataclasses import dataclass

from bench.database import CUSTOMERS
from bench.scenarios import (
    API_LIST,
    API_LIST_GZIP,
    AUTOCOMPLETE,
    DEEP,
    DETAIL,
    EDIT,
    EXPORT,
    FIRST,
    GLOBAL_SEARCH,
    LAST,
    LIST_GZIP,
    LIST_WEIGHT,
    SEARCH,
)
from bench.traffic import Figure

Results = dict[str, dict[str, Figure]]
"""Scenario name, then "admin" or "floor"."""
Weights = dict[str, dict[str, tuple[int, int]]]
"""Page, then "admin" or "floor": bytes of the HTML, and gzipped."""


@dataclass(frozen=True)
class Goal:
    name: str
    measured: str
    target: str
    met: bool

    @property
    def line(self) -> str:
        return (
            f"{'PASS' if self.met else 'FAIL'} {self.name}: {self.measured} (goal: {self.target})"
        )


def ratio(pair: dict[str, Figure]) -> float:
    """The admin's rate over the floor's (rows per second for an export)."""
    admin, floor = pair["admin"], pair["floor"]
    return (admin.rows_s or admin.req_s) / (floor.rows_s or floor.req_s)


def goals(results: Results, weights: Weights, rss_mb: float) -> list[Goal]:
    """Every goal, met or not, in the order the issue gives them."""

    def floor(name: str, least: float, what: str = "the floor") -> Goal:
        r = ratio(results[name])
        return Goal(name, f"{r:.2f}x {what}", f"≥ {least}x {what}", r >= least)

    def first(name: str) -> Goal:
        r = results[name]["admin"].req_s / results[FIRST]["admin"].req_s
        return Goal(name, f"{r:.2f}x the first page", "≥ 0.5x the first page", r >= 0.5)

    search = results[SEARCH]["admin"].req_s
    export = results[EXPORT]["admin"]
    rows, peak = export.rows or 0, export.peak_rss_mb or 0.0
    single = results[AUTOCOMPLETE]["admin"].single_p50_ms or 0.0
    everywhere = results[GLOBAL_SEARCH]["admin"]
    everywhere_p50 = everywhere.single_p50_ms or 0.0
    html = weights[LIST_WEIGHT]["admin"][0]
    return [
        floor(LIST_GZIP, 0.3),
        floor(DETAIL, 0.15, "the floor's detail route"),
        floor(EDIT, 0.15, "the floor's detail route"),
        Goal(SEARCH, f"{search:,.0f} pages/s on {CUSTOMERS:,} customers", "≥ 200/s", search >= 200),
        floor(FIRST, 0.5),
        first(DEEP),
        first(LAST),
        Goal(
            EXPORT,
            f"{rows:,} rows, peak RSS {peak:.0f} MB",
            f"all {CUSTOMERS:,} rows in ≤ 250 MB",
            rows >= CUSTOMERS and peak <= 250,
        ),
        Goal(
            f"{EXPORT}, speed",
            f"{export.rows_s or 0:,.0f} rows/s",
            "≥ 100,000 rows/s",
            (export.rows_s or 0) >= 100_000,
        ),
        Goal(f"{AUTOCOMPLETE}, one user", f"p50 {single:.1f} ms", "< 50 ms", 0 < single < 50),
        Goal(
            f"{GLOBAL_SEARCH}, one user",
            f"p50 {everywhere_p50:.1f} ms, p99 {everywhere.single_p99_ms or 0:.1f} ms",
            "p50 < 100 ms",
            0 < everywhere_p50 < 100,
        ),
        floor(API_LIST, 0.5, "the floor's JSON endpoint"),
        floor(API_LIST_GZIP, 0.5, "the floor's JSON endpoint"),
        Goal("list page weight", f"{html / 1000:,.1f} kB before gzip", "≤ 60 kB", html <= 60_000),
        Goal(
            "admin server memory after the bench", f"{rss_mb:.0f} MB RSS", "≤ 120 MB", rss_mb <= 120
        ),
    ]


def failures(results: Results) -> list[str]:
    """One line per scenario and app that had an answer other than 200 or a failed request."""
    lines = []
    for name, pair in results.items():
        for side, figure in pair.items():
            if figure.not_ok:
                counts = ", ".join(
                    f"{n:,} x {status}" for status, n in sorted(figure.not_ok.items())
                )
                lines.append(f"{name}, {side}: {counts}")
    return lines
