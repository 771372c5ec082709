"""The Prometheus metrics of one app, built on prometheus-client.

Each app gets its own `CollectorRegistry`, so two apps in one process (tests) never
share counts. With several worker processes, prometheus-client's multiprocess mode
is used: it is on when `PROMETHEUS_MULTIPROC_DIR` is in the environment before
prometheus-client is first imported (`admin-app serve --workers N` sees to that);
each process then writes its values to files there and `/metrics`, whichever worker
answers, adds them up.

Three kinds of value:

- counted as things happen: requests, their latency, login failures and lockouts,
  password hash verifications;
- measured in the background: event-loop lag (`watch_event_loop`), how late a timer
  that should fire every 50 ms really fires: a blocking call shows up here;
- sampled as things happen: requests in flight, database pool usage (pool events);
- read when scraped: `GaugeSource`s, typically a `SELECT count(*)` (sessions, outbox).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import Pool
from starlette.requests import HTTPConnection

from admin_app.settings import ConfigError, Settings

log = logging.getLogger(__name__)

SOURCE_TIMEOUT = 3.0
"""Seconds a scrape waits for one `GaugeSource` (the database may be down)."""

LAG_INTERVAL = 0.05
"""Seconds between the event-loop lag monitor's timer ticks."""

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Label values for `method`; anything else is `other`, so clients cannot add series."""

SourceReader = Callable[[AsyncConnection], Awaitable[Mapping[tuple[str, ...], float]]]


@dataclass(frozen=True)
class GaugeSource:
    """A gauge read when `/metrics` is scraped, from one database connection.

    `read` returns the value for each combination of `labelnames`, e.g.
    `{("pending",): 3.0, ("failed",): 1.0}`; with no labels, `{(): 42.0}`.
    A combination seen before and missing now is set to 0.
    """

    name: str
    documentation: str
    read: SourceReader
    labelnames: tuple[str, ...] = ()


@dataclass
class _LiveSource:
    source: GaugeSource
    gauge: Gauge
    seen: set[tuple[str, ...]] = field(default_factory=set)


def multiprocess_mode() -> bool:
    """Whether prometheus-client writes values to `PROMETHEUS_MULTIPROC_DIR` in this process."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class Metrics:
    """Every metric of one app. Build with `Metrics.for_settings(settings)`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = multiprocess_mode()
        labels = ("method", "route", "status")
        self.requests = self._counter(
            "admin_app_http_requests", "HTTP requests answered, by route template.", labels
        )
        self.latency = Histogram(
            "admin_app_http_request_duration_seconds",
            "Seconds from receiving a request to the end of its response.",
            labels,
            registry=self.registry,
        )
        self.in_flight = self._gauge(
            "admin_app_http_requests_in_progress", "HTTP requests being handled now."
        )
        self.pool_checked_out = self._gauge(
            "admin_app_db_pool_checked_out", "Database connections in use by requests."
        )
        self.pool_size = self._gauge(
            "admin_app_db_pool_size", "Database connections each pool keeps (DB_POOL_SIZE)."
        )
        self.pool_overflow = self._gauge(
            "admin_app_db_pool_overflow", "Connections in use beyond DB_POOL_SIZE (overflow)."
        )
        self.login_failures = self._counter(
            "admin_app_login_failures", "Logins refused for a wrong email or password."
        )
        self.login_lockouts = self._counter(
            "admin_app_login_lockouts",
            "Logins refused without checking because the account or client IP is locked out.",
        )
        self.password_verifications = self._counter(
            "admin_app_password_verifications",
            "argon2 password verifications run (each costs ~20 MiB and tens of ms of CPU).",
            ("where",),
        )
        self.loop_lag = Histogram(
            "admin_app_event_loop_lag_seconds",
            f"How late a {LAG_INTERVAL * 1000:.0f} ms timer fires on the event loop.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.loop_lag_max = self._gauge(
            "admin_app_event_loop_lag_max_seconds",
            "The largest event-loop lag seen since the process started.",
            mode="max",
        )
        self.live_connections = self._gauge(
            "admin_app_live_connections",
            "Open live-update connections (WebSocket and event stream).",
        )
        self.live_changes = self._counter(
            "admin_app_live_changes_published",
            "Record changes this process sent out for live updates (after coalescing).",
        )
        self.source_errors = self._counter(
            "admin_app_metrics_source_errors",
            "Scrape-time sources that failed (database down or slow).",
            ("source",),
        )
        self.db_reads = self._counter(
            "admin_app_db_reads",
            "Read-only requests, by where they read: a replica, or the primary (none fit, "
            "or the browser has just written).",
            ("target",),
        )
        self.replica_lag = self._gauge(
            "admin_app_db_replica_lag_seconds",
            "How far each read replica is behind, as last checked (+Inf when down).",
            mode="livemax",
            labelnames=("replica",),
        )
        self.replica_up = self._gauge(
            "admin_app_db_replica_up",
            "1 when the last check reached the read replica, else 0.",
            mode="livemin",
            labelnames=("replica",),
        )
        self._sources: list[_LiveSource] = []
        if not self.multiprocess:
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                self.registry.register(collector)

    @classmethod
    def for_settings(cls, settings: Settings) -> Metrics:
        """The metrics for an app, refusing a multiprocess setting prometheus-client missed."""
        metrics = cls()
        if settings.prometheus_multiproc_dir and not metrics.multiprocess:
            raise ConfigError(
                "invalid setting PROMETHEUS_MULTIPROC_DIR: prometheus-client reads it from the "
                "process environment at import; export it (a .env file is read too late)"
            )
        return metrics

    def _counter(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(name, doc, labels, registry=self.registry)

    def _gauge(self, name: str, doc: str, mode: str = "livesum", **kwargs: Any) -> Gauge:
        return Gauge(name, doc, registry=self.registry, multiprocess_mode=mode, **kwargs)  # type: ignore[arg-type]

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        method = method if method in METHODS else "other"
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    async def watch_event_loop(self, interval: float = LAG_INTERVAL) -> None:
        """Measure event-loop lag until cancelled; run it as a task for the app's lifetime."""
        loop = asyncio.get_running_loop()
        worst = 0.0
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            lag = max(0.0, loop.time() - start - interval)
            self.loop_lag.observe(lag)
            if lag > worst:
                worst = lag
                self.loop_lag_max.set(worst)

    def watch_pool(self, engine: AsyncEngine) -> None:
        """Keep the pool gauges current from the engine's pool events."""
        pool = engine.sync_engine.pool
        size = getattr(pool, "size", None)
        if size is None or not hasattr(pool, "checkedout"):
            return  # NullPool and StaticPool hold nothing to report
        self.pool_size.set(size())

        def checked_out(in_use: int) -> None:
            self.pool_checked_out.set(in_use)
            self.pool_overflow.set(max(0, in_use - size()))

        # At `checkin` the connection is not yet back in the pool: it still counts.
        event.listen(pool, "checkout", lambda *_: checked_out(_in_use(pool)))
        event.listen(pool, "checkin", lambda *_: checked_out(_in_use(pool) - 1))

    def add_source(self, source: GaugeSource) -> None:
        """Read `source` at every scrape. Call while building the app."""
        gauge = self._gauge(
            source.name, source.documentation, mode="mostrecent", labelnames=source.labelnames
        )
        self._sources.append(_LiveSource(source, gauge))

    async def refresh(self, engine: AsyncEngine) -> None:
        """Read every source now; one that fails keeps its last values and counts an error."""
        for live in self._sources:
            try:
                found = await asyncio.wait_for(_read(engine, live.source), SOURCE_TIMEOUT)
            except Exception as error:  # a scrape must answer even when the database cannot
                log.warning("metrics source %s failed: %s", live.source.name, error)
                self.source_errors.labels(live.source.name).inc()
                continue
            for labels in live.seen - found.keys():
                _set(live.gauge, labels, 0.0)
            for labels, value in found.items():
                _set(live.gauge, labels, value)
            live.seen |= found.keys()

    def render(self) -> tuple[bytes, str]:
        """The exposition text of this process, or of all worker processes."""
        if not self.multiprocess:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return generate_latest(combined), CONTENT_TYPE_LATEST

    def close(self, pid: int) -> None:
        """At process exit: drop this process's live gauges from the shared directory."""
        if self.multiprocess:
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def get_metrics(conn: HTTPConnection) -> Metrics:
    """The app's metrics (made by `create_app`, shared through the lifespan)."""
    metrics: Metrics = conn.state.metrics
    return metrics


def _in_use(pool: Pool) -> int:
    return int(pool.checkedout())  # type: ignore[attr-defined]


async def _read(engine: AsyncEngine, source: GaugeSource) -> Mapping[tuple[str, ...], float]:
    async with engine.connect() as connection:
        return await source.read(connection)


def _set(gauge: Gauge, labels: tuple[str, ...], value: float) -> None:
    (gauge.labels(*labels) if labels else gauge).set(value)
