"""Purging the trash by age: in batches, children first, logged; by the worker's function
and by `admin-app purge-trash`, whose bad ages are one-line errors with status 2."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from admin_app.db import create_engine, create_sessionmaker, utcnow
from admin_app.models import Order, OrderLine
from admin_app.settings import Settings
from admin_app.trash.purge import BadAge, parse_age, purge_older_than
from tests.cli.test_cli import admin_app
from tests.helpers import fetch, post_form, run


@pytest.fixture
def env(database_url: str, tmp_path: Any) -> dict[str, str]:
    """The command's environment: the test database, as the `settings` fixture has it."""
    (tmp_path / "data").mkdir(exist_ok=True)
    return {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "cli-test-" + "k" * 40,
    }


def _trash_orders(settings: Settings, client: TestClient, count: int, days_ago: int) -> list[int]:
    """Trash `count` orders (with their lines) through the admin, as if `days_ago` days ago."""
    taken = fetch(
        settings,
        "SELECT id FROM orders WHERE deleted_at IS NULL ORDER BY id LIMIT :n",
        n=count,
    )
    ids = [r[0] for r in taken]
    for pk in ids:
        assert post_form(client, "/admin/order/delete", {"pks": pk}).status_code == 200
    when = utcnow() - timedelta(days=days_ago)

    async def backdate(db: Any) -> None:
        for model, key in ((Order, Order.id), (OrderLine, OrderLine.order_id)):
            await db.execute(update(model).where(key.in_(ids)).values(deleted_at=when))

    run(settings, backdate)
    return ids


def _purge(settings: Settings, age: timedelta, batch_size: int) -> Any:
    async def go() -> Any:
        engine = create_engine(settings)
        try:
            return await purge_older_than(create_sessionmaker(engine), age, batch_size)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _count(settings: Settings, sql: str, **params: Any) -> int:
    return int(fetch(settings, sql, **params)[0][0])


def test_old_trash_goes_in_batches_and_recent_trash_stays(seeded: Settings, admin_client):
    old = _trash_orders(seeded, admin_client, 5, days_ago=40)
    recent = _trash_orders(seeded, admin_client, 2, days_ago=3)
    old_lines = _count(
        seeded, f"SELECT count(*) FROM order_line WHERE order_id IN ({','.join(map(str, old))})"
    )
    purged = _purge(seeded, timedelta(days=30), batch_size=2)
    assert purged.rows == {"order_line": old_lines, "orders": 5}, purged
    left = {r[0] for r in fetch(seeded, "SELECT id FROM orders WHERE deleted_at IS NOT NULL")}
    assert left == set(recent), "recent trash was purged, or old trash kept"
    batches = _count(
        seeded, "SELECT count(*) FROM audit_entry WHERE action = 'purge' AND model = 'orders'"
    )
    assert batches == 3, f"5 orders in batches of 2 are 3 logged batches, not {batches}"
    assert _purge(seeded, timedelta(days=30), batch_size=2).rows == {}, "a second run finds none"


def test_the_command_purges_and_says_what(seeded: Settings, admin_client, env):
    _trash_orders(seeded, admin_client, 1, days_ago=10)
    kept = admin_app("purge-trash", env=env)  # TRASH_RETENTION_DAYS: 30 by default
    assert kept.returncode == 0, kept.stderr
    assert "deleted nothing" in kept.stdout
    done = admin_app("purge-trash", "--older-than", "7d", "--batch-size", "1", env=env)
    assert done.returncode == 0, done.stderr
    assert "deleted" in done.stdout and "1 orders" in done.stdout, done.stdout
    assert _count(seeded, "SELECT count(*) FROM orders WHERE deleted_at IS NOT NULL") == 0


@pytest.mark.parametrize("age", ["30", "thirty days", "-1d", "5w", "", "1234567d"])
def test_a_bad_age_is_one_line_and_status_2(settings: Settings, env, age):
    result = admin_app("purge-trash", "--older-than", age, env=env)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --older-than"), result.stderr


def test_ages_read_as_a_person_writes_them():
    assert parse_age("30d") == timedelta(days=30)
    assert parse_age(" 12h ") == timedelta(hours=12)
    assert parse_age("90m") == timedelta(minutes=90)
    with pytest.raises(BadAge):
        parse_age("1.5d")
