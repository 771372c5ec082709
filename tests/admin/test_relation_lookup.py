"""Relation pickers: one indexed query per request, no count of the whole table."""

from __future__ import annotations

import pytest

from tests.admin.listing_helpers import add_customers, capture_sql, customers
from tests.helpers import create_admin, login

LOOKUP = "/admin/_api/customer/relation-lookup"


@pytest.fixture
def sixty(settings):
    add_customers(settings, customers(60))


def test_pages_of_options_say_whether_more_follow(admin_client, sixty):
    first = admin_client.get(LOOKUP, params={"skip": 0, "limit": 20}).json()
    assert [item["id"] for item in first["items"]] == list(range(1, 21)), "by key, ascending"
    assert first["total"] > 20, "select2 asks for the next page while page * 20 < total"
    last = admin_client.get(LOOKUP, params={"skip": 40, "limit": 20}).json()
    assert [item["id"] for item in last["items"]] == list(range(41, 61))
    assert last["total"] == 60, "no further page after the last"
    option = first["items"][0]["_meta"]["select2"]
    assert "person1@example.com" in option["result"] and option["selection"]


def test_typed_text_narrows_the_options(admin_client, sixty):
    found = admin_client.get(LOOKUP, params={"q": "PERSON4"}).json()
    assert sorted(item["id"] for item in found["items"]) == [4, *range(40, 50)]
    assert found["total"] == 11


def test_a_lookup_runs_one_query_and_never_counts(admin_client, settings, sixty):
    with capture_sql(settings) as sql:
        response = admin_client.get(LOOKUP, params={"q": "person", "limit": 20})
    assert response.status_code == 200
    lookups = [s for s in sql.selects() if "FROM customer" in s]
    assert len(lookups) == 1, lookups
    assert "count(" not in " ".join(sql.selects()).lower()
    assert "LIMIT" in lookups[0]


def test_initial_choices_by_key_still_work(admin_client, sixty):
    found = admin_client.get(LOOKUP, params=[("pks", "3"), ("pks", "7")]).json()
    assert sorted(item["id"] for item in found["items"]) == [3, 7]


@pytest.mark.parametrize("params", [{"skip": "x", "limit": "-5"}, {"limit": "100000"}])
def test_odd_paging_values_are_bounded(admin_client, sixty, params):
    response = admin_client.get(LOOKUP, params=params)
    assert response.status_code == 200
    assert 1 <= len(response.json()["items"]) <= 100


def test_bad_search_text_is_a_400_not_an_error(admin_client, sixty):
    response = admin_client.get(LOOKUP, params={"q": "a\x00b"})
    assert response.status_code == 400
    assert "cannot be searched" in response.json()["msg"]


def test_views_the_user_may_not_open_give_403(client, settings):
    create_admin(settings, "staff@example.com", superuser=False)
    assert login(client, "staff@example.com").status_code == 303
    response = client.get("/admin/_api/admin-user/relation-lookup")
    assert response.status_code == 403
