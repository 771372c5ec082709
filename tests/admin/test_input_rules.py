"""What a form takes: typed input read strictly, values that fit their column, untouched
values left alone (each a defect the registry-wide property test found)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.forms import read_form
from tests.helpers import fetch, post_form


def _edit(client: TestClient, key: str, pk: int, **changes: str):
    form = read_form(client.get(f"/admin/{key}/edit?pk={pk}").text)
    return post_form(
        client,
        f"/admin/{key}/edit?pk={pk}",
        dict(form.with_values(changes)),
        follow_redirects=False,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stock": "12.345"}, "Enter a whole number, such as 12 (no decimals)."),
        ({"stock": "lots"}, "Enter a whole number, such as 12."),
        ({"price": "12.345"}, "Use at most 2 decimal places."),
        ({"stock": ""}, "Enter a value."),
    ],
)
def test_a_number_the_column_cannot_hold_is_refused_and_the_old_value_kept(
    admin_client: TestClient, seeded, changes: dict[str, str], message: str
):
    pk, stock, price = fetch(seeded, "SELECT id, stock, price FROM product ORDER BY id LIMIT 1")[0]
    response = _edit(admin_client, "product", pk, **changes)
    assert response.status_code == 422, response.status_code
    assert message in response.text
    assert fetch(seeded, "SELECT stock, price FROM product WHERE id = :i", i=pk)[0] == (
        stock,
        price,
    )


def test_an_impossible_date_is_refused_not_cleared(admin_client: TestClient, seeded):
    pk, placed = fetch(seeded, "SELECT id, placed_at FROM orders ORDER BY id LIMIT 1")[0]
    response = _edit(admin_client, "order", pk, placed_at="2026-02-30T10:00")
    assert response.status_code == 422
    assert "Enter a real date and time" in response.text
    assert fetch(seeded, "SELECT placed_at FROM orders WHERE id = :i", i=pk)[0][0] == placed


def test_an_order_line_is_checked_like_any_field(admin_client: TestClient, seeded):
    pk = fetch(seeded, "SELECT order_id FROM order_line ORDER BY id LIMIT 1")[0][0]
    response = _edit(admin_client, "order", pk, **{"inlines.order-line.0.unit_price": "0.001"})
    assert response.status_code == 422
    assert "Use at most 2 decimal places." in response.text


def test_saving_only_the_notes_keeps_the_time_to_the_microsecond(admin_client: TestClient, seeded):
    from datetime import UTC, datetime

    from admin_app.models import Order
    from tests.helpers import update_rows

    update_rows(seeded, Order, placed_at=datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC))
    pk, before = fetch(seeded, "SELECT id, placed_at FROM orders ORDER BY id LIMIT 1")[0]
    audit = fetch(seeded, "SELECT count(*) FROM audit_entry")[0][0]
    assert _edit(admin_client, "order", pk).status_code == 303, "the untouched form saves"
    assert fetch(seeded, "SELECT placed_at FROM orders WHERE id = :i", i=pk)[0][0] == before
    assert fetch(seeded, "SELECT count(*) FROM audit_entry")[0][0] == audit, "nothing to log"
    assert _edit(admin_client, "order", pk, notes="Call first").status_code == 303
    assert fetch(seeded, "SELECT placed_at FROM orders WHERE id = :i", i=pk)[0][0] == before


def test_single_line_text_loses_surrounding_spaces_a_textarea_keeps_its_lines(
    admin_client: TestClient, seeded
):
    pk = fetch(seeded, "SELECT id FROM product ORDER BY id LIMIT 1")[0][0]
    response = _edit(admin_client, "product", pk, name="  Beans  ", description="a\n  b\n")
    assert response.status_code == 303
    assert fetch(seeded, "SELECT name, description FROM product WHERE id = :i", i=pk)[0] == (
        "Beans",
        "a\n  b\n",
    )
