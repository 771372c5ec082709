"""Export: the list's rows as CSV or XLSX, escaped, permission-checked, streamed."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
import time
import tracemalloc
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select, text
from starlette.requests import Request

from admin_app.admin.export import ExportMixin, copy_out
from admin_app.admin.export_columns import export_columns, sql_text
from admin_app.admin.lists.keyset import encode
from admin_app.admin.views.customer import CustomerView
from admin_app.db import create_engine, create_sessionmaker
from admin_app.models import Customer
from tests.admin.listing_helpers import add_customers, customers
from tests.helpers import csrf_token, fetch

ACTION = "/admin/_api/customer/action"
HEADER = [
    "ID",
    "First name",
    "Last name",
    "Email",
    "Phone",
    "City",
    "Country",
    "Active",
    "Created at",
]


@pytest.fixture
def people(settings: Any) -> list[dict[str, Any]]:
    rows = customers(40)
    rows[0].update(first_name='=HYPERLINK("http://x")', city="-2+3", phone="+44 20 7946")
    rows[1].update(last_name="@SUM(A1)", city="\tTabbed", is_active=False)
    rows[2].update(first_name='Zoë, "quoted"', last_name="line\nbreak")
    add_customers(settings, rows)
    return rows


def export(client: Any, form: dict[str, Any], list_query: str = "", **params: Any) -> Any:
    query = {"name": "export", "_list_query": list_query, **params}
    data = {"scope": "all", "format": "csv", **form, "csrftoken": csrf_token(client)}
    return client.post(ACTION, params=query, data=data, follow_redirects=False)


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-disposition"].startswith("attachment;")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff"), "a BOM, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(body[1:])))


def test_all_rows_in_list_order_with_formulas_escaped(admin_client, people):
    rows = read_csv(export(admin_client, {}))
    assert rows[0] == HEADER
    assert [int(r[0]) for r in rows[1:]] == list(range(40, 0, -1)), "the list's order"
    by_id = {int(r[0]): r for r in rows[1:]}
    assert by_id[1][1] == '\'=HYPERLINK("http://x")'
    assert by_id[1][5] == "'-2+3" and by_id[1][4] == "'+44 20 7946"
    assert by_id[2][2] == "'@SUM(A1)" and by_id[2][5] == "'\tTabbed"
    assert by_id[3][1] == 'Zoë, "quoted"' and by_id[3][2] == "line\nbreak"
    assert by_id[2][7] == "false" and by_id[4][7] == "true"
    assert by_id[1][8] == "2026-01-01T00:01:00Z", "UTC, ISO 8601"


def test_the_export_announces_how_many_rows_to_expect(admin_client, people):
    response = export(admin_client, {})
    assert response.headers["x-export-rows"] == "40"
    assert response.headers["x-export-rows-estimated"] == "0"
    assert response.headers["content-type"].startswith("text/csv")


def test_search_filters_sort_and_chosen_columns_are_kept(admin_client, people):
    list_query = "?q=person1&sort=first_name__asc"
    form = {"fields": ["id", "first_name", "is_active"]}
    rows = read_csv(export(admin_client, form, list_query))
    assert rows[0] == ["ID", "First name", "Active"]
    matching = [r for r in people if "person1" in r["email"]]
    expected = sorted(matching, key=lambda r: (r["first_name"], r["id"]))
    assert [int(r[0]) for r in rows[1:]] == [r["id"] for r in expected]


def test_this_page_exports_the_page_the_list_shows(admin_client, people):
    list_query = f"?after={encode([16])}"
    rows = read_csv(export(admin_client, {"scope": "page"}, list_query))
    assert [int(r[0]) for r in rows[1:]] == list(range(15, 0, -1))


def test_selected_rows_export_only_those(admin_client, people):
    rows = read_csv(export(admin_client, {"scope": "selected"}, pks=["3", "30", "7"]))
    assert [int(r[0]) for r in rows[1:]] == [30, 7, 3]


def test_xlsx_holds_the_same_rows_as_typed_cells(admin_client, people):
    response = export(admin_client, {"format": "xlsx", "filename": "../My export.xlsx"})
    assert response.status_code == 200, response.text[:300]
    assert 'filename="My export.xlsx"' in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert [r[0] for r in rows[1:]] == list(range(40, 0, -1)), "ids are numbers"
    first = next(r for r in rows if r[0] == 1)
    assert first[1] == '=HYPERLINK("http://x")', "typed text: shown as written, never run"


def test_relations_are_exported_by_id(admin_client, seeded, settings):
    query = {"name": "export", "_list_query": ""}
    form = {"scope": "all", "format": "csv", "fields": ["id", "customer"]}
    form["csrftoken"] = csrf_token(admin_client)
    orders = read_csv(admin_client.post("/admin/_api/order/action", params=query, data=form))
    assert orders[0] == ["ID", "Customer ID"]
    expected = {str(r[0]): str(r[1]) for r in fetch(settings, "SELECT id, customer_id FROM orders")}
    assert {r[0]: r[1] for r in orders[1:]} == expected
    form["fields"] = ["id", "tags"]
    products = read_csv(admin_client.post("/admin/_api/product/action", params=query, data=form))
    assert products[0] == ["ID", "Tags IDs"]
    links = fetch(settings, "SELECT product_id, tag_id FROM product_tag ORDER BY tag_id")
    tagged = {str(p): [] for p, _ in links}
    for product, tag in links:
        tagged[str(product)].append(str(tag))
    exported = {r[0]: r[1] for r in products[1:] if r[1]}
    assert {k: sorted(v.split("; ")) for k, v in exported.items()} == {
        k: sorted(v) for k, v in tagged.items()
    }


@pytest.mark.parametrize(
    ("form", "params", "message"),
    [
        ({"format": "pdf"}, {}, "Choose one of these formats"),
        ({"scope": "everything"}, {}, "Choose which rows to export"),
        ({"scope": "selected"}, {"pks": ["abc"]}, "cannot exist"),
        ({"scope": "selected"}, {"pks": [str(2**40)]}, "cannot exist"),
        ({"fields": ["password_hash"]}, {}, ""),
    ],
)
def test_bad_export_requests_explain_and_send_no_file(admin_client, people, form, params, message):
    response = export(admin_client, form, **params)
    if not message:  # unknown columns are ignored: every exportable column is written
        assert read_csv(response)[0] == HEADER
        return
    assert response.status_code == 303, response.text[:300]
    assert "content-disposition" not in response.headers
    page = admin_client.get(response.headers["location"]).text
    assert message in page


def test_export_needs_the_export_permission(admin_client, people, monkeypatch):
    monkeypatch.setattr(CustomerView, "can_export", lambda self, request: False)
    listing = admin_client.get("/admin/customer/list").text
    assert 'data-sa-name="export"' not in listing, "no Export button"
    response = export(admin_client, {})
    assert "content-disposition" not in response.headers
    assert response.status_code == 400


def test_the_list_page_offers_export_with_progress(admin_client, people):
    """The list names where its export dialog's form is; the form, fetched when wanted,
    has the progress bar. The page itself does not carry the form."""
    page = admin_client.get("/admin/customer/list").text
    assert "export.js" in page
    assert "data-app-export-progress" not in page, "the page carries the export form"
    url = re.search(r'<template data-app-export-form data-url="([^"]+)"', page)
    assert url, "the list does not say where its export form is"
    form = admin_client.get(html.unescape(url.group(1)))
    assert form.status_code == 200 and form.headers["cache-control"] == "private, no-cache"
    assert "data-app-export" in form.text and "data-app-export-progress" in form.text
    assert 'value="email"' in form.text, "the form does not offer the view's columns"


def test_the_export_form_needs_the_export_permission(admin_client, people, monkeypatch):
    monkeypatch.setattr(CustomerView, "can_export", lambda self, request: False)
    assert "data-app-export-form" not in admin_client.get("/admin/customer/list").text
    assert admin_client.get("/admin/_api/customer/export-form").status_code == 403


# Streaming: the file is produced while rows are read, in bounded memory.


def fake_request(settings: Any) -> tuple[Request, Any]:
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    session = maker()
    scope = {"type": "http", "state": {"sessionmaker": maker, "session": session}}
    return Request(scope), engine


def body_of(settings: Any, fmt: str, batch: int | None = None) -> tuple[bytes, int, int]:
    """Export every customer; (the bytes, how many chunks, peak traced memory)."""
    view = CustomerView()

    async def go() -> tuple[bytes, int, int]:
        request, engine = fake_request(settings)
        try:
            dialect = engine.dialect.name
            columns = export_columns(Customer, view.fields, dialect)
            query = select(Customer).order_by(Customer.id)
            chunks, size = 0, 0
            first = b""
            tracemalloc.start()
            async for chunk in view.export_body(request, query, columns, fmt):
                first = first or chunk
                chunks += 1
                size += len(chunk)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            await request.state.session.close()
            return first, chunks, peak
        finally:
            await engine.dispose()

    return asyncio.run(go())


def insert_many(settings: Any, backend: str, n: int, start: int = 1) -> None:
    if backend == "postgresql":
        fetch(
            settings,
            "INSERT INTO customer (id, first_name, last_name, email, phone, city, country, "
            "is_active, created_at) SELECT i, 'First' || i, 'Last' || i, 'p' || i || '@example.com',"
            " '', 'City', 'DE', true, now() FROM generate_series(CAST(:start AS integer), CAST(:end AS integer)) AS i",
            start=start,
            end=start + n - 1,
        )
    else:
        fetch(
            settings,
            "WITH RECURSIVE s(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM s WHERE i < :end) "
            "INSERT INTO customer (id, first_name, last_name, email, phone, city, country, "
            "is_active, created_at) SELECT i, 'First' || i, 'Last' || i, 'p' || i || '@example.com',"
            " '', 'City', 'DE', 1, '2026-01-01 00:00:00' FROM s",
            start=start,
            end=start + n - 1,
        )


def test_rows_are_written_batch_by_batch(settings, monkeypatch):
    add_customers(settings, customers(60))
    monkeypatch.setattr(ExportMixin, "export_batch_size", 7)
    _first, chunks, _peak = body_of(settings, "xlsx")
    assert chunks >= 1 + 60 // 7, "one piece of the file per batch of rows read"


def test_memory_does_not_grow_with_the_number_of_rows(settings, backend):
    insert_many(settings, backend, 20_000, start=1)
    first, small_chunks, small_peak = body_of(settings, "csv")
    insert_many(settings, backend, 100_000, start=20_001)
    _, chunks, peak = body_of(settings, "csv")
    assert first.startswith(b"\xef\xbb\xbfID,First name")
    assert chunks > small_chunks > 2, "sent in pieces as rows arrive, not as one body"
    # 100,000 more rows are about 10 MB of CSV; buffered, the peak would grow by that.
    # Streamed, it moves with what is in flight (driver buffers, queued chunks): up to
    # 1.2 MB apart between runs on PostgreSQL. (A ratio of the two peaks, around 1 MB
    # each, failed on noise at 1.502x; a 1 MB bound on the growth failed at 1.2 MB.)
    assert peak - small_peak < 3_000_000, (
        f"peak Python memory {small_peak / 1e6:.2f} MB for 20,000 rows, "
        f"{peak / 1e6:.2f} MB for 120,000: it must not grow with the rows"
    )


def test_postgresql_copy_waits_for_a_slow_reader(postgres_backend, databases, tmp_path):
    from tests.conftest import make_settings

    settings = make_settings(database_url=databases.new(postgres_backend, tmp_path))
    insert_many(settings, postgres_backend, 50_000)

    async def go() -> tuple[bool, int]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                columns = export_columns(Customer, CustomerView().fields, "postgresql")
                stmt = select(*(sql_text(c) for c in columns)).order_by(Customer.id)
                queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=2)
                chunks = copy_out(connection, stmt, queue)
                lines = (await anext(chunks)).count(b"\n")
                deadline = time.monotonic() + 10
                # Poll with a deadline: the COPY runs in its own task.
                while not queue.full() and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                paused = queue.full()
                async for chunk in chunks:
                    lines += chunk.count(b"\n")
                return paused, lines
        finally:
            await engine.dispose()

    paused, lines = asyncio.run(go())
    assert paused, "the COPY filled the small queue and waited instead of reading on"
    assert lines == 50_000


def test_an_abandoned_export_frees_its_connection(postgres_backend, databases, tmp_path):
    from tests.conftest import make_settings

    settings = make_settings(database_url=databases.new(postgres_backend, tmp_path))
    insert_many(settings, postgres_backend, 30_000)

    async def go() -> int:
        engine = create_engine(settings, pool_size=1, max_overflow=0)
        try:
            stmt = select(
                sql_text(export_columns(Customer, CustomerView().fields, "postgresql")[0])
            )
            for _ in range(3):
                async with engine.connect() as connection:
                    chunks = copy_out(connection, stmt)
                    await anext(chunks)
                    await chunks.aclose()
            async with engine.connect() as connection:
                return int(await connection.scalar(text("SELECT count(*) FROM customer")) or 0)
        finally:
            await engine.dispose()

    assert asyncio.run(go()) == 30_000, "the pool's only connection still works"
