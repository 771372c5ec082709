"""Rate limits counted in the database, so they hold across processes and restarts.

Each limit is a fixed window per key: the first request of a key starts its window,
and every request in it bumps one counter row, in one upsert that also returns the
count (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`). The database applies racing
upserts of a row one after the other, so however many requests race, the k-th sees
k. Once the window has ended, the next request starts a new one at 1. A key can thus
get up to twice its limit through in a short time across a window's end (the limit at
its close, the limit again at the next one's start); in exchange a request costs one
statement, committed as it runs, and a key one row.

A bucket names what is limited, so one table serves several limits (`api-token`,
`reset-email`, `reset-ip`). The login throttle (`throttle.py`) is separate: it counts
failures, and a successful login clears them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
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
    now = utcnow()
    params = {"bucket": bucket, "key": key[:254], "now": now, "expired": now - window}
    async with autocommit(engine).connect() as db:
        result = await db.execute(_UPSERTS[engine.dialect.name], params)
        hits, started = result.one()
        if random.random() < PRUNE_CHANCE:  # noqa: S311 (housekeeping, not security)
            await db.execute(_PRUNE, {"bucket": bucket, "expired": now - window})
    # A racing request may have started the window a moment after this one's `now`.
    left = min(started + window - now, window).total_seconds()
    return Count(hits <= limit, max(1, math.ceil(left)))
