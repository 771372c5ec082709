"""The import bench (`bench/imports.py`) at a tiny scale: it imports, measures and tidies
up after itself, so `make bench` can rely on it."""

from __future__ import annotations

import asyncio

import asyncpg

from bench import imports


async def customers(url: str) -> int:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM customer"))
    finally:
        await connection.close()


def test_the_import_bench_measures_each_step_and_leaves_the_database_as_it_was(
    pg_settings, tmp_path
):
    url = pg_settings.database_url
    before = asyncio.run(customers(url))
    steps = imports.measure(url, rows=40, upsert=10, sqlite_rows=20)
    assert [s.rows for s in steps] == [40, 10, 20], steps
    assert all(s.seconds > 0 and s.rows_per_s > 0 and s.peak_rss_mb > 20 for s in steps), steps
    assert asyncio.run(customers(url)) == before, "the bench left its customers behind"
