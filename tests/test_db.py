"""The database layer behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from admin_app.db import create_engine, create_sessionmaker
from admin_app.models import Category, Customer, Order, OrderLine, OrderStatus, Product, Tag


def with_session(settings, work) -> Any:
    async def go() -> Any:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def load_first_product(settings) -> Product:
    async def work(session):
        return (await session.scalars(select(Product).order_by(Product.id).limit(1))).one()

    return with_session(settings, work)


def customer(email: str = "Ada@Example.com") -> Customer:
    return Customer(first_name="Ada", last_name="Lovelace", email=email, country="GB")


def test_timestamps_come_back_timezone_aware_in_utc(settings):
    placed = datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))

    async def work(session):
        order = Order(customer=customer(), placed_at=placed, total=Decimal("9.99"))
        session.add(order)
        await session.commit()
        session.expunge_all()
        return await session.get(Order, order.id)

    loaded = with_session(settings, work)
    assert loaded.placed_at.tzinfo is not None
    assert loaded.placed_at == placed
    assert loaded.placed_at.utcoffset() == timedelta(0)
    assert loaded.status is OrderStatus.NEW


def test_work_released_from_a_savepoint_is_undone_by_the_rollback(settings):
    """The admin saves inside a SAVEPOINT; an error after it must undo the save.

    On SQLite the driver used to leave the transaction to SQLite, the SAVEPOINT
    opened it, and RELEASE committed: a 500 after a create left the row behind.
    """

    async def work(session):
        async with session.begin_nested():
            session.add(Category(name="Half-written", slug="half-written"))
        await session.rollback()
        return (
            await session.scalars(select(Category.id).where(Category.slug == "half-written"))
        ).all()

    assert with_session(settings, work) == [], "the rollback left the savepoint's row"


def test_naive_timestamps_are_rejected(settings):
    async def work(session):
        session.add(Order(customer=customer(), placed_at=datetime(2026, 1, 1)))
        await session.commit()

    with pytest.raises(Exception, match="naive datetime"):
        with_session(settings, work)


def test_customer_email_is_unique_whatever_the_case(settings):
    async def work(session):
        session.add(customer("ada@example.com"))
        await session.commit()
        session.add(customer("ADA@EXAMPLE.COM"))
        await session.commit()

    with pytest.raises(IntegrityError):
        with_session(settings, work)


def test_products_have_a_category_tags_json_and_exact_prices(settings):
    async def work(session):
        product = Product(
            name="Mug",
            sku="MUG-1",
            price=Decimal("12.30"),
            attributes={"colour": "blue", "sizes": [1, 2]},
            category=Category(name="Cups", slug="cups"),
            tags=[Tag(name="gift"), Tag(name="new")],
        )
        session.add(product)
        await session.commit()
        session.expunge_all()
        stmt = (
            select(Product)
            .options(selectinload(Product.tags), selectinload(Product.category))
            .where(Product.sku == "MUG-1")
        )
        return (await session.scalars(stmt)).one()

    product = with_session(settings, work)
    assert product.price == Decimal("12.30")
    assert product.attributes == {"colour": "blue", "sizes": [1, 2]}
    assert product.category.slug == "cups"
    assert sorted(tag.name for tag in product.tags) == ["gift", "new"]
    assert product.created_at.tzinfo is UTC or product.created_at.utcoffset() == timedelta(0)


def test_a_customer_with_orders_cannot_be_deleted(settings):
    async def work(session):
        buyer = customer()
        session.add(Order(customer=buyer, total=Decimal(1)))
        await session.commit()
        await session.delete(buyer)
        await session.commit()

    with pytest.raises(IntegrityError):
        with_session(settings, work)


def test_deleting_an_order_deletes_its_lines(settings, sql):
    async def work(session):
        product = Product(name="Tea", sku="TEA-1", price=Decimal("3.50"))
        order = Order(customer=customer(), total=Decimal("7.00"))
        order.lines.append(OrderLine(product=product, quantity=2, unit_price=Decimal("3.50")))
        session.add(order)
        await session.commit()
        await session.delete(order)
        await session.commit()

    with_session(settings, work)
    assert sql("SELECT count(*) FROM order_line")[0][0] == 0
    assert sql("SELECT count(*) FROM product")[0][0] == 1, "the product must stay"


@pytest.mark.parametrize(("column", "value"), [("price", "-1"), ("stock", "-3")])
def test_check_constraints_refuse_negative_values(settings, column, value):
    async def work(session):
        product = Product(name="X", sku="X-1", price=Decimal("1"))
        setattr(product, column, Decimal(value) if column == "price" else int(value))
        session.add(product)
        await session.commit()

    with pytest.raises(IntegrityError):
        with_session(settings, work)


def test_a_pooled_connection_killed_while_idle_is_replaced_before_use(pg_settings, monkeypatch):
    """After a server restart or an idle timeout, the next request still succeeds: a
    connection that sat unused for over `PING_AFTER_IDLE` is checked before use."""
    from sqlalchemy import text

    import admin_app.db as db

    async def go() -> None:
        engine = create_engine(pg_settings, pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as conn:
                first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with engine.connect() as conn:  # used a moment ago: handed out as is
                assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() == first
            monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # every pooled one counts as idle
            killer = create_engine(pg_settings)
            async with killer.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            await killer.dispose()
            async with engine.connect() as conn:
                second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert second != first
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_a_connection_used_a_moment_ago_is_not_pinged(pg_settings, monkeypatch):
    """Under load each request would otherwise pay three extra round trips (BEGIN, an
    empty query, ROLLBACK) before its own queries."""
    from sqlalchemy import text
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    import admin_app.db as db

    pings: list[int] = []
    original = AsyncAdapt_asyncpg_connection.ping

    def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        pings.append(1)
        original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)

    async def checkouts(times: int) -> None:
        engine = create_engine(pg_settings, pool_size=1, max_overflow=0)
        try:
            for _ in range(times):
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    asyncio.run(checkouts(4))
    assert pings == []
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)
    asyncio.run(checkouts(4))
    assert len(pings) == 3, "each checkout after the first (a new connection) pings"


def test_a_driver_query_on_a_lost_server_fails_as_sqlalchemy_would_and_the_pool_recovers(
    pg_settings,
):
    """`DriverQuery` runs on asyncpg directly; when the server has gone, the error is
    SQLAlchemy's (what the error pages read as "database unavailable") and the pool
    replaces every connection, not only the one that failed."""
    from sqlalchemy import func, text
    from sqlalchemy.exc import DBAPIError

    from admin_app.db import DriverQuery

    backend_pid = DriverQuery(select(func.pg_backend_pid()))

    async def go() -> None:
        engine = create_engine(pg_settings, pool_size=2, max_overflow=0)
        sessions = create_sessionmaker(engine)
        try:
            async with sessions() as one, sessions() as two:  # two connections in the pool
                pids = {(await backend_pid.first(s))[0] for s in (one, two)}  # type: ignore[index]
            assert len(pids) == 2
            killer = create_engine(pg_settings)
            async with killer.connect() as other:
                for pid in pids:
                    await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await killer.dispose()
            async with sessions() as session:
                with pytest.raises(DBAPIError) as failed:
                    await backend_pid.first(session)
            assert failed.value.connection_invalidated
            async with sessions() as session:
                row = await backend_pid.first(session)
            assert row is not None and row[0] not in pids, (
                "a new connection, not the other dead one"
            )
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_driver_queries_run_on_the_sessions_own_connection_read_without_a_lookup(
    pg_settings, monkeypatch
):
    """The session's connection, and the asyncpg connection under it, are asked of
    SQLAlchemy once while the session holds them (each lookup switches greenlets), and
    they are the session's: a commit gives the connection back, and the next driver
    query runs on the session's new one."""
    from sqlalchemy import func
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    from admin_app.db import DriverQuery

    backend_pid = DriverQuery(select(func.pg_backend_pid()))
    lookups: list[str] = []
    raw_lookup, session_lookup = AsyncConnection.get_raw_connection, AsyncSession.connection

    async def raw_counted(self: AsyncConnection) -> object:
        lookups.append("driver")
        return await raw_lookup(self)

    async def session_counted(self: AsyncSession, *args: object, **kwargs: object) -> object:
        lookups.append("session")
        return await session_lookup(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(AsyncConnection, "get_raw_connection", raw_counted)
    monkeypatch.setattr(AsyncSession, "connection", session_counted)

    async def go() -> None:
        engine = create_engine(pg_settings, pool_size=2, max_overflow=0)
        try:
            async with create_sessionmaker(engine)() as session:
                for _ in range(2):
                    first = (await backend_pid.first(session))[0]  # type: ignore[index]
                    again = (await backend_pid.first(session))[0]  # type: ignore[index]
                    orm = await session.scalar(select(func.pg_backend_pid()))
                    assert first == again == orm, "a driver query ran on another connection"
                    await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(go())
    assert lookups == ["session", "session"], "one lookup per transaction, none of the driver"
