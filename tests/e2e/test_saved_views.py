"""Saved views in Chromium: save the list's state from the Views menu, open it from the
menu and from the command palette, share it with a role and open it as that role.

Screenshots of the menu and the save dialog (wide and phone, light and dark, a superuser
and the Support role) are left in test-results/screenshots/<test>/, each checked by
axe-core. The test deletes its view and forgets its columns at the end: the server is
shared with the other browser tests.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SCREENSHOTS, SUPPORT_EMAIL
from tests.e2e.screens import Accessibility
from tests.helpers import PASSWORD

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
STATE = "/admin/customer/list?sort=last_name__asc&cols=first_name,last_name,country&filter=country__eq=FR"
NAME = "French customers"


def signed_in(new_context, email: str) -> Page:
    page: Page = new_context(viewport=WIDE).new_page()
    page.goto("/admin/login")
    log_in(page, email, PASSWORD)
    return page


def open_menu(page: Page) -> None:
    page.get_by_role("button", name="Views").click()
    expect(page.locator("[data-app-saved-views-menu]")).to_contain_text("Save current view")


def check(page: Page, shots: Screenshots, axe: Accessibility, label: str) -> list[str]:
    """A screenshot of the page as it is now, and what axe finds wrong with it."""
    shots.take(page, label)
    return [f"{label}: {p}" for p in axe.violations(page)]


def test_save_open_share_and_open_as_the_role(new_context) -> None:
    shots, axe = Screenshots(SCREENSHOTS, "saved views"), Accessibility()
    problems: list[str] = []
    root = signed_in(new_context, ROOT_EMAIL)
    root.goto(STATE)
    open_menu(root)
    root.get_by_role("button", name="Save current view…").click()
    dialog = root.get_by_role("dialog", name="Save view")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill(NAME)
    dialog.get_by_label("Support", exact=True).check()
    problems += check(root, shots, axe, "root save dialog light wide")
    root.emulate_media(color_scheme="dark")  # the account's theme is Auto: it follows
    root.set_viewport_size(PHONE)
    expect(root.locator("html")).to_have_attribute("data-bs-theme", "dark")
    problems += check(root, shots, axe, "root save dialog dark phone")
    root.emulate_media(color_scheme="light")
    root.set_viewport_size(WIDE)
    with next_page(root):
        dialog.get_by_role("button", name="Save").click()
    expect(root).to_have_url(re.compile(r"view=\d+"))
    view_id = re.search(r"view=(\d+)", root.url).group(1)  # type: ignore[union-attr]

    # From the menu, after leaving the view.
    root.goto("/admin/customer/list?view=none")
    for theme in ("light", "dark"):
        root.emulate_media(color_scheme=theme)
        for label, size in (("wide", WIDE), ("phone", PHONE)):
            root.set_viewport_size(size)
            root.reload()
            open_menu(root)
            expect(root.get_by_role("link", name=re.compile(NAME))).to_be_visible()
            problems += check(root, shots, axe, f"root menu {theme} {label}")
    root.set_viewport_size(WIDE)
    with next_page(root):
        root.get_by_role("link", name=re.compile(NAME)).click()
    expect(root).to_have_url(re.compile(rf"view={view_id}&.*filter=country__eq%3DFR"))
    expect(root.locator("thead th[data-column]")).to_have_count(3)

    # From the palette.
    root.goto("/admin/")
    root.keyboard.press("Control+k")
    root.keyboard.type("French cust")
    expect(root.get_by_role("option", name=re.compile(NAME))).to_be_visible()
    with next_page(root):
        root.get_by_role("option", name=re.compile(NAME)).click()
    expect(root).to_have_url(re.compile(rf"view={view_id}&"))

    # As a member of the role it is shared with: the same view, their own rows.
    support = signed_in(new_context, SUPPORT_EMAIL)
    support.goto("/admin/customer/list")
    support.emulate_media(color_scheme="dark")
    support.reload()
    open_menu(support)
    problems += check(support, shots, axe, "support menu dark wide")
    with next_page(support):
        support.get_by_role("link", name=re.compile(NAME)).click()
    expect(support).to_have_url(re.compile(rf"view={view_id}&"))
    countries = support.locator('tbody td[data-column="country"]').all_inner_texts()
    assert countries and {c.strip() for c in countries} == {"France"}, countries
    support.set_viewport_size(PHONE)
    problems += check(support, shots, axe, "support view dark phone")
    support.goto("/admin/customer/list?view=none")  # forget the columns it remembered

    # Rename, then delete, from the menu; the columns it remembered are forgotten.
    root.goto(f"/admin/customer/list?view={view_id}")
    open_menu(root)
    root.get_by_role("button", name=re.compile("^Rename or share")).click()
    edit = root.get_by_role("dialog", name="Edit view")
    edit.get_by_label("Name").fill("Clients français")
    with next_page(root):
        edit.get_by_role("button", name="Save").click()
    open_menu(root)
    expect(root.get_by_role("link", name=re.compile("Clients français"))).to_be_visible()
    root.once("dialog", lambda d: d.accept())
    with next_page(root):
        root.get_by_role("button", name=re.compile("^Delete")).click()
    open_menu(root)
    expect(root.locator("[data-app-saved-views-menu]")).to_contain_text("No saved views yet")
    assert not problems, "axe found serious problems:\n" + "\n".join(problems)
