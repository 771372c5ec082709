"""The trash in a real browser: delete a customer, Undo, then the trash page with Restore
and Delete for good; a role without the purge permission restores but cannot purge.
Every screen is checked by axe-core, wide and on a phone; screenshots land in
test-results/screenshots/<test>/."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.e2e.admin_ui import (
    log_in,
    move_to_trash,
    new_customer,
    next_page,
    open_link,
    rows,
    search,
    with_selected,
)
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import CATALOGUE_EMAIL, ROOT_EMAIL, SCREENSHOTS, TRASH_PRODUCT
from tests.e2e.screens import Accessibility
from tests.helpers import PASSWORD

SIZES = {"wide": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
EMAIL = "e2e.trash@example.com"


class Screens:
    """Screenshots and axe-core at both sizes, the problems kept for one assertion."""

    def __init__(self, page: Page, request: pytest.FixtureRequest) -> None:
        self.page, self.shots, self.axe = (
            page,
            Screenshots(SCREENSHOTS, request.node.name),
            Accessibility(),
        )
        self.problems: list[str] = []

    def check(self, step: str) -> None:
        for size, viewport in SIZES.items():
            self.page.set_viewport_size(viewport)
            self.problems += [f"{step} {size}: {p}" for p in self.axe.violations(self.page)]
            self.shots.take(self.page, f"{step} {size}")
        self.page.set_viewport_size(SIZES["wide"])


def _search_trash(page: Page, marker: str) -> Locator:
    page.get_by_role("searchbox", name="Search the deleted customers").fill(marker)
    with next_page(page):
        page.locator("[data-trash-search]").get_by_role("button", name="Search").click()
    return page.locator("[data-trash-pk]")


def _trashed_by_catalogue(page: Page) -> Locator:
    """Signed in as Catalogue (no purge), a product moved to the trash: its trash entry."""
    page.goto("/admin/")
    log_in(page, CATALOGUE_EMAIL, PASSWORD)
    open_link(page, "Products")
    move_to_trash(page, TRASH_PRODUCT)
    open_link(page, "Open the trash")
    return page.locator("[data-trash-pk]", has_text=TRASH_PRODUCT)


def test_two_records_selected_in_the_trash_are_restored_then_deleted_for_good(
    new_context: Callable[..., BrowserContext], request: pytest.FixtureRequest
) -> None:
    page = new_context(viewport=SIZES["wide"]).new_page()
    screens = Screens(page, request)
    page.goto("/admin/")
    log_in(page, ROOT_EMAIL, PASSWORD)
    new_customer(page, "Pia", "Pairtrash", "pia.pairtrash@example.com")
    new_customer(page, "Per", "Pairtrash", "per.pairtrash@example.com")
    move_to_trash(page, "Pairtrash", count=2)
    open_link(page, "Open the trash")
    entries = _search_trash(page, "Pairtrash")
    expect(entries).to_have_count(2)
    for entry in entries.all():
        entry.get_by_role("checkbox").check()
    screens.check("trash, two selected")
    with next_page(page):
        page.get_by_role("button", name="Restore selected").click()
    expect(page.get_by_role("heading", name="Restore 2 customers?")).to_be_visible()
    expect(page.locator("[data-restore-ready] li")).to_have_count(2)
    screens.check("restore two")
    with next_page(page):
        page.get_by_role("button", name="Yes, restore").click()
    expect(page.get_by_role("alert")).to_contain_text("Restored: P")
    expect(search(page, "Pairtrash")).to_have_count(2)

    move_to_trash(page, "Pairtrash", count=2)
    open_link(page, "Open the trash")
    _search_trash(page, "Pairtrash")
    page.get_by_label("Select all on this page").check()
    expect(page.locator("[data-trash-pick]:checked")).to_have_count(2)
    with next_page(page):
        page.get_by_role("button", name="Delete selected for good").click()
    expect(page.get_by_role("heading", name="Delete 2 customers?")).to_be_visible()
    screens.check("delete two for good")
    with next_page(page):
        page.get_by_role("button", name="Yes, delete for good").click()
    expect(page.get_by_role("alert")).to_contain_text("2 deleted for good")
    expect(page.locator("[data-trash-pk]", has_text="Pairtrash")).to_have_count(0)
    assert not screens.problems, "\n".join(screens.problems)


def test_a_role_without_purge_restores_a_selection_from_the_trash(
    new_context: Callable[..., BrowserContext], request: pytest.FixtureRequest
) -> None:
    page = new_context(viewport=SIZES["wide"]).new_page()
    screens = Screens(page, request)
    entry = _trashed_by_catalogue(page)
    entry.get_by_role("checkbox").check()
    expect(page.get_by_role("button", name="Delete selected for good")).to_have_count(0)
    screens.check("trash, selected, without purge")
    with next_page(page):
        page.get_by_role("button", name="Restore selected").click()
    expect(page.get_by_role("heading", name="Restore this product?")).to_be_visible()
    screens.check("restore one, without purge")
    with next_page(page):
        page.get_by_role("button", name="Yes, restore").click()
    expect(rows(page).filter(has_text=TRASH_PRODUCT)).to_have_count(1)
    assert not screens.problems, "\n".join(screens.problems)


def test_delete_undo_restore_and_delete_for_good(
    new_context: Callable[..., BrowserContext], request: pytest.FixtureRequest
) -> None:
    page = new_context(viewport=SIZES["wide"]).new_page()
    screens = Screens(page, request)
    page.goto("/admin/")
    log_in(page, ROOT_EMAIL, PASSWORD)
    new_customer(page, "Tara", "Trash", EMAIL)
    found = search(page, EMAIL)
    expect(found).to_have_count(1)
    with_selected(page, found, "delete")
    expect(page.get_by_role("heading", name="Delete this customer?")).to_be_visible()
    expect(page.locator('[data-delete-mode="trash"]')).to_contain_text("Customers \u203a Trash")
    screens.check("confirm")
    with next_page(page):
        page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("alert")).to_contain_text("was moved to the trash")
    undo = page.get_by_role("button", name="Undo the delete")
    expect(undo).to_be_visible()
    screens.check("deleted with undo")
    with next_page(page):
        undo.click()
    expect(page.get_by_role("alert")).to_contain_text("Restored: Tara Trash")
    expect(search(page, EMAIL)).to_have_count(1)

    move_to_trash(page, EMAIL)
    open_link(page, "Open the trash")
    expect(page.get_by_role("heading", name="Customers \u203a Trash")).to_be_visible()
    entry = page.locator("[data-trash-pk]", has_text=EMAIL)
    expect(entry).to_have_count(1)
    screens.check("trash")
    with next_page(page):
        entry.get_by_role("button", name="Restore Tara Trash").click()
    expect(search(page, EMAIL)).to_have_count(1)

    move_to_trash(page, EMAIL)
    open_link(page, "Open the trash")
    entry = page.locator("[data-trash-pk]", has_text=EMAIL)
    with next_page(page):
        entry.get_by_role("link", name="Delete for good: Tara Trash").click()
    expect(page.locator('[data-delete-mode="purge"]')).to_contain_text("cannot be undone")
    screens.check("confirm for good")
    with next_page(page):
        page.get_by_role("button", name="Yes, delete for good").click()
    expect(page.get_by_role("alert")).to_contain_text("deleted for good")
    expect(page.locator("[data-trash-pk]", has_text=EMAIL)).to_have_count(0)
    assert not screens.problems, "\n".join(screens.problems)


def test_a_role_without_purge_restores_but_cannot_delete_for_good(
    new_context: Callable[..., BrowserContext], request: pytest.FixtureRequest
) -> None:
    page = new_context(viewport=SIZES["wide"]).new_page()
    screens = Screens(page, request)
    entry = _trashed_by_catalogue(page)
    expect(entry).to_have_count(1)
    expect(page.get_by_role("link", name="Delete for good")).to_have_count(0)
    screens.check("trash without purge")
    with next_page(page):
        entry.get_by_role("button", name=f"Restore {TRASH_PRODUCT}", exact=False).click()
    expect(page.get_by_role("alert")).to_contain_text("Restored")
    expect(rows(page).filter(has_text=TRASH_PRODUCT)).to_have_count(1)
    assert not screens.problems, "\n".join(screens.problems)
