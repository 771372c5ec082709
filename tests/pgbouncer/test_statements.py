"""What `DATABASE_POOLER=pgbouncer` relies on in asyncpg: with its statement cache off,
a statement SQLAlchemy keeps is unnamed and parsed again at every execution, so it runs
the right query whichever server connection, and whatever unnamed statement of another
client, it finds there."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from admin_app.db import create_engine
from tests.conftest import TEST_DATABASE_URL, make_settings
from tests.pgbouncer.bouncer import PgBouncer


async def _interleaved(url: str) -> list[tuple[str, int]]:
    settings = make_settings(database_url=url, database_pooler="pgbouncer")
    engine = create_engine(settings).execution_options(isolation_level="AUTOCOMMIT")
    first_query = text("SELECT 'first', CAST(:n AS integer)")
    other_query = text("SELECT 'other', CAST(:n AS integer) * 100")
    try:
        async with engine.connect() as first, engine.connect() as other:
            seen = [(await first.execute(first_query, {"n": 1})).one()]
            # Another client's unnamed statement, with as many parameters, on the one
            # server connection: what a kept statement bound without parsing would run.
            seen.append((await other.execute(other_query, {"n": 2})).one())
            seen.append((await first.execute(first_query, {"n": 3})).one())
            return [tuple(row) for row in seen]  # type: ignore[misc]
    finally:
        await engine.dispose()


def test_a_kept_statement_runs_its_own_query_after_another_clients(
    postgres_backend, databases, tmp_path: Path
):
    direct = databases.new(postgres_backend, tmp_path)
    with PgBouncer(TEST_DATABASE_URL, tmp_path / "pgbouncer", pool_size=1) as bouncer:
        seen = asyncio.run(_interleaved(bouncer.url(str(make_url(direct).database))))
    assert seen == [("first", 1), ("other", 200), ("first", 3)]
