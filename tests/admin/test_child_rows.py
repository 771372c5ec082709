"""An order's lines edited inside the order form: saved with the order as one, or not at all."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.testclient import TestClient

from tests.forms import Form, read_form
from tests.helpers import csrf_token, fetch

PREFIX = "inlines.order-line"


def an_order(settings: Any, lines: int = 2) -> int:
    """An order of the seeded store with at least `lines` lines."""
    rows = fetch(
        settings,
        "SELECT order_id FROM order_line GROUP BY order_id HAVING count(*) >= :n "
        "ORDER BY order_id LIMIT 1",
        n=lines,
    )
    assert rows, f"the seeded store has an order of {lines} lines"
    return int(rows[0][0])


def saved_lines(settings: Any, order: int) -> list[tuple[int, int, int, Decimal, int]]:
    """(id, product, quantity, unit price, position) of an order's lines, in their place."""
    rows = fetch(
        settings,
        "SELECT id, product_id, quantity, unit_price, position FROM order_line "
        "WHERE order_id = :o ORDER BY position, id",
        o=order,
    )
    return [(r[0], r[1], r[2], Decimal(str(r[3])).quantize(Decimal("0.01")), r[4]) for r in rows]


def order_total(settings: Any, order: int) -> Decimal:
    total = fetch(settings, "SELECT total FROM orders WHERE id = :o", o=order)[0][0]
    return Decimal(str(total)).quantize(Decimal("0.01"))


def edit_form(client: TestClient, order: int) -> Form:
    page = client.get(f"/admin/order/edit?pk={order}")
    assert page.status_code == 200, page.text[:500]
    return read_form(page.text)


def post_pairs(client: TestClient, url: str, pairs: list[tuple[str, str]], **kw: Any) -> Any:
    """Post form fields as a browser does (names may repeat), without following redirects."""
    headers = {"content-type": "application/x-www-form-urlencoded", **kw.pop("headers", {})}
    return client.post(url, content=urlencode(pairs), headers=headers, follow_redirects=False, **kw)


def submit(client: TestClient, order: int, pairs: list[tuple[str, str]], **kw: Any) -> Any:
    return post_pairs(client, f"/admin/order/edit?pk={order}", pairs, **kw)


def row_names(form: Form) -> dict[int, dict[str, str]]:
    """The form's line rows: index to {field: value}."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.submission():
        match = re.fullmatch(rf"{re.escape(PREFIX)}\.(\d+)\.(\w+)", name)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return rows


def with_changes(
    form: Form, changes: dict[str, str], drop: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    pairs = [(n, v) for n, v in form.submission() if n not in drop]
    seen = {n for n, _ in pairs}
    pairs = [(n, changes.get(n, v)) for n, v in pairs]
    pairs += [(n, v) for n, v in changes.items() if n not in seen]
    return pairs


def test_the_order_form_shows_its_lines_in_place_with_their_totals(seeded, admin_client):
    order = an_order(seeded)
    page = admin_client.get(f"/admin/order/edit?pk={order}").text
    lines = saved_lines(seeded, order)
    form = read_form(page)
    rows = row_names(form)
    assert [int(r["pk"]) for r in rows.values() if "pk" in r] == [line[0] for line in lines]
    total = sum((line[2] * line[3] for line in lines), Decimal(0))
    assert f'data-child-rows-total aria-live="polite">{total:.2f}<' in page


def products(settings: Any, count: int = 2) -> list[tuple[int, Decimal]]:
    rows = fetch(settings, "SELECT id, price FROM product ORDER BY id LIMIT :n", n=count)
    return [(int(r[0]), Decimal(str(r[1]))) for r in rows]


def test_without_script_a_form_edits_removes_reorders_and_adds_a_line(seeded, admin_client):
    order = an_order(seeded)
    before = saved_lines(seeded, order)
    form = edit_form(admin_client, order)
    rows = row_names(form)
    kept, gone = [i for i, r in rows.items() if "pk" in r][:2]
    blank = next(i for i, r in rows.items() if "pk" not in r)
    assert not any(rows[blank].get(f) for f in ("product", "quantity", "unit_price")), (
        "the form offers one blank line to fill in"
    )
    blank_select = form.control(f"{PREFIX}.{blank}.product")
    product, _price = products(seeded)[1]
    assert str(product) in [v for v, _ in blank_select.options], "the blank line lists products"
    changes = {
        f"{PREFIX}.{kept}.quantity": "7",
        f"{PREFIX}.{kept}.position": "3",
        f"{PREFIX}.{gone}.DELETE": "1",
        f"{PREFIX}.{blank}.product": str(product),
        f"{PREFIX}.{blank}.quantity": "2",
        f"{PREFIX}.{blank}.unit_price": "4.50",
        f"{PREFIX}.{blank}.position": "1",
    }
    response = submit(admin_client, order, with_changes(form, changes))
    assert response.status_code == 303, response.text[:2000]
    after = saved_lines(seeded, order)
    others = [
        line for line in before if line[0] not in (int(rows[kept]["pk"]), int(rows[gone]["pk"]))
    ]
    assert after[0][1:4] == (product, 2, Decimal("4.50")), "the new line is first, as placed"
    assert after[-1][0] == int(rows[kept]["pk"]) and after[-1][2] == 7, "the moved line is last"
    assert int(rows[gone]["pk"]) not in [line[0] for line in after], "the removed line is gone"
    assert len(after) == len(others) + 2
    assert [line[4] for line in after] == list(range(1, len(after) + 1)), "places are 1, 2, …"
    expected = sum((line[2] * line[3] for line in after), Decimal(0))
    assert order_total(seeded, order) == expected, "the order total is the sum of its lines"


def test_a_bad_line_is_reported_at_its_field_and_nothing_is_written(seeded, admin_client):
    order = an_order(seeded)
    before = saved_lines(seeded, order)
    total = order_total(seeded, order)
    form = edit_form(admin_client, order)
    rows = row_names(form)
    first, second = [i for i, r in rows.items() if "pk" in r][:2]
    changes = {
        "notes": "changed with the lines",
        f"{PREFIX}.{first}.quantity": "9",
        f"{PREFIX}.{second}.quantity": "0",
    }
    response = submit(admin_client, order, with_changes(form, changes))
    assert response.status_code == 422
    again = read_form(response.text)
    assert again.control(f"{PREFIX}.{first}.quantity").value == "9", "what was typed is kept"
    assert again.control(f"{PREFIX}.{second}.quantity").value == "0"
    error = re.search(
        rf'id="{re.escape(PREFIX)}\.{second}\.quantity-error">([^<]+)<', response.text
    )
    assert error, "the message is next to the bad line's quantity"
    assert again.control("_version").value == form.control("_version").value
    assert saved_lines(seeded, order) == before, "no line was written"
    assert order_total(seeded, order) == total
    notes = fetch(seeded, "SELECT notes FROM orders WHERE id = :o", o=order)[0][0]
    assert notes != "changed with the lines", "the order was not written either"


def test_a_line_naming_a_product_that_does_not_exist_is_refused_at_its_field(seeded, admin_client):
    order = an_order(seeded)
    before = saved_lines(seeded, order)
    form = edit_form(admin_client, order)
    first = next(i for i, r in row_names(form).items() if "pk" in r)
    response = submit(
        admin_client, order, with_changes(form, {f"{PREFIX}.{first}.product": "99999999"})
    )
    assert response.status_code == 422, response.text[:1000]
    assert f'id="{PREFIX}.{first}.product-error"' in response.text
    assert saved_lines(seeded, order) == before


def test_a_new_order_is_created_with_its_lines(seeded, admin_client):
    page = admin_client.get("/admin/order/create")
    form = read_form(page.text, having="customer")
    blank = next(iter(row_names(form)))
    (product, _price), (other, _) = products(seeded)
    customer = fetch(seeded, "SELECT id FROM customer ORDER BY id LIMIT 1")[0][0]
    pairs = with_changes(
        form,
        {
            "customer": str(customer),
            "status": "new",
            "placed_at": "2026-01-02T10:00",
            f"{PREFIX}.{blank}.product": str(product),
            f"{PREFIX}.{blank}.quantity": "3",
            f"{PREFIX}.{blank}.unit_price": "2.00",
            f"{PREFIX}.9.product": str(other),
            f"{PREFIX}.9.quantity": "1",
            f"{PREFIX}.9.unit_price": "0.50",
        },
    )
    response = post_pairs(admin_client, "/admin/order/create", pairs)
    assert response.status_code == 303, response.text[:2000]
    order = fetch(seeded, "SELECT max(id) FROM orders")[0][0]
    lines = saved_lines(seeded, order)
    assert [(line[1], line[2], line[4]) for line in lines] == [(product, 3, 1), (other, 1, 2)]
    assert order_total(seeded, order) == Decimal("6.50")


def test_a_form_cannot_edit_lines_of_another_order(seeded, admin_client):
    order = an_order(seeded)
    other = fetch(
        seeded, "SELECT id, quantity FROM order_line WHERE order_id <> :o LIMIT 1", o=order
    )[0]
    form = edit_form(admin_client, order)
    pairs = with_changes(
        form,
        {
            f"{PREFIX}.50.pk": str(other[0]),
            f"{PREFIX}.50.product": str(products(seeded)[0][0]),
            f"{PREFIX}.50.quantity": "99",
            f"{PREFIX}.50.unit_price": "1.00",
            f"{PREFIX}.50.version": "1",
        },
    )
    response = submit(admin_client, order, pairs)
    assert response.status_code == 409, "a line of another order is not this form's to change"
    assert (
        fetch(seeded, "SELECT quantity FROM order_line WHERE id = :i", i=other[0])[0][0] == other[1]
    )


def conflict_rows(page: str) -> list[tuple[str, str, str]]:
    """The conflict page's rows: (label, saved now, yours)."""
    found = re.findall(
        r'<th scope="row">([^<]*)</th>\s*<td data-current>([^<]*)</td>\s*'
        r"<td data-submitted>([^<]*)</td>",
        page,
    )
    return [(a.strip(), b.strip(), c.strip()) for a, b, c in found]


def someone_else(settings: Any, statement: str, **params: Any) -> None:
    fetch(settings, statement, **params)


def test_a_line_changed_removed_or_added_since_the_form_opened_gives_the_conflict_page(
    seeded, admin_client
):
    order = an_order(seeded, lines=3)
    first, second, third = (line[0] for line in saved_lines(seeded, order)[:3])
    form = edit_form(admin_client, order)
    rows = row_names(form)
    index = {int(r["pk"]): i for i, r in rows.items() if "pk" in r}
    someone_else(
        seeded, "UPDATE order_line SET quantity = 42, version = version + 1 WHERE id = :i", i=first
    )
    someone_else(seeded, "DELETE FROM order_line WHERE id = :i", i=second)
    product = products(seeded)[0][0]
    someone_else(
        seeded,
        "INSERT INTO order_line (order_id, product_id, quantity, unit_price, position, version) "
        "VALUES (:o, :p, 5, 1.25, 9, 1)",
        o=order,
        p=product,
    )
    added = fetch(seeded, "SELECT max(id) FROM order_line")[0][0]
    before = saved_lines(seeded, order)
    response = submit(
        admin_client,
        order,
        with_changes(form, {f"{PREFIX}.{index[third]}.quantity": "8", "notes": "mine"}),
    )
    assert response.status_code == 409, response.text[:1000]
    assert "Your changes were not saved" in response.text
    listed = {label: (now, mine) for label, now, mine in conflict_rows(response.text)}
    assert any(
        f"#{first})" in label and "Quantity: 42" in now for label, (now, _) in listed.items()
    ), listed
    assert any(
        f"#{second})" in label and now == "(removed by someone else)"
        for label, (now, _) in listed.items()
    ), listed
    assert any(
        f"#{added}" in label and mine == "(not in your form)" for label, (_, mine) in listed.items()
    ), listed
    assert not any(f"#{third})" in label for label in listed), "an unchanged line is not listed"
    assert saved_lines(seeded, order) == before, "nothing was written"
    assert fetch(seeded, "SELECT notes FROM orders WHERE id = :o", o=order)[0][0] != "mine"


def test_of_two_forms_saving_the_same_orders_lines_the_second_gets_the_conflict_page(
    seeded, admin_client
):
    order = an_order(seeded)
    mine = edit_form(admin_client, order)
    theirs = edit_form(admin_client, order)
    first = next(i for i, r in row_names(mine).items() if "pk" in r)
    name = f"{PREFIX}.{first}.quantity"
    assert submit(admin_client, order, with_changes(theirs, {name: "3"})).status_code == 303
    response = submit(admin_client, order, with_changes(mine, {name: "4"}))
    assert response.status_code == 409, "the first save moved the order's version on"
    pk = int(row_names(mine)[first]["pk"])
    listed = [row for row in conflict_rows(response.text) if f"(#{pk})" in row[0]]
    assert listed, "the conflict page lists the line that differs"
    assert "Quantity: 3" in listed[0][1] and "Quantity: 4" in listed[0][2], listed
    assert fetch(seeded, "SELECT quantity FROM order_line WHERE id = :i", i=pk)[0][0] == 3


def test_an_untouched_form_writes_nothing_and_logs_nothing(seeded, admin_client):
    order = an_order(seeded)
    version = fetch(seeded, "SELECT version FROM orders WHERE id = :o", o=order)[0][0]
    entries = fetch(seeded, "SELECT count(*) FROM audit_entry")[0][0]
    assert (
        submit(admin_client, order, edit_form(admin_client, order).submission()).status_code == 303
    )
    assert fetch(seeded, "SELECT version FROM orders WHERE id = :o", o=order)[0][0] == version
    assert fetch(seeded, "SELECT count(*) FROM audit_entry")[0][0] == entries


def revert(client: TestClient, entry: int) -> Any:
    return client.post(
        f"/admin/_api/audit-entry/row-action?name=revert&pk={entry}",
        headers={"X-CSRFToken": csrf_token(client)},
    )


def save_with_line_changes(settings: Any, client: TestClient, order: int) -> dict[str, Any]:
    """Change a line, remove a line, add a line and the notes in one save."""
    form = edit_form(client, order)
    rows = row_names(form)
    changed, removed = [i for i, r in rows.items() if "pk" in r][:2]
    blank = next(i for i, r in rows.items() if "pk" not in r)
    product = products(settings)[0][0]
    changes = {
        "notes": "one save",
        f"{PREFIX}.{changed}.quantity": "11",
        f"{PREFIX}.{removed}.DELETE": "1",
        f"{PREFIX}.{blank}.product": str(product),
        f"{PREFIX}.{blank}.quantity": "1",
        f"{PREFIX}.{blank}.unit_price": "3.00",
    }
    assert submit(client, order, with_changes(form, changes)).status_code == 303
    return {"changed": int(rows[changed]["pk"]), "removed": int(rows[removed]["pk"])}


def test_the_save_is_one_change_set_with_an_entry_per_row_and_reverts_as_one(seeded, admin_client):
    order = an_order(seeded)
    before = saved_lines(seeded, order)
    total, notes = (
        order_total(seeded, order),
        fetch(seeded, "SELECT notes FROM orders WHERE id = :o", o=order)[0][0],
    )
    last = fetch(seeded, "SELECT coalesce(max(id), 0) FROM audit_entry")[0][0]
    touched = save_with_line_changes(seeded, admin_client, order)
    logged = fetch(
        seeded,
        "SELECT id, action, model, object_pk, change_set FROM audit_entry WHERE id > :n ORDER BY id",
        n=last,
    )
    assert {row[4] for row in logged} != {""} and len({row[4] for row in logged}) == 1, (
        "every entry of the save carries the same change set"
    )
    kinds = {(row[1], row[2]) for row in logged}
    assert ("update", "orders") in kinds and ("delete", "order_line") in kinds
    assert ("create", "order_line") in kinds and ("update", "order_line") in kinds
    assert any(r[3] == str(touched["changed"]) and r[1] == "update" for r in logged)
    response = revert(admin_client, logged[0][0])
    assert response.status_code == 200, response.text
    assert saved_lines(seeded, order) == before, "the lines are as before the save"
    assert order_total(seeded, order) == total
    assert fetch(seeded, "SELECT notes FROM orders WHERE id = :o", o=order)[0][0] == notes
    reverts = fetch(
        seeded, "SELECT change_set FROM audit_entry WHERE action = 'revert' AND id > :n", n=last
    )
    assert reverts and len({r[0] for r in reverts}) == 1, "the revert is one change set too"


def test_a_change_set_is_not_reverted_when_a_row_changed_since(seeded, admin_client):
    order = an_order(seeded)
    last = fetch(seeded, "SELECT coalesce(max(id), 0) FROM audit_entry")[0][0]
    touched = save_with_line_changes(seeded, admin_client, order)
    after = saved_lines(seeded, order)
    someone_else(seeded, "UPDATE order_line SET quantity = 5 WHERE id = :i", i=touched["changed"])
    entry = fetch(seeded, "SELECT min(id) FROM audit_entry WHERE id > :n", n=last)[0][0]
    response = revert(admin_client, entry)
    assert response.status_code == 400, response.text
    assert "changed again" in response.text
    now = saved_lines(seeded, order)
    assert [line[0] for line in now] == [line[0] for line in after], "nothing was undone"


def test_a_line_added_on_its_own_goes_last_in_its_order(seeded, admin_client):
    order = an_order(seeded)
    last = saved_lines(seeded, order)[-1][4]
    product = products(seeded)[0][0]
    page = admin_client.get("/admin/order-line/create")
    form = read_form(page.text, having="quantity")
    pairs = with_changes(
        form,
        {"order": str(order), "product": str(product), "quantity": "2", "unit_price": "1.00"},
    )
    response = post_pairs(admin_client, "/admin/order-line/create", pairs)
    assert response.status_code == 303, response.text[:1000]
    assert saved_lines(seeded, order)[-1][1:] == (product, 2, Decimal("1.00"), last + 1)
