"""What an administrator does with the admin, as Playwright steps: sign in, pick, sign out.

Locators name what a person sees (labels, button texts, roles); CSS is used only for
select2's widgets and list rows, which have no accessible names of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Locator, Page, expect

LOGIN_URL = re.compile(r"/admin/login(\?|$)")


@contextmanager
def next_page(page: Page) -> Iterator[None]:
    """Wait, after the block, until a new document has replaced this one and run its scripts.

    Clicking a link or submit button returns before the next page loads; acting on
    that page before its scripts ran (modals, dropdowns, select2) would do nothing.
    The marker set here lives only in the old document, so its absence proves a new one.
    """
    page.evaluate("window.__e2eOldPage = true")
    yield
    page.wait_for_function("() => !window.__e2eOldPage && document.readyState === 'complete'")


def log_in(page: Page, email: str, password: str) -> None:
    """Sign in from the login page the browser is on, and wait for the admin to show."""
    expect(page).to_have_url(LOGIN_URL)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with next_page(page):
        page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(LOGIN_URL)


def user_menu(page: Page) -> Locator:
    """The user menu the screen shows (the layout has a second one for narrow screens)."""
    return page.get_by_label("Open user menu").filter(visible=True)


def log_out(page: Page) -> None:
    """Open the user menu in the top bar and choose Logout."""
    user_menu(page).click()
    with next_page(page):
        page.get_by_role("button", name="Logout").click()
    expect(page).to_have_url(LOGIN_URL)


def expect_login_page(page: Page) -> None:
    """The browser shows the sign-in form, not an admin page."""
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("heading", name="Sign in to your account")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def open_link(page: Page, name: str) -> None:
    """Click the visible link called `name` and wait for the page it leads to."""
    with next_page(page):
        page.get_by_role("link", name=name, exact=True).filter(visible=True).first.click()


def pick(page: Page, field_id: str, typed: str, choice: str) -> None:
    """In the select2 widget of a relation field, type `typed` and click the result `choice`.

    The results come from the admin's relation-lookup JSON endpoint as the user types;
    `typed` must narrow them to `choice` alone, which proves the server filtered them.
    """
    widget = page.locator(f"select#{field_id} + .select2")
    widget.locator(".select2-selection").click()
    # Single selects search in the open dropdown; multiple selects inline.
    page.locator(".select2-container--open .select2-search__field").fill(typed)
    results = page.locator(".select2-container--open .select2-results__option")
    expect(results).to_have_text([choice])
    results.first.click()
    expect(chosen(page, field_id).filter(has_text=choice)).to_have_count(1)


def chosen(page: Page, field_id: str) -> Locator:
    """What a select2 widget shows as chosen: one item per choice (one at most if single)."""
    widget = page.locator(f"select#{field_id} + .select2")
    return widget.locator(
        ".select2-selection__choice__display, .select2-selection--single [role=textbox]"
    )


def search(page: Page, text: str) -> Locator:
    """Search the list page the browser is on; return the rows of the result."""
    box = page.get_by_role("searchbox", name="Search in list")
    box.fill(text)
    with next_page(page):
        box.press("Enter")
    expect(box).to_have_value(text)
    return rows(page)


def rows(page: Page) -> Locator:
    """The data rows of the list table (not the "No data" placeholder)."""
    return page.locator("table tbody tr[data-sa-pk]")


def detail(page: Page, label: str) -> Locator:
    """The value cell of the row labelled `label` in a detail page's attribute table (the
    History card below it names fields the same way)."""
    rows = page.locator("#tableContent > tr")
    row = rows.filter(has=page.get_by_role("cell", name=label, exact=True))
    return row.locator(":scope > td").last


def new_customer(page: Page, first: str, last: str, email: str) -> None:
    """From anywhere in the admin, create a customer through its form and save it."""
    open_link(page, "Customers")
    open_link(page, "New customer")
    page.get_by_label("First Name").fill(first)
    page.get_by_label("Last Name").fill(last)
    page.get_by_label("Email").fill(email)
    with next_page(page):
        page.get_by_role("button", name="Save", exact=True).click()


def with_selected(page: Page, found: Locator, action: str) -> None:
    """Tick each of the rows `found`, then choose the action named `action` (its
    `data-sa-name`) from "With selected" and wait for the page it opens."""
    for row in found.all():
        row.get_by_role("checkbox").check()
    page.get_by_role("button", name="With selected").click()
    with next_page(page):
        page.locator(f'[data-sa-hook="action-item"][data-sa-name="{action}"]').click()


def move_to_trash(page: Page, text: str, count: int = 1) -> None:
    """On a list page, search for `text`, expect `count` rows, delete them with
    "With selected" and confirm: they go to the trash."""
    found = search(page, text)
    expect(found).to_have_count(count)
    with_selected(page, found, "delete")
    with next_page(page):
        page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("alert")).to_contain_text("moved to the trash")
