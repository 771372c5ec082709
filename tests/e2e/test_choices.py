"""A long choice list (a customer's country) arrives with only its current option and
fills in when used: by mouse, by keyboard, and its blank still saves no country."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.admin_ui import detail, log_in, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL
from tests.helpers import PASSWORD


def _edit_first_customer(page: Page) -> None:
    page.goto("/admin/customer/detail?pk=1")
    log_in(page, ROOT_EMAIL, PASSWORD)
    page.goto("/admin/customer/edit?pk=1")


def test_the_country_list_fills_in_and_a_choice_by_keyboard_is_saved(
    page: Page, shots: Screenshots
) -> None:
    _edit_first_customer(page)
    country = page.get_by_label("Country")
    options = country.locator("option")
    expect(options).not_to_have_count(0)
    country.focus()
    expect(country.locator("option[value='FR']")).to_have_count(1)
    assert options.count() > 200, "the country list did not fill in"
    shots.take(page, "country list filled in")
    country.select_option("FR")
    page.keyboard.press("ArrowDown")  # the next country, as in any select
    chosen = country.input_value()
    assert chosen not in ("", "FR"), "the keyboard does not move through the countries"
    with next_page(page):
        page.get_by_role("button", name="Save", exact=True).click()
    page.goto("/admin/customer/detail?pk=1")
    expect(detail(page, "Country")).not_to_have_text("")
    expect(detail(page, "Country")).not_to_contain_text("France")


def test_the_blank_country_saves_no_country(page: Page) -> None:
    _edit_first_customer(page)
    country = page.get_by_label("Country")
    country.focus()
    expect(country.locator("option[value='DE']")).to_have_count(1)
    country.select_option("")
    with next_page(page):
        page.get_by_role("button", name="Save", exact=True).click()
    page.goto("/admin/customer/edit?pk=1")
    expect(page.get_by_label("Country")).to_have_value("")
