"""A customer's orders on the customer's page (a relation manager, admin_app/admin/relations.py):
the orders list in a frame that sorts in place, opens an order in the page itself, and
adds an order with the customer already chosen."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, expect

from tests.e2e.admin_ui import chosen, log_in, next_page
from tests.e2e.browser import Screenshots
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


def test_add_order_starts_with_the_customer_chosen_and_comes_back(
    page: Page, shots: Screenshots
) -> None:
    customer_url = _open_customer_with_orders(page, ROOT_EMAIL)
    orders = page.frame_locator("iframe.relation-frame").locator("tbody tr[data-sa-pk]")
    expect(orders.first).to_be_visible()
    count = orders.count()
    with next_page(page):
        page.get_by_role("link", name="Add order").click()
    assert "/admin/order/create" in page.url
    expect(chosen(page, "customer")).not_to_be_empty()
    page.get_by_label("Total").fill("12.50")
    # The date picker (flatpickr) shows its own input; set the date the way it does.
    page.evaluate(
        "document.getElementById('placed_at-value')._flatpickr.setDate('2026-12-01 10:30:00', true)"
    )
    shots.take(page, "a new order with its customer chosen")
    with next_page(page):
        page.get_by_role("button", name="Save", exact=True).click()
    assert page.url.endswith(customer_url), f"after the save the page is {page.url}"
    expect(orders).to_have_count(count + 1)
    expect(page.frame_locator("iframe.relation-frame").get_by_text("12.50")).to_be_visible()


def test_a_limited_role_sees_the_orders_without_add(page: Page, shots: Screenshots) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    _open_customer_with_orders(page, SUPPORT_EMAIL)
    expect(page.frame_locator("iframe.relation-frame").locator("tbody tr").first).to_be_visible()
    expect(page.get_by_role("link", name="Add order")).to_have_count(0)
    shots.take(page, "support sees a customer's orders on a phone")
