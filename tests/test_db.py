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


def test_a_save_is_not_refused_when_another_connection_wrote_during_its_reads(settings):
    """An edit reads (the record, uniqueness checks) inside its SAVEPOINT, then writes.

    On SQLite a deferred BEGIN let another connection commit between those reads and
    the first UPDATE; SQLite then refused the UPDATE at once ("database is locked")
    and the admin answered 503. The transaction now takes the write lock up front,
    so the other writer waits its turn and both saves land.
    """

    async def go() -> list[str]:
        engine = create_engine(settings)
        sessions = create_sessionmaker(engine)
        try:
            async with sessions() as editor, sessions() as other:
                async with editor.begin_nested():
                    await editor.scalars(select(Category.id))

                    async def write_elsewhere() -> None:
                        other.add(Category(name="Elsewhere", slug="elsewhere"))
                        await other.commit()

                    elsewhere = asyncio.create_task(write_elsewhere())
                    await asyncio.wait([elsewhere], timeout=1.0)
                    editor.add(Category(name="Edited", slug="edited"))
                await editor.commit()
                await elsewhere
                return sorted((await editor.scalars(select(Category.slug))).all())
        finally:
            await engine.dispose()

    slugs = asyncio.run(go())
    assert "edited" in slugs and "elsewhere" in slugs, slugs


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
