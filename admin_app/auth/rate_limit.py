"""Rate limits counted in the database, so they hold across processes and restarts.

Each limit is a fixed window per key: the first request of a key starts its window,
and every request in it bumps one counter row, in one upsert that also returns the
count (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`). The database applies racing
upserts of a row one after the other, so however many requests race, the k-th sees
k. Once the window has ended, the next request starts a new one at 1. A key can thus
get up to twice its limit through in a short time across a window's end (the limit at
its close, the limit again at the next one's start); in exchange a request costs one
statement, committed as it runs, and a key one row. A caller that must also read
something first thing (the API: the token's access) reads it in the same statement on
PostgreSQL (`counted`, `hit_reading`).

A bucket names what is limited, so one table serves several limits (`api-token`,
`reset-email`, `reset-ip`). The login throttle (`throttle.py`) is separate: it counts
failures, and a successful login clears them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, bindparam, case, delete, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert

from admin_app.db import UTCDateTime, autocommit, utcnow
from admin_app.models import RateLimitCounter

PRUNE_CHANCE = 0.01
"""How often a request also deletes its bucket's counters whose window has ended."""

_COUNTER = RateLimitCounter.__table__


@dataclass(frozen=True)
class Count:
    """One request counted: whether it is within the limit, and when its window ends."""

    allowed: bool
    retry_after: int
    """Whole seconds until the window ends and the count starts again (at least 1)."""


def _upsert(insert: Any) -> Insert:
    """The counting statement, made with a dialect's `insert`: a new key, or a key whose
    window started at or before `:expired`, starts a window at `:now` with 1; any other
    key counts one more. It returns the count and the window's start."""
    new = insert(_COUNTER).values(
        bucket=bindparam("bucket"),
        key=bindparam("key"),
        window_start=bindparam("now", type_=UTCDateTime()),
        hits=1,
    )
    ended = _COUNTER.c.window_start <= bindparam("expired", type_=UTCDateTime())
    stmt: Insert = new.on_conflict_do_update(
        index_elements=[_COUNTER.c.bucket, _COUNTER.c.key],
        set_={
            "hits": case((ended, 1), else_=_COUNTER.c.hits + 1),
            "window_start": case((ended, new.excluded.window_start), else_=_COUNTER.c.window_start),
        },
    )
    return stmt.returning(_COUNTER.c.hits, _COUNTER.c.window_start)


_UPSERTS = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}
_PRUNE = delete(RateLimitCounter).where(
    RateLimitCounter.bucket == bindparam("bucket"),
    RateLimitCounter.window_start <= bindparam("expired", type_=UTCDateTime()),
)


async def hit(
    engine: AsyncEngine, bucket: str, key: str, *, limit: int, window: timedelta
) -> Count:
    """Count one request of `key` in `bucket`: allowed while at most `limit` fall in its
    current `window`."""
    async with autocommit(engine).connect() as db:
        count, _ = await hit_reading(db, Counted(bucket, key, limit, window, utcnow()))
    return count


@dataclass(frozen=True)
class Counted:
    """One request to count: of `key` in `bucket`, at `now`, within `limit` per `window`."""

    bucket: str
    key: str
    limit: int
    window: timedelta
    now: datetime

    def params(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key[:254],
            "now": self.now,
            "expired": self.now - self.window,
        }


def counted(query: Select[Any]) -> Select[Any]:
    """`query` and a count in one PostgreSQL statement (the upsert as a CTE): each row of
    `query`, or one row of NULLs when it has none, after the count's hits and window
    start. Build it once per query; `hit_reading` runs it."""
    count = _UPSERTS["postgresql"].cte("counted_hit")
    rows = query.subquery("counted_rows")
    return select(count.c.hits, count.c.window_start, *rows.c).select_from(
        count.outerjoin(rows, true())
    )


@dataclass(frozen=True)
class Reading:
    """A query to read along with a count: itself, as `counted` wraps it, and its
    parameters (whose names must differ from the count's, but `now`)."""

    query: Select[Any]
    counted: Select[Any]
    params: dict[str, Any]


async def hit_reading(
    db: AsyncConnection, request: Counted, read: Reading | None = None
) -> tuple[Count, list[Row[Any]]]:
    """Count `request` on `db` (a connection in autocommit mode, so the count holds even
    if the caller's own work fails), and read `read`'s query with its parameters: in the
    same round trip on PostgreSQL (`read.counted`, made by `counted`), one statement after
    the other elsewhere. The rows of the query (none when it found none)."""
    params = request.params()
    if read is not None and db.dialect.name == "postgresql":
        found = (await db.execute(read.counted, {**params, **read.params})).all()
        hits, started = found[0][:2]
        rows = [row[2:] for row in found if row[2] is not None]
    else:
        hits, started = (await db.execute(_UPSERTS[db.dialect.name], params)).one()
        rows = [] if read is None else list((await db.execute(read.query, read.params)).all())
    if random.random() < PRUNE_CHANCE:  # noqa: S311 (housekeeping, not security)
        await db.execute(_PRUNE, {"bucket": request.bucket, "expired": params["expired"]})
    # A racing request may have started the window a moment after this one's `now`.
    window = request.window
    left = min(started + window - request.now, window).total_seconds()
    return Count(hits <= request.limit, max(1, math.ceil(left))), rows
