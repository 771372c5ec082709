"""Demo data: consistent, and loadable fast (the bulk path is exercised at small scale)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from admin_app.db import create_engine, create_sessionmaker
from admin_app.demo.seed import SeedPlan, seed
from admin_app.models import Customer


def run_seed(settings, plan: SeedPlan) -> dict[str, int]:
    async def go() -> dict[str, int]:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                return await seed(connection, plan, progress=lambda _t, _n: None)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_seeded_orders_add_up_and_point_at_real_rows(settings, sql):
    counts = run_seed(settings, SeedPlan(customers=120, orders=400))
    assert counts["customer"] == 120
    assert counts["orders"] == 400
    mismatched = sql(
        "SELECT o.id FROM orders o JOIN order_line l ON l.order_id = o.id "
        # SQLite keeps NUMERIC as a float, so compare to the cent.
        "GROUP BY o.id, o.total HAVING abs(o.total - sum(l.quantity * l.unit_price)) > 0.005"
    )
    assert mismatched == [], "every order total must equal the sum of its lines"
    orphans = sql(
        "SELECT count(*) FROM orders o LEFT JOIN customer c ON c.id = o.customer_id "
        "WHERE c.id IS NULL"
    )
    assert orphans[0][0] == 0
    assert sql("SELECT count(DISTINCT lower(email)) FROM customer")[0][0] == 120


def test_new_rows_get_fresh_ids_after_seeding(settings):
    run_seed(settings, SeedPlan(customers=5, orders=5))

    async def add() -> int:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                customer = Customer(first_name="New", last_name="Person", email="new@example.com")
                session.add(customer)
                await session.commit()
                return customer.id
        finally:
            await engine.dispose()

    assert asyncio.run(add()) == 6, "the id sequence must continue after the seeded ids"


def test_prices_come_back_as_exact_decimals(settings, sql):
    run_seed(settings, SeedPlan(customers=1, orders=1))
    from tests.test_db import load_first_product

    product = load_first_product(settings)
    assert isinstance(product.price, Decimal)
    assert product.price == product.price.quantize(Decimal("0.01"))
