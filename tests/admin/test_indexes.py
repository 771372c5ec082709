"""The indexes lists rely on: one for every offered sort, trigram indexes for search."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from admin_app.admin.lists import keyset
from admin_app.admin.registry import REGISTRY
from admin_app.db import Base, create_engine, postgresql_only, table_of
from admin_app.migrations import include_object
from tests.helpers import fetch

BIG = ("customer", "order", "order-line", "product")
"""Views over tables that grow without bound; small lookup tables are left out."""


@pytest.mark.parametrize("view_class", [v for v in REGISTRY if v.key in BIG])
def test_every_offered_sort_of_a_big_table_has_an_index(view_class):
    table = table_of(view_class.model)
    led_by = {tuple(c.name for c in index.columns)[:2] for index in table.indexes}
    for name in view_class.sortable_fields:
        column = getattr(view_class.model, name)
        if name == "id" or keyset.is_unique_not_null(column):
            continue
        assert (name, "id") in led_by, f"{table.name}: sorting by {name} needs ({name}, id)"


def index_rows(settings):
    return fetch(
        settings,
        "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%trgm'",
    )


def test_trigram_indexes_exist_on_postgresql_only(settings, backend):
    expected = {
        i.name for t in Base.metadata.tables.values() for i in t.indexes if postgresql_only(i)
    }
    assert {"ix_customer_email_trgm", "ix_orders_notes_trgm", "ix_product_sku_trgm"} <= expected
    if backend == "postgresql":
        rows = dict(index_rows(settings))
        assert set(rows) == expected
        assert all("USING gin" in d and "gin_trgm_ops" in d for d in rows.values()), rows
    else:
        names = {
            r[0] for r in fetch(settings, "SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert not names & expected, "no PostgreSQL-only index on SQLite"


def test_the_sqlite_drift_check_leaves_postgresql_only_indexes_out(settings, backend):
    if backend != "sqlite":
        assert include_object("postgresql")(None, "x", "table", False, None)
        return

    async def diff(with_filter: bool) -> list:
        engine = create_engine(settings)
        try:
            async with engine.connect() as conn:
                opts = {"compare_type": True}
                if with_filter:
                    opts["include_object"] = include_object("sqlite")
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts=opts), Base.metadata
                    )
                )
        finally:
            await engine.dispose()

    unfiltered = asyncio.run(diff(False))
    assert any(op[0] == "add_index" and op[1].name.endswith("_trgm") for op in unfiltered)
    assert asyncio.run(diff(True)) == []
