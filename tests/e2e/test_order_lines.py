"""The lines editor of the order form, by keyboard only: add, edit, move and remove lines
with the totals following, save; the 409 page when someone else changed a line; the
form at desktop and phone widths for an administrator and for Support, axe-checked."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import ConsoleWatch, Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SUPPORT_EMAIL
from tests.e2e.screens import Accessibility
from tests.helpers import PASSWORD

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def open_order_form(page: Page, email: str) -> str:
    """Sign in as `email` and open the edit form of the first order listed; its URL."""
    page.goto("/admin/login")
    log_in(page, email, PASSWORD)
    page.goto("/admin/order/list")
    pk = page.locator("tbody tr[data-sa-pk]").first.get_attribute("data-sa-pk")
    url = f"/admin/order/edit?pk={pk}"
    page.goto(url)
    expect(page.locator("[data-child-row-add]")).to_be_visible()
    return url


def lines(page: Page) -> Locator:
    return page.locator("[data-child-rows-body] [data-child-row]")


def money(locator: Locator) -> float:
    return float(locator.inner_text())


def press(locator: Locator, key: str) -> None:
    """Put the keyboard's focus on `locator` and press `key` (no pointer involved)."""
    locator.focus()
    locator.page.keyboard.press(key)


def test_lines_are_added_edited_moved_and_removed_by_keyboard_with_totals_following(
    new_context: Callable[..., BrowserContext], shots: Screenshots
) -> None:
    page = new_context(viewport={"width": 1366, "height": 900}).new_page()
    url = open_order_form(page, ROOT_EMAIL)
    count = lines(page).count()
    total = page.locator("[data-child-rows-total]")
    before = money(total)

    press(page.get_by_role("button", name="Add a line"), "Enter")
    expect(lines(page)).to_have_count(count + 1)
    new = lines(page).last
    product = new.locator("select[data-child-choices]")
    expect(product).to_be_focused()
    page.keyboard.press("ArrowDown")  # the first product; its price comes with it
    expect(new.locator("[data-field=unit_price] input")).not_to_have_value("")
    page.keyboard.press("Tab")
    expect(new.locator("[data-field=quantity] input")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    price = float(new.locator("[data-field=unit_price] input").input_value())
    expect(new.locator("[data-child-row-total]")).to_have_text(f"{price * 3:.2f}")
    expect(total).to_have_text(f"{before + price * 3:.2f}")
    shots.take(page, "a line added by keyboard, totals updated")

    chosen = product.input_value()
    press(new.get_by_role("button", name=re.compile(r"Move line \d+ up")), "Enter")
    moved = lines(page).nth(count - 1)
    expect(moved.locator("select[data-child-choices]")).to_have_value(chosen)
    # The focus stays on the moved line (on its other button once it reached the top).
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-label", re.compile(f"Move line {count} (up|down)"))

    last = lines(page).last  # a saved line, now below the new one
    removed = money(last.locator("[data-child-row-total]"))
    press(last.get_by_role("checkbox"), "Space")
    expect(last).to_have_class(re.compile("child-row-removed"))
    expect(total).to_have_text(f"{before + price * 3 - removed:.2f}")
    shots.take(page, "a line moved up and one marked for removal")

    with next_page(page):
        press(page.get_by_role("button", name="Save", exact=True), "Enter")
    page.goto(url)
    expect(lines(page)).to_have_count(count)  # one added, one removed
    expect(lines(page).nth(count - 1).locator("[data-field=quantity] input")).to_have_value("3")
    expect(total).to_have_text(f"{before + price * 3 - removed:.2f}")


def test_a_line_changed_by_someone_else_gives_the_conflict_page(
    new_context: Callable[..., BrowserContext], console: ConsoleWatch, shots: Screenshots
) -> None:
    page = new_context(viewport={"width": 1366, "height": 900}).new_page()
    url = open_order_form(page, ROOT_EMAIL)
    other = new_context(viewport={"width": 1366, "height": 900}).new_page()
    other.goto("/admin/login")
    log_in(other, ROOT_EMAIL, PASSWORD)
    other.goto(url)
    other.locator("[data-child-row] [data-field=quantity] input").first.fill("9")
    with next_page(other):
        other.get_by_role("button", name="Save", exact=True).click()

    page.locator("[data-child-row] [data-field=quantity] input").first.fill("4")
    with console.tolerating("409 (Conflict)") as conflicted:
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text("Your changes were not saved")).to_be_visible()
    assert conflicted, "the refused save is a 409"
    line = page.locator("[data-conflict] tbody tr", has_text="Line 1")
    expect(line).to_contain_text("Quantity: 9")  # theirs, next to mine
    expect(line).to_contain_text("Quantity: 4")
    shots.take(page, "the conflict page listing the line that differs")
    assert not Accessibility().violations(page), "the conflict page"


def test_the_lines_editor_at_desktop_and_phone_widths_for_admin_and_support(
    new_context: Callable[..., BrowserContext], shots: Screenshots
) -> None:
    axe = Accessibility()
    for who, email in (("administrator", ROOT_EMAIL), ("support", SUPPORT_EMAIL)):
        for size, (width, height) in SIZES.items():
            page = new_context(viewport={"width": width, "height": height}).new_page()
            open_order_form(page, email)
            page.get_by_role("button", name="Add a line").click()
            shots.take(page, f"order lines editor, {who}, {size}")
            problems = axe.violations(page)
            assert not problems, f"{who} at {size}: {problems}"
