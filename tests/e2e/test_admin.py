"""An administrator's day in a real Chromium against a real server, under the app's CSP.

Each test fails if any page logged a console error or threw (see conftest.py), and
leaves numbered screenshots in test-results/screenshots/<test>/.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.e2e.admin_ui import (
    chosen,
    detail,
    expect_login_page,
    log_in,
    log_out,
    next_page,
    open_link,
    pick,
    rows,
    search,
    user_menu,
)
from tests.e2e.browser import ConsoleWatch, Screenshots
from tests.e2e.conftest import EDITOR_EMAIL, ROOT_EMAIL
from tests.helpers import PASSWORD

NAME = "E2E Pour-over Stand"
SKU = "E2E-STAND-01"
NEW_PASSWORD = "a brand new passphrase 42"


def test_product_lifecycle_from_login_to_logout(page: Page, shots: Screenshots) -> None:
    page.goto("/admin/")
    expect_login_page(page)
    shots.take(page, "login page")
    log_in(page, ROOT_EMAIL, PASSWORD)
    expect(user_menu(page)).to_contain_text("Root Admin")
    shots.take(page, "dashboard")

    _create_product(page, shots)
    _find_and_edit_product(page, shots)
    _delete_product(page, shots)

    log_out(page)
    shots.take(page, "logged out")
    page.goto("/admin/product/list")
    expect_login_page(page)
    shots.take(page, "admin sends to login")


def _create_product(page: Page, shots: Screenshots) -> None:
    open_link(page, "Products")
    open_link(page, "New product")
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("SKU").fill(SKU)
    page.get_by_label("Price").fill("12.50")
    page.get_by_label("Stock").fill("7")
    pick(page, "category", "te", "Tea")
    pick(page, "tags", "gi", "gift")
    pick(page, "tags", "ne", "new")
    expect(chosen(page, "category")).to_have_text(["Tea"])
    expect(chosen(page, "tags")).to_have_text(["gift", "new"])
    shots.take(page, "new product filled in")
    with next_page(page):
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(f'"{NAME} ({SKU})" was added')
    shots.take(page, "product saved")


def _find_and_edit_product(page: Page, shots: Screenshots) -> None:
    found = search(page, SKU)
    expect(found).to_have_count(1)
    expect(found.first).to_contain_text(NAME)
    expect(found.first.get_by_role("cell", name="€12.50", exact=True)).to_be_visible()
    expect(found.first).to_contain_text("Tea")
    shots.take(page, "found by search")

    with next_page(page):
        found.first.get_by_role("link", name="View").click()
    expect(detail(page, "Name")).to_have_text(NAME)
    expect(detail(page, "Price")).to_have_text("€12.50")
    expect(detail(page, "Category")).to_have_text("Tea")
    expect(detail(page, "Tags").get_by_role("link")).to_have_text(["new", "gift"])
    shots.take(page, "detail")

    with next_page(page):
        page.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Price")).to_have_value("12.50")
    page.get_by_label("Price").fill("14.75")
    shots.take(page, "price changed")
    with next_page(page):
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(f'"{NAME} ({SKU})" was changed')
    expect(detail(page, "Price")).to_have_text("€14.75")
    shots.take(page, "edited")


def _delete_product(page: Page, shots: Screenshots) -> None:
    open_link(page, "Products")
    found = search(page, SKU)
    expect(found.first.get_by_role("cell", name="€14.75", exact=True)).to_be_visible()
    with next_page(page):
        found.first.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete this product?")).to_be_visible()
    expect(page.get_by_text("Kept, but no longer linked")).to_be_visible()
    expect(page.get_by_role("link", name="gift", exact=True)).to_be_visible()
    shots.take(page, "delete confirmation")
    with next_page(page):
        page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("alert")).to_contain_text(f'"{NAME} ({SKU})" was moved to the trash')
    shots.take(page, "deleted")
    expect(search(page, SKU)).to_have_count(0)
    expect(page.get_by_role("cell", name="No data")).to_be_visible()
    shots.take(page, "search finds nothing")


def test_set_password_row_action_opens_a_form_and_the_new_password_works(
    page: Page,
    new_context: Callable[..., BrowserContext],
    console: ConsoleWatch,
    shots: Screenshots,
) -> None:
    page.goto("/admin/")
    log_in(page, ROOT_EMAIL, PASSWORD)
    open_link(page, "Admin users")
    editor_row = rows(page).filter(has_text=EDITOR_EMAIL)
    shots.take(page, "admin users")

    dialog = _set_password_form(page, editor_row, NEW_PASSWORD, "a different passphrase 42")
    with console.tolerating("status of 400") as refused:
        dialog.get_by_role("button", name="Set password").click()
        expect(page.get_by_role("alert")).to_contain_text("The two passwords differ.")
    assert len(refused) == 1, "the mismatch is refused with a 400, and nothing else failed"
    shots.take(page, "passwords differ")

    dialog = _set_password_form(page, editor_row, NEW_PASSWORD, NEW_PASSWORD)
    shots.take(page, "set password form")
    with next_page(page):
        dialog.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"The password of {EDITOR_EMAIL} was changed."
    )
    shots.take(page, "password changed")

    editor = new_context().new_page()
    editor.goto("/admin/")
    log_in(editor, EDITOR_EMAIL, NEW_PASSWORD)
    expect(user_menu(editor)).to_contain_text("Eddie Editor")
    shots.take(editor, "editor signed in with the new password")


def _set_password_form(page: Page, row: Locator, password: str, repeated: str) -> Locator:
    """Open the row's "Set password" modal and fill it in; return the dialog."""
    # A modal still fading out would swallow the click, or refill the form under us.
    expect(page.get_by_role("dialog")).to_have_count(0)
    # And one still fading in ignores its dismiss button (Bootstrap drops a hide()
    # asked for mid-transition), which a loaded machine made visible: so wait for
    # the modal's own "shown" event, as a person's eyes would, before acting.
    page.evaluate(
        """() => { window.__modalShown = false;
        document.addEventListener("shown.bs.modal", () => { window.__modalShown = true },
                                  { once: true }); }"""
    )
    row.get_by_role("link", name="Set password").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Set a new password")).to_be_visible()
    page.wait_for_function("() => window.__modalShown")
    dialog.get_by_label("New password", exact=True).fill(password)
    dialog.get_by_label("Repeat the new password").fill(repeated)
    return dialog


def test_a_session_cookie_replayed_after_logout_lands_on_the_login_page(
    page: Page, new_context: Callable[..., BrowserContext], shots: Screenshots
) -> None:
    page.goto("/admin/")
    log_in(page, ROOT_EMAIL, PASSWORD)
    captured = page.context.cookies()

    # The replay itself works: before logout the same cookies open the admin.
    before = new_context()
    before.add_cookies(captured)  # type: ignore[arg-type]
    replay = before.new_page()
    replay.goto("/admin/product/list")
    expect(replay.get_by_role("heading", name="Products")).to_be_visible()
    shots.take(replay, "replayed cookie works before logout")

    log_out(page)
    after = new_context()
    after.add_cookies(captured)  # type: ignore[arg-type]
    replay = after.new_page()
    replay.goto("/admin/product/list")
    expect_login_page(replay)
    shots.take(replay, "replayed cookie after logout")


def test_an_inline_script_is_blocked_by_the_csp_and_reported(
    page: Page, console: ConsoleWatch
) -> None:
    """The browser enforces the CSP, and the violation reaches the watch that fails tests."""
    page.goto("/admin/login")
    with (
        console.tolerating("Content Security Policy") as violations,
        page.expect_console_message(lambda m: "Content Security Policy" in m.text),
    ):
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.head.append(script);
            }"""
        )
    assert page.evaluate("window.injected") is None, "the inline script ran despite the CSP"
    assert violations, "the CSP violation did not reach the console watch"
    assert not console.errors, console.report()
