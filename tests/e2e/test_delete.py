"""Deleting in a real browser: the confirmation page shows what a delete takes and what blocks it.

Screenshots at a desktop size (1366x900) and a phone size (390x844) land in
test-results/screenshots/<test>/.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.admin_ui import (
    log_in,
    new_customer,
    next_page,
    open_link,
    rows,
    search,
    with_selected,
)
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL
from tests.helpers import PASSWORD

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
EMAIL = "e2e.nobuys@example.com"


def test_a_customer_with_orders_is_shown_its_orders_and_cannot_be_deleted(
    page: Page, shots: Screenshots
) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/")
    log_in(page, ROOT_EMAIL, PASSWORD)
    open_link(page, "Orders")
    customer = rows(page).first.locator('a[href*="/admin/customer/detail"]')
    name = customer.inner_text()
    with next_page(page):
        customer.click()
    with next_page(page):
        page.get_by_role("button", name="Delete").click()

    expect(page.get_by_role("heading", name="This customer cannot be deleted")).to_be_visible()
    blocking = page.locator("[data-delete-blocking]")
    expect(blocking).to_contain_text("Orders:")
    expect(blocking.get_by_role("link", name="Order #").first).to_be_visible()
    expect(page.locator("[data-delete-selected]")).to_contain_text(name)
    expect(page.get_by_role("button", name="Yes, delete")).to_have_count(0)
    shots.take(page, "blocked desktop")
    page.set_viewport_size(PHONE)
    shots.take(page, "blocked phone")

    with next_page(page):
        page.get_by_role("link", name="Back").click()
    expect(page).to_have_url(re.compile(r"/admin/customer/detail\?pk="))


def test_a_customer_without_orders_goes_to_the_trash_from_the_list_after_the_preview(
    page: Page, shots: Screenshots
) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/")
    log_in(page, ROOT_EMAIL, PASSWORD)
    new_customer(page, "Nora", "Nobuys", EMAIL)
    found = search(page, EMAIL)
    expect(found).to_have_count(1)
    with_selected(page, found, "delete")

    expect(page.get_by_role("heading", name="Delete this customer?")).to_be_visible()
    expect(page.get_by_text("No other record is affected.")).to_be_visible()
    shots.take(page, "confirm desktop")
    page.set_viewport_size(PHONE)
    shots.take(page, "confirm phone")
    with next_page(page):
        page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("alert")).to_contain_text("was moved to the trash")
    shots.take(page, "deleted phone")
    expect(search(page, EMAIL)).to_have_count(0)
