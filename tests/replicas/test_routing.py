"""Where reads go, without a cluster: the session's choice per statement, the admin's
routes, the read-your-writes cookie, the lag arithmetic and the settings."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.admin.site import build_admin
from admin_app.auth.identity import Identity
from admin_app.auth.permissions import load_grants
from admin_app.auth.sessions import Timeouts, load_session
from admin_app.checks import settings_issues
from admin_app.db import Base, create_engine, create_sessionmaker
from admin_app.models import AdminUser, Category
from admin_app.replicas.health import lag_from
from admin_app.replicas.session import PRIMARY_TABLES, REPLICA, ReplicaRead
from admin_app.replicas.sticky import COOKIE, StickyReads
from admin_app.settings import ConfigError, load_settings
from tests.conftest import make_settings
from tests.helpers import create_admin


def _two_databases(databases: Any, tmp_path: Path) -> tuple[str, str]:
    """Two migrated SQLite files standing in for a primary and a replica that differ."""
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    return databases.new("sqlite", tmp_path / "p"), databases.new("sqlite", tmp_path / "r")


async def _add_category(engine: AsyncEngine, name: str) -> None:
    async with create_sessionmaker(engine)() as session, session.begin():
        session.add(Category(name=name, slug=name.lower()))


def test_a_session_reads_data_from_the_replica_and_sign_in_tables_and_writes_on_the_primary(
    databases, tmp_path
):
    primary_url, replica_url = _two_databases(databases, tmp_path)
    create_admin(make_settings(database_url=primary_url), "root@example.com")
    failed: list[AsyncEngine] = []

    async def go() -> None:
        primary = create_engine(make_settings(database_url=primary_url))
        replica = create_engine(make_settings(database_url=replica_url))
        await _add_category(primary, "On primary")
        await _add_category(replica, "On replica")
        async with create_sessionmaker(primary)() as session:
            session.info[REPLICA] = ReplicaRead(replica, failed.append)
            names = (await session.scalars(select(Category.name))).all()
            assert names == ["On replica"], "a plain read goes to the replica"
            users = (await session.scalars(select(AdminUser.email))).all()
            assert users == ["root@example.com"], "who is signed in is read on the primary"
            await session.execute(update(Category).values(name="Renamed"))
            names = (await session.scalars(select(Category.name))).all()
            assert names == ["Renamed"], "after a write, the session reads the primary"
            await session.rollback()
        await primary.dispose()
        await replica.dispose()

    asyncio.run(go())
    assert failed == []


def test_a_replica_that_cannot_be_reached_is_reported_and_the_read_runs_on_the_primary(
    databases, tmp_path
):
    primary_url, _ = _two_databases(databases, tmp_path)
    missing = tmp_path / "gone" / "nowhere" / "replica.db"
    failed: list[AsyncEngine] = []

    async def go() -> list[str]:
        primary = create_engine(make_settings(database_url=primary_url))
        replica = create_engine(make_settings(database_url=f"sqlite+aiosqlite:///{missing}"))
        missing.parent.rmdir()  # create_engine made the folder; the file cannot be opened now
        await _add_category(primary, "Still here")
        async with create_sessionmaker(primary)() as session:
            session.info[REPLICA] = ReplicaRead(replica, failed.append)
            names = list((await session.scalars(select(Category.name))).all())
        await primary.dispose()
        return names

    assert asyncio.run(go()) == ["Still here"]
    assert len(failed) == 1, "the replica is reported down once"


def test_the_sign_in_and_permission_checks_never_read_a_replica(databases, tmp_path):
    primary_url, _ = _two_databases(databases, tmp_path)
    settings = make_settings(database_url=primary_url)
    user_id = create_admin(settings, "clerk@example.com", superuser=False)
    missing = tmp_path / "gone" / "replica.db"
    failed: list[AsyncEngine] = []

    async def go() -> None:
        primary = create_engine(settings)
        replica = create_engine(make_settings(database_url=f"sqlite+aiosqlite:///{missing}"))
        missing.parent.rmdir()  # any read sent there fails
        async with create_sessionmaker(primary)() as session:
            session.info[REPLICA] = ReplicaRead(replica, failed.append)
            assert (
                await load_session(session, "no-such-token", Timeouts.from_settings(settings))
                is None
            )
            clerk = Identity(user_id, "clerk@example.com", "Clerk", False, False)
            assert not (await load_grants(session, clerk)).codes
        await primary.dispose()

    asyncio.run(go())
    assert failed == [], "a sign-in or permission read was sent to the replica"


def test_the_tables_kept_on_the_primary_exist():
    missing = PRIMARY_TABLES - set(Base.metadata.tables)
    assert not missing, f"PRIMARY_TABLES names tables that do not exist: {missing}"


def test_every_list_picker_and_the_dashboard_may_read_a_replica_and_nothing_else(tmp_path):
    admin = build_admin(make_settings(data_dir=tmp_path))

    def scope(path: str, method: str = "GET") -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path, "root_path": ""}

    assert admin.reads_from_replica(scope("/admin/"))
    for view in admin.model_views:
        key = view.key
        for path in (f"/admin/{key}/list", f"/admin/_api/{key}/relation-lookup"):
            assert admin.reads_from_replica(scope(path)), path
            assert admin.reads_from_replica(scope(path, "HEAD")), path
            assert not admin.reads_from_replica(scope(path, "POST")), path
        for page in ("detail", "edit", "create", "delete", "export"):
            assert not admin.reads_from_replica(scope(f"/admin/{key}/{page}")), page
    assert not admin.reads_from_replica(scope("/admin/login"))
    assert not admin.reads_from_replica(scope("/metrics"))


def _cookie_scope(value: str) -> dict[str, Any]:
    return {"type": "http", "headers": [(b"cookie", f"a=b; {COOKIE}={value}".encode())]}


def test_the_read_your_writes_cookie_holds_for_its_seconds_and_cannot_be_forged():
    sticky = StickyReads(["k" * 50], 5, secure=True)
    header = sticky.set_cookie_header().decode()
    value = header.split(";")[0].split("=", 1)[1]
    assert "Max-Age=5" in header and "HttpOnly" in header and "Secure" in header
    assert sticky.wrote_recently(_cookie_scope(value))
    assert not sticky.wrote_recently({"type": "http", "headers": []})
    odd = {"type": "http", "headers": [(b"cookie", f'x="\\; a b=c; {COOKIE}={value}'.encode())]}
    assert sticky.wrote_recently(odd), "read past a malformed cookie, as Starlette does"
    assert not sticky.wrote_recently(_cookie_scope(value[:-2] + "xx")), "a forged signature"
    other = StickyReads(["o" * 50], 5, secure=False)
    assert not other.wrote_recently(_cookie_scope(value)), "signed with another key"
    old = StickyReads(["k" * 50], 5, secure=True)
    old.signer.get_timestamp = lambda: int(time.time()) - 6  # type: ignore[method-assign]
    stale = old.set_cookie_header().decode().split(";")[0].split("=", 1)[1]
    assert not sticky.wrote_recently(_cookie_scope(stale)), "a write longer ago than 5 s"


@pytest.mark.parametrize(
    ("row", "lag"),
    [
        ((False, False, False, None), 0.0),  # a primary: never behind itself
        ((True, True, True, 3600.0), 0.0),  # a quiet primary: nothing missing
        ((True, True, False, 7.5), 7.5),  # replaying behind
        ((True, False, True, 12.0), 12.0),  # lost its primary: as old as its last commit
        ((True, True, False, None), math.inf),  # never replayed a commit
    ],
)
def test_lag_is_zero_when_all_received_is_replayed_else_the_last_commits_age(row, lag):
    assert lag_from(*row) == lag


def test_replica_settings_are_checked_and_normalised(tmp_path):
    settings = make_settings(
        database_url="postgresql://u@db/x",
        database_replica_urls="postgres://u@replica-1/x, postgresql://u@replica-2:6432/x,",
    )
    assert [u.render_as_string() for u in settings.replica_urls] == [
        "postgresql+asyncpg://u@replica-1/x",
        "postgresql+asyncpg://u@replica-2:6432/x",
    ]
    env = {"DATA_DIR": str(tmp_path), "DATABASE_REPLICA_URLS": "postgresql://u@replica/x"}
    with pytest.raises(ConfigError, match=r"DATABASE_REPLICA_URLS: .*postgresql"):
        load_settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URLS"):
        load_settings(database_url="postgresql://u@db/x", database_replica_urls="mysql://x/y")
    with pytest.raises(ConfigError, match="REPLICA_MAX_LAG"):
        load_settings(database_url="postgresql://u@db/x", replica_max_lag="soon")


def test_deploy_check_wants_the_sticky_time_to_cover_the_allowed_lag():
    def issues(**values: Any) -> list[str]:
        settings = make_settings(database_url="postgresql://u@db/x", **values)
        return [str(issue) for issue in settings_issues(settings) if "REPLICA" in str(issue)]

    assert issues(replica_max_lag=30, replica_sticky_seconds=5) == [], "no replica, no issue"
    replicas = {"database_replica_urls": "postgresql://u@replica/x"}
    assert issues(**replicas, replica_max_lag=5, replica_sticky_seconds=5) == []
    (short,) = issues(**replicas, replica_max_lag=30, replica_sticky_seconds=5)
    assert short.startswith("REPLICA_STICKY_SECONDS: is 5, shorter than REPLICA_MAX_LAG=30")


def test_without_replicas_a_login_leaves_no_read_your_writes_cookie(admin_client):
    assert admin_client.get("/admin/category/list").status_code == 200
    assert COOKIE not in admin_client.cookies, "the login left no read-your-writes cookie"
