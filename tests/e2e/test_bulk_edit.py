"""Bulk edit in a real browser: select rows, choose a field and a value, preview, apply, see
the result, and undo the whole edit from the audit log. A limited role finds Bulk edit only
where it may edit. Screenshots, light and dark, at 1366x900 and 390x844, land in
test-results/screenshots/test-bulk-edit-*/; each is checked by axe-core."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.admin_ui import log_in, next_page, open_link, rows
from tests.e2e.conftest import ROOT_EMAIL, SUPPORT_EMAIL
from tests.e2e.test_import_pages import Steps
from tests.helpers import PASSWORD

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
RESULT = re.compile(r"/admin/product/bulk-edit/[0-9a-f]{32}")


def signed_in(new_context: Callable[..., BrowserContext], email: str, **options: object) -> Page:
    page = new_context(**options).new_page()
    page.goto("/admin/")
    log_in(page, email, PASSWORD)
    return page


def bulk_edit_selected(page: Page, how_many: int) -> None:
    """Tick the first rows of the list and choose With selected → Bulk edit."""
    for row in range(how_many):
        rows(page).nth(row).get_by_role("checkbox").check()
    page.get_by_role("button", name="With selected").click()
    with next_page(page):
        page.locator('[data-sa-hook="action-item"][data-sa-name="bulk_edit"]').click()
    expect(page.get_by_role("heading", name="Which fields to set")).to_be_visible()


def test_bulk_edit_from_selection_to_undo(
    new_context: Callable[..., BrowserContext],
) -> None:
    steps = Steps("test bulk edit 1366x900 light")
    page = signed_in(new_context, ROOT_EMAIL, viewport=WIDE)
    open_link(page, "Products")
    bulk_edit_selected(page, 2)
    page.get_by_label("Stock", exact=True).fill("321")
    expect(page.get_by_role("checkbox", name="Change Stock")).to_be_checked()
    steps.take(page, "fields")
    with next_page(page):
        page.get_by_role("button", name="Preview the change").click()
    expect(page.locator("[data-bulk-count]")).to_contain_text("2 row(s) will change")
    expect(page.locator("[data-bulk-sample] tbody tr")).to_have_count(2)
    steps.take(page, "preview")
    with next_page(page):
        page.get_by_role("button", name="Apply to 2 row(s)").click()
    expect(page).to_have_url(RESULT)
    expect(page.locator("[data-bulk-progress]")).to_contain_text("2 row(s) changed, 0 skipped")
    steps.take(page, "result")

    with next_page(page):
        page.get_by_role("link", name="Undo from the audit log").click()
    expect(page).to_have_url(re.compile(r"/admin/audit-entry/detail\?pk=\d+"))
    steps.take(page, "the edit in the audit log")
    page.get_by_role("button", name="Revert").first.click()
    dialog = page.locator('[data-sa-hook="modal-action"]')
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Revert").click()
    expect(page.get_by_text(re.compile("Reverted the whole save: 2 change"))).to_be_visible()
    steps.take(page, "undone")
    assert not steps.problems, "\n".join(steps.problems)


def test_bulk_edit_on_a_phone_in_dark(new_context: Callable[..., BrowserContext]) -> None:
    steps = Steps("test bulk edit 390x844 dark")
    page = signed_in(new_context, ROOT_EMAIL, viewport=PHONE, color_scheme="dark")
    page.goto("/admin/product/list")
    bulk_edit_selected(page, 1)
    page.get_by_label("Stock", exact=True).fill("4321")
    expect(page.get_by_role("checkbox", name="Change Stock")).to_be_checked()
    steps.take(page, "fields")
    with next_page(page):
        page.get_by_role("button", name="Preview the change").click()
    expect(page.locator("[data-bulk-count]")).to_contain_text("1 row(s) will change")
    steps.take(page, "preview")
    with next_page(page):
        page.get_by_role("button", name="Apply to 1 row(s)").click()
    expect(page.locator("[data-bulk-progress]")).to_contain_text("1 row(s) changed")
    steps.take(page, "result")
    assert not steps.problems, "\n".join(steps.problems)


def test_a_limited_role_bulk_edits_only_what_it_may_edit(
    new_context: Callable[..., BrowserContext],
) -> None:
    for viewport, scheme, size in ((WIDE, "light", "1366x900"), (PHONE, "dark", "390x844")):
        steps = Steps(f"test bulk edit support {size} {scheme}")
        page = signed_in(new_context, SUPPORT_EMAIL, viewport=viewport, color_scheme=scheme)
        page.goto("/admin/product/list")
        expect(rows(page).first).to_be_visible()
        expect(page.locator('[data-sa-name="bulk_edit"]')).to_have_count(0)
        steps.take(page, "products offer no bulk edit")
        page.goto("/admin/order/list")
        bulk_edit_selected(page, 2)
        offered = page.locator("[data-bulk-field]")
        expect(offered.filter(has_text="Notes")).to_have_count(1)
        steps.take(page, "order fields")
        assert not steps.problems, "\n".join(steps.problems)
