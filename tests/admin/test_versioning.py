"""No lost updates: a form saved from an old version overwrites nothing (409 with a conflict page)."""

from __future__ import annotations

import asyncio
import re

import httpx2
from starlette.testclient import TestClient

from tests.conftest import seed_small
from tests.helpers import PASSWORD, create_admin, csrf_token, fetch, login, post_form
from tests.server import running_server


def edit_form(page: str) -> dict[str, str]:
    version = re.search(r'name="_version" value="(\d+)"', page)
    assert version, "the edit form carries the row version"
    return {"_version": version.group(1)}


def product(seeded) -> tuple[int, str, str]:
    return fetch(seeded, "SELECT id, sku, name FROM product ORDER BY id LIMIT 1")[0]


def form(sku: str, **values: str) -> dict[str, str]:
    base = {
        "name": "x",
        "sku": sku,
        "price": "1.00",
        "stock": "1",
        "attributes": "{}",
        "description": "",
    }
    return {**base, **values}


def test_the_second_of_two_saves_from_the_same_version_gets_the_conflict_page(seeded, admin_client):
    pk, sku, _name = product(seeded)
    with TestClient(admin_client.app) as other:
        login(other, "root@example.com")
        mine = edit_form(admin_client.get(f"/admin/product/edit?pk={pk}").text)
        theirs = edit_form(other.get(f"/admin/product/edit?pk={pk}").text)
        first = post_form(
            other,
            f"/admin/product/edit?pk={pk}",
            {**form(sku, name="Their name", price="20.00"), **theirs},
            follow_redirects=False,
        )
        assert first.status_code == 303
    second = post_form(
        admin_client,
        f"/admin/product/edit?pk={pk}",
        {**form(sku, name="My name", price="30.00"), **mine},
    )
    assert second.status_code == 409
    page = second.text
    assert "Your changes were not saved" in page
    assert re.search(
        r"Name</th>\s*<td data-current>Their name</td>\s*<td data-submitted>My name</td>", page
    )
    name, price, version = fetch(
        seeded, "SELECT name, price, version FROM product WHERE id = :p", p=pk
    )[0]
    assert (name, float(price), version) == ("Their name", 20.0, 2), "nothing was overwritten"


def test_conflicts_answer_json_clients_in_json(seeded, admin_client):
    pk, sku, _ = product(seeded)
    fetch(seeded, "UPDATE product SET version = version + 1 WHERE id = :p", p=pk)
    response = admin_client.post(
        f"/admin/product/edit?pk={pk}",
        data={**form(sku), "_version": "1", "csrftoken": csrf_token(admin_client)},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"


def test_a_form_shown_again_with_errors_keeps_its_original_version(seeded, admin_client):
    pk, sku, _ = product(seeded)
    response = post_form(
        admin_client, f"/admin/product/edit?pk={pk}", {**form(sku, price="-3"), "_version": "1"}
    )
    assert response.status_code == 422
    assert 'name="_version" value="1"' in response.text


def test_saving_the_current_version_works_and_bumps_it(seeded, admin_client):
    pk, sku, _ = product(seeded)
    response = post_form(
        admin_client,
        f"/admin/product/edit?pk={pk}",
        {**form(sku, name="Fresh"), "_version": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert fetch(seeded, "SELECT version FROM product WHERE id = :p", p=pk)[0][0] == 2


def test_a_hundred_concurrent_edit_pairs_have_exactly_one_winner_each(pg_settings):
    seeded = seed_small(pg_settings)
    create_admin(seeded, "root@example.com")
    products = fetch(seeded, "SELECT id, sku FROM product ORDER BY id")
    while len(products) < 100:
        n = len(products)
        fetch(
            seeded,
            "INSERT INTO product (name, sku, price, stock, is_active, attributes, description, "
            "created_at, updated_at, version) VALUES ('p', :s, 1, 1, true, '{}', '', now(), now(), 1)",
            s=f"PAIR-{n}",
        )
        products = fetch(seeded, "SELECT id, sku FROM product ORDER BY id")
    products = products[:100]
    # Correctness under concurrency, not capacity: let requests wait for a connection.
    with running_server(seeded, DB_POOL_SIZE="20", DB_POOL_TIMEOUT="60") as base:
        outcomes = asyncio.run(_race(base, products))
    for (pk, _sku), (a, b) in zip(products, outcomes, strict=True):
        assert sorted((a, b)) == [303, 409], f"product {pk}: {a}, {b}"
    rows = {
        r[0]: (r[1], r[2])
        for r in fetch(
            seeded, "SELECT id, name, version FROM product WHERE id <= :m", m=products[-1][0]
        )
    }
    for (pk, _sku), (a, _b) in zip(products, outcomes, strict=True):
        name, version = rows[pk]
        assert version == 2, f"product {pk} was written twice or never"
        assert name == ("first" if a == 303 else "second"), f"product {pk} lost its winner's update"


async def _race(base: str, products: list[tuple[int, str]]) -> list[tuple[int, int]]:
    # No keep-alive: a slow, busy machine must not turn into reused-and-closed connections.
    limits = httpx2.Limits(max_connections=64, max_keepalive_connections=0)
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await client.get("/admin/login")
        token = client.cookies["starlette_admin_csrftoken"]
        response = await client.post(
            "/admin/login",
            data={"username": "root@example.com", "password": PASSWORD, "csrftoken": token},
        )
        assert response.status_code == 303
        await client.get("/admin/")  # a fresh CSRF token: login rotates it
        token = client.cookies["starlette_admin_csrftoken"]

        async def save(pk: int, sku: str, name: str) -> int:
            data = {**form(sku, name=name), "_version": "1", "csrftoken": token}
            return (await client.post(f"/admin/product/edit?pk={pk}", data=data)).status_code

        async def pair(pk: int, sku: str) -> tuple[int, int]:
            a, b = await asyncio.gather(save(pk, sku, "first"), save(pk, sku, "second"))
            return a, b

        return list(await asyncio.gather(*(pair(pk, sku) for pk, sku in products)))


def _conflict_rows(page: str) -> dict[str, tuple[str, str, bool]]:
    """The conflict page's table: label -> (saved now, yours, marked as differing)."""
    rows = re.findall(
        r'<tr class="([^"]*)">\s*<th scope="row">(.*?)</th>\s*'
        r"<td data-current>(.*?)</td>\s*<td data-submitted>(.*?)</td>",
        page,
        re.S,
    )
    return {label: (now, mine, "table-warning" in cls) for cls, label, now, mine in rows}


def _save_untouched_but(client, key: str, pk: int, page: str, **changes: str):
    from tests.forms import read_form

    form = read_form(page)
    return post_form(client, f"/admin/{key}/edit?pk={pk}", dict(form.with_values(changes)))


def test_the_conflict_page_marks_only_what_someone_changed(seeded, admin_client):
    from tests.admin.test_uploads import create_with_image, png_bytes

    assert create_with_image(admin_client, "beans.png", png_bytes(), "image/png").status_code == 303
    pk = fetch(seeded, "SELECT id FROM product WHERE image IS NOT NULL ORDER BY id DESC LIMIT 1")[
        0
    ][0]
    mine = admin_client.get(f"/admin/product/edit?pk={pk}").text
    with TestClient(admin_client.app) as other:
        login(other, "root@example.com")
        theirs = other.get(f"/admin/product/edit?pk={pk}").text
        first = _save_untouched_but(other, "product", pk, theirs, name="Their name")
        assert first.status_code in (200, 303), first.text[:300]
    second = _save_untouched_but(admin_client, "product", pk, mine, stock="7")
    assert second.status_code == 409
    rows = _conflict_rows(second.text)
    marked = {label for label, (_now, _mine, differs) in rows.items() if differs}
    assert marked == {"Name", "Stock"}, f"only the two changed fields are marked: {rows}"
    now, yours, _ = rows["Image"]
    assert now == yours and "{" not in now and now.endswith(".png"), (
        f"the image reads as its file name on both sides, not a dict: {rows['Image']}"
    )


def test_an_untouched_order_reads_the_same_on_both_sides_of_a_conflict(seeded, admin_client):
    pk = fetch(seeded, "SELECT id FROM orders ORDER BY id LIMIT 1")[0][0]
    mine = admin_client.get(f"/admin/order/edit?pk={pk}").text
    with TestClient(admin_client.app) as other:
        login(other, "root@example.com")
        theirs = other.get(f"/admin/order/edit?pk={pk}").text
        assert _save_untouched_but(other, "order", pk, theirs, notes="theirs").status_code in (
            200,
            303,
        )
    second = _save_untouched_but(admin_client, "order", pk, mine, notes="mine")
    assert second.status_code == 409
    rows = _conflict_rows(second.text)
    marked = {label for label, (_now, _mine, differs) in rows.items() if differs}
    assert marked == {"Notes"}, f"status, total and dates read the same on both sides: {rows}"
