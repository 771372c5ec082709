"""List pages are a kept shell with their rows filled in per request (admin_app/admin/chrome.py):
a repeat view must still show the data, permissions, messages and tokens of its own moment."""

from __future__ import annotations

import re
from html import unescape

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
    """Rows are kept by their values: a row changed since the last view is built again,
    and an unchanged one looks the same as before."""
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


def test_every_view_carries_its_own_nonce_and_csrf_token(admin_client, settings):
    add_customers(settings, customers(3))
    seen = set()
    for _ in range(3):
        admin_client.cookies.delete(CSRF_COOKIE)
        response = admin_client.get(LIST)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
        assert nonce is not None
        assert set(re.findall(r'<script nonce="([^"]+)"', response.text)) == {nonce.group(1)}
        token = admin_client.cookies[CSRF_COOKIE]
        inputs = set(re.findall(r'name="csrftoken" value="([^"]+)"', response.text))
        assert inputs == {token}, "the page's forms carry another request's CSRF token"
        seen.add((nonce.group(1), token))
    assert len(seen) == 3


def test_shells_kept_are_bounded_and_the_least_recent_go_first():
    from admin_app.admin.chrome import Shell, ShellCache

    cache = ShellCache(limit=2)
    for key in ("a", "b"):
        cache.put(key, Shell((key,), has_actions=False))
    assert cache.get("a") is not None  # now "b" is the least recently used
    cache.put("c", Shell(("c",), has_actions=False))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None


def test_the_pages_of_a_list_share_one_shell_and_link_back_to_themselves(
    admin_client, settings, monkeypatch
):
    """Paging with Next, Previous and Last renders the page around the rows once; each
    page's New button and row links still say which page to come back to."""
    from urllib.parse import parse_qs, urlsplit

    from admin_app.admin.list_routes import FastListRoutes

    add_customers(settings, customers(60))
    renders: list[str] = []
    original = FastListRoutes._render_shell

    async def counted(self, request, *args):  # type: ignore[no-untyped-def]
        renders.append(str(request.url))
        return await original(self, request, *args)

    monkeypatch.setattr(FastListRoutes, "_render_shell", counted)
    first = admin_client.get(LIST).text
    second_url = pagination_links(first)["next"]
    last_url = pagination_links(first)["last"]
    assert second_url is not None and last_url is not None
    second = admin_client.get(second_url).text
    last = admin_client.get(last_url).text
    back = admin_client.get(pagination_links(last)["prev"] or "").text
    assert len(renders) == 1, f"the shell was rendered again for {renders[1:]}"

    back_url = pagination_links(last)["prev"] or ""
    # `back` shows rows the second page showed too: each page's rows link to that page.
    assert set(row_pks_of(back)) & set(row_pks_of(second))
    for url, page in ((LIST, first), (second_url, second), (last_url, last), (back_url, back)):
        origins = {
            parse_qs(urlsplit(unescape(href)).query)["_origin"][0]
            for href in re.findall(r'href="([^"]*_origin=[^"]*)"', page)
        }
        assert origins == {url}, f"links on {url} lead back to {origins}"
        assert "create?_origin=" in page, "the New button is missing"
    assert row_pks_of(second) and row_pks_of(second) != row_pks_of(first)
    assert row_pks_of(back) != row_pks_of(last)


def test_a_repeat_view_keeps_the_urls_columns_and_order_without_reading_them_again(
    admin_client, settings, monkeypatch
):
    from admin_app.admin.views.customer import CustomerView

    add_customers(settings, customers(5))
    url = f"{LIST}?cols=id,email&sort=email__desc"
    parsed: list[str] = []
    parse = CustomerView._parse_list_params

    def counted(self, request, *args):
        parsed.append(request.url.query)
        return parse(self, request, *args)

    monkeypatch.setattr(CustomerView, "_parse_list_params", counted)
    pages = [admin_client.get(url).text for _ in range(2)]
    assert len(parsed) == 1, "a repeat view read its list parameters again"
    for page in pages:
        columns = re.findall(r'<td data-column="(\w+)"', page)
        assert set(columns) == {"id", "email"}
        emails = re.findall(r"mailto:([^\"]+)\"", page)
        assert emails == sorted(emails, reverse=True) and len(emails) == 5
    assert row_pks_of(pages[0]) == row_pks_of(pages[1])
