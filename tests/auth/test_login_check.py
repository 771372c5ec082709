"""Every admin request checks its login session, its user and that user's permissions in
one statement; what it finds is that of the moment, never kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.helpers import create_admin, fetch, give_role, login, make_role

CLERK = "clerk@example.com"


@contextmanager
def statements() -> Iterator[list[str]]:
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_a_limited_users_login_and_permissions_are_read_in_one_statement(settings):
    create_admin(settings, CLERK, superuser=False)
    make_role(settings, "Customers", ["customer:view", "order:view"])
    give_role(settings, CLERK, "Customers")
    with TestClient(create_app(settings)) as client:
        login(client, CLERK)
        client.get("/admin/customer/list")  # a first visit also fills caches
        with statements() as sent:
            assert client.get("/admin/customer/list").status_code == 200
        reads = [s for s in sent if "admin_session" in s or "role_permission" in s]
        assert len(reads) == 1, f"the login check took {len(reads)} statements: {reads}"
        assert "role_permission" in reads[0], "the permissions come with the login check"
        assert client.get("/admin/order/list").status_code == 200

        fetch(settings, "DELETE FROM role_permission WHERE code = 'order:view'")
        assert client.get("/admin/order/list").status_code == 403, "a permission taken away"
        assert client.get("/admin/customer/list").status_code == 200, "the one kept still works"
