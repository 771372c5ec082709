"""Rate limits counted in the database: a fixed window per key, one upsert per request."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from admin_app.auth import rate_limit
from admin_app.auth.rate_limit import Count
from admin_app.db import create_engine, utcnow
from admin_app.models import RateLimitCounter
from admin_app.settings import Settings
from tests.helpers import fetch, update_rows

MINUTE = timedelta(minutes=1)


def hits(
    settings: Settings, calls: int, *, limit: int, key: str = "k", bucket: str = "test"
) -> list[Count]:
    """`calls` requests of `key`, all at once, each counted by its own connection."""

    async def go() -> list[Count]:
        engine = create_engine(settings)
        try:
            counted = (
                rate_limit.hit(engine, bucket, key, limit=limit, window=MINUTE)
                for _ in range(calls)
            )
            return list(await asyncio.gather(*counted))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_racing_requests_let_exactly_the_limit_through(settings: Settings) -> None:
    counts = hits(settings, 30, limit=7)
    assert sum(count.allowed for count in counts) == 7, "the k-th racing request sees k"
    assert fetch(settings, "SELECT hits FROM rate_limit_counter") == [(30,)]


def test_a_new_window_counts_from_one_and_retry_after_says_when(settings: Settings) -> None:
    assert [count.allowed for count in hits(settings, 1, limit=2)] == [True]
    update_rows(settings, RateLimitCounter, window_start=utcnow() - timedelta(seconds=45))
    (second,) = hits(settings, 1, limit=2)
    (third,) = hits(settings, 1, limit=2)
    assert second.allowed and not third.allowed, "the limit holds within the window"
    assert 14 <= third.retry_after <= 16, f"15 s of the window are left, not {third.retry_after}"
    update_rows(settings, RateLimitCounter, window_start=utcnow() - timedelta(seconds=61))
    again = hits(settings, 3, limit=2)
    assert sum(count.allowed for count in again) == 2, "a new window counts from one"
    assert all(55 <= count.retry_after <= 60 for count in again), f"it began just now: {again}"


def test_keys_and_buckets_count_apart(settings: Settings) -> None:
    hits(settings, 3, limit=2, key="a")
    assert all(count.allowed for count in hits(settings, 2, limit=2, key="b"))
    assert all(count.allowed for count in hits(settings, 2, limit=2, key="a", bucket="other"))


def test_counters_of_ended_windows_are_pruned(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits(settings, 1, limit=5, key="old")
    update_rows(settings, RateLimitCounter, window_start=utcnow() - 2 * MINUTE)
    hits(settings, 1, limit=5, key="live")
    monkeypatch.setattr(rate_limit, "PRUNE_CHANCE", 1.0)
    hits(settings, 1, limit=5, key="new")
    keys = sorted(key for (key,) in fetch(settings, "SELECT key FROM rate_limit_counter"))
    assert keys == ["live", "new"], "only the counter whose window had ended is gone"
