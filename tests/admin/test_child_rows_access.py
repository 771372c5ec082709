"""Who may change an order's lines in its form, and what any value typed into a line does.

Decision: the lines are part of the order. Editing them in the order form needs
`order:edit` and the order's row scope, not `order-line:edit` (the "Support" role edits
orders and only views lines on their own). A role that may not edit the order, or may
not see it, cannot change its lines by any form.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.admin.test_child_rows import (
    PREFIX,
    edit_form,
    products,
    row_names,
    saved_lines,
    submit,
    with_changes,
)
from tests.helpers import create_admin, fetch, give_role, login, make_role
from tests.values import NUMBERS, ODD_TEXT


def orders_by_country(settings, french: bool) -> int:
    rows = fetch(
        settings,
        "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id "
        f"WHERE c.country {'=' if french else '<>'} 'FR' "
        "AND EXISTS (SELECT 1 FROM order_line l WHERE l.order_id = o.id) ORDER BY o.id LIMIT 1",
    )
    assert rows, "the seeded store has such an order"
    return int(rows[0][0])


def signed_in(client: TestClient, settings, email: str, role: str) -> TestClient:
    create_admin(settings, email, superuser=False)
    give_role(settings, email, role)
    login(client, email)
    return client


def test_support_edits_an_orders_lines_without_order_line_edit(seeded, client):
    support = signed_in(client, seeded, "support@example.com", "Support")
    order = orders_by_country(seeded, french=True)
    form = edit_form(support, order)
    first = next(i for i, r in row_names(form).items() if "pk" in r)
    response = submit(support, order, with_changes(form, {f"{PREFIX}.{first}.quantity": "6"}))
    assert response.status_code == 303, response.text[:500]
    assert 6 in [line[2] for line in saved_lines(seeded, order)]


def test_a_scoped_editor_cannot_change_lines_of_an_order_outside_its_scope(seeded, client):
    make_role(seeded, "France editor", ["order:view", "order:edit"], {"countries": ["FR"]})
    editor = signed_in(client, seeded, "fr-edit@example.com", "France editor")
    french, other = orders_by_country(seeded, True), orders_by_country(seeded, False)
    assert editor.get(f"/admin/order/edit?pk={french}").status_code == 200
    assert editor.get(f"/admin/order/edit?pk={other}").status_code == 404
    before = saved_lines(seeded, other)
    line = before[0]
    forged = [
        ("csrftoken", edit_form(editor, french).control("csrftoken").value),
        (f"{PREFIX}.0.pk", str(line[0])),
        (f"{PREFIX}.0.product", str(line[1])),
        (f"{PREFIX}.0.quantity", "99"),
        (f"{PREFIX}.0.unit_price", "0.01"),
    ]
    assert submit(editor, other, forged).status_code == 404
    # The same line smuggled into the form of an order the editor may change.
    assert submit(editor, french, forged).status_code in (400, 409, 422)
    assert saved_lines(seeded, other) == before, "nothing of the other order changed"


def test_sales_france_cannot_change_lines_at_all(seeded, client):
    sales = signed_in(client, seeded, "fr@example.com", "Sales France")
    order = orders_by_country(seeded, french=True)
    before = saved_lines(seeded, order)
    assert sales.get(f"/admin/order/edit?pk={order}").status_code == 403
    assert submit(sales, order, [(f"{PREFIX}.0.quantity", "3")]).status_code == 403
    assert saved_lines(seeded, order) == before


FIELDS = {
    "product": (*ODD_TEXT[:12], *NUMBERS),
    "quantity": (*NUMBERS, *ODD_TEXT[:12]),
    "unit_price": (*NUMBERS, *ODD_TEXT[:12]),
    "position": (*NUMBERS, *ODD_TEXT[:12]),
}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_any_value_in_any_field_of_a_line_is_saved_or_refused_at_the_field(
    seeded, admin_client, field
):
    """Every odd value in each field of an existing line and of a new one: a save (303)
    or a message (422), never a 5xx, and a refused save writes nothing."""
    order = orders_by_country(seeded, french=True)
    product = products(seeded)[0][0]
    for value in FIELDS[field]:
        before = saved_lines(seeded, order)
        form = edit_form(admin_client, order)
        rows = row_names(form)
        kept = next(i for i, r in rows.items() if "pk" in r)
        new = {"product": str(product), "quantity": "1", "unit_price": "1.00", field: value}
        changes = {f"{PREFIX}.{kept}.{field}": value}
        changes |= {f"{PREFIX}.77.{name}": text for name, text in new.items()}
        response = submit(admin_client, order, with_changes(form, changes))
        assert response.status_code in (303, 422), (field, value[:40], response.status_code)
        if response.status_code == 422:
            assert saved_lines(seeded, order) == before, (field, value[:40], "half-written")
