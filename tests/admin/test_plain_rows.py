"""On PostgreSQL, list pages whose cells need only column values read them straight from
asyncpg (admin_app/admin/plain_rows.py): the same page, without ORM objects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, inspect, select
from starlette.testclient import TestClient

import admin_app.models
from admin_app.admin import plain_rows
from admin_app.main import create_app
from admin_app.models import Customer
from tests.admin.listing_helpers import pagination_links, row_pks
from tests.conftest import seed_small
from tests.helpers import create_admin, login, run

LIST = "/admin/customer/list"


@contextmanager
def signed_in(settings: Any) -> Iterator[TestClient]:
    """A new app (nothing kept from another client's pages), signed in as a superuser."""
    with TestClient(create_app(settings)) as client:
        assert login(client, "root@example.com").status_code == 303
        yield client


@contextmanager
def customers_loaded() -> Iterator[list[Any]]:
    """Customer objects the ORM builds while the block runs."""
    loaded: list[Any] = []

    def on_load(target: Any, _context: Any) -> None:
        loaded.append(target)

    event.listen(Customer, "load", on_load)
    try:
        yield loaded
    finally:
        event.remove(Customer, "load", on_load)


def tbody(page: str) -> str:
    found = re.search(r"<tbody.*?</tbody>", page, re.S)
    assert found, "no table body on the page"
    return found.group(0)


@pytest.fixture
def store(pg_settings: Any) -> Any:
    seed_small(pg_settings)
    create_admin(pg_settings, "root@example.com")
    return pg_settings


@pytest.mark.parametrize(
    "query",
    ["", "?last=1", "?q=a", "?sort=country__asc&sort=created_at__desc"],
)
def test_plain_rows_show_the_same_page_as_orm_objects(store, monkeypatch, query):
    with signed_in(store) as client, customers_loaded() as loaded:
        plain = client.get(LIST + query)
    assert plain.status_code == 200
    assert loaded == [], "the customer list built ORM objects"

    monkeypatch.setattr(plain_rows.PlainRows, "prepare", lambda *_: None)
    with signed_in(store) as client, customers_loaded() as loaded:
        orm = client.get(LIST + query)
    assert loaded, "the comparison page did not load through the ORM"
    assert row_pks(plain.text), "an empty page proves nothing"
    assert tbody(plain.text) == tbody(orm.text)


def test_a_column_read_from_a_python_property_still_shows(store, monkeypatch):
    """`full_name` is a property of the model, not a column: only its objects have it."""
    from starlette_admin import StringField

    from admin_app.admin.views.customer import CustomerView

    name = StringField("full_name", exclude_from_create=True, exclude_from_edit=True)
    monkeypatch.setattr(CustomerView, "fields", [*CustomerView.fields, name])
    with signed_in(store) as client, customers_loaded() as loaded:
        page = client.get(LIST)
    assert page.status_code == 200, page.text[:300]
    assert loaded and all(c.full_name in page.text for c in loaded)


def test_global_criteria_added_by_an_orm_hook_still_apply(store):
    """SQLAlchemy's documented way to hide rows everywhere (a `do_orm_execute` hook
    adding criteria) must hold on list pages too."""
    from sqlalchemy.orm import Session, with_loader_criteria

    inactive = run(store, lambda db: db.scalar(select(Customer.id).where(~Customer.is_active)))
    assert inactive is not None, "the demo data has no inactive customer"

    def active_only(state: Any) -> None:
        if state.is_select:
            criteria = with_loader_criteria(Customer, Customer.is_active.is_(True))
            state.statement = state.statement.options(criteria)

    event.listen(Session, "do_orm_execute", active_only)
    try:
        with signed_in(store) as client:
            page = client.get(LIST + "?page_size=100")
    finally:
        event.remove(Session, "do_orm_execute", active_only)
    assert page.status_code == 200
    assert row_pks(page.text) and inactive not in row_pks(page.text)


def test_pages_with_relations_still_load_objects(store):
    with signed_in(store) as client, customers_loaded() as loaded:
        page = client.get("/admin/order/list")
    assert page.status_code == 200
    assert loaded, "orders show their customer: those come from the ORM"
    assert any(customer.full_name in page.text for customer in loaded)


def test_a_query_that_fails_on_the_driver_is_loaded_through_the_orm(store, monkeypatch):
    compile_plan = plain_rows._compile

    def broken(*args: Any) -> Any:
        plan = compile_plan(*args)
        return plan and plain_rows._Plan(**{**plan.__dict__, "sql": "SELECT * FROM no_such"})

    monkeypatch.setattr(plain_rows, "_compile", broken)
    with signed_in(store) as client, customers_loaded() as loaded:
        page = client.get(LIST)
    assert page.status_code == 200
    assert len(row_pks(page.text)) == 20 and loaded, "the page was not loaded again by the ORM"


@pytest.mark.parametrize("model_name", ["Customer", "Order", "Category", "AdminUser", "AuditEntry"])
def test_plain_rows_carry_the_values_orm_objects_do(store, model_name):
    """Every column, converted by its type as SQLAlchemy converts it (times in UTC,
    enums, JSON), limited as asked; or no plain rows at all (then the ORM loads the
    page), never other values. Orders have NUMERIC totals, whose conversion depends on
    the type the server reports: those are left to the ORM."""
    model = getattr(admin_app.models, model_name)
    pk = inspect(model).primary_key[0]
    query = select(model).order_by(pk.desc())

    async def both(db: Any) -> tuple[list[Any] | None, list[Any]]:
        plain = await plain_rows.PlainRows(model).fetch(db, query, 7)
        objects = (await db.execute(query.limit(7))).scalars().all()
        return plain, list(objects)

    plain, objects = run(store, both)
    assert objects, f"no {model_name} rows to compare"
    if model_name == "Customer":
        assert plain is not None, "the customer query was not run on the driver"
    if plain is None:
        return
    keys = [attr.key for attr in inspect(model).column_attrs]
    assert len(plain) == len(objects)
    for row, obj in zip(plain, objects, strict=True):
        for key in keys:
            mine, theirs = getattr(row, key), getattr(obj, key)
            assert (type(mine), mine) == (type(theirs), theirs), f"{key} of {obj!r}"


def test_a_statement_this_cannot_read_is_loaded_through_the_orm(store, monkeypatch):
    """Should a SQLAlchemy upgrade change what `_compile` reads, pages still load."""

    def changed(*_: Any) -> Any:
        raise AttributeError("'SQLCompiler' object has no attribute '_result_columns'")

    monkeypatch.setattr(plain_rows, "_compile", changed)
    with signed_in(store) as client, customers_loaded() as loaded:
        page = client.get(LIST)
    assert page.status_code == 200
    assert len(row_pks(page.text)) == 20 and loaded


@contextmanager
def statements_built() -> Iterator[list[str]]:
    """The list views whose page statements are built while the block runs."""
    from admin_app.admin.listing import ListingMixin

    built: list[str] = []
    build = ListingMixin.filtered_query

    async def counted(self: Any, *args: Any) -> Any:
        built.append(str(self.key))
        return await build(self, *args)

    ListingMixin.filtered_query = counted  # type: ignore[method-assign]
    try:
        yield built
    finally:
        ListingMixin.filtered_query = build  # type: ignore[method-assign]


@pytest.mark.parametrize("query", ["", "?last=1", "?q=a"])
def test_a_repeat_view_keeps_its_statements_and_still_reads_the_rows(store, query):
    """The first and last pages of a URL build their statements once per user; every
    request still reads the table, so a row added or removed shows at once."""

    async def add_and_remove(db: Any) -> tuple[int, int]:
        oldest = await db.scalar(select(Customer).order_by(Customer.id).limit(1))
        newest = Customer(
            first_name="Ada",
            last_name="Added",
            email="ada.added@example.com",
            city="Bristol",
            country="GB",
        )
        db.add(newest)
        await db.delete(oldest)
        await db.flush()
        return newest.id, oldest.id

    with signed_in(store) as client:
        first = client.get(LIST + query)
        with statements_built() as built:
            again = client.get(LIST + query)
            added, removed = run(store, add_and_remove)
            after = client.get(LIST + query)
    assert first.status_code == again.status_code == after.status_code == 200
    assert built == [], "a repeat view built its statements again"
    assert row_pks(again.text) == row_pks(first.text)
    if query == "?last=1":
        assert removed in row_pks(again.text) and removed not in row_pks(after.text)
    elif query == "":
        assert added not in row_pks(again.text) and row_pks(after.text)[0] == added
    else:  # ?q=a: the new row matches too
        assert row_pks(after.text)[0] == added


def test_pages_whose_statements_may_change_are_built_every_time(store, monkeypatch):
    """A filter (an application's own filter may read the clock), a view that builds its
    own query, and positions other than the first and last pages: built per request."""
    from admin_app.admin.views.customer import CustomerView

    with signed_in(store) as client:
        page = client.get("/admin/product/list")
        after = pagination_links(page.text)["next"]
        assert after and "after=" in after, "no next link"
        urls = [LIST + "?filter=is_active__is_true", after]
        for url in urls:
            client.get(url)
        with statements_built() as built:
            for url in urls:
                assert client.get(url).status_code == 200
    assert built == ["customer", "product"]

    def own_query(self: Any, request: Any) -> Any:
        return select(Customer).where(Customer.is_active)

    monkeypatch.setattr(CustomerView, "get_list_query", own_query)
    with signed_in(store) as client:
        client.get(LIST)
        with statements_built() as built:
            assert client.get(LIST).status_code == 200
    assert built == ["customer"]


def test_the_first_and_last_pages_of_one_list_keep_their_own_statements(store):
    """The pages of one list share a page shell; each position keeps its own statements."""

    async def more_customers(db: Any) -> None:
        for n in range(10):
            db.add(
                Customer(
                    first_name="Extra",
                    last_name=f"Customer {n}",
                    email=f"extra.{n}@example.com",
                    city="Lyon",
                    country="FR",
                )
            )

    run(store, more_customers)
    with signed_in(store) as client:
        views = [client.get(LIST + position) for position in ("", "?last=1", "", "?last=1")]
    first, last = row_pks(views[0].text), row_pks(views[1].text)
    assert len(first) == len(last) == 25 and first != last
    assert first == sorted(first, reverse=True) and last == sorted(last, reverse=True)
    assert min(last) < min(first), "the last page does not end the list"
    assert [row_pks(v.text) for v in views[2:]] == [first, last]
