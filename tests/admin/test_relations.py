"""Relation managers: a record's related records, listed on its detail page in a frame.

Walked over the registry and the demo roles: every declared relation manager, for every
role, shows exactly the related rows of that record that the role's own list shows.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import inspect
from starlette.testclient import TestClient

from admin_app.admin.base import AppModelView
from admin_app.admin.filters import foreign_key_column
from admin_app.admin.registry import REGISTRY
from admin_app.admin.relations import RelationManagerError, resolve
from admin_app.admin.site import build_admin
from admin_app.demo.seed import DEMO_ROLES
from admin_app.models import Customer
from tests.helpers import create_admin, fetch, give_role, login

FRAME = re.compile(r'<iframe class="relation-frame" src="([^"]+)" title="([^"]+)"')
ROW_KEY = re.compile(r'<tr data-sa-pk="([^"]+)"')
ROLES = [None, *DEMO_ROLES]
"""None: a superuser; else a demo role's name."""


def _managed(settings) -> list[tuple[Any, Any]]:
    """(view, manager) for every relation manager of the registry."""
    admin = build_admin(settings)
    return [(v, m) for v in admin.model_views for m in getattr(v, "relations", ())]


def _sign_in(client: TestClient, settings, role: str | None) -> None:
    email = f"{(role or 'root').lower().replace(' ', '-')}@example.com"
    create_admin(settings, email, superuser=role is None)
    if role:
        give_role(settings, email, role)
    assert login(client, email).status_code == 303


def _keys(page: str) -> set[str]:
    return set(ROW_KEY.findall(page))


def _records_with_children(settings, view: Any, manager: Any) -> list[tuple[Any, int]]:
    """Parent keys with how many related rows each has (the busiest first, and one with none)."""
    child = manager.view.model.__table__.name
    column = foreign_key_column(manager.view.model, manager.back)
    parent = view.model.__table__.name
    return fetch(
        settings,
        f"SELECT p.id, count(c.id) FROM {parent} p LEFT JOIN {child} c "
        f"ON c.{column.name} = p.id GROUP BY p.id ORDER BY count(c.id) DESC, p.id LIMIT 3",
    )


def test_the_demo_declares_relation_managers(settings):
    pairs = {(str(v.key), m.relation) for v, m in _managed(settings)}
    assert {("customer", "orders"), ("category", "products")} <= pairs


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_in_a_frame_exactly_its_own_related_rows(seeded, client, role):
    _sign_in(client, seeded, role)
    for view, manager in _managed(seeded):
        for pk, _count in _records_with_children(seeded, view, manager):
            detail = client.get(f"/admin/{view.key}/detail?pk={pk}")
            if detail.status_code in (403, 404):
                continue  # the role may not open this record at all
            assert detail.status_code == 200, detail.text[:500]
            frames = [html.unescape(src) for src, _ in FRAME.findall(detail.text)]
            listed = client.get(f"/admin/{manager.view.key}/list")
            if listed.status_code == 403:
                assert not frames, f"{role} is shown {manager.label} it may not list"
                continue
            assert len(frames) == 1, f"{role}: no {manager.label} frame on {view.key} #{pk}"
            framed = client.get(frames[0])
            assert framed.status_code == 200, framed.text[:500]
            expected = _related_keys_the_role_lists(client, seeded, manager, pk)
            assert _keys(framed.text) == expected, (
                f"{role}: the {manager.label} frame of {view.key} #{pk} shows other rows "
                "than the role's own list of them"
            )


def _related_keys_the_role_lists(client, settings, manager, pk) -> set[str]:
    """The related rows of `pk` among those the role's own, unfiltered list shows (its
    row scope); the seeded store is small enough for one page of 100 to show them all."""
    column = foreign_key_column(manager.view.model, manager.back)
    table = manager.view.model.__table__.name
    rows = fetch(settings, f"SELECT id, {column.name} FROM {table}")
    assert len(rows) <= 100, "the seeded store fits one page of 100"
    visible = _keys(client.get(f"/admin/{manager.view.key}/list?page_size=100").text)
    return {str(key) for key, parent in rows if parent == pk} & visible


def test_a_frame_may_be_framed_by_our_pages_only_and_other_pages_not_at_all(seeded, client):
    _sign_in(client, seeded, None)
    customer = fetch(seeded, "SELECT customer_id FROM orders LIMIT 1")[0][0]
    detail = client.get(f"/admin/customer/detail?pk={customer}")
    assert detail.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in detail.headers["content-security-policy"]
    (src, title), *_ = FRAME.findall(detail.text)
    framed = client.get(html.unescape(src))
    assert framed.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in framed.headers["content-security-policy"]
    assert 'class="in-frame"' in framed.text, "the framed list has no menu or header"
    assert "navbar-vertical" not in framed.text
    assert title.startswith("Orders of "), "the frame is named for screen readers"
    whole = client.get(f"/admin/order/list?filter=customer__is={customer}")
    assert whole.headers["x-frame-options"] == "DENY", "only the framed form may be framed"


ODD_KEYS = ["abc", "99999999999999999999", "-1", "1.5", '"', "%00", "x" * 65, "", "2147483648"]


def test_a_relation_filter_with_any_value_answers_without_a_server_error(seeded, admin_client):
    for value in ODD_KEYS:
        response = admin_client.get("/admin/order/list", params={"filter": f"customer__is={value}"})
        assert response.status_code in (200, 400), f"{value!r}: {response.text[:500]}"
        if response.status_code == 200:
            assert not _keys(response.text), f"customer__is={value!r} matched orders"


def test_the_relation_filter_narrows_the_list_export_and_select_all(seeded, admin_client):
    customer, count = fetch(
        seeded,
        "SELECT customer_id, count(*) FROM orders GROUP BY customer_id ORDER BY 2 DESC LIMIT 1",
    )[0]
    listed = admin_client.get(f"/admin/order/list?filter=customer__is={customer}&page_size=100")
    ids = {
        str(r[0]) for r in fetch(seeded, f"SELECT id FROM orders WHERE customer_id = {customer}")
    }
    assert _keys(listed.text) == ids and len(ids) == count


def test_add_opens_the_create_form_with_the_record_chosen(seeded, admin_client):
    customer = fetch(seeded, "SELECT id FROM customer ORDER BY id LIMIT 1")[0][0]
    detail = admin_client.get(f"/admin/customer/detail?pk={customer}").text
    add = re.search(r'href="([^"]+)"[^>]*><i[^>]*></i>Add order', detail)
    assert add, "a superuser is offered Add order on a customer"
    url = html.unescape(add.group(1))
    assert dict(parse_qsl(urlsplit(url).query)) == {
        "customer": str(customer),
        "_origin": f"/admin/customer/detail?pk={customer}",
    }, "the form chooses the customer and returns to the customer's page"
    form = admin_client.get(url)
    assert form.status_code == 200
    chosen = re.search(r'<select[^>]*name="customer"[^>]*>.*?</select>', form.text, re.S)
    assert chosen and f'data-initial="[{customer}]"' in chosen.group(0), "customer not chosen"
    for bad in ("abc", "99999999999999999999", ""):
        assert admin_client.get(f"/admin/order/create?customer={bad}").status_code == 200


def test_a_role_without_the_related_list_sees_no_frame(seeded, client):
    create_admin(seeded, "cat@example.com", superuser=False)
    give_role(seeded, "cat@example.com", "Catalogue editor")
    assert login(client, "cat@example.com").status_code == 303
    category = fetch(seeded, "SELECT id FROM category LIMIT 1")[0][0]
    page = client.get(f"/admin/category/detail?pk={category}").text
    assert FRAME.search(page), "the catalogue editor sees a category's products"
    customer_page = client.get("/admin/customer/detail?pk=1")
    assert customer_page.status_code == 403


class _Broken(AppModelView):
    model = Customer
    key = "broken"
    fields = []


@pytest.mark.parametrize(
    ("relation", "message"),
    [
        ("first_name", "must be a to-many relation"),
        ("nothing", "must be a to-many relation"),
    ],
)
def test_a_relation_manager_that_cannot_work_is_refused_at_start_up(relation, message):
    view = _Broken()
    view.relation_managers = (relation,)
    with pytest.raises(RelationManagerError, match=message):
        resolve([view])


def test_a_relation_manager_needs_the_related_view_registered():
    view = _Broken()
    view.relation_managers = ("orders",)
    with pytest.raises(RelationManagerError, match="register a view"):
        resolve([view])


def test_every_declared_relation_manager_filters_on_an_indexed_foreign_key():
    for view_class in REGISTRY:
        for name in view_class.relation_managers:
            prop = inspect(view_class.model).relationships[name]
            column = foreign_key_column(prop.mapper.class_, prop.back_populates)
            assert column is not None
            indexed = any(list(index.columns)[:1] == [column] for index in column.table.indexes)
            assert indexed, f"{column} has no index leading with it: frames would scan"
