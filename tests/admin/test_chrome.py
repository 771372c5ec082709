"""List pages are a kept chrome with their content rendered per request
(admin_app/admin/chrome.py): a page must look exactly as a full render would, and
show the data, permissions, messages and tokens of its own moment."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from jinja2 import Template
from starlette.testclient import TestClient

from admin_app.admin.chrome import Chrome, ChromeCache, render_chrome, top_level
from admin_app.admin.lists import routes
from admin_app.admin.site import build_admin
from admin_app.main import create_app
from tests.admin.listing_helpers import (
    add_customers,
    customers,
    pagination_links,
    summary,
)
from tests.admin.listing_helpers import row_pks as row_pks_of
from tests.helpers import CSRF_COOKIE, create_admin, fetch, give_role, login, post_form

LIST = "/admin/customer/list"


def test_a_repeat_view_shows_the_rows_and_total_of_now(admin_client, settings):
    add_customers(settings, customers(30))
    first = admin_client.get(LIST).text
    assert "of 30 entries" in summary(first)
    add_customers(
        settings, [{"id": 31, "first_name": "Zed", "last_name": "New", "email": "z@e.com"}]
    )
    again = admin_client.get(LIST).text
    assert "of 31 entries" in summary(again)
    assert 'data-sa-pk="31"' in again and 'data-sa-pk="31"' not in first
    assert re.search(r"rowsTotal: 31\b", again), "the script's row total is stale"


def test_a_repeat_view_shows_each_row_as_it_is_now(admin_client, settings):
    add_customers(settings, customers(3))
    before = admin_client.get(LIST).text
    assert "person2@example.com" in before
    fetch(
        settings,
        "UPDATE customer SET email = 'renamed@example.com', is_active = false, "
        "city = 'Oslo' WHERE id = 2",
    )
    after = admin_client.get(LIST).text
    row_two = _row(after, 2)
    assert "renamed@example.com" in row_two and "Oslo" in row_two, "the edited row is stale"
    assert "person2@example.com" not in after
    assert "text-danger" in row_two and "text-danger" not in _row(before, 2), (
        "the row still shows the customer as active"
    )
    assert _row(after, 3) == _row(before, 3), "an unchanged row looks different"


def _row(page: str, pk: int) -> str:
    found = re.search(rf'<tr data-sa-pk="{pk}".*?</tr>', page, re.S)
    assert found, f"no row {pk} on the page"
    return found.group(0)


def test_a_permission_taken_away_shows_on_the_next_view(seeded, client):
    create_admin(seeded, "helper@example.com", superuser=False)
    give_role(seeded, "helper@example.com", "Support")
    assert login(client, "helper@example.com").status_code == 303

    def row_actions() -> set[str]:
        page = client.get("/admin/order/list").text
        return set(re.findall(r'data-sa-name="(\w+)"', page)) | (
            {"customers-in-menu"} if "/admin/customer/list" in page else set()
        )

    assert {"edit", "customers-in-menu"} <= row_actions()
    fetch(
        seeded,
        "DELETE FROM role_permission WHERE code IN ('order:edit', 'customer:view') "
        "AND role_id = (SELECT id FROM role WHERE name = 'Support')",
    )
    assert not {"edit", "customers-in-menu"} & row_actions()


def test_a_message_shows_once_on_a_list_seen_before(seeded, admin_client):
    for _ in range(2):
        plain = admin_client.get("/admin/product/list")
        assert "was added" not in plain.text
        assert "starlette_admin_flash" not in plain.headers.get("set-cookie", ""), (
            "a needless Set-Cookie"
        )
    category = fetch(seeded, "SELECT id FROM category ORDER BY id LIMIT 1")[0][0]
    form = {"name": "Shell Kettle", "sku": "KET-SHELL", "price": "9.90", "stock": "1"}
    created = post_form(
        admin_client,
        "/admin/product/create",
        {**form, "category": str(category)},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    after = admin_client.get("/admin/product/list")
    assert "Shell Kettle (KET-SHELL)&#34; was added successfully" in after.text
    assert 'starlette_admin_flash=""' in after.headers["set-cookie"], "the message is not cleared"
    assert "was added" not in admin_client.get("/admin/product/list").text


@pytest.mark.parametrize("url", [LIST, "/admin/customer/detail?pk=1", "/admin/customer/edit?pk=2"])
def test_every_page_carries_its_own_nonce_and_csrf_token(admin_client, settings, url):
    """A kept chrome (a list's, a record's) never carries another request's tokens."""
    add_customers(settings, customers(3))
    seen = set()
    for _ in range(3):
        admin_client.cookies.delete(CSRF_COOKIE)
        response = admin_client.get(url)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
        assert nonce is not None
        assert set(re.findall(r'<script nonce="([^"]+)"', response.text)) == {nonce.group(1)}
        token = admin_client.cookies[CSRF_COOKIE]
        inputs = set(re.findall(r'name="csrftoken" value="([^"]+)"', response.text))
        assert inputs == {token}, "the page's forms carry another request's CSRF token"
        seen.add((nonce.group(1), token))
    assert len(seen) == 3


def test_chromes_kept_are_bounded_and_the_least_recent_go_first():
    cache = ChromeCache(limit=2)
    template = Template("")
    for key in ("a", "b"):
        cache.put(key, Chrome((key,), template, {}, {}))
    assert cache.get("a") is not None  # now "b" is the least recently used
    cache.put("c", Chrome(("c",), template, {}, {}))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None


def test_new_urls_of_a_list_share_one_chrome_and_link_back_to_themselves(
    admin_client, settings, monkeypatch
):
    """Paging, searching and sorting render the page around the content once; each
    page's New button and row links still say which page to come back to."""
    add_customers(settings, customers(60))
    renders: list[str] = []

    def counted(request, *args, **kwargs):  # type: ignore[no-untyped-def]
        renders.append(str(request.url))
        return render_chrome(request, *args, **kwargs)

    monkeypatch.setattr(routes, "render_chrome", counted)
    first = admin_client.get(LIST).text
    second_url = pagination_links(first)["next"]
    last_url = pagination_links(first)["last"]
    assert second_url is not None and last_url is not None
    pages = {LIST: first, second_url: admin_client.get(second_url).text}
    for url in (last_url, f"{LIST}?q=person1", f"{LIST}?sort=email__desc&page_size=50"):
        pages[url] = admin_client.get(url).text
    assert len(renders) == 1, f"the chrome was rendered again for {renders[1:]}"
    for url, page in pages.items():
        origins = {
            parse_qs(urlsplit(unescape(href)).query)["_origin"][0]
            for href in re.findall(r'href="([^"]*_origin=[^"]*)"', page)
        }
        assert origins == {url}, f"links on {url} lead back to {origins}"
        assert "create?_origin=" in page, "the New button is missing"
    assert row_pks_of(pages[second_url]) and row_pks_of(pages[second_url]) != row_pks_of(first)


def _same_moment(html: str) -> str:
    """A page with its per-request tokens (CSP nonce, CSRF token) blanked."""
    html = re.sub(r'nonce="[^"]+"', 'nonce=""', html)
    return re.sub(r'name="csrftoken" value="[^"]+"', 'name="csrftoken" value=""', html)


def _kept_and_fresh(client, monkeypatch, url: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """`url` served from what earlier requests kept (the chrome from another URL, the
    content from another page of this one), and rendered in full with nothing kept."""
    joiner = "&" if "?" in url else "?"
    client.get(f"{url}{joiner}q=zzzz-not-there")
    client.get(f"{url}{joiner}page=2")
    kept = client.get(url)
    with monkeypatch.context() as patch:
        patch.setattr(ChromeCache, "get", lambda self, key: None)
        fresh = client.get(url)
    assert kept.status_code == fresh.status_code == 200, (url, kept.status_code)
    return _same_moment(kept.text), _same_moment(fresh.text)


def _signed_in(settings, email: str, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    create_admin(settings, email, superuser=False)
    give_role(settings, email, role)
    browser = TestClient(create_app(settings)).__enter__()
    assert login(browser, email).status_code == 303
    return browser


def test_every_list_from_a_kept_chrome_is_the_page_a_full_render_gives(
    seeded, admin_client, monkeypatch
):
    """For every registered view and for a superuser and a limited role: the list page
    served from a chrome kept at another URL, and a content block kept at another page,
    is byte for byte the full render."""
    helper = _signed_in(seeded, "helper@example.com", "Support")
    keys = [str(view.key) for view in build_admin(seeded).model_views]
    checked = 0
    for who, browser in (("superuser", admin_client), ("Support", helper)):
        for key in keys:
            url = f"/admin/{key}/list?sort=id__desc"
            if browser.get(url).status_code != 200:
                continue  # a view this role may not open
            kept, fresh = _kept_and_fresh(browser, monkeypatch, url)
            assert kept == fresh, f"{who}: /admin/{key}/list differs when its chrome is kept"
            # A search shares its content block with every other search for a plain term.
            browser.get(f"{url}&q=x1.y")
            kept, fresh = _kept_and_fresh(browser, monkeypatch, f"{url}&q=person1")
            assert kept == fresh, f"{who}: /admin/{key}/list?q= differs when its content is kept"
            assert 'value="person1"' in kept, f"{who}: the search box lost its term"
            # The list framed in a record's page (a relation manager) is kept apart.
            browser.get(url)
            framed = browser.get(f"{url}&frame=1").text
            with monkeypatch.context() as patch:
                patch.setattr(ChromeCache, "get", lambda self, key: None)
                fresh = browser.get(f"{url}&frame=1").text
            assert _same_moment(framed) == _same_moment(fresh), f"{who}: framed {key} differs"
            assert 'class="in-frame"' in framed and "navbar-vertical" not in framed
            checked += 1
    helper.__exit__(None, None, None)
    assert checked >= len(keys) + 2, "the limited role saw almost nothing: the test proves little"


def test_every_list_content_kept_for_one_user_is_the_page_another_gets_in_full(seeded, monkeypatch):
    """A list's `content` block is kept for everyone with the same permissions. For every
    registered view, in one app: a Support account's page after a superuser's visit, and
    a second Support account's page served the block the first one's visit kept, are
    byte for byte what a full render gives each (its own account, actions, menu and
    tokens)."""
    accounts = {
        "boss@example.com": ("Cy Boss", None),
        "first@example.com": ("Ada First", "Support"),
        "second@example.com": ("Bea Second", "Support"),
    }
    jars = {}
    with TestClient(create_app(seeded)) as browser:
        for email, (name, role) in accounts.items():
            create_admin(seeded, email, superuser=role is None, full_name=name)
            if role is not None:
                give_role(seeded, email, role)
            browser.cookies.clear()
            assert login(browser, email).status_code == 303
            jars[email] = dict(browser.cookies)

        def as_user(email: str, url: str, *, kept: bool = True) -> str:
            browser.cookies.clear()
            browser.cookies.update(jars[email])
            with monkeypatch.context() as patch:
                if not kept:
                    patch.setattr(ChromeCache, "get", lambda self, key: None)
                page = browser.get(url)
            assert page.status_code == 200, (email, url, page.status_code)
            assert accounts[email][0] in page.text, f"{url} shows another account"
            return _same_moment(page.text)

        checked = 0
        for key in [str(view.key) for view in build_admin(seeded).model_views]:
            for url in (f"/admin/{key}/list?sort=id__desc", f"/admin/{key}/list?q=person1"):
                browser.cookies.clear()
                browser.cookies.update(jars["first@example.com"])
                if browser.get(f"/admin/{key}/list?sort=id").status_code != 200:
                    continue  # a view this role may not open
                as_user("boss@example.com", url)  # kept for a superuser's permissions
                assert as_user("first@example.com", url) == as_user(
                    "first@example.com", url, kept=False
                ), f"{url}: a Support account got a superuser's list"
                as_user("second@example.com", f"/admin/{key}/list?sort=id")  # its own chrome
                blocks: list[str] = []
                with monkeypatch.context() as patch:
                    patch.setattr(
                        Chrome, "block", lambda self, name, ctx, seen=blocks: seen.append(name)
                    )
                    kept = as_user("second@example.com", url)
                assert blocks == [], f"{url}: the block the first account kept was not shared"
                assert kept == as_user("second@example.com", url, kept=False), f"{url} differs"
                checked += 1
    assert checked >= 4, "the role saw almost no list: the test proves little"


def test_a_new_filter_choice_shows_at_once(admin_client, settings, monkeypatch):
    """A filter whose choices are loaded per request (`choices_loader`) shows a choice
    added since the last view; fixed choices may be kept."""
    from admin_app.admin.views.customer import CustomerView

    add_customers(settings, customers(2))
    choices = [("FR", "France")]
    field = next(f for f in CustomerView.fields if getattr(f, "name", None) == "country")
    monkeypatch.setattr(field, "choices_loader", lambda request: list(choices), raising=False)
    monkeypatch.setattr(field, "choices", None, raising=False)
    # The country field keeps each locale's names; this one asks its loader every time.
    monkeypatch.setattr(field, "_get_choices", lambda request: list(choices), raising=False)
    assert "Atlantis" not in admin_client.get(LIST).text
    choices.append(("AT", "Atlantis"))
    assert "Atlantis" in admin_client.get(LIST).text, "the filter builder shows old choices"


def test_a_kept_pages_links_are_built_from_its_own_url(seeded, admin_client):
    """Macros imported `with context` are bound to each request, not to the one that
    rendered the chrome: a filtered list's Reset link does not carry an earlier search."""
    sku = fetch(seeded, "SELECT sku FROM product WHERE id = 2")[0][0]
    fetch(seeded, "UPDATE product SET category_id = NULL WHERE id = 1")
    assert sku in admin_client.get("/admin/product/list", params={"q": sku}).text
    filtered = admin_client.get("/admin/product/list", params={"filter": "category__is_null"})
    assert sku not in filtered.text, "a link on the page carries the search of the page before"


def test_every_page_template_runs_its_top_level_without_the_layout(settings):
    """A kept page renders its blocks after the template's top-level statements alone
    (`chrome.top_level`), not the whole layout around them: every template a view pages
    with has such a prelude, and it leaves the macros and names the blocks read."""
    admin = build_admin(settings)
    env = admin.templates.env
    names = {"list.html", "detail.html", "edit.html", "create.html"}
    for view in admin.model_views:
        names |= {view.list_template, view.detail_template, view.edit_template}
        names.add(view.create_template)
    for name in sorted(names):
        prelude = top_level(env.get_template(name))
        assert prelude is not None, f"{name}: the whole layout would run for every request"
    view = admin.model_views[0]
    ctx = env.get_template("list.html").new_context({"is_auth_enabled": False, "view": view})
    for _ in top_level(env.get_template("list.html")).root_render_func(ctx):  # type: ignore[union-attr]
        pass
    names_left = {"column_header", "pagination", "filter_bar", "macros", "inline_edit_enabled"}
    assert names_left <= set(ctx.vars), "the list's prelude left out the macros its blocks call"


def _filter_script(html: str) -> str:
    found = re.search(r'<script[^>]* src="([^"]*/filter-fields\.js\?v=\w+)"', html)
    assert found, "the list page does not load its filter fields"
    assert "window.adminFilterFields" in html and '"filters": [' not in html, (
        "the filter builder's fields are still inline"
    )
    return unescape(found.group(1))


def test_the_filter_fields_come_in_a_script_kept_by_its_version(seeded, admin_client):
    """The filter builder's fields are a script of their own: a browser keeps it under
    its versioned URL, asks again under any other, and a viewer without the list gets
    none; a change in what the fields say gives a new version."""
    url = _filter_script(admin_client.get(LIST).text)
    script = admin_client.get(url)
    assert script.status_code == 200 and "immutable" in script.headers["cache-control"]
    assert script.text.startswith("window.adminFilterFields = [") and "First name" in script.text
    stale = admin_client.get(url.split("?")[0] + "?v=0")
    assert stale.text == script.text and "no-cache" in stale.headers["cache-control"]
    create_admin(seeded, "nobody@example.com", superuser=False)
    with TestClient(create_app(seeded)) as nobody:
        assert login(nobody, "nobody@example.com").status_code == 303
        assert nobody.get(LIST).status_code == 403
        assert nobody.get(url).status_code == 403, "a viewer without the list got its fields"
    product_url = _filter_script(admin_client.get("/admin/product/list").text)
    assert product_url.split("?v=")[1] != url.split("?v=")[1], "two lists share one version"
