"""A customer's orders (a relation manager, admin_app/admin/relations.py) with the keyboard
alone: add an order in the dialog, meet a refused value at its field, fix it and save;
edit an order in the dialog; close it with Escape. Tab goes round the open dialog and never
reaches the page behind; the focus shows a ring at every step and returns to what opened
the dialog. Support, who may not add orders, reaches and opens them the same way.

Only Tab, Shift+Tab, Enter, Escape and typed text are used once the customer's page is
open (tests/e2e/test_keyboard.py has the helpers and the focus ring check).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Frame, Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import ConsoleWatch, Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SUPPORT_EMAIL
from tests.e2e.screens import Accessibility
from tests.e2e.test_keyboard import ACTIVE_JS, Focus, focused, press, skip_to_content, tab_to
from tests.helpers import PASSWORD

SIZES = {"1366x900": {"width": 1366, "height": 900}, "390x844": {"width": 390, "height": 844}}
DIALOG_FRAME = "relation-dialog-frame"
LIST_FRAME = "relation-frame"


def customer_with_orders(new_context: Callable[..., BrowserContext], email: str, size: str) -> Page:
    """A page signed in as `email`, on the page of a customer who has orders."""
    page = new_context(viewport=SIZES[size]).new_page()
    page.goto("/admin/login")
    log_in(page, email, PASSWORD)
    page.goto("/admin/order/list")
    link = page.locator("tbody tr[data-sa-pk] td[data-column=customer] a").first
    page.goto(str(link.get_attribute("href")).split("&")[0])
    rows = page.frame_locator(f"iframe.{LIST_FRAME}").locator("tbody tr[data-sa-pk]")
    expect(rows.first).to_be_visible()
    return page


def in_dialog(now: Focus) -> bool:
    """The focus is on the dialog's form, or on its Close button."""
    return bool(now["frame"] == DIALOG_FRAME or (now["frame"] is None and now["name"] == "Close"))


def named(name: str, frame: str | None = None) -> Callable[[Focus], bool]:
    return lambda now: bool(now["name"] == name and now["frame"] == frame)


def dialog_frame(page: Page) -> Frame:
    frame = page.locator(f"iframe.{DIALOG_FRAME}").element_handle().content_frame()
    assert frame is not None, "the dialog shows no page"
    return frame


def wait_for_focus_in(page: Page, frame_class: str) -> Focus:
    """Wait until a page in the frame of that class has the focus (it loads, then takes it)."""
    page.wait_for_function(
        f"() => ({ACTIVE_JS})()?.ownerDocument.defaultView.frameElement?.classList"
        f".contains({frame_class!r}) && ({ACTIVE_JS})() !== ({ACTIVE_JS})().ownerDocument.body"
    )
    return focused(page)


def clean(a11y: Accessibility, page: Page, what: str) -> None:
    """No critical or serious axe violation on the page, nor in the dialog's form."""
    problems = a11y.violations(page)
    if page.locator("dialog[open]").count():
        problems += [f"(in the dialog) {p}" for p in a11y.violations(dialog_frame(page))]
    assert not problems, f"{what}: " + "\n".join(problems)


FIELD_JS = f"""() => {{
    const e = ({ACTIVE_JS})(), widget = e.closest(".select2");
    return widget ? widget.previousElementSibling.id : e.id;
}}"""
"""The id of the form field that has the focus (for select2, of the select it stands for)."""


def spot(page: Page) -> tuple[str | None, str]:
    """Where the focus is, as a person would say it: the frame, and the field or control
    (select2's box is named by its value, which may still be loading)."""
    now = focused(page)
    return now["frame"], page.evaluate(FIELD_JS) or now["name"]


def tab_round_the_dialog(page: Page) -> None:
    """Tab from the form's first stop goes through the form to the Close button and back
    into the form; Shift+Tab goes the other way; nothing behind the dialog is reached."""
    start = spot(page)
    seen = [start]
    for _ in range(80):
        now = press(page, "Tab")
        assert in_dialog(now), f"Tab left the dialog for {now} after {seen[-1]}"
        seen.append(spot(page))
        if now["name"] == "Close":
            break
    else:
        raise AssertionError("80 presses of Tab never reached the dialog's Close button")
    last = seen[-2]
    press(page, "Tab")
    assert spot(page) == start, "Tab from Close did not go back to the form's start"
    assert press(page, "Shift+Tab")["name"] == "Close"
    press(page, "Shift+Tab")
    assert spot(page) == last, "Shift+Tab from Close did not go to the form's end"
    tab_to(page, lambda now: spot(page) == start, "the form's first stop again")


@pytest.mark.parametrize("size", SIZES)
def test_add_and_edit_a_customers_order_in_the_dialog_with_the_keyboard(
    new_context: Callable[..., BrowserContext],
    console: ConsoleWatch,
    shots: Screenshots,
    size: str,
) -> None:
    a11y = Accessibility()
    page = customer_with_orders(new_context, ROOT_EMAIL, size)
    orders = page.frame_locator(f"iframe.{LIST_FRAME}").locator("tbody tr[data-sa-pk]")
    count = orders.count()

    # Add: from the page to its section's button, then into the dialog's form.
    skip_to_content(page)
    customer_url = page.url
    tab_to(page, named("Add order"), "the Add order button")
    shots.take(page, f"{size} add order focused")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Add order")
    expect(dialog).to_be_visible()
    wait_for_focus_in(page, DIALOG_FRAME)
    assert spot(page) == (DIALOG_FRAME, "customer"), "the form's first field has not the focus"
    form = page.frame_locator(f"iframe.{DIALOG_FRAME}")
    expect(form.locator("select#customer + .select2 [role=textbox]")).not_to_be_empty()
    clean(a11y, page, "the Add order dialog")
    shots.take(page, f"{size} add order dialog, its first field focused", full_page=False)
    tab_round_the_dialog(page)

    # The date typed as the field shows dates, and a line whose quantity no order can
    # hold (the browser lets it through): the server refuses it at its field.
    tab_to(page, lambda now: now["id"] == "placed_at", "the Placed at field")
    page.keyboard.type("December 1, 2026  10:30:00")
    tab_to(page, named("Add a line", DIALOG_FRAME), "the Add a line button")
    page.keyboard.press("Enter")
    assert focused(page)["id"].endswith(".product"), "the new line's product is not focused"
    page.keyboard.press("ArrowDown")  # the first product; its price comes with it
    assert press(page, "Tab")["id"].endswith(".quantity")
    page.keyboard.press("Control+A")
    page.keyboard.type("99999999999")
    shots.take(page, f"{size} a quantity too large", full_page=False)
    tab_to(page, named("Save", DIALOG_FRAME), "the dialog's Save button")
    with console.tolerating("422 (Unprocessable Entity)") as refused:
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => ({ACTIVE_JS})()?.id?.endsWith('.quantity')")
    assert refused, "the refused value is the form's 422"
    error = form.locator("[data-child-row] .invalid-feedback, [data-child-row] .text-danger")
    expect(error.first).to_be_visible()
    expect(error.first).to_contain_text("2,147,483,647")
    expect(error.first).to_be_in_viewport()  # the dialog scrolled the message into view
    focused(page)  # the refused field has the focus, with a ring
    expect(form.locator("#placed_at")).to_have_value(re.compile("December 1, 2026"))
    expect(dialog).to_be_visible()
    clean(a11y, page, "the refused quantity in the dialog")
    shots.take(page, f"{size} the refused quantity, at its field", full_page=False)

    # Fixed and saved: the dialog closes, the order is listed, the focus is back on Add.
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, named("Save", DIALOG_FRAME), "the dialog's Save button")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert page.url == customer_url, f"the dialog left the page for {page.url}"
    expect(orders).to_have_count(count + 1)
    assert focused(page)["name"] == "Add order", "the focus did not return to Add order"
    shots.take(page, f"{size} the new order listed, add order focused again")

    # Edit: into the list, a row's Edit link, the order's form in the dialog.
    edit = tab_to(page, named("Edit", LIST_FRAME), "a listed order's Edit link")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=re.compile(r"Edit #\d+"))
    expect(dialog).to_be_visible()
    wait_for_focus_in(page, DIALOG_FRAME)
    clean(a11y, page, "the Edit order dialog")
    shots.take(page, f"{size} edit order dialog", full_page=False)
    tab_to(page, lambda now: now["id"] == "notes", "the Notes field")
    note = f"Changed by keyboard at {size}"
    page.keyboard.press("Control+A")
    page.keyboard.type(note)
    tab_to(page, named("Save", DIALOG_FRAME), "the dialog's Save button")
    shots.take(page, f"{size} edit order, save focused", full_page=False)
    the_list = page.locator(f"iframe.{LIST_FRAME}").element_handle().content_frame()
    assert the_list is not None
    the_list.evaluate("window.__e2eOldList = true")  # gone once the list is reloaded
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    page.wait_for_function(
        f"() => {{ const e = ({ACTIVE_JS})(), w = e?.ownerDocument.defaultView;"
        f" return w?.frameElement?.classList.contains({LIST_FRAME!r}) && !w.__e2eOldList"
        " && e !== e.ownerDocument.body; }"
    )
    back = focused(page)
    assert back["name"] == edit["name"], f"the focus went to {back}, not back to Edit"
    shots.take(page, f"{size} edited, the edit link focused again")

    # Escape closes the dialog without saving, and the focus is back on Edit.
    page.keyboard.press("Enter")
    expect(page.locator("dialog[open]")).to_be_visible()
    wait_for_focus_in(page, DIALOG_FRAME)
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert wait_for_focus_in(page, LIST_FRAME) == back, "Escape did not return the focus to Edit"

    # The change was saved (and the Escape changed nothing).
    href = page.evaluate(f"() => ({ACTIVE_JS})().getAttribute('href')")
    pk = re.search(r"pk=(\d+)", href)
    assert pk, f"the Edit link {href!r} names no order"
    page.goto(f"/admin/order/detail?pk={pk.group(1)}")
    shots.take(page, f"{size} the edited order")
    expect(page.get_by_text(note).first).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_support_reaches_and_opens_a_customers_orders_with_the_keyboard_but_adds_none(
    new_context: Callable[..., BrowserContext], shots: Screenshots, size: str
) -> None:
    page = customer_with_orders(new_context, SUPPORT_EMAIL, size)
    skip_to_content(page)
    passed: list[Focus] = []

    def first_order_link(now: Focus) -> bool:
        passed.append(now)
        return bool(now["frame"] == LIST_FRAME and now["name"] == "Edit")

    tab_to(page, first_order_link, "a listed order's Edit link")
    names = [now["name"] for now in passed]
    assert "Add order" not in names, f"Support was offered Add order: {names}"
    expect(page.get_by_role("link", name="Add order")).to_have_count(0)
    shots.take(page, f"{size} support, an order's edit link focused")
    clean(Accessibility(), page, "Support's customer page")

    # Support may change orders: Edit opens the order in the dialog; Escape closes it.
    page.keyboard.press("Enter")
    expect(page.locator("dialog[open]")).to_be_visible()
    wait_for_focus_in(page, DIALOG_FRAME)
    shots.take(page, f"{size} support, an order in the dialog", full_page=False)
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert wait_for_focus_in(page, LIST_FRAME)["name"] == "Edit", "the focus is not back on Edit"

    # View opens the order itself, in the page (not in the frame).
    tab_to(page, named("View", LIST_FRAME), "a listed order's View link", key="Shift+Tab")
    with next_page(page):
        page.keyboard.press("Enter")
    assert "/admin/order/detail" in page.url, f"View went to {page.url}"
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    shots.take(page, f"{size} support, the order opened")
