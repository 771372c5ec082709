"""Each account's colour theme: kept on the account, shown on `<html>` of every page, set
from the top bar or My account, audited, and never taken from another viewer's or an
earlier kept page chrome (admin_app/admin/chrome.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.helpers import (
    CSRF_COOKIE,
    create_admin,
    csrf_token,
    fetch,
    html_attributes,
    login,
    post_form,
)

PAGES = (
    "/admin/",
    "/admin/account",
    "/admin/customer/list",
    "/admin/customer/detail?pk=1",
    "/admin/customer/edit?pk=1",
    "/admin/customer/create",
)
"""A page of each kind: dashboard, My account, and a model's list, detail and forms (the
last four served from kept chromes)."""


def theme_shown(page: str) -> tuple[str, str]:
    """(`data-bs-theme`, `data-app-theme`) of a page's `<html>` element."""
    switch, choice = html_attributes(page, "data-bs-theme", "data-app-theme")
    return switch, choice


def set_theme(client: TestClient, theme: str, **headers: str):  # type: ignore[no-untyped-def]
    return post_form(
        client, "/admin/account/theme", {"theme": theme}, headers=headers, follow_redirects=False
    )


def stored_theme(settings, email: str) -> str:  # type: ignore[no-untyped-def]
    return str(fetch(settings, "SELECT theme FROM admin_user WHERE email = :e", e=email)[0][0])


@pytest.fixture
def customers(seeded):  # type: ignore[no-untyped-def]
    """The small store; customer 1 exists for the record pages."""
    assert fetch(seeded, "SELECT count(*) FROM customer WHERE id = 1")[0][0] == 1
    return seeded


@pytest.fixture
def second(customers) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """Another superuser, signed in from another browser."""
    create_admin(customers, "second@example.com", superuser=True)
    with TestClient(create_app(customers)) as browser:
        assert login(browser, "second@example.com").status_code == 303
        yield browser


def test_a_new_account_follows_the_system_before_the_first_paint(customers, admin_client):
    page = admin_client.get("/admin/").text
    assert theme_shown(page) == ("light", "auto")
    head = page.split("</head>")[0]
    script = re.search(r'<script nonce="[^"]+">(.*?)</script>', head, re.S)
    assert script and "prefers-color-scheme: dark" in script.group(1), (
        "no script in <head> turns Auto dark on a dark system"
    )
    assert head.index("prefers-color-scheme") < head.index("stylesheet"), (
        "the Auto script runs after the stylesheets load: a light flash first"
    )
    with TestClient(create_app(customers)) as anonymous:
        signed_out = anonymous.get("/admin/login").text
    assert theme_shown(signed_out) == ("light", "auto"), "the sign-in page does not follow"


def test_a_chosen_theme_is_kept_on_the_account_and_shown_on_every_page(customers, admin_client):
    came_from = "http://testserver/admin/customer/list?page=2"
    answer = set_theme(admin_client, "dark", referer=came_from)
    assert answer.status_code == 303 and answer.headers["location"] == came_from
    assert stored_theme(customers, "root@example.com") == "dark"
    for url in PAGES:
        assert theme_shown(admin_client.get(url).text) == ("dark", "dark"), url
    account = admin_client.get("/admin/account").text
    assert re.search(r'value="dark" checked', account), "My account does not show the choice"
    assert re.search(r'value="dark" aria-pressed="true"', account), "the menu does not show it"
    with TestClient(create_app(customers)) as elsewhere:
        assert login(elsewhere, "root@example.com").status_code == 303
        assert theme_shown(elsewhere.get("/admin/").text) == ("dark", "dark"), (
            "another browser does not get the account's theme"
        )


def test_a_script_gets_the_choice_back_and_a_stranger_page_is_not_a_way_back(admin_client):
    answer = set_theme(admin_client, "light", accept="application/json")
    assert answer.status_code == 200
    assert answer.json() == {"theme": "light", "label": "Light"}
    elsewhere = set_theme(admin_client, "dark", referer="https://evil.example/admin/")
    assert elsewhere.headers["location"] == "http://testserver/admin/account"


def test_a_theme_change_is_in_the_audit_log(customers, admin_client):
    set_theme(admin_client, "dark")
    set_theme(admin_client, "dark")  # no change: nothing to log
    rows = fetch(
        customers,
        "SELECT actor, changes FROM audit_entry WHERE action = 'update' AND model = 'admin_user'",
    )
    assert len(rows) == 1, f"expected one logged change, found {rows}"
    actor, changes = rows[0]
    assert actor == "root@example.com" and '"theme": ["auto", "dark"]' in str(changes).replace(
        "'", '"'
    )


@pytest.mark.parametrize("value", ["purple", "", "DARK"])
def test_an_unknown_theme_is_refused_and_nothing_changes(customers, admin_client, value):
    answer = set_theme(admin_client, value, accept="application/json")
    assert answer.status_code == 400
    assert answer.json() == {"error": "Choose a theme: Auto, Light or Dark."}
    page = set_theme(admin_client, value)
    assert page.status_code == 303
    assert "Choose a theme" in admin_client.get(page.headers["location"]).text
    assert stored_theme(customers, "root@example.com") == "auto"


def test_a_change_needs_the_csrf_token(customers, admin_client):
    token = csrf_token(admin_client)
    admin_client.cookies.delete(CSRF_COOKIE)
    refused = admin_client.post("/admin/account/theme", data={"theme": "dark", "csrftoken": token})
    assert refused.status_code == 403
    assert stored_theme(customers, "root@example.com") == "auto"


def test_signed_out_nobody_sets_a_theme(customers, client):
    answer = post_form(client, "/admin/account/theme", {"theme": "dark"}, follow_redirects=False)
    assert answer.status_code in (303, 401, 403)
    assert "/admin/login" in answer.headers.get("location", "/admin/login")


def test_a_kept_chrome_never_shows_another_viewers_theme_or_an_old_one(
    customers, admin_client, second
):
    """Two accounts with different themes take turns on the same kept pages; then one
    changes theme, and the very next page of each kind shows the new one."""
    set_theme(admin_client, "dark")
    for _ in range(2):
        for url in PAGES:
            assert theme_shown(admin_client.get(url).text)[0] == "dark", f"root, {url}"
            assert theme_shown(second.get(url).text)[0] == "light", f"second, {url}"
    set_theme(admin_client, "light")
    set_theme(second, "dark")
    for url in PAGES:
        assert theme_shown(admin_client.get(url).text) == ("light", "light"), f"root, {url}"
        assert theme_shown(second.get(url).text) == ("dark", "dark"), f"second, {url}"
