"""A customer's orders on the customer's page (a relation manager, admin_app/admin/relations.py):
the orders list in a frame that sorts in place, opens an order in the page itself, and
adds an order with the customer already chosen."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import ConsoleWatch, Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SUPPORT_EMAIL
from tests.e2e.screens import Accessibility
from tests.helpers import PASSWORD


def _open_customer_with_orders(page: Page, email: str) -> str:
    """Sign in as `email` and open the page of a customer who has orders (found through
    the order list); its URL."""
    page.goto("/admin/login")
    log_in(page, email, PASSWORD)
    page.goto("/admin/order/list")
    link = page.locator("tbody tr[data-sa-pk] td[data-column=customer] a").first
    url = str(link.get_attribute("href")).split("&")[0]
    page.goto(url)
    return url


def test_a_customers_orders_sort_in_place_and_open_in_the_page(
    page: Page, shots: Screenshots
) -> None:
    _open_customer_with_orders(page, ROOT_EMAIL)
    section = page.get_by_role("region", name="Orders")
    expect(section).to_be_visible()
    frame = page.frame_locator("iframe.relation-frame")
    rows = frame.locator("tbody tr[data-sa-pk]")
    expect(rows.first).to_be_visible()
    height = page.locator("iframe.relation-frame").bounding_box()
    assert height and height["height"] > 150, "the frame is as tall as its list"
    shots.take(page, "a customer with their orders")
    assert not Accessibility().violations(page), "the detail page with its orders frame"

    before = page.url
    frame.get_by_role("link", name="Total").first.click()
    expect(frame.locator("thead")).to_be_visible()
    expect(frame.locator("body")).to_have_class("in-frame")
    assert page.url == before, "sorting the orders left the customer's page"

    order_link = frame.locator("tbody tr[data-sa-pk] a[href*='/admin/order/detail']").first
    with next_page(page):
        order_link.click()
    assert "/admin/order/detail" in page.url, "an order opens in the page, not in the frame"
    origin = parse_qs(urlsplit(page.url).query).get("_origin", [""])[0]
    assert origin.startswith("/admin/customer/detail"), f"it returns to {origin!r}"
    expect(page.locator("aside.navbar-vertical")).to_be_visible()


def test_add_order_in_a_dialog_with_the_customer_chosen(page: Page, shots: Screenshots) -> None:
    customer_url = _open_customer_with_orders(page, ROOT_EMAIL)
    orders = page.frame_locator("iframe.relation-frame").locator("tbody tr[data-sa-pk]")
    expect(orders.first).to_be_visible()
    count = orders.count()
    page.get_by_role("link", name="Add order").click()
    dialog = page.get_by_role("dialog", name="Add order")
    expect(dialog).to_be_visible()
    form = page.frame_locator("iframe.relation-dialog-frame")
    expect(form.locator("select#customer + .select2 [role=textbox]")).not_to_be_empty()
    form.get_by_label("Placed At").fill("2026-12-01 10:30")
    form.get_by_label("Placed At").press("Tab")
    shots.take(page, "a new order in a dialog, its customer chosen")
    form.get_by_role("button", name="Save", exact=True).click()
    expect(dialog).to_be_hidden()
    assert page.url.endswith(customer_url), f"the dialog left the page for {page.url}"
    expect(orders).to_have_count(count + 1)


def test_an_order_edited_in_the_dialog_gets_the_forms_checks(
    new_context: Callable[..., BrowserContext], console: ConsoleWatch, shots: Screenshots
) -> None:
    page = new_context(viewport={"width": 1366, "height": 900}).new_page()
    _open_customer_with_orders(page, ROOT_EMAIL)
    rows = page.frame_locator("iframe.relation-frame").locator("tbody tr[data-sa-pk]")
    # The order is pinned now: tests beside this one add orders to the same customer, and
    # the frame's list (newest first, live) would then name another order as its first.
    pk = str(rows.first.get_attribute("data-sa-pk"))
    frame = page.frame_locator("iframe.relation-frame")
    frame.locator(f"tbody tr[data-sa-pk='{pk}'] a[href*='/edit']").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    form = page.frame_locator("iframe.relation-dialog-frame")
    quantity = form.locator("[id='inlines.order-line.0.quantity']")
    expect(quantity).to_be_visible()

    # The server's checks answer at the field, in the dialog (the browser's own are lifted).
    quantity.evaluate("e => { e.removeAttribute('min'); e.value = '-5'; }")
    with console.tolerating("422 (Unprocessable Entity)") as refused:
        form.get_by_role("button", name="Save", exact=True).click()
        expect(form.locator(".invalid-feedback, .text-danger").first).to_be_visible()
    assert refused, "the refused value is the form's 422"
    expect(dialog).to_be_visible()
    shots.take(page, "a refused value in the dialog")

    # Someone else saves the same order meanwhile: this save is refused, nothing lost.
    other = new_context(viewport={"width": 1366, "height": 900}).new_page()
    other.goto("/admin/login")
    log_in(other, ROOT_EMAIL, PASSWORD)
    other.goto(f"/admin/order/edit?pk={pk}")
    other.get_by_label("Notes").fill("changed by someone else")
    with next_page(other):
        other.get_by_role("button", name="Save", exact=True).click()
    quantity.fill("7")
    form.get_by_label("Notes").fill("my change")
    with console.tolerating("409 (Conflict)") as conflicted:
        form.get_by_role("button", name="Save", exact=True).click()
        expect(form.get_by_text("Your changes were not saved")).to_be_visible()
    assert conflicted, "the refused save is the form's 409"
    expect(dialog).to_be_visible()
    shots.take(page, "the conflict page in the dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_a_limited_role_sees_the_orders_without_add(page: Page, shots: Screenshots) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    _open_customer_with_orders(page, SUPPORT_EMAIL)
    expect(page.frame_locator("iframe.relation-frame").locator("tbody tr").first).to_be_visible()
    expect(page.get_by_role("link", name="Add order")).to_have_count(0)
    shots.take(page, "support sees a customer's orders on a phone")
