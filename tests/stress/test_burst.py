"""A burst of signed-in clients on list pages, with the default settings.

64 administrators open list pages at the same moment, on a 2-core machine: every
request must be answered (queued fairly while the database answers), none refused
with a 503 because the connection pool made it wait too long.
"""

from __future__ import annotations

import statistics

from tests.conftest import seed_small
from tests.stress import loadgen
from tests.stress.serving import serving, signed_in

CLIENTS = 64
PAGES = ("customer", "order", "product", "order-line", "category", "tag")


def test_a_burst_of_64_signed_in_clients_gets_every_page(pg_settings, scale, report):
    settings = seed_small(pg_settings)
    rounds = 20 if scale.name == "full" else 3
    with serving(settings) as server:
        clients = [signed_in(server.base) for _ in range(CLIENTS)]
        cookies = [dict(client.cookies) for client in clients]
        urls = [
            [f"/admin/{PAGES[(n + r) % len(PAGES)]}/list?page_size=25" for r in range(rounds)]
            for n in range(CLIENTS)
        ]
        results = loadgen.burst(server.base, cookies, urls)
    statuses = [status for status, _ in results]
    seconds = sorted(took for _, took in results)
    failed = [s for s in statuses if s != 200]
    p50 = statistics.median(seconds)
    p99 = seconds[int(len(seconds) * 0.99) - 1]
    report.add(
        "Privilege boundaries",
        f"{CLIENTS} signed-in clients opening list pages at once, default settings",
        len(results),
        f"{len(results) - len(failed):,} answered 200, {len(failed)} not; "
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms",
        not failed,
    )
    assert not failed, f"{len(failed)} of {len(results)} requests failed: {sorted(set(failed))}"
