"""The bench's verdicts: goals read off one run, and the answers that invalidate it."""

from __future__ import annotations

import pytest

from bench.goals import Results, Weights, failures, goals
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
    LIST,
    LIST_GZIP,
    LIST_WEIGHT,
    SEARCH,
)
from bench.traffic import Figure, parse


def pair(admin: float, floor: float) -> dict[str, Figure]:
    return {"admin": Figure(admin, 1.0, 2.0), "floor": Figure(floor, 1.0, 2.0)}


def run(**rates: float) -> Results:
    """A run meeting every goal exactly at its bound, but for the rates given."""
    results = {
        LIST: pair(300, 1000),
        LIST_GZIP: pair(rates.get("list_gzip", 300), 1000),
        SEARCH: pair(rates.get("search", 200), 800),
        DETAIL: pair(150, 1000),
        EDIT: pair(rates.get("edit", 150), 1000),
        FIRST: pair(500, 1000),
        DEEP: pair(rates.get("deep", 250), 1000),
        LAST: pair(250, 1000),
        AUTOCOMPLETE: pair(400, 1000),
        GLOBAL_SEARCH: pair(100, 800),
        API_LIST: pair(rates.get("api", 600), 1200),
        API_LIST_GZIP: pair(450, 900),
    }
    results[AUTOCOMPLETE]["admin"].single_p50_ms = 3.0
    results[GLOBAL_SEARCH]["admin"].single_p50_ms = rates.get("global_search_p50", 99.9)
    results[GLOBAL_SEARCH]["admin"].single_p99_ms = 250.0
    export = Figure(0.3, 3000, 3000, rows=1_000_000, rows_s=300_000, peak_rss_mb=250)
    results[EXPORT] = {"admin": export, "floor": Figure(1, 800, 800, rows_s=1_200_000)}
    return results


WEIGHTS: Weights = {LIST_WEIGHT: {"admin": (60_000, 9_000), "floor": (5_000, 1_000)}}


def verdicts(results: Results, weights: Weights = WEIGHTS, rss: float = 120) -> dict[str, bool]:
    return {goal.name: goal.met for goal in goals(results, weights, rss)}


def test_every_goal_passes_at_its_bound() -> None:
    failed = [name for name, met in verdicts(run()).items() if not met]
    assert not failed, f"goals failed though met exactly: {failed}"


@pytest.mark.parametrize(
    ("change", "goal"),
    [
        ({"list_gzip": 299}, LIST_GZIP),
        ({"edit": 149}, EDIT),
        ({"search": 199}, SEARCH),
        ({"deep": 249}, DEEP),
        ({"api": 599}, API_LIST),
        ({"global_search_p50": 100}, f"{GLOBAL_SEARCH}, one user"),
    ],
)
def test_a_goal_missed_by_a_little_fails(change: dict[str, float], goal: str) -> None:
    met = verdicts(run(**change))
    assert not met[goal], f"{goal} passed with {change}"
    assert sum(not m for m in met.values()) == 1, f"only {goal} should fail: {met}"


def test_page_weight_memory_and_export_goals() -> None:
    heavy = {LIST_WEIGHT: {"admin": (60_001, 9_000), "floor": (5_000, 1_000)}}
    assert not verdicts(run(), heavy)["list page weight"]
    assert not verdicts(run(), rss=121)["admin server memory after the bench"]
    short = run()
    short[EXPORT]["admin"].rows = 999_999
    assert not verdicts(short)[EXPORT], "an export that lost rows passed"


def test_answers_other_than_200_name_the_scenario_and_the_app() -> None:
    results = run()
    results[DETAIL]["floor"].not_ok = {"404": 3}
    results[LIST]["admin"].not_ok = {"302": 12, "errors": 1}
    assert failures(results) == [
        f"{LIST}, admin: 12 x 302, 1 x errors",
        f"{DETAIL}, floor: 3 x 404",
    ]
    assert failures(run()) == []


WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8000/admin/customer/list
  20 threads and 20 connections
  Latency Distribution
     50%   12.30ms
     75%   15.00ms
     90%   16.00ms
     99%    1.20s
  6000 requests in 5.00s, 1.00GB read
Requests/sec:   1200.50
Transfer/sec:    200.00MB
bench: answers=6000 errors=2 other=302x40,500x1
"""


def test_wrk_output_is_read_with_the_scripts_status_counts() -> None:
    figure = parse(WRK_OUTPUT, "url")
    assert (figure.req_s, figure.p50_ms, figure.p99_ms) == (1200.5, 12.3, 1200.0)
    assert figure.answers == 6000
    assert figure.not_ok == {"302": 40, "500": 1, "errors": 2}


def test_wrk_output_without_the_scripts_line_stops_the_run() -> None:
    with pytest.raises(SystemExit, match="could not measure url"):
        parse(WRK_OUTPUT.replace("bench: answers", "something else"), "url")
