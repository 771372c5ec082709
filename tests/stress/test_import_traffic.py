"""A large import beside normal list traffic: 1,000,000 customers in `make stress`, 2,000
in CI (`scale.import_rows`).

A signed-in administrator uploads a CSV of new customers, has it checked and applied
as a background job of the server (the pages' JSON calls), while other signed-in
clients keep opening list pages. Pass: the import ends `done` with every row; every
list page answers 200 within 1 s while it runs (in CI, within twice the slowest page
before the import, if the shared machine makes that more: `time_limit`); nothing
answers 5xx or is logged as an unhandled error; the server stays within 300 MB.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx2

from bench.imports import write_customers
from tests.conftest import seed_small
from tests.stress import loadgen
from tests.stress.serving import csrf, rss_mb, serving, signed_in, unhandled_errors

CLIENTS = 4
PAGES = ("customer", "order", "product", "customer")
PAGES_PER_ROUND = 10
MAX_RSS_MB = 300


def wait_for(client: httpx2.Client, job_id: int, wanted: str, within: float) -> dict[str, Any]:
    """The job once it is `wanted` (or has failed), polled twice a second."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        job = client.get(f"/admin/_api/imports/{job_id}").json()
        if job["status"] in (wanted, "failed", "cancelled"):
            return dict(job)
        time.sleep(0.5)
    raise AssertionError(f"import #{job_id} was not {wanted} within {within:.0f} s: {job}")


def import_file(client: httpx2.Client, path: Path, within: float) -> dict[str, Any]:
    """Upload, check and apply `path` through the pages' JSON calls; the job at the end."""
    token = {"X-CSRFToken": csrf(client)}
    with path.open("rb") as body:
        uploaded = client.put(
            f"/admin/_api/imports/upload/customer?name={path.name}", content=body, headers=token
        )
    assert uploaded.status_code == 201, uploaded.text[:300]
    job = uploaded.json()
    choice = {"mapping": job["suggested"], "mode": "create", "key": None, "save_as": ""}
    checking = client.post(f"/admin/_api/imports/{job['id']}/validate", json=choice, headers=token)
    assert checking.status_code == 202, checking.text[:300]
    checked = wait_for(client, job["id"], "validated", within)
    assert checked["status"] == "validated" and not checked["errors"], checked
    applying = client.post(f"/admin/_api/imports/{job['id']}/apply", headers=token)
    assert applying.status_code == 202, applying.text[:300]
    return wait_for(client, job["id"], "done", within)


class Memory(threading.Thread):
    """The server's peak resident memory, sampled every 200 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopping = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self.peak = max(self.peak, rss_mb(self.pid))


def list_round(base: str, cookies: list[dict[str, str]]) -> list[tuple[int, float]]:
    """Every client opens `PAGES_PER_ROUND` list pages, one after another, all at once."""
    urls = [
        [f"/admin/{PAGES[(n + r) % len(PAGES)]}/list?page_size=25" for r in range(PAGES_PER_ROUND)]
        for n in range(len(cookies))
    ]
    return loadgen.burst(base, cookies, urls)


def list_rounds(base: str, cookies: list[dict[str, str]], running: threading.Thread) -> list:
    """Rounds of list pages by every client, until the import has ended."""
    results = []
    while running.is_alive():
        results += list_round(base, cookies)
    return results


def time_limit(scale_name: str, before: list[tuple[int, float]]) -> float:
    """1 s, as the issue asks. In CI (smoke), on a machine shared with other jobs, the
    limit is twice the slowest page of the same traffic before the import, if that is
    more: what the import adds, not what the neighbours do."""
    if scale_name == "full":
        return 1.0
    return max(1.0, 2 * max(took for _, took in before))


def test_a_large_import_runs_beside_list_traffic(pg_settings, scale, report, tmp_path):
    settings = seed_small(pg_settings)
    rows = scale.import_rows
    path = write_customers(tmp_path / "bench-stress.csv", rows)
    within = max(120.0, rows / 500)
    with serving(settings) as server:
        admin = signed_in(server.base)
        admin.timeout = httpx2.Timeout(120)
        cookies = [dict(signed_in(server.base).cookies) for _ in range(CLIENTS)]
        outcome: dict[str, Any] = {}
        started = time.monotonic()

        def run() -> None:
            outcome.update(import_file(admin, path, within))
            outcome["seconds"] = time.monotonic() - started

        before = list_round(server.base, cookies)  # warm, and the pages' pace without it
        importing = threading.Thread(target=run, daemon=True)
        memory = Memory(server.process.pid)
        memory.start()
        importing.start()
        pages = list_rounds(server.base, cookies, importing)
        importing.join()
        memory.stopping.set()
        errors = unhandled_errors(server)
    failed = [status for status, _ in before + pages if status != 200]
    times = sorted(took for _, took in pages)
    limit = time_limit(scale.name, before)
    slow = [took for took in times if took > limit]
    done = outcome.get("status") == "done" and outcome.get("rows_done") == rows
    seconds = outcome.get("seconds", 0.0)
    report.add(
        "Imports",
        f"a {rows:,}-row CSV imported as a background job (upload, check, apply) while "
        f"{CLIENTS} signed-in clients keep opening list pages",
        len(pages),
        f"import {outcome.get('status')} in {seconds:.0f} s ({rows / max(seconds, 0.1):,.0f} "
        f"rows/s); {len(pages):,} list pages: {len(failed)} not 200, {len(slow)} over "
        f"{limit:.1f} s, "
        f"p50 {statistics.median(times) * 1000:.0f} ms, slowest {times[-1] * 1000:.0f} ms; "
        f"server peak RSS {memory.peak:.0f} MB; {len(errors)} unhandled errors",
        done and not failed and not slow and not errors and memory.peak <= MAX_RSS_MB,
    )
    assert done, f"the import did not write every row: {outcome}"
    assert not failed, f"{len(failed)} list pages failed during the import: {sorted(set(failed))}"
    assert not errors, "\n".join(errors[:5])
    assert not slow, f"{len(slow)} of {len(pages)} list pages took over {limit:.1f} s: {slow[-5:]}"
    assert memory.peak <= MAX_RSS_MB, f"the server grew to {memory.peak:.0f} MB"
