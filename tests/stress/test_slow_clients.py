"""Slow clients: connections that send half a request and then wait.

The cheapest attack on a server is to open many connections and never finish a
request (slowloris), or to start a POST and trickle its body. Each holds a socket
and a task; none may hold what other people need: a database connection (an
authenticated slow POST must not pin one while its body is awaited), the event loop,
or a turn in the request pacing.
"""

from __future__ import annotations

import time

import httpx2

from tests.helpers import metric
from tests.stress.serving import (
    half_requests,
    held_open,
    rss_mb,
    scrape,
    serving,
    signed_in,
    unhandled_errors,
)


def test_half_sent_requests_hold_nothing_other_people_need(pg_settings, scale, report):
    with serving(pg_settings) as server:
        signed = signed_in(server.base)
        signed.get("/admin/category/list")
        rss_before = rss_mb(server.process.pid)
        with held_open(server.base, half_requests(signed, scale.slow_clients)) as sockets:
            time.sleep(1)  # let the server read what was sent and settle into waiting
            started = time.monotonic()
            page = signed.get("/admin/category/list")
            took = time.monotonic() - started
            fresh = signed_in(server.base)  # a login, a session write and a dashboard
            health = httpx2.get(f"{server.base}/healthz", timeout=10)
            metrics = scrape(server.base)
            pool_in_use = float(metric(metrics, "admin_app_db_pool_checked_out") or 0)
            rss_during = rss_mb(server.process.pid)
            open_now = len(sockets)
        errors = unhandled_errors(server)
        passed = (
            page.status_code == 200
            and health.status_code == 200
            and fresh.get("/admin/").status_code == 200
            and pool_in_use <= 1
            and not errors
        )
        report.add(
            "Slow clients",
            "connections sending half a request and waiting (headers cut short, login and "
            "signed-in form bodies cut short), all open at once",
            open_now,
            f"meanwhile a signed-in list answered {page.status_code} in {took:.2f} s, a new "
            f"login worked, /healthz {health.status_code}; database connections in use "
            f"{pool_in_use:.0f}; memory +{rss_during - rss_before:.0f} MB; "
            f"{len(errors)} error log lines",
            passed,
        )
    assert page.status_code == 200 and health.status_code == 200
    assert pool_in_use <= 1, f"{pool_in_use} database connections held by half-sent requests"
    assert not errors, errors[:3]
