"""Bulk edit: set fields on many rows, previewed, applied in batches, undone as one change set."""

from __future__ import annotations

import asyncio
import re
from html import unescape

import pytest
from starlette.testclient import TestClient

from admin_app.admin import bulk_edit_pages
from admin_app.bulk_edit import apply as applying
from admin_app.bulk_edit.runs import read_state
from admin_app.live.messages import Change
from admin_app.live.service import LiveService
from admin_app.main import create_app
from tests.bulk_edit.helpers import (
    apply,
    change_set_entries,
    count_shown,
    open_form,
    post_pairs,
    preview,
    revert,
    sample_rows,
    skipped,
    the_form,
    token_of,
)
from tests.forms import read_form
from tests.helpers import (
    create_admin,
    fetch,
    give_role,
    login,
    make_role,
    post_form,
    wait_until,
)


def products(settings, limit: int = 50) -> list[tuple[int, int, int]]:
    """(id, stock, version) of the first products."""
    rows = fetch(settings, "SELECT id, stock, version FROM product ORDER BY id LIMIT :n", n=limit)
    return [tuple(r) for r in rows]


def stock_of(settings, pks) -> dict[int, int]:
    rows = fetch(settings, "SELECT id, stock FROM product ORDER BY id")
    return {r[0]: r[1] for r in rows if r[0] in set(pks)}


def test_the_preview_counts_the_rows_and_shows_them_before_and_after_writing_nothing(
    seeded, admin_client
):
    chosen = [p for p in products(seeded) if p[1] != 9137][:3]
    fetch(seeded, "UPDATE product SET stock = 9137 WHERE id = :p", p=chosen[0][0])
    entries = fetch(seeded, "SELECT count(*) FROM audit_entry")[0][0]
    page = preview(admin_client, "product", {"stock": "9137"}, pks=[p[0] for p in chosen])
    assert page.status_code == 200 and "/bulk-edit/" in str(page.url), page.text[:500]
    assert count_shown(page) == 2, "the row already at 9137 must not count as changing"
    assert 'data-bulk-unchanged="1"' in page.text
    rows = sample_rows(page)
    assert len(rows) == 2 and all(row[-1] == "9137" for row in rows), rows
    before = {p[0]: p[1] for p in chosen[1:]}
    assert sorted(int(row[1]) for row in rows) == sorted(before.values()), rows
    assert stock_of(seeded, before) == before, "the preview wrote something"
    assert fetch(seeded, "SELECT count(*) FROM audit_entry")[0][0] == entries


def test_every_matching_row_of_the_list_is_previewed_not_only_the_page(seeded, admin_client):
    french = "SELECT id, city FROM customer WHERE country = 'FR' AND deleted_at IS NULL"
    rows = fetch(seeded, french)
    query = "?filter=country__eq%3DFR&page_size=25"
    assert admin_client.get(f"/admin/customer/list{query}").status_code == 200
    page = preview(admin_client, "customer", {"city": "Lyon"}, pks=None, list_query=query)
    unchanged = int(re.search(r'data-bulk-unchanged="(\d+)"', page.text)[1])
    assert count_shown(page) + unchanged == len(rows), "every row the filter matches"
    assert unchanged == sum(1 for r in rows if r[1] == "Lyon")
    assert apply(admin_client, "customer", token_of(page)).status_code == 200
    assert {r[1] for r in fetch(seeded, french)} == {"Lyon"}
    others = fetch(seeded, "SELECT count(*) FROM customer WHERE country <> 'FR' AND city = 'Lyon'")
    assert others[0][0] == 0, "a customer outside the filter was changed"


def test_applying_changes_each_row_once_in_one_change_set_with_an_entry_per_row(
    seeded, admin_client
):
    chosen = [p for p in products(seeded) if p[1] != 42][:5]
    page = preview(admin_client, "product", {"stock": "42"}, pks=[p[0] for p in chosen])
    done = apply(admin_client, "product", token_of(page))
    assert done.status_code == 200 and 'data-status="done"' in done.text, done.text[:500]
    assert 'data-bulk-changed="5"' in done.text
    assert set(stock_of(seeded, [p[0] for p in chosen]).values()) == {42}
    versions = fetch(seeded, "SELECT id, version FROM product ORDER BY id")
    assert {v for k, v in versions if k in {p[0] for p in chosen}} == {chosen[0][2] + 1}
    sets = change_set_entries(seeded, "product")
    assert len(sets) == 1, "one bulk edit must be one change set"
    entries = next(iter(sets.values()))
    assert sorted(int(e[2]) for e in entries) == sorted(p[0] for p in chosen)
    assert {e[3] for e in entries} == {"update"}
    again = apply(admin_client, "product", token_of(page))
    assert 'data-status="done"' in again.text
    assert len(next(iter(change_set_entries(seeded, "product").values()))) == 5, (
        "posting the apply twice must not apply it twice"
    )


def test_a_value_the_edit_form_refuses_is_refused_at_the_field_with_its_message(
    seeded, admin_client
):
    product = products(seeded)[0][0]
    edit = admin_client.get(f"/admin/product/edit?pk={product}")
    form = read_form(edit.text)
    refused_edit = post_pairs(
        admin_client, f"/admin/product/edit?pk={product}", form.with_values({"stock": "-5"})
    )
    message = re.search(r'id="stock-error"[^>]*>(.*?)<', refused_edit.text, re.S)
    assert message, "the edit form shows no error at the stock field"
    page = preview(admin_client, "product", {"stock": "-5"}, pks=[product])
    assert page.status_code == 400, "a refused value must not reach the preview"
    ours = re.search(r'id="stock-error"[^>]*>(.*?)<', page.text, re.S)
    assert ours and unescape(ours.group(1)).strip() == unescape(message.group(1)).strip()


def test_a_role_that_may_not_edit_sees_no_bulk_edit_and_is_refused(seeded, client):
    create_admin(seeded, "support@example.com", superuser=False)
    give_role(seeded, "support@example.com", "Support")
    login(client, "support@example.com")
    listing = client.get("/admin/product/list")
    assert listing.status_code == 200
    assert 'data-sa-name="bulk_edit"' not in listing.text, "Support may not edit products"
    assert 'data-sa-name="bulk_edit"' in client.get("/admin/order/list").text, (
        "Support may edit orders, so their list offers Bulk edit"
    )
    product = products(seeded)[0][0]
    assert client.get(f"/admin/product/bulk-edit?pks={product}").status_code == 403
    refused = post_form(
        client, "/admin/product/bulk-edit", {"pks": product, "fields": "stock", "stock": "1"}
    )
    assert refused.status_code == 403
    assert open_form(client, "product", pks=[product]).status_code == 400


def test_a_protected_field_is_not_offered_and_refused_when_posted(seeded, client):
    create_admin(seeded, "editor@example.com", superuser=False)
    give_role(seeded, "editor@example.com", "Catalogue editor")
    login(client, "editor@example.com")
    product, _stock, _version = products(seeded)[0]
    page = open_form(client, "product", pks=[product])
    offered = [c.value for c in the_form(page).controls if c.name == "fields"]
    assert "stock" in offered and "price" not in offered, offered
    price = fetch(seeded, "SELECT price FROM product WHERE id = :p", p=product)[0][0]
    refused = post_form(
        client, "/admin/product/bulk-edit", {"pks": product, "fields": "price", "price": "1.00"}
    )
    assert refused.status_code == 403, refused.text[:300]
    assert fetch(seeded, "SELECT price FROM product WHERE id = :p", p=product)[0][0] == price


def test_a_scoped_role_edits_only_the_rows_in_its_scope(seeded, client):
    make_role(seeded, "Orders France", ["order:view", "order:edit"], {"countries": ["FR"]})
    create_admin(seeded, "fr@example.com", superuser=False)
    give_role(seeded, "fr@example.com", "Orders France")
    login(client, "fr@example.com")
    french = fetch(
        seeded,
        "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id "
        "WHERE c.country = 'FR' AND o.deleted_at IS NULL",
    )
    others = fetch(
        seeded,
        "SELECT o.id, o.notes FROM orders o JOIN customer c ON c.id = o.customer_id "
        "WHERE c.country <> 'FR'",
    )
    assert french and others, "the demo store should have orders in and out of France"
    page = preview(client, "order", {"notes": "bulk noted"}, pks=None, list_query="")
    assert count_shown(page) == len(french), "rows outside the scope must not be counted"
    mixed = [*(o[0] for o in others[:3]), french[0][0]]
    picked = preview(client, "order", {"notes": "picked"}, pks=mixed)
    assert count_shown(picked) == 1, "only the French order of the selection may change"
    assert apply(client, "order", token_of(page)).status_code == 200
    notes = dict(fetch(seeded, "SELECT id, notes FROM orders"))
    assert all(notes[f[0]] == "bulk noted" for f in french)
    assert all(notes[o[0]] == o[1] for o in others), "an order outside the scope was changed"


def test_a_row_changed_since_the_preview_is_skipped_listed_and_kept(seeded, admin_client):
    chosen = [p for p in products(seeded) if p[1] != 77][:4]
    page = preview(admin_client, "product", {"stock": "77"}, pks=[p[0] for p in chosen])
    moved = chosen[1][0]
    fetch(seeded, "UPDATE product SET stock = 5, version = version + 1 WHERE id = :p", p=moved)
    done = apply(admin_client, "product", token_of(page))
    assert 'data-bulk-changed="3"' in done.text and 'data-bulk-skipped="1"' in done.text
    assert skipped(done) == {str(moved): applying.CHANGED}
    stocks = stock_of(seeded, [p[0] for p in chosen])
    assert stocks[moved] == 5, "someone else's change was overwritten"
    assert {v for k, v in stocks.items() if k != moved} == {77}


def test_set_wise_too_a_row_changed_since_the_preview_is_skipped_and_kept(seeded, admin_client):
    """Customers have no edit hooks: their batches are one UPDATE each, not a save per row."""
    chosen = [r[0] for r in fetch(seeded, "SELECT id FROM customer ORDER BY id LIMIT 4")]
    page = preview(admin_client, "customer", {"city": "Zurich"}, pks=chosen)
    moved = chosen[2]
    fetch(seeded, "UPDATE customer SET city = 'Bern', version = version + 1 WHERE id = :c", c=moved)
    done = apply(admin_client, "customer", token_of(page))
    assert 'data-bulk-changed="3"' in done.text and skipped(done) == {str(moved): applying.CHANGED}
    cities = dict(
        fetch(
            seeded,
            "SELECT id, city FROM customer WHERE id IN (:a, :b, :c, :d)",
            a=chosen[0],
            b=chosen[1],
            c=chosen[2],
            d=chosen[3],
        )
    )
    assert cities == {**{c: "Zurich" for c in chosen}, moved: "Bern"}
    logged = next(iter(change_set_entries(seeded, "customer").values()))
    assert sorted(int(e[2]) for e in logged) == sorted(c for c in chosen if c != moved)


def test_the_whole_edit_is_undone_from_the_audit_log(seeded, admin_client):
    chosen = [p for p in products(seeded) if p[1] != 55][:4]
    page = preview(admin_client, "product", {"stock": "55"}, pks=[p[0] for p in chosen])
    done = apply(admin_client, "product", token_of(page))
    undo = re.search(r'href="([^"]+)" data-bulk-undo', done.text)
    assert undo, "the result offers no undo"
    entry = int(unescape(undo.group(1)).split("pk=")[1])
    assert admin_client.get(unescape(undo.group(1))).status_code == 200
    reverted = revert(admin_client, entry)
    assert reverted.status_code == 200, reverted.text[:300]
    assert stock_of(seeded, [p[0] for p in chosen]) == {p[0]: p[1] for p in chosen}


def test_undo_is_refused_once_a_row_has_changed_again(seeded, admin_client):
    chosen = [p for p in products(seeded) if p[1] != 66][:3]
    page = preview(admin_client, "product", {"stock": "66"}, pks=[p[0] for p in chosen])
    apply(admin_client, "product", token_of(page))
    fetch(
        seeded, "UPDATE product SET stock = 1, version = version + 1 WHERE id = :p", p=chosen[0][0]
    )
    entry = next(iter(change_set_entries(seeded, "product").values()))[0][1]
    refused = revert(admin_client, entry)
    assert refused.status_code == 400 and "changed again" in refused.json()["msg"]
    stocks = stock_of(seeded, [p[0] for p in chosen])
    assert stocks[chosen[0][0]] == 1 and {stocks[p[0]] for p in chosen[1:]} == {66}, (
        "a refused undo must undo nothing"
    )


def test_a_large_edit_runs_in_the_background_in_batches_with_progress(
    seeded, admin_client, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(bulk_edit_pages, "INLINE_LIMIT", 2)
    monkeypatch.setattr(applying, "BATCH", 3)
    published: list[Change] = []
    monkeypatch.setattr(LiveService, "publish", lambda _live, change: published.append(change))
    chosen = [p for p in products(seeded) if p[1] != 88][:8]
    page = preview(admin_client, "product", {"stock": "88"}, pks=[p[0] for p in chosen])
    token = token_of(page)
    started = apply(admin_client, "product", token)
    assert started.status_code == 200 and "data-bulk-bar" in started.text
    status = f"/admin/product/bulk-edit/{token}/status"
    state = wait_until(
        lambda: (s := admin_client.get(status).json())["status"] == "done" and s, 30, "the edit"
    )
    assert (state["changed"], state["done"], state["total"]) == (8, 8, 8)
    assert set(stock_of(seeded, [p[0] for p in chosen]).values()) == {88}
    entries = next(iter(change_set_entries(seeded, "product").values()))
    assert len(entries) == 8, "three batches, still one change set"
    told = [sorted(map(int, c.pks)) for c in published if c.model == "product"]
    keys = sorted(p[0] for p in chosen)
    assert told == [keys[:3], keys[3:6], keys[6:]], "live listeners get one change per batch"


def test_someone_elses_plan_is_not_found(seeded, admin_client, client):
    chosen = products(seeded)[:2]
    page = preview(admin_client, "product", {"stock": "3"}, pks=[p[0] for p in chosen])
    token = token_of(page)
    create_admin(seeded, "editor@example.com", superuser=False)
    give_role(seeded, "editor@example.com", "Catalogue editor")
    with TestClient(admin_client.app) as other:
        login(other, "editor@example.com")
        assert other.get(f"/admin/product/bulk-edit/{token}").status_code == 404
        assert post_form(other, f"/admin/product/bulk-edit/{token}", {}).status_code == 404


def test_an_open_saved_view_is_bulk_edited_as_its_rows(seeded, admin_client):
    saved = post_form(
        admin_client,
        "/admin/_api/saved-views/customer",
        {"name": "DE", "query": "filter=country__eq=DE"},
    )
    assert saved.status_code in (200, 201), saved.text[:300]
    opened = admin_client.get(f"/admin/customer/list?view={saved.json()['id']}")
    assert opened.status_code == 200 and "filter=" in str(opened.url), opened.url
    german = fetch(seeded, "SELECT count(*) FROM customer WHERE country = 'DE'")[0][0]
    page = preview(
        admin_client,
        "customer",
        {"is_active": "on"},
        pks=None,
        list_query="?" + opened.url.query.decode(),
    )
    unchanged = int(re.search(r'data-bulk-unchanged="(\d+)"', page.text)[1])
    assert count_shown(page) + unchanged == german, "the view's rows, not the whole list"
    bare = preview(
        admin_client,
        "customer",
        {"is_active": "on"},
        pks=None,
        list_query=f"?view={saved.json()['id']}",
    )
    assert bare.status_code == 400 and "Open the saved view first" in bare.text


def test_an_edit_running_when_the_server_stops_says_so_at_once(seeded, monkeypatch):
    # A background edit of 8 rows in batches of 2, each batch slowed down so that the
    # server stops in the middle: the page must say "stopped" (not "running" for five
    # minutes), and what it says was written is what is in the table.
    monkeypatch.setattr(bulk_edit_pages, "INLINE_LIMIT", 2)
    monkeypatch.setattr(applying, "BATCH", 2)
    real_apply = applying.Applier.apply

    async def slow_apply(self, plan, step=None):
        async def slow_step(outcome, changed):
            await step(outcome, changed)
            await asyncio.sleep(0.5)

        return await real_apply(self, plan, slow_step)

    monkeypatch.setattr(applying.Applier, "apply", slow_apply)
    create_admin(seeded, "root@example.com")
    pks = [p[0] for p in products(seeded) if p[1] != 77][:8]
    with TestClient(create_app(seeded)) as client:
        login(client, "root@example.com")
        token = token_of(preview(client, "product", {"stock": "77"}, pks=pks))
        apply(client, "product", token)
        status = f"/admin/product/bulk-edit/{token}/status"
        wait_until(lambda: client.get(status).json()["done"] >= 2, 10, "a first batch")
    state = read_state(seeded, token)
    assert state is not None and state["status"] == "stopped", state
    assert "server stopped" in state["error"]
    assert 2 <= state["done"] < 8, "stopped in the middle"
    written = sum(stock == 77 for stock in stock_of(seeded, pks).values())
    assert written == state["changed"], "the page tells what was written"
