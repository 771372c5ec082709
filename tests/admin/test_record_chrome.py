"""Detail, edit and create pages keep their chrome (admin_app/admin/chrome.py): a repeat
view must still show the record, permissions, choices, messages and tokens of its moment."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest

from admin_app.admin import chrome, record_fields
from admin_app.admin.chrome import RecordChromes
from admin_app.admin.site import build_admin
from tests.admin.listing_helpers import add_customers, capture_sql, customers
from tests.admin.markup_tokens import tokens
from tests.helpers import create_admin, fetch, give_role, login, post_form


@contextmanager
def chrome_renders() -> Iterator[list[str]]:
    """The URLs whose page chrome was rendered (not taken from the kept ones)."""
    renders: list[str] = []
    original = chrome.render_chrome

    def counted(request: Any, *args: Any) -> Any:
        renders.append(str(request.url))
        return original(request, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chrome, "render_chrome", counted)
        yield renders


def test_records_share_one_chrome_and_each_shows_its_own_values(admin_client, settings):
    add_customers(settings, customers(3))
    with chrome_renders() as renders:
        pages = {pk: admin_client.get(f"/admin/customer/detail?pk={pk}").text for pk in (1, 2, 3)}
        forms = {pk: admin_client.get(f"/admin/customer/edit?pk={pk}").text for pk in (1, 2, 3)}
    assert len(renders) == 2, f"the chrome was rendered again for {renders[2:]}"
    for pk in (1, 2, 3):
        assert f"person{pk}@example.com" in pages[pk] and f"person{pk}@example.com" in forms[pk]
        assert f"data-app-detail-pk='{pk}'" in pages[pk], "the row actions' script lost its key"
        assert f"edit?pk={pk}&amp;_origin=%2Fadmin%2Fcustomer%2Fdetail%3Fpk%3D{pk}" in pages[pk], (
            "the Edit button leads to another record, or back to another"
        )
        assert f"delete?pks={pk}&amp;" in pages[pk], "the Delete button names another record"
        assert f'action="http://testserver/admin/customer/edit?pk={pk}"' in forms[pk]
        others = {f"person{other}@example.com" for other in (1, 2, 3) if other != pk}
        assert not any(o in pages[pk] or o in forms[pk] for o in others), "another record leaked"


def test_the_kept_page_is_the_page_jinja_renders_whole(admin_client, settings, monkeypatch):
    """Chrome and blocks joined are the page the template renders in one go, but for the
    nonce and CSRF token: detail, edit, create."""
    add_customers(settings, customers(2))
    urls = ["/admin/customer/detail?pk=2", "/admin/customer/edit?pk=2", "/admin/customer/create"]
    # Opened from a page of the list, from another view's list, from outside (refused):
    # each is served by the chrome the first one kept, its way back filled in.
    origins = ["/admin/customer/list?page=2&sort=email__desc", "/admin/order/list?q=a&b=<c>"]
    origins += ["https://elsewhere.example/admin/customer/list", "/admin/customer/list?q=%22"]
    urls += [
        f"{url}{'&' if '?' in url else '?'}{urlencode({'_origin': o})}"
        for url in urls
        for o in origins
    ]
    with chrome_renders() as renders:
        kept = [admin_client.get(url).text for url in urls]
    assert len(renders) == 3, f"the chrome was rendered again for {renders[3:]}"

    def whole(self: RecordChromes, request: Any, view_key: str, name: str, **parts: Any) -> bytes:
        context = {**parts["chrome"], **parts["record"], "request": request}
        return self.env.get_template(name).render(context).encode()

    monkeypatch.setattr(RecordChromes, "render", whole)
    for url, page in zip(urls, kept, strict=True):
        assert _tokens_out(page) == _tokens_out(admin_client.get(url).text), url


def _tokens_out(page: str) -> str:
    page = re.sub(r'nonce="[^"]+"', 'nonce=""', page)
    return re.sub(r'name="csrftoken" value="[^"]+"', 'name="csrftoken" value=""', page)


def test_a_permission_taken_away_shows_on_the_next_detail_page(seeded, client):
    create_admin(seeded, "helper@example.com", superuser=False)
    give_role(seeded, "helper@example.com", "Support")
    assert login(client, "helper@example.com").status_code == 303
    order = fetch(seeded, "SELECT id FROM orders ORDER BY id LIMIT 1")[0][0]

    def seen() -> set[str]:
        page = client.get(f"/admin/order/detail?pk={order}").text
        found = set(re.findall(r'data-sa-name="(\w+)"', page))
        return found | ({"customers-in-menu"} if "/admin/customer/list" in page else set())

    assert {"edit", "customers-in-menu"} <= seen()
    fetch(
        seeded,
        "DELETE FROM role_permission WHERE code IN ('order:edit', 'customer:view') "
        "AND role_id = (SELECT id FROM role WHERE name = 'Support')",
    )
    assert not {"edit", "customers-in-menu"} & seen(), "the page kept the old permissions"
    assert client.get(f"/admin/order/edit?pk={order}").status_code == 403


def test_a_new_choice_shows_at_once_in_the_forms(seeded, admin_client):
    """A category added after a product form was seen is offered by the next one."""
    product = fetch(seeded, "SELECT id FROM product ORDER BY id LIMIT 1")[0][0]
    for url in ("/admin/product/create", f"/admin/product/edit?pk={product}"):
        assert "Garden Gnomes" not in admin_client.get(url).text
    fetch(seeded, "INSERT INTO category (name, slug) VALUES ('Garden Gnomes', 'garden-gnomes')")
    created = fetch(seeded, "SELECT id FROM category WHERE name = 'Garden Gnomes'")[0][0]
    lookup = admin_client.get("/admin/_api/category/relation-lookup?q=Gnomes").json()
    assert [item["id"] for item in lookup["items"]] == [created]
    new_record = admin_client.get(f"/admin/category/detail?pk={created}")
    assert new_record.status_code == 200 and "Garden Gnomes" in new_record.text


def test_a_message_shows_once_on_a_form_seen_before(seeded, admin_client):
    product = fetch(seeded, "SELECT id, name, sku, price, stock, category_id FROM product LIMIT 1")[
        0
    ]
    edit = f"/admin/product/edit?pk={product[0]}"
    assert "was changed" not in admin_client.get(edit).text
    form = {
        "name": product[1],
        "sku": product[2],
        "price": str(product[3]),
        "stock": str(product[4]),
        "category": str(product[5]),
        "_continue_editing": "",
    }
    saved = post_form(admin_client, edit, form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    after = admin_client.get(saved.headers["location"]).text
    assert "was changed successfully" in after
    assert "was changed" not in admin_client.get(edit).text, "the message showed twice"


def test_an_orders_pages_read_each_relation_once_whatever_its_lines(seeded, admin_client):
    """Detail and edit pages make one query per relation, not one per related row."""
    orders = fetch(
        seeded,
        "SELECT order_id, count(*) FROM order_line GROUP BY order_id ORDER BY count(*), order_id",
    )
    few, many = orders[0], orders[-1]
    assert many[1] >= 3 and many[1] > few[1], "the demo data has no order with several lines"
    for page in ("detail", "edit"):
        counts = []
        for order, _lines in (few, many):
            admin_client.get(f"/admin/order/{page}?pk={order}")  # warm: the login check etc.
            with capture_sql(seeded) as captured:
                assert admin_client.get(f"/admin/order/{page}?pk={order}").status_code == 200
            counts.append(len(captured.selects()))
            product_reads = [s for s in captured.selects() if "FROM product" in s]
            assert len(product_reads) <= 1, f"the {page} page read products one by one"
        assert 0 < counts[0] == counts[1], (
            f"the {page} page's queries grow with its lines: {counts}"
        )


def test_each_origin_gets_its_own_way_back(admin_client, settings):
    """A detail page reached from a searched list links back to that list; the chrome
    kept for one list is not shown for another."""
    add_customers(settings, customers(2))
    for q in ("Ann", "Bob"):
        origin = f"/admin/customer/list?q={q}"
        page = admin_client.get("/admin/customer/detail", params={"pk": 1, "_origin": origin})
        crumbs = re.findall(r'class="breadcrumb-item">\s*<a href="([^"]+)"', page.text)
        assert any(crumb.endswith(f"list?q={q}") for crumb in crumbs), crumbs


PAGES = ("detail", "edit")


def test_record_pages_drawn_from_the_registry_are_the_stock_pages(seeded, admin_client):
    """For every view with a record: its detail page, edit form and create form, with
    their fields drawn from the field-type registry (admin_app/admin/record_fields.py),
    are the pages starlette-admin's templates give, token for token."""
    drawn: list[str] = []
    detail_rows, form_body = record_fields.detail_rows, record_fields.form_body

    def counted(draw: Any) -> Any:
        def run(*args: Any) -> Any:
            result = draw(*args)
            drawn.extend([] if result is None else [draw.__name__])
            return result

        return run

    pages: list[tuple[str, str]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(record_fields, "detail_rows", counted(detail_rows))
        patch.setattr(record_fields, "form_body", counted(form_body))
        for view in build_admin(seeded).model_views:
            table = view.model.__table__
            keys = fetch(seeded, f"SELECT {view.pk_attr} FROM {table.name} LIMIT 1")
            urls = [f"/admin/{view.key}/create"]
            urls += [f"/admin/{view.key}/{page}?pk={pk}" for (pk,) in keys for page in PAGES]
            for url in urls:
                response = admin_client.get(url)
                if response.status_code == 200:
                    pages.append((url, response.text))
    assert {"detail_rows", "form_body"} <= set(drawn), "no page was drawn from the registry"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(record_fields, "detail_rows", lambda *args: None)
        patch.setattr(record_fields, "form_body", lambda *args: None)
        for url, page in pages:
            stock = admin_client.get(url).text
            assert tokens(_tokens_out(page)) == tokens(_tokens_out(stock)), url


def test_every_record_page_opened_from_a_list_is_the_page_jinja_renders_whole(
    seeded, admin_client, monkeypatch
):
    """For every view with a record: its detail, edit and create pages opened from a
    page of its list, served by the chrome kept when they were opened from elsewhere,
    are the page the template renders whole (the header's way back included)."""
    kept: list[tuple[str, str]] = []
    for view in build_admin(seeded).model_views:
        table = view.model.__table__
        keys = fetch(seeded, f"SELECT {view.pk_attr} FROM {table.name} LIMIT 1")
        pages = [f"/admin/{view.key}/create?"]
        pages += [f"/admin/{view.key}/{page}?pk={pk}&" for (pk,) in keys for page in PAGES]
        came_from = urlencode({"_origin": f"/admin/{view.key}/list?page=2&sort=id__desc"})
        for page in pages:
            if admin_client.get(f"{page}_origin=%2Fadmin%2Forder%2Flist").status_code != 200:
                continue  # no such page for this view
            response = admin_client.get(page + came_from)
            assert response.status_code == 200, page
            kept.append((page + came_from, response.text))

    def whole(self: RecordChromes, request: Any, view_key: str, name: str, **parts: Any) -> bytes:
        context = {**parts["chrome"], **parts["record"], "request": request}
        return self.env.get_template(name).render(context).encode()

    monkeypatch.setattr(RecordChromes, "render", whole)
    assert len(kept) > 20, "few record pages opened: the test proves little"
    for url, page in kept:
        assert _tokens_out(page) == _tokens_out(admin_client.get(url).text), url
