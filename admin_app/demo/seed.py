"""Fill the store with demo data, fast enough for millions of rows.

PostgreSQL is loaded with COPY (asyncpg's `copy_records_to_table`), the fastest path
the driver offers; SQLite, the embedded single-user default, with batched inserts.
Rows carry explicit ids, so orders can point at customers without reading them
back, and the id sequences are moved past them at the end.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, exists, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from admin_app.db import table_of
from admin_app.demo.data import CATALOGUE, CITIES, FIRST_NAMES, LAST_NAMES, SIZES, TAGS
from admin_app.models import (
    Category,
    Customer,
    Order,
    OrderLine,
    Product,
    Role,
    RolePermission,
    Tag,
    product_tag,
)

CHUNK = 50_000
"""Rows generated and written per batch: bounds memory whatever the total."""

Progress = Callable[[str, int], None]
"""Called with a table name and the number of rows just written."""

CATEGORY, TAG, PRODUCT = table_of(Category), table_of(Tag), table_of(Product)
CUSTOMER, ORDER, ORDER_LINE = table_of(Customer), table_of(Order), table_of(OrderLine)
ROLE, ROLE_PERMISSION = table_of(Role), table_of(RolePermission)

TABLES_IN_DELETE_ORDER = (ORDER_LINE, ORDER, product_tag, PRODUCT, TAG, CATEGORY, CUSTOMER)


class NotEmptyError(Exception):
    """The database already holds store data, and `force` was not given."""


@dataclass(frozen=True)
class SeedPlan:
    """How much to create; `seed` draws everything else from `random_seed`."""

    customers: int = 200
    orders: int = 1_000
    random_seed: int = 42


async def has_store_data(connection: AsyncConnection) -> bool:
    """True when any table of the store already has a row."""
    for table in (CUSTOMER, PRODUCT, ORDER, CATEGORY):
        if await connection.scalar(select(exists().select_from(table))):
            return True
    return False


async def clear_store(connection: AsyncConnection) -> None:
    """Delete every row of the store tables (admin accounts are kept)."""
    if connection.dialect.name == "postgresql":
        names = ", ".join(t.name for t in TABLES_IN_DELETE_ORDER)
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return
    for table in TABLES_IN_DELETE_ORDER:
        await connection.execute(table.delete())


async def seed(
    connection: AsyncConnection, plan: SeedPlan, *, force: bool = False, progress: Progress
) -> dict[str, int]:
    """Create the catalogue, customers and orders of `plan`; return rows written per table."""
    if await has_store_data(connection):
        if not force:
            raise NotEmptyError("the database already has store data")
        await clear_store(connection)
    rng = random.Random(plan.random_seed)  # noqa: S311 (demo data, not secrets)
    writer = _Writer(connection, progress)
    product_prices = await _seed_catalogue(writer, rng)
    async with _bulk_load(connection):
        await writer.write(CUSTOMER, _customers(rng, plan.customers))
        if plan.customers:
            chunks = _order_chunks(rng, plan.orders, plan.customers, product_prices)
            await writer.write_orders(chunks)
    await _seed_roles(connection)
    await _advance_sequences(connection)
    return writer.counts


DEMO_ROLES = {
    "Support": (
        "Answers customers: sees orders, customers and products; changes nothing but orders.",
        {},
        ["order:view", "order:edit", "customer:view", "product:view", "order-line:view"],
    ),
    "Sales France": (
        "Sees only the orders of customers in France (an object-level scope).",
        {"countries": ["FR"]},
        ["order:view", "order:export", "customer:view", "order-line:view"],
    ),
    "Catalogue editor": (
        "Maintains products, categories and tags, but cannot change prices.",
        {},
        [
            f"{key}:{action}"
            for key in ("product", "category", "tag")
            for action in ("view", "create", "edit", "delete", "export", "import")
        ],
    ),
    "Pricing clerk": (
        "Proposes product prices: a change to a price waits for a pricing lead's approval.",
        {},
        [
            "product:view",
            "product:propose_price",
            "change-request:view",
            "category:view",
            "tag:view",
        ],
    ),
    "Pricing lead": (
        "Approves or rejects the prices pricing clerks propose (never their own).",
        {},
        [
            "product:view",
            "product:approve",
            "change-request:view",
            "change-request:export",
            "category:view",
            "tag:view",
        ],
    ),
}
"""Example roles for the demo, created once if the database has none."""


async def _seed_roles(connection: AsyncConnection) -> None:
    if await connection.scalar(select(exists().select_from(ROLE))):
        return
    for role_id, (name, (description, scope, codes)) in enumerate(DEMO_ROLES.items(), start=1):
        await connection.execute(
            insert(ROLE),
            [
                {
                    "id": role_id,
                    "name": name,
                    "description": description,
                    "scope": scope,
                    "created_at": datetime.now(UTC),
                }
            ],
        )
        await connection.execute(
            insert(ROLE_PERMISSION), [{"role_id": role_id, "code": code} for code in codes]
        )


@asynccontextmanager
async def _bulk_load(connection: AsyncConnection) -> AsyncIterator[None]:
    """On PostgreSQL, load the big tables without their indexes and foreign keys.

    Building an index once, and checking a foreign key with one join, is many times
    faster than maintaining them row by row; pg_restore loads data the same way.
    Everything is recreated from the models, which the drift test keeps identical
    to the migrations, inside the caller's transaction.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    tables = (CUSTOMER, ORDER, ORDER_LINE)
    foreign_keys = [fk for table in tables for fk in table.foreign_key_constraints]
    indexes = [index for table in tables for index in table.indexes]
    for fk in foreign_keys:
        await connection.execute(DropConstraint(fk))
    for index in indexes:
        await connection.execute(DropIndex(index))
    yield
    await connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for index in indexes:
        await connection.execute(CreateIndex(index))
    for fk in foreign_keys:
        await connection.execute(AddConstraint(fk))
    for table in tables:
        await connection.execute(text(f"ANALYZE {table.name}"))


async def _seed_catalogue(writer: _Writer, rng: random.Random) -> list[Decimal]:
    categories: list[dict[str, Any]] = []
    products: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for tag_id, name in enumerate(TAGS, start=1):
        tags.append({"id": tag_id, "name": name})
    for category_id, ((name, slug), items) in enumerate(CATALOGUE.items(), start=1):
        categories.append({"id": category_id, "name": name, "slug": slug})
        for item in items:
            for size in rng.sample(SIZES, 3):
                product = _product(rng, len(products) + 1, category_id, f"{item} {size}", slug)
                products.append(product)
                for tag_id in rng.sample(range(1, len(TAGS) + 1), rng.randint(0, 3)):
                    links.append({"product_id": product["id"], "tag_id": tag_id})
    await writer.write(CATEGORY, [categories])
    await writer.write(TAG, [tags])
    await writer.write(PRODUCT, [products])
    await writer.write(product_tag, [links])
    return [product["price"] for product in products]


def _product(
    rng: random.Random, product_id: int, category_id: int, name: str, slug: str
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": product_id,
        "name": name,
        "sku": f"{slug[:3].upper()}-{product_id:05d}",
        "price": Decimal(rng.randint(150, 9_900)) / 100,
        "stock": rng.randint(0, 500),
        "is_active": rng.random() > 0.1,
        "attributes": {
            "origin": rng.choice(list(CITIES)),
            "weight_g": rng.choice([250, 500, 1000]),
        },
        "description": f"{name}, from our {slug.replace('-', ' ')} range.",
        "image": None,
        "category_id": category_id,
        "created_at": now,
        "updated_at": now,
    }


def _customers(rng: random.Random, count: int) -> Iterator[list[dict[str, Any]]]:
    now = datetime.now(UTC)
    countries = list(CITIES)
    for start in range(1, count + 1, CHUNK):
        chunk = []
        for customer_id in range(start, min(start + CHUNK, count + 1)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            country = rng.choice(countries)
            chunk.append(
                {
                    "id": customer_id,
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first}.{last}.{customer_id}@example.com".lower(),
                    "phone": f"+{rng.randint(10, 99)} {rng.randint(100, 999)} {customer_id:07d}",
                    "city": rng.choice(CITIES[country]),
                    "country": country,
                    "is_active": rng.random() > 0.05,
                    "created_at": now - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60)),
                }
            )
        yield chunk


_STATUSES = ("new", "paid", "shipped", "cancelled")
_STATUS_WEIGHTS = (1, 3, 8, 1)


def _order_chunks(
    rng: random.Random, count: int, customers: int, prices: Sequence[Decimal]
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Chunks of orders, each with the lines of those orders."""
    now = datetime.now(UTC)
    line_id = 1
    for start in range(1, count + 1, CHUNK):
        orders: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        for order_id in range(start, min(start + CHUNK, count + 1)):
            total = Decimal(0)
            for position in range(1, rng.randint(1, 3) + 1):
                product = rng.randrange(len(prices))
                quantity = rng.randint(1, 4)
                lines.append(
                    {
                        "id": line_id,
                        "order_id": order_id,
                        "product_id": product + 1,
                        "quantity": quantity,
                        "unit_price": prices[product],
                        "position": position,
                    }
                )
                total += prices[product] * quantity
                line_id += 1
            # Recent days are busier, so the dashboard's 30-day chart has something to show.
            age = timedelta(minutes=int(rng.expovariate(1 / (60 * 24 * 90))))
            orders.append(
                {
                    "id": order_id,
                    "customer_id": rng.randint(1, customers),
                    "status": rng.choices(_STATUSES, _STATUS_WEIGHTS)[0],
                    "total": total,
                    "placed_at": now - age,
                    "notes": "",
                }
            )
        yield orders, lines


class _Writer:
    """Writes chunks of row dicts with the fastest path the backend offers."""

    def __init__(self, connection: AsyncConnection, progress: Progress) -> None:
        self.connection = connection
        self.progress = progress
        self.counts: dict[str, int] = {}
        self.postgres = connection.dialect.name == "postgresql"

    async def write(self, table: Table, chunks: Iterable[list[dict[str, Any]]]) -> None:
        for chunk in chunks:
            await self._write_chunk(table, chunk)

    async def write_orders(
        self, chunks: Iterable[tuple[list[dict[str, Any]], list[dict[str, Any]]]]
    ) -> None:
        for orders, lines in chunks:
            await self._write_chunk(ORDER, orders)
            await self._write_chunk(ORDER_LINE, lines)

    async def _write_chunk(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.postgres:
            await self._copy(table, rows)
        else:
            await self.connection.execute(insert(table), rows)
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)
        self.progress(table.name, len(rows))

    async def _copy(self, table: Table, rows: list[dict[str, Any]]) -> None:
        columns = list(rows[0])
        records = [tuple(_copy_value(row[c]) for c in columns) for row in rows]
        raw = await self.connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(table.name, records=records, columns=columns)


def _copy_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict) else value


async def _advance_sequences(connection: AsyncConnection) -> None:
    """Move PostgreSQL's id sequences past the explicit ids written above."""
    if connection.dialect.name != "postgresql":
        return
    for table in (*TABLES_IN_DELETE_ORDER, ROLE):
        if "id" not in table.c:
            continue
        # Table names come from our own metadata, never from input.
        statement = (
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
            f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
        )
        await connection.execute(text(statement))
