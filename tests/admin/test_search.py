"""The search box: substring, any case, wildcards taken literally, served by trigram indexes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text

from admin_app.admin.lists.columns import contains
from admin_app.db import create_engine
from admin_app.models import Customer
from tests.admin.listing_helpers import add_customers, capture_sql, row_pks

LIST = "/admin/customer/list"


@pytest.fixture
def people(settings: Any) -> None:
    add_customers(
        settings,
        [
            {"id": 1, "first_name": "Zoë", "last_name": "Müller", "email": "zoe@example.com"},
            {"id": 2, "first_name": "Ann", "last_name": "Smith", "email": "ann.smith@example.com"},
            {"id": 3, "first_name": "Bob", "last_name": "Smithers", "email": "bob@example.com"},
            {"id": 4, "first_name": "Cy", "last_name": "100%", "email": "cy_x@example.com"},
            {"id": 5, "first_name": "Di", "last_name": "1000", "email": "diyx@example.com"},
        ],
    )


def search(client: Any, term: str) -> list[int]:
    response = client.get(LIST, params={"q": term})
    assert response.status_code == 200, response.text[:300]
    return sorted(row_pks(response.text))


def test_substrings_match_in_any_case(admin_client, people):
    assert search(admin_client, "smith") == [2, 3]
    assert search(admin_client, "SMITHERS") == [3]
    assert search(admin_client, "ann.smith@") == [2]
    assert search(admin_client, "  bob  ") == [3], "surrounding spaces are ignored"


def test_wildcards_are_taken_literally(admin_client, people):
    assert search(admin_client, "100%") == [4]
    assert search(admin_client, "cy_x") == [4], "_ is a character, not 'any character'"
    assert search(admin_client, "%") == [4]


def test_choices_are_searched_by_value_and_label(admin_client, seeded, settings):
    from tests.helpers import fetch

    shipped = {r[0] for r in fetch(settings, "SELECT id FROM orders WHERE status = 'shipped'")}
    response = admin_client.get("/admin/order/list", params={"q": "SHIPP", "page_size": 100})
    assert set(row_pks(response.text)) == shipped


@pytest.mark.parametrize(
    ("term", "message"), [("a\x00b", "cannot be searched"), ("x" * 201, "at most 200")]
)
def test_unsearchable_terms_are_a_clear_400(admin_client, people, term, message):
    response = admin_client.get(LIST, params={"q": term})
    assert response.status_code == 400
    assert message in response.text


def test_search_sql_leaves_the_columns_bare(admin_client, people, settings):
    with capture_sql(settings) as sql:
        admin_client.get(LIST, params={"q": "smith"})
    listing = next(s for s in sql.selects() if s.startswith("SELECT customer.id"))
    assert "CAST(" not in listing.upper(), "a cast would hide the column from its index"
    assert "customer.email" in listing and ("ILIKE" in listing or "LIKE" in listing)


def test_postgresql_serves_the_search_from_trigram_indexes(postgres_backend, databases, tmp_path):
    from tests.admin.listing_helpers import customers, vacuum_analyze
    from tests.conftest import make_settings

    settings = make_settings(database_url=databases.new(postgres_backend, tmp_path))
    from admin_app.demo.data import FIRST_NAMES, LAST_NAMES

    rows = customers(20_000)
    for row in rows:
        row["first_name"] = FIRST_NAMES[row["id"] % len(FIRST_NAMES)]
        row["last_name"] = LAST_NAMES[row["id"] * 7 % len(LAST_NAMES)]
        row["city"] = f"Town {row['id'] % 300}"
    add_customers(settings, rows)
    vacuum_analyze(settings, "customer")

    async def plan(column: Any, term: str) -> str:
        engine = create_engine(settings)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SET enable_seqscan = off"))
                where = contains(column, None, term, "postgresql")
                stmt = select(Customer.id).where(where)
                compiled = stmt.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
                rows = await conn.execute(text(f"EXPLAIN {compiled}"))
                return "\n".join(r[0] for r in rows)
        finally:
            await engine.dispose()

    searches = {
        Customer.email: "son4217@",
        Customer.first_name: "xavier",
        Customer.last_name: "zimmer",
        Customer.city: "wuppertal",
    }
    for column, term in searches.items():
        explained = asyncio.run(plan(column, term))
        assert f"ix_customer_{column.key}_trgm" in explained, explained
