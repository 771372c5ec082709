"""The filters in a list's column headers, in Chromium: a date period and a filter through
a relation applied from the headers, shown as chips, one removed; the popover's keyboard
behaviour (focus in, Escape out); and the list and the open popover checked by axe-core
wide and on a phone (where it is a sheet along the bottom), light and dark, as a
superuser and as the demo's Support role. Screenshots are left in
test-results/screenshots/<test>/."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SCREENSHOTS, SUPPORT_EMAIL
from tests.e2e.screens import Accessibility
from tests.helpers import PASSWORD

CHIPS = "#active-filters a[aria-label^='Remove this filter']"
SIZES = {"1366x900": {"width": 1366, "height": 900}, "390x844": {"width": 390, "height": 844}}


def header(page: Page, column: str) -> tuple[Locator, Locator]:
    """The filter button of a column's header, and its popover."""
    button = page.locator(f'th[data-column="{column}"] [data-app-hf]')
    return button, page.locator(f"#hf-pop-{column.replace('_', '-')}")


def filter_state(page: Page) -> str:
    return parse_qs(urlsplit(page.url).query).get("filter", [""])[0]


@pytest.mark.parametrize("who", [ROOT_EMAIL, SUPPORT_EMAIL], ids=["superuser", "support"])
def test_header_filters_set_chips_that_can_be_removed(
    new_context: Callable[..., BrowserContext], who: str, request: pytest.FixtureRequest
) -> None:
    shots = Screenshots(SCREENSHOTS, request.node.name)
    axe = Accessibility()
    problems: list[str] = []
    page = new_context(viewport=SIZES["1366x900"], color_scheme="light").new_page()
    page.goto("/admin/login")
    log_in(page, who, PASSWORD)
    page.goto("/admin/customer/list")
    country = page.locator("tbody tr[data-sa-pk] td[data-column=country]").first.inner_text()
    page.goto("/admin/order/list")

    toggle, popover = header(page, "placed_at")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    period = popover.get_by_label("Period")
    expect(period).to_be_focused()
    period.select_option(label="Last 7 days")
    shots.take(page, "the placed-at header filter open")
    problems += [f"popover open: {p}" for p in axe.violations(page)]
    with next_page(page):
        popover.get_by_role("button", name="Apply").click()
    assert filter_state(page) == "placed_at__within=last_7_days", page.url
    expect(page.locator("#active-filters")).to_contain_text("Is within Last 7 days")

    toggle, popover = header(page, "customer")
    toggle.click()
    popover.get_by_label("Customer country").select_option(label=country.strip())
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(popover).to_be_hidden()
    page.keyboard.press("Enter")
    expect(popover).to_be_visible()
    with next_page(page):
        popover.locator('[data-app-hf-form="customer.country"]').get_by_role(
            "button", name="Apply"
        ).click()
    assert filter_state(page).startswith("placed_at__within=last_7_days AND customer.country__eq=")
    chips = page.locator(CHIPS)
    expect(chips).to_have_count(2)
    expect(page.locator("#active-filters")).to_contain_text(f"Customer country: Equal {country}")
    expect(header(page, "customer")[0]).to_have_class("app-hf-toggle is-active")
    expect(header(page, "customer")[0]).to_have_attribute(
        "aria-label", "Filter by Customer (filtered)"
    )

    for size in SIZES:
        for theme in ("light", "dark"):
            page.set_viewport_size(SIZES[size])
            page.emulate_media(color_scheme=theme)
            page.reload()
            problems += [f"list {size} {theme}: {p}" for p in axe.violations(page)]
            shots.take(page, f"filtered list {size} {theme}")
            toggle, popover = header(page, "customer")
            toggle.click()
            expect(popover).to_be_in_viewport()
            problems += [f"popover {size} {theme}: {p}" for p in axe.violations(page)]
            shots.take(page, f"customer header filter {size} {theme}")
            page.keyboard.press("Escape")

    with next_page(page):
        page.get_by_role("link", name="Remove this filter: Placed").click()
    assert filter_state(page).startswith("customer.country__eq="), page.url
    expect(page.locator(CHIPS)).to_have_count(1)
    shots.take(page, "one chip removed")
    assert not problems, "\n".join(problems)
