"""`make bench`: the admin against a raw Starlette + asyncpg floor, on a million customers,
driven as people use it.

1. Makes sure the PostgreSQL database `BENCH_DATABASE_URL` (default `admin_bench` on
   the local server) exists, is migrated, and holds 1,000,000 customers, 2,000,000
   orders and 20 bench accounts; seeds it (about two minutes) if not.
2. Starts the admin (one uvicorn worker) and the floor app (`bench/floor_app.py`)
   on free loopback ports, and logs the 20 users in to the admin.
3. Drives each scenario (`bench/scenarios.py`) on both with `wrk` and
   `bench/requests.lua`: 20 connections, each one user's, a new URL per request where
   the scenario says so; `BENCH_ROUNDS` (3) alternating rounds of `BENCH_SECONDS` (5)
   per app, keeping each app's median round. Counts every answer that is not a 200.
   The API scenarios call `/api/v1/customer` with a token per user (bench/api.py).
   Weighs three pages, times a full CSV export of each app while sampling the server's
   memory, and reads the admin's memory after the pages and at the end.
4. Makes a streaming standby of the bench server and drives the list scenario again
   with the admin reading from it (bench/replica.py; `BENCH_REPLICA=0` skips it).
5. Prints the table, and writes it to `bench/results/<time>.json` and (for a valid run)
   `latest.json` and `latest.md`. Runs `bench/ws_capacity.py` when that file exists.
   Prints the goals last, one PASS or FAIL line each. Then times an order of 200 lines
   in its form (`bench/order_lines.py`), measures imports (`bench/imports.py`:
   1,000,000 new customers, an upsert of 100,000, SQLite) and a bulk edit of 100,000
   customers on a copy of the database (`bench/bulk_edit.py`: seconds, peak RSS, the
   longest batch transaction).

`BENCH_ONLY=detail,edit` (words of scenario names, comma-separated, in any case) drives only the
scenarios whose names hold one of them, prints their rates and ratios, and stops: a quick
check while working on one page; it writes no results and checks no goals.

Exits 1, with a line saying why, if any answer was not a 200 (wrk alone counts a
redirect to the login page as a success) or a request failed. Goals not met are
reported, not fatal. Rates depend on the machine: read the ratios, and the load
average printed with them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace

from bench import bulk_edit, imports, order_lines, replica, report
from bench.api import api_tokens, url_file
from bench.database import (
    BIN,
    ROOT,
    USERS,
    app_environment,
    customer_ids,
    deep_page_id,
    prepare_database,
    wait_until_idle,
)
from bench.export import export_admin, export_floor
from bench.goals import Results, Weights, failures, goals
from bench.scenarios import (
    ADMIN_LIST,
    DEEP_PAGE,
    EXPORT,
    FLOOR_LIST,
    ONE_USER,
    REPLICA_LIST,
    Scenario,
    Table,
    scenarios,
    weighed,
)
from bench.servers import Server, check, login, rss_mb, serve, weigh
from bench.traffic import Figure, Traffic, merge, paired, wrk

STARTED = "admin server, with its bench users logged in"
PAGES = "admin server, after the page scenarios"
END = "admin server, at the end of the run (after the export)"


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is not installed; install it with: apt-get install wrk")
    load_before = os.getloadavg()[0]
    prepare_database()
    if ONLY:
        measure_only()
        return
    results, weights, memory = measure()
    results.update(measure_replica())
    run = report.Run(
        results,
        weights,
        memory,
        goals(results, weights, memory[END]),
        failures(results),
        (load_before, os.getloadavg()[0]),
    )
    report.write(run)
    print("\n" + report.markdown(run), flush=True)
    run_ws_capacity()
    run_order_lines()
    run_imports()
    run_bulk_edit()
    print("\n".join(["", "Goals:", *(goal.line for goal in run.goals)]))
    if run.failures:
        print("\n".join(["", "Answers that were not a 200:", *run.failures]), file=sys.stderr)
        sys.exit(
            "bench: FAILED: some answers were not a 200 (see above); the figures are not "
            "comparable, and bench/results/latest.md was left as it was"
        )


def measure() -> tuple[Results, Weights, dict[str, float]]:
    """Both servers through every scenario, the pages weighed, the export, the memory."""
    env = {**os.environ, **app_environment()}
    with serve("admin_app.main:app", env) as admin, serve("bench.floor_app:app", env) as floor:
        cookies = [login(admin.url, n) for n in range(1, USERS + 1)]
        table = describe(cookies)
        plan = scenarios(table)
        preflight(admin, floor, plan, cookies)
        memory = {STARTED: rss_mb(admin.pid)}
        try:
            results = run_all(admin, floor, plan, memory)
        finally:
            os.unlink(table.api_urls)
        wait_until_idle()
        weights = weigh_pages(admin, floor, table, cookies[0])
        memory[PAGES] = rss_mb(admin.pid)
        results[EXPORT] = {"admin": export_admin(admin, cookies[0]), "floor": export_floor(floor)}
        memory[END] = rss_mb(admin.pid)
        memory["floor server, at the end of the run"] = rss_mb(floor.pid)
    return results, weights, memory


ONLY = [word.strip() for word in os.environ.get("BENCH_ONLY", "").split(",") if word.strip()]
"""Words of the scenario names to drive alone (`BENCH_ONLY`); empty: the whole bench."""


def measure_only() -> None:
    """The scenarios `BENCH_ONLY` names, on both servers; their rates and ratios printed."""
    env = {**os.environ, **app_environment()}
    with serve("admin_app.main:app", env) as admin, serve("bench.floor_app:app", env) as floor:
        cookies = [login(admin.url, n) for n in range(1, USERS + 1)]
        table = describe(cookies)
        plan = [s for s in scenarios(table) if any(w.lower() in s.name.lower() for w in ONLY)]
        if not plan:
            sys.exit(f"bench: no scenario's name holds any of {ONLY}")
        preflight(admin, floor, plan, cookies)
        memory = {STARTED: rss_mb(admin.pid)}
        try:
            results = run_all(admin, floor, plan, memory)
        finally:
            os.unlink(table.api_urls)
        print("\n".join(f"{where}: {mb:.0f} MB RSS" for where, mb in memory.items()))
    for name, pair in results.items():
        ratio = pair["admin"].req_s / pair["floor"].req_s if pair["floor"].req_s else 0.0
        print(f"{name}: {ratio:.2f}x the floor; not 200: {pair['admin'].not_ok or 'none'}")
    print(f"load average before/after: {os.getloadavg()[0]:.1f}")


def describe(cookies: list[str]) -> Table:
    """The customer table and the admin's customer view, as the scenarios need them."""
    from admin_app.admin.lists import keyset
    from admin_app.admin.views.customer import CustomerView

    size = CustomerView.page_size
    after_id = deep_page_id(DEEP_PAGE, size)
    ids = customer_ids()
    return Table(
        cookies=cookies,
        ids=ids,
        sorts=list(CustomerView.sortable_fields),
        # `?page=N` skips (N - 1) * size rows, allowed up to `max_page_offset`.
        max_page=CustomerView.max_page_offset // size + 1,
        deep_after=(keyset.encode([after_id]), after_id),
        api_headers=[f"Authorization: Bearer {token}" for token in api_tokens()],
        api_urls=str(url_file(ids)),
    )


def preflight(admin: Server, floor: Server, plan: list[Scenario], cookies: list[str]) -> None:
    """Exit before the long part if a user is not logged in or a page does not answer."""
    for cookie in cookies:  # a page every user sees with a cookie alone (not the API's)
        check(admin.url + ADMIN_LIST, cookie)
    for scenario in plan:
        header = scenario.traffic.headers[0] if scenario.traffic.headers else ""
        check(admin.url + scenario.admin_path + scenario.sample, cookies[0], header)
        check(floor.url + scenario.floor_path + scenario.sample, "")


def run_all(
    admin: Server, floor: Server, plan: list[Scenario], memory: dict[str, float] | None = None
) -> Results:
    """Each scenario on both servers; with `memory`, the admin's RSS after each is noted
    there, so a rise shows the scenario that made it (allocator high water stays)."""
    results: Results = {}
    for scenario in plan:
        urls = {"admin": admin.url + scenario.admin_path, "floor": floor.url + scenario.floor_path}
        pair = paired(urls["admin"], urls["floor"], scenario.traffic)
        if scenario.name in ONE_USER:
            one = replace(scenario.traffic, cookies=scenario.traffic.cookies[:1])
            for side, url in urls.items():
                wait_until_idle()
                alone = wrk(url, one, connections=1)
                pair[side].single_p50_ms = alone.p50_ms
                pair[side].single_p99_ms = alone.p99_ms
                pair[side].not_ok = merge(pair[side].not_ok, alone.not_ok)
        results[scenario.name] = pair
        if memory is not None:
            memory[f"admin server, after {scenario.name}"] = rss_mb(admin.pid)
        rates = f"{pair['admin'].req_s:,.0f} req/s, floor {pair['floor'].req_s:,.0f}"
        print(f"bench: {scenario.name}: {rates}", flush=True)
    return results


def measure_replica() -> Results:
    """The list scenario, the admin reading from a streaming standby made for it (see
    bench/replica.py), against the floor on the primary; nothing when it cannot be made.
    Answers the standby did not serve count as answers that were not a 200."""
    if not replica.ENABLED:
        return {}
    try:
        with replica.standby() as standby:
            env = {**os.environ, **app_environment(), "DATABASE_REPLICA_URLS": standby.url}
            with (
                serve("admin_app.main:app", env) as admin,
                serve("bench.floor_app:app", env) as floor,
            ):
                # A login is a write: its read-your-writes cookie would keep the user on
                # the primary for a few seconds. A browser drops it then; so does this.
                cookies = [_without_sticky(login(admin.url, n)) for n in range(1, USERS + 1)]
                traffic = replace(describe_lists(), cookies=cookies)
                check(admin.url + ADMIN_LIST, cookies[0])
                before = standby.transactions()
                pair = paired(admin.url + ADMIN_LIST, floor.url + FLOOR_LIST, traffic)
                _note_reads(pair["admin"], standby.transactions() - before)
    except replica.NoStandby as reason:
        print(f"bench: {REPLICA_LIST}: skipped: {reason}", file=sys.stderr, flush=True)
        return {}
    rates = f"{pair['admin'].req_s:,.0f} req/s, floor {pair['floor'].req_s:,.0f}"
    print(f"bench: {REPLICA_LIST}: {rates}; {pair['admin'].note}", flush=True)
    return {REPLICA_LIST: pair}


def describe_lists() -> Traffic:
    """The list scenario's traffic (without users)."""
    from admin_app.admin.views.customer import CustomerView

    max_page = CustomerView.max_page_offset // CustomerView.page_size + 1
    return Traffic("list", sorts=list(CustomerView.sortable_fields), max_page=max_page)


def _without_sticky(cookie: str) -> str:
    from admin_app.replicas.sticky import COOKIE

    return "; ".join(part for part in cookie.split("; ") if not part.startswith(f"{COOKIE}="))


def _note_reads(figure: Figure, reads: int) -> None:
    """Every answer must have read from the standby: at least one transaction there each
    (the standby's count also holds the warm-up's, and its health checks, so it is a
    floor: fewer transactions than answers means some were read from the primary)."""
    figure.note += f"; {reads:,} transactions on the standby"
    missing = figure.answers - reads
    if missing > 0:
        figure.not_ok = merge(figure.not_ok, {"not read from the replica": missing})


def weigh_pages(admin: Server, floor: Server, table: Table, cookie: str) -> Weights:
    return {
        page: {"admin": weigh(admin.url + a, cookie), "floor": weigh(floor.url + f, "")}
        for page, (a, f) in weighed(table.ids).items()
    }


def run_ws_capacity() -> None:
    capacity = ROOT / "bench" / "ws_capacity.py"
    if not capacity.exists():
        return
    print("\nbench/ws_capacity.py:", flush=True)
    try:
        subprocess.run([str(BIN / "python"), str(capacity)], cwd=ROOT, check=False, timeout=600)
    except subprocess.TimeoutExpired:
        print("bench/ws_capacity.py: gave up after 10 minutes", file=sys.stderr)


def run_order_lines() -> None:
    """An order of 200 lines in its form (`bench/order_lines.py`), on the bench database."""
    print("\nbench/order_lines.py:", flush=True)
    order_lines.main([])


def run_imports() -> None:
    """The import scenario (`bench/imports.py`), on the bench database."""
    print("\nbench/imports.py:", flush=True)
    imports.main([])


def run_bulk_edit() -> None:
    """The bulk edit scenario (`bench/bulk_edit.py`), on a copy of the bench database."""
    print("\nbench/bulk_edit.py:", flush=True)
    bulk_edit.main([])


if __name__ == "__main__":
    main()
