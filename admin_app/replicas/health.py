"""The read replicas of one app, and a background task that checks each every second.

A request never waits for a check: `ReplicaSet.pick()` reads what the last check found.
A replica is fit to read from when its last check connected and measured a lag within
`REPLICA_MAX_LAG`. A replica that stops answering is out until a check reaches it
again; a request that finds it down first (`mark_down`) takes it out at once.

Lag is measured on the replica. `now() - pg_last_xact_replay_timestamp()` alone is
wrong on a quiet primary: with nothing to replay the last replayed commit grows old
though nothing is missing. So a replica that streams from the primary and has replayed
all it received (`pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()`) is 0 s
behind; otherwise (replay is behind, paused, or the replica lost its primary) its lag is
the age of the last commit it replayed, an upper bound that errs on the safe side.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.db import create_engine
from admin_app.observability.metrics import Metrics
from admin_app.settings import Settings

log = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0
"""Seconds between two checks of every replica."""

CONNECT_TIMEOUT = 1.0
"""Seconds a replica has to accept a connection or answer a check: a replica that is
down is then found within a second, by a request or by the check."""

LAG_QUERY = text(
    "SELECT pg_is_in_recovery(),"
    " coalesce((SELECT status = 'streaming' FROM pg_stat_wal_receiver), false),"
    " pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),"
    " extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
)


def lag_from(recovering: bool, streaming: bool, caught_up: bool, since_replay: object) -> float:
    """Seconds a replica is behind, from a row of `LAG_QUERY` (see the module docstring).

    Not in recovery means the URL names a primary, never behind itself."""
    if not recovering or (streaming and caught_up):
        return 0.0
    return math.inf if since_replay is None else max(0.0, float(str(since_replay)))


@dataclass
class Replica:
    """One replica: its engine and what the last check found.

    `engine` reads in autocommit (a read needs no BEGIN and COMMIT round trips); `base`
    is the engine it is a view of, which owns the pool."""

    base: AsyncEngine
    up: bool = False
    lag: float = math.inf

    def __post_init__(self) -> None:
        self.engine = self.base.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def name(self) -> str:
        """host:port/database, the label in logs and metrics (no password)."""
        url = self.engine.url
        return f"{url.host}:{url.port or 5432}/{url.database}"


class ReplicaSet:
    """The app's read replicas (none when `DATABASE_REPLICA_URLS` is empty)."""

    def __init__(self, replicas: list[Replica], max_lag: float, metrics: Metrics | None = None):
        self.replicas = replicas
        self.max_lag = max_lag
        self.metrics = metrics
        self._turns = itertools.count()

    @classmethod
    def for_settings(cls, settings: Settings, metrics: Metrics | None = None) -> ReplicaSet:
        """Engines for every `DATABASE_REPLICA_URLS` entry; none connects yet."""
        engines = [replica_engine(settings, url) for url in settings.replica_urls]
        return cls([Replica(engine) for engine in engines], settings.replica_max_lag, metrics)

    def pick(self) -> AsyncEngine | None:
        """A fit replica's engine, taking turns between them; None when none is fit."""
        fit = [r for r in self.replicas if r.up and r.lag <= self.max_lag]
        if not fit:
            return None
        return fit[next(self._turns) % len(fit)].engine

    def mark_down(self, engine: AsyncEngine) -> None:
        """Take the replica of `engine` out until a check reaches it again."""
        for replica in self.replicas:
            if replica.engine is engine and replica.up:
                log.warning("read replica %s is down; reading from the primary", replica.name)
                replica.up = False
                self._report(replica)

    async def check(self) -> None:
        """Check every replica once, at the same time."""
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))

    async def watch(self, interval: float = CHECK_INTERVAL) -> None:
        """Check every `interval` seconds, until cancelled (at once done with no replica)."""
        while self.replicas:
            await asyncio.sleep(interval)
            await self.check()

    async def dispose(self) -> None:
        """Close every replica's connections."""
        for replica in self.replicas:
            await replica.base.dispose()

    async def _check(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                async with replica.engine.connect() as connection:
                    row = (await connection.execute(LAG_QUERY)).one()
        except Exception as error:  # every way of failing is "down"
            if replica.up:
                log.warning("read replica %s is down: %s", replica.name, error)
            replica.up, replica.lag = False, math.inf
        else:
            replica.up, replica.lag = True, lag_from(*row)
        self._report(replica)

    def _report(self, replica: Replica) -> None:
        if self.metrics is not None:
            self.metrics.replica_up.labels(replica.name).set(1 if replica.up else 0)
            lag = replica.lag if replica.up else math.inf
            self.metrics.replica_lag.labels(replica.name).set(lag)


def replica_engine(settings: Settings, url: URL) -> AsyncEngine:
    """An engine for one replica: the app's pool settings, and a connect timeout of at
    most `CONNECT_TIMEOUT`."""
    return create_engine(settings, url=url, connect_timeout=CONNECT_TIMEOUT)
