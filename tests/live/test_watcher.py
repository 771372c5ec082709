"""The session re-check of live connections: one query, the same rule as every request."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from admin_app.auth.permissions import grants_of
from admin_app.auth.sessions import Device, Timeouts, is_valid, session_id, start_session
from admin_app.db import create_engine, create_sessionmaker, utcnow
from admin_app.live.watcher import live_sessions
from admin_app.models import AdminSession, AdminUser
from tests.helpers import create_admin

TIMEOUTS = Timeouts(idle=timedelta(hours=2), absolute=timedelta(hours=12))


def test_the_bulk_check_agrees_with_the_per_request_rule(settings):
    create_admin(settings, "on@example.com")
    create_admin(settings, "off@example.com", is_active=False)
    now = utcnow()
    cases = {
        "fresh": {},
        "revoked": {"revoked_at": now},
        "expired": {"expires_at": now - timedelta(seconds=1)},
        "idle": {"last_seen_at": now - TIMEOUTS.idle - timedelta(seconds=1)},
        "nearly idle": {"last_seen_at": now - TIMEOUTS.idle + timedelta(minutes=1)},
    }

    async def go() -> tuple[set[str], set[str]]:
        engine = create_engine(settings)
        try:
            maker = create_sessionmaker(engine)
            async with maker.begin() as db:
                for email in ("on@example.com", "off@example.com"):
                    user = await db.scalar(select(AdminUser).where(AdminUser.email == email))
                    for changes in cases.values():
                        token = await start_session(db, user, Device("1.2.3.4", "t"), TIMEOUTS)
                        record = await db.get(AdminSession, session_id(token))
                        for name, value in changes.items():
                            setattr(record, name, value)
            async with maker() as db:
                rows = (await db.execute(select(AdminSession, AdminUser).join(AdminUser))).all()
            now = utcnow()
            expected = {
                r.id
                for r, u in rows
                if is_valid(r.revoked_at, r.expires_at, r.last_seen_at, u.is_active, TIMEOUTS, now)
            }
            found = set(await live_sessions(maker, [r.id for r, _ in rows], TIMEOUTS))
            return expected, found
        finally:
            await engine.dispose()

    expected, found = asyncio.run(go())
    assert len(expected) == 2, "fresh and nearly idle, of the active user only"
    assert found == expected, "the bulk check must close exactly what a request would refuse"


def test_grants_compare_equal_whatever_order_the_roles_come_in():
    # The watcher closes a socket whose grants differ from those it opened with: the same
    # roles read in another order must not count as a change (the socket would reconnect
    # on every check).
    rows = [
        ("order:view", '{"country": ["FR"]}'),
        ("order:view", '{"country": ["DE"]}'),
        ("order:edit", '{"country": ["DE"], "status": ["new"]}'),
        ("order:edit", "{}"),
        ("product:view", None),
    ]
    first = grants_of(False, rows)
    for shift in range(1, len(rows)):
        again = grants_of(False, rows[shift:] + rows[:shift][::-1])
        assert again == first
    assert grants_of(False, rows[1:]) != first, "a scope taken away is a change"
