"""The command palette's JSON, for every role: it offers only what the user may open, and
global search finds only records the user's lists would show (models they may view,
rows inside their scope), never failing whatever is typed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette_admin import fields as sa

from admin_app.admin.global_search import MIN_TERM_LENGTH, PER_MODEL
from admin_app.admin.lists.columns import column_type, contains
from admin_app.admin.registry import REGISTRY
from admin_app.db import table_of
from admin_app.demo.seed import DEMO_ROLES
from admin_app.main import create_app
from tests.helpers import create_admin, fetch, give_role, login, make_role

SEARCH = "/admin/_api/search"
EVERY_VIEW = "Every list, read only"
ROLES = [None, "superuser", *DEMO_ROLES, EVERY_VIEW]
"""Who searches: nobody's roles, a superuser, each demo role, and a role that may view
every registered model but change nothing."""

ODD_TERMS = [
    "",
    "  ",
    "%",
    "%%%",
    "___",
    "\\\\\\",
    "%_\\",
    "'; drop table customer; --",
    '"quoted"',
    "a'b\"c",
    "x" * 5000,
    "Zoë Ünïcødé",
    "😀😀😀",
    "中文字",
    "ab\x00cd",
    "\u202eevil",
]


def _text_fields(view_class: Any) -> list[str]:
    """The searchable columns a search box matches by substring."""
    searchable = set(view_class.searchable_fields or ())
    return [
        f.name
        for f in view_class.fields
        if isinstance(f, sa.BaseField)
        and f.name in searchable
        and column_type(f).search is contains
        and f.name in table_of(view_class.model).columns
    ]


def _terms(settings: Any) -> dict[str, str]:
    """For each model with text to search, a piece of a stored value: a term that matches."""
    terms = {}
    for view_class in REGISTRY:
        table = table_of(view_class.model)
        for name in _text_fields(view_class):
            rows = fetch(
                settings,
                f'SELECT "{name}" FROM "{table.name}" WHERE "{name}" <> \'\' ORDER BY 1 LIMIT 1',
            )
            value = str(rows[0][0]) if rows and rows[0][0] else ""
            if len(value) >= MIN_TERM_LENGTH + 1:
                terms[str(view_class.key)] = value[1 : 1 + MIN_TERM_LENGTH + 1]
                break
    return terms


def _every_view_code() -> list[str]:
    """The view permission of every view a role can be granted (not superuser-only ones)."""
    return [f"{v.key}:view" for v in REGISTRY if not v.superuser_only]


def _viewable(settings: Any, who: str | None) -> set[str]:
    if who == "superuser":
        return {str(v.key) for v in REGISTRY}
    if who is None:
        return set()
    codes = DEMO_ROLES[who][2] if who in DEMO_ROLES else _every_view_code()
    return {code.split(":")[0] for code in codes if code.endswith(":view")}


@pytest.fixture
def as_each_role(seeded: Any) -> Any:
    """A signed-in client per entry of ROLES, or of the roles given (one app for all)."""
    make_role(seeded, EVERY_VIEW, _every_view_code())
    app = create_app(seeded)

    def clients(*only: str | None) -> Iterator[tuple[str | None, TestClient]]:
        for n, who in enumerate(ROLES):
            if only and who not in only:
                continue
            email = f"user{n}@example.com"
            create_admin(seeded, email, superuser=who == "superuser")
            if who not in (None, "superuser"):
                give_role(seeded, email, str(who))
            with TestClient(app) as client:
                assert login(client, email).status_code == 303
                yield who, client

    return clients


def test_global_search_finds_only_what_each_role_may_see(seeded, as_each_role):
    terms = {**_terms(seeded), "order": "shipped"}  # a status: orders in and out of France
    assert {"customer", "product", "tag", "role"} <= set(terms), terms
    shipped_elsewhere = "SELECT count(*) FROM orders o JOIN customer c ON c.id = o.customer_id "
    assert fetch(seeded, shipped_elsewhere + "WHERE c.country <> 'FR' AND status = 'shipped'")[0][0]
    french = {
        r[0]
        for r in fetch(
            seeded,
            "SELECT o.id FROM orders o JOIN customer c "
            "ON c.id = o.customer_id WHERE c.country = 'FR'",
        )
    }
    # Nobody's search reads nothing; a role viewing every model unscoped searches as a
    # superuser does.
    for who, client in as_each_role("superuser", *DEMO_ROLES):
        viewable = _viewable(seeded, who)
        for key, term in terms.items():
            response = client.get(SEARCH, params={"q": term})
            assert response.status_code == 200, (who, term, response.text)
            groups = {g["key"]: g for g in response.json()["groups"]}
            assert set(groups) <= viewable, f"{who} found {set(groups) - viewable} for {term!r}"
            if key in viewable:
                assert key in groups, f"{who} did not find the {key} holding {term!r}"
            for group in groups.values():
                assert 0 < len(group["results"]) <= PER_MODEL
                first = group["results"][0]  # its detail page applies the same scope
                detail = client.get(first["url"])
                assert detail.status_code == 200, (
                    f"{who} was shown {first['label']!r} ({first['url']}), "
                    f"which their detail page refuses: {detail.status_code}"
                )
                if who == "Sales France" and group["key"] == "order":
                    pks = {int(f["url"].rsplit("=", 1)[1]) for f in group["results"]}
                    assert pks <= french, f"orders outside France found: {pks - french}"


def test_odd_terms_never_fail_and_wildcards_are_taken_literally(seeded, as_each_role):
    # The superuser's search runs every model's query; Sales France's adds a scope.
    for who, client in as_each_role("superuser", "Sales France"):
        for term in ODD_TERMS:
            response = client.get(SEARCH, params={"q": term})
            assert response.status_code == 200, (who, term[:20], response.text[:200])
            groups = response.json()["groups"]
            if len(term.strip()) < MIN_TERM_LENGTH or term in ("%%%", "___", "\\\\\\"):
                assert groups == [], f"{term!r} matched {groups} for {who}"


def test_short_terms_find_nothing_and_no_query_runs(seeded, admin_client):
    for term in ("", "a", "ab", " ab "):
        answer = admin_client.get(SEARCH, params={"q": term}).json()
        assert answer == {"term": "", "min_length": MIN_TERM_LENGTH, "groups": []}


def test_search_needs_a_login(seeded, client):
    response = client.get(SEARCH, params={"q": "something"}, follow_redirects=False)
    assert response.status_code in (302, 303), response.status_code
    assert "/admin/login" in response.headers["location"]


def test_every_command_opens_for_the_user_it_is_offered_to(seeded, as_each_role):
    for who, client in as_each_role():
        viewable = _viewable(seeded, who)
        commands = client.get("/admin/_api/palette").json()["commands"]
        lists = {c["url"].split("/")[2] for c in commands if c["group"] == "Go to"}
        assert lists == viewable, f"{who} is offered the lists {lists}, may view {viewable}"
        assert any(c["label"] == "My account" for c in commands)
        for command in commands if who != "superuser" else []:  # a superuser opens all
            page = client.get(command["url"])
            assert page.status_code == 200, f"{who}: {command} answers {page.status_code}"
        creates = {c["url"].split("/")[2] for c in commands if c["group"] == "Create"}
        if who in (None, EVERY_VIEW, "Support", "Sales France"):
            assert creates == set(), f"{who} is offered to create {creates}"
        if who == "Catalogue editor":
            assert creates == {"product", "category", "tag"}
