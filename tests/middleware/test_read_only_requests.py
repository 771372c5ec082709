"""List pages, relation pickers and a record's detail page and forms (GET) run without a
transaction on PostgreSQL; the login check still ends sessions for real."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
from starlette.testclient import TestClient

from admin_app.admin.site import build_admin
from admin_app.db import utcnow
from admin_app.main import create_app
from admin_app.models import AdminSession
from tests.helpers import create_admin, fetch, login, post_form, run, update_rows

LIST = "/admin/customer/list"
LOOKUP = "/admin/_api/customer/relation-lookup?q=a&skip=0&limit=20"


@contextmanager
def sent_to_postgresql(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Every statement sent on pooled connections, one list per checkout from the pool:
    SQLAlchemy's statements as its engine runs them, and BEGIN and COMMIT as asyncpg sends
    them (SQLAlchemy's events see neither). A checkout is one unit of work, so a background
    worker's statements (the webhook dispatcher wakes after each commit) never interleave
    with a request's."""
    checkouts: list[list[str]] = []
    current: dict[int, tuple[list[str], Any]] = {}

    def checkout(dbapi_connection: Any, *_: Any) -> None:
        sent: list[str] = []

        def log(record: Any) -> None:
            sent.append(" ".join(record.query.split()))

        checkouts.append(sent)
        current[id(dbapi_connection)] = (sent, log)
        dbapi_connection.driver_connection.add_query_logger(log)

    def checkin(dbapi_connection: Any, *_: Any) -> None:
        if dbapi_connection is not None and id(dbapi_connection) in current:
            _, log = current.pop(id(dbapi_connection))
            dbapi_connection.driver_connection.remove_query_logger(log)

    def statement(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        held = current.get(id(conn.connection.dbapi_connection))
        if held is not None:
            held[0].append(" ".join(sql.split()))

    event.listen(Pool, "checkout", checkout)
    event.listen(Pool, "checkin", checkin)
    event.listen(Engine, "before_cursor_execute", statement)
    try:
        yield checkouts
    finally:
        event.remove(Pool, "checkout", checkout)
        event.remove(Pool, "checkin", checkin)
        event.remove(Engine, "before_cursor_execute", statement)


def transaction_statements(sent: list[str]) -> list[str]:
    return [s for s in sent if s.split()[0].upper().rstrip(";") in ("BEGIN", "COMMIT", "ROLLBACK")]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/admin/customer/list", True),
        ("HEAD", "/admin/customer/list", True),
        ("GET", "/admin/_api/customer/relation-lookup", True),
        ("POST", "/admin/customer/list", False),
        ("GET", "/admin/customer/edit", True),
        ("GET", "/admin/customer/detail", True),
        ("GET", "/admin/customer/create", True),
        ("GET", "/admin/_api/search", True),
        ("GET", "/admin/_api/palette", True),
        ("POST", "/admin/_api/search", False),
        ("POST", "/admin/customer/edit", False),
        ("POST", "/admin/customer/create", False),
        ("GET", "/admin/customer/delete", False),
        ("GET", "/admin/customer/list/extra", False),
        ("GET", "/admin/account/security", False),
        ("GET", "/admin/logout", False),
        ("GET", "/elsewhere/customer/list", False),
    ],
)
def test_only_gets_of_lists_pickers_record_pages_and_the_palette_count_as_reads(
    settings, method, path, expected
):
    admin = build_admin(settings)
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    assert admin.reads_only(scope) is expected


def test_list_pages_pickers_and_record_pages_send_no_begin_or_commit(pg_settings, monkeypatch):
    create_admin(pg_settings, "root@example.com")
    fetch(pg_settings, "INSERT INTO category (name, slug) VALUES ('Kettles', 'kettles')")
    pk = fetch(pg_settings, "SELECT id FROM category")[0][0]
    urls = [
        LIST,
        LOOKUP,
        f"/admin/category/detail?pk={pk}",
        f"/admin/category/edit?pk={pk}",
        "/admin/category/create",
    ]
    with TestClient(create_app(pg_settings)) as client:
        login(client, "root@example.com")
        for url in urls:
            client.get(url)  # a first visit also fills caches
        with sent_to_postgresql(monkeypatch) as checkouts:
            statuses = [client.get(url).status_code for url in urls]
        # A request's checkout is the one that checks its login session; the background
        # workers (webhook dispatcher, outbox, trash purge) run transactions of their own.
        requests = [c for c in checkouts if any("FROM admin_session" in s for s in c)]
        sent = [statement for checkout in requests for statement in checkout]
        assert statuses == [200] * len(urls)
        assert transaction_statements(sent) == []
        checks = [s for s in sent if "FROM admin_session" in s]
        assert len(checks) == len(urls), "each request still checks the login session"


def test_a_form_that_writes_still_runs_in_one_transaction(pg_settings, monkeypatch):
    create_admin(pg_settings, "root@example.com")
    with TestClient(create_app(pg_settings)) as client:
        login(client, "root@example.com")
        with sent_to_postgresql(monkeypatch) as checkouts:
            created = post_form(
                client,
                "/admin/category/create",
                {"name": "Kettles", "slug": "kettles"},
                follow_redirects=False,
            )
        assert created.status_code == 303, created.text
        (writer,) = [sent for sent in checkouts if any("INSERT INTO category" in s for s in sent)]
        assert [s.upper() for s in transaction_statements(writer)] == ["BEGIN;", "COMMIT;"]
        assert fetch(pg_settings, "SELECT count(*) FROM category WHERE slug = 'kettles'")[0][0] == 1


def test_a_list_page_keeps_the_session_alive_and_logout_still_ends_it(settings):
    create_admin(settings, "root@example.com")
    with TestClient(create_app(settings)) as client:
        login(client, "root@example.com")
        stale = utcnow() - timedelta(minutes=5)
        update_rows(settings, AdminSession, last_seen_at=stale)
        assert client.get(LIST).status_code == 200
        seen = run(settings, lambda db: db.scalar(select(AdminSession.last_seen_at)))
        assert seen > stale + timedelta(minutes=4), "the list page moved last_seen_at forward"
        post_form(client, "/admin/logout", {})
        after = client.get(LIST, follow_redirects=False)
        assert after.status_code == 303 and "/admin/login" in after.headers["location"]
