"""The command palette and the keyboard shortcuts, in Chromium, with the keyboard alone.

Screenshots of the open palette (wide and phone, light and dark, a superuser and the
Support role) are left in test-results/screenshots/<test>/, each checked by axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SCREENSHOTS, SUPPORT_EMAIL
from tests.e2e.screens import Accessibility
from tests.helpers import PASSWORD

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
ACTIVE_JS = """() => {
    const input = document.getElementById("app-palette-input");
    const id = input.getAttribute("aria-activedescendant");
    return id ? document.getElementById(id).textContent : null;
}"""
SHOWN_JS = "() => document.documentElement.getAttribute('data-bs-theme')"
FOCUSED_ROW_JS = """() => {
    const row = document.activeElement.closest("tr[data-sa-pk]");
    return row ? row.getAttribute("data-sa-pk") : null;
}"""


def signed_in(make: Callable[..., BrowserContext], email: str = ROOT_EMAIL, **options: Any) -> Page:
    page = make(viewport=WIDE, **options).new_page()
    page.goto("/admin/login")
    log_in(page, email, PASSWORD)
    return page


def a_customer_name(page: Page) -> str:
    """The last name of the customer list's first row."""
    page.goto("/admin/customer/list")
    return page.locator('tbody td[data-column="last_name"]').first.inner_text().strip()


def open_palette(page: Page) -> None:
    page.keyboard.press("Control+k")
    expect(page.get_by_role("combobox", name="Go to a page or search records")).to_be_focused()
    expect(page.get_by_role("combobox", name="Go to a page or search records")).to_have_attribute(
        "aria-expanded", "true"
    )


def test_ctrl_k_type_arrow_and_enter_land_on_the_record(new_context) -> None:
    page = signed_in(new_context)
    name = a_customer_name(page)
    page.goto("/admin/")
    open_palette(page)
    page.keyboard.type(name)
    listbox = page.get_by_role("listbox")
    customers = listbox.get_by_role("group", name="Customers")
    expect(customers.get_by_role("option").first).to_contain_text(name)
    for _ in range(40):
        active = page.evaluate(ACTIVE_JS)
        if active and name in active and "All Customers" not in active:
            break
        page.keyboard.press("ArrowDown")
    else:
        raise AssertionError(f"the arrows never reached a customer named {name}")
    with next_page(page):
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/customer/detail\?pk=\d+$"))
    expect(page.locator("body")).to_contain_text(name)


def test_escape_closes_the_palette_and_gives_the_focus_back(new_context) -> None:
    page = signed_in(new_context)
    button = page.locator("header [data-app-palette-open]").first
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("combobox", name="Go to a page or search records")).to_be_focused()
    page.keyboard.type("Orders")
    expect(page.get_by_role("option", name="Orders", exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Go to or search")).to_be_hidden()
    expect(button).to_be_focused()
    with next_page(page):  # a command, chosen with the keyboard, opens its page
        open_palette(page)
        page.keyboard.type("create cust")
        expect(page.get_by_role("option", name="Create customer")).to_have_attribute(
            "aria-selected", "true"
        )
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/customer/create(\?|$)"))


def test_list_shortcuts_move_open_and_edit_rows_but_not_while_typing(new_context) -> None:
    page = signed_in(new_context)
    page.goto("/admin/customer/list")
    pks = page.locator("tbody tr[data-sa-pk]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-sa-pk'))"
    )
    assert len(pks) >= 3, pks
    page.keyboard.press("j")
    assert page.evaluate(FOCUSED_ROW_JS) == pks[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate(FOCUSED_ROW_JS) == pks[2]
    page.keyboard.press("k")
    assert page.evaluate(FOCUSED_ROW_JS) == pks[1]
    with next_page(page):
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/admin/customer/detail\?pk={pks[1]}(&|$)"))

    page.goto("/admin/customer/list")
    page.keyboard.press("j")
    with next_page(page):
        page.keyboard.press("e")
    expect(page).to_have_url(re.compile(rf"/admin/customer/edit\?pk={pks[0]}"))

    page.goto("/admin/customer/list")
    page.keyboard.press("/")
    search = page.locator('input[type="search"][name="q"]')
    expect(search).to_be_focused()
    page.keyboard.type("jk?e")  # typing: no shortcut fires
    expect(search).to_have_value("jk?e")
    expect(search).to_be_focused()
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()

    page.goto("/admin/customer/list")
    page.keyboard.press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_visible()
    expect(shortcuts).to_contain_text("Edit the focused row")
    shots, axe = Screenshots(SCREENSHOTS, "palette shortcuts dialog"), Accessibility()
    shots.take(page, "light")
    assert not axe.violations(page), "axe: the shortcuts dialog, light"
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()
    page.emulate_media(color_scheme="dark")
    page.reload()
    page.keyboard.press("?")
    shots.take(page, "dark")
    assert not axe.violations(page), "axe: the shortcuts dialog, dark"
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()
    with next_page(page):
        page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/admin/customer/create(\?|$)"))


def test_n_does_nothing_where_the_user_may_not_create(new_context) -> None:
    page = signed_in(new_context, SUPPORT_EMAIL)
    page.goto("/admin/customer/list")
    page.keyboard.press("n")
    page.keyboard.press("j")  # still on the list: the key was ignored
    assert page.evaluate(FOCUSED_ROW_JS) is not None
    expect(page).to_have_url(re.compile(r"/admin/customer/list$"))


@pytest.mark.parametrize("who", [ROOT_EMAIL, SUPPORT_EMAIL])
def test_the_open_palette_reads_well_and_passes_axe(new_context, who) -> None:
    shots = Screenshots(SCREENSHOTS, f"palette {who.split('@')[0]}")
    axe = Accessibility()
    problems: list[str] = []
    page = signed_in(new_context, who, color_scheme="light")
    name = a_customer_name(page)
    # What the palette's own answer offers to create (tests/admin/test_palette.py checks it
    # against the user's permissions): every one shows as an option.
    offered = page.request.get("/admin/_api/palette").json()["commands"]
    offered_creates = sum(1 for c in offered if c["group"] == "Create")
    assert offered_creates or who == SUPPORT_EMAIL, "a superuser is offered creates"
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)  # the account's theme is Auto: it follows
        for label, size in (("wide", WIDE), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.goto("/admin/customer/list")
            assert page.evaluate(SHOWN_JS) == theme
            open_palette(page)  # empty: every command the user may open
            creates = page.get_by_role("option", name=re.compile("^Create "))
            expect(creates).to_have_count(0 if who == SUPPORT_EMAIL else offered_creates)
            if label == "wide":
                shots.take(page, f"{theme} {label} commands")
                problems += [f"{theme} {label} commands: {p}" for p in axe.violations(page)]
            page.keyboard.type(name[:4])
            customers = page.get_by_role("group", name="Customers")
            expect(customers.get_by_role("option").first).to_be_visible()
            page.keyboard.press("ArrowDown")
            shots.take(page, f"{theme} {label} palette open")
            problems += [f"{theme} {label}: {p}" for p in axe.violations(page)]
    assert not problems, "axe found serious problems:\n" + "\n".join(problems)
