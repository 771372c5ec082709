"""On PostgreSQL an API read is two round trips: the call counted against its token's
rate limit and the token read in one statement, then the page or record, with no
transaction around them; a write still runs in one transaction."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from admin_app.main import create_app
from admin_app.settings import Settings
from tests.api.helpers import bearer, make_token
from tests.helpers import create_admin, fetch
from tests.middleware.test_read_only_requests import sent_to_postgresql, transaction_statements


def test_a_read_counts_and_checks_its_token_in_one_statement_outside_a_transaction(
    pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = bearer(make_token(pg_settings, create_admin(pg_settings)))
    fetch(pg_settings, "INSERT INTO category (name, slug) VALUES ('Kettles', 'kettles')")
    pk = fetch(pg_settings, "SELECT id FROM category")[0][0]
    urls = ["/api/v1/category", f"/api/v1/category/{pk}", "/api/v1/category?search=kett"]
    with TestClient(create_app(pg_settings)) as client:
        for url in urls:
            client.get(url, headers=token)  # a first call also notes the token's use
        with sent_to_postgresql(monkeypatch) as checkouts:
            statuses = [client.get(url, headers=token).status_code for url in urls]
        sent = [statement for checkout in checkouts for statement in checkout]
    assert statuses == [200] * len(urls)
    assert transaction_statements(sent) == [], "an API read ran in a transaction"
    counted = [s for s in sent if "rate_limit_counter" in s]
    assert len(counted) == len(urls), f"each call is counted once: {counted}"
    assert all("FROM api_token" in s for s in counted), "the token is read apart from its count"
    pages = [s for s in sent if "FROM category" in s]
    assert len(sent) == len(counted) + len(pages) == 2 * len(urls), sent


def test_a_write_still_runs_in_one_transaction(
    pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = bearer(make_token(pg_settings, create_admin(pg_settings)))
    with (
        TestClient(create_app(pg_settings)) as client,
        sent_to_postgresql(monkeypatch) as checkouts,
    ):
        made = client.post(
            "/api/v1/category", json={"name": "Kettles", "slug": "kettles"}, headers=token
        )
    assert made.status_code == 201, made.text
    (writer,) = [sent for sent in checkouts if any("INSERT INTO category" in s for s in sent)]
    assert [s.upper() for s in transaction_statements(writer)] == ["BEGIN;", "COMMIT;"]
