"""The admin with the keyboard alone: sign in, reach a list, open a record, edit and save it.

Only Tab, Shift+Tab, Enter, the arrows and typed text are used. After every key the
focused element must show a focus ring a person can see (an outline or a shadow of at
least 2 px), and on every admin page the first Tab stop is a "Skip to content" link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.admin_ui import detail, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL
from tests.helpers import PASSWORD

ACTIVE_JS = """() => {
    let e = document.activeElement;
    while (e && e.tagName === "IFRAME" && e.contentDocument) e = e.contentDocument.activeElement;
    return e;
}"""
"""What has the keyboard's focus, inside the page's (same-origin) frames too."""

FOCUSED_JS = f"""() => {{
    const e = ({ACTIVE_JS})();
    if (!e || e === e.ownerDocument.body) return null;
    const s = e.ownerDocument.defaultView.getComputedStyle(e);
    const spreads = [...s.boxShadow.matchAll(/(?:rgba?\\([^)]*\\)\\s+)?(?:-?[\\d.]+px\\s+){{3}}([\\d.]+)px/g)];
    const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2
        && !/rgba\\([^)]*,\\s*0\\)|transparent/.test(s.outlineColor);
    const frame = e.ownerDocument.defaultView.frameElement;
    return {{
        tag: e.tagName.toLowerCase(),
        id: e.id,
        name: (e.getAttribute("aria-label") || e.textContent || e.value || "").trim().slice(0, 60),
        ring: outline || spreads.some(m => parseFloat(m[1]) >= 2),
        style: `outline: ${{s.outlineStyle}} ${{s.outlineWidth}} ${{s.outlineColor}}; box-shadow: ${{s.boxShadow}}`,
        frame: frame ? frame.className : null,
    }};
}}"""
"""The focused element: its tag, id, name, whether it shows a ring, and the class of the
frame it is in (None at the top)."""

IN_VIEW_JS = f"""() => {{
    const e = ({ACTIVE_JS})();
    let r = e.getBoundingClientRect();
    let box = {{top: r.top, left: r.left, bottom: r.bottom, right: r.right}};
    for (let win = e.ownerDocument.defaultView; ; ) {{
        box = {{top: Math.max(box.top, 0), left: Math.max(box.left, 0),
                bottom: Math.min(box.bottom, win.innerHeight), right: Math.min(box.right, win.innerWidth)}};
        if (box.bottom - box.top < 1 || box.right - box.left < 1) return false;
        const frame = win.frameElement;
        if (!frame) return true;
        const f = frame.getBoundingClientRect();
        const dx = f.left + frame.clientLeft, dy = f.top + frame.clientTop;
        box = {{top: box.top + dy, left: box.left + dx, bottom: box.bottom + dy, right: box.right + dx}};
        win = frame.ownerDocument.defaultView;
    }}
}}"""
"""The focused element is in the window (the page scrolls to it, smoothly: so, in time),
and, inside a frame, in the part of the frame the window shows."""

Focus = dict[str, Any]


def focused(page: Page) -> Focus:
    """What has the focus; fails unless it shows a visible focus ring and is in view."""
    now: Focus | None = page.evaluate(FOCUSED_JS)
    assert now is not None, "the focus was lost (nothing but the page has it)"
    assert now["ring"], f"the focused {now['tag']} {now['name']!r} shows no focus ring: {now}"
    try:
        page.wait_for_function(IN_VIEW_JS)
    except PlaywrightTimeoutError:
        raise AssertionError(
            f"the focused {now['tag']} {now['name']!r} stays out of view"
        ) from None
    return now


def press(page: Page, key: str) -> Focus:
    """Press `key` and return what then has the focus (checked as `focused` does)."""
    page.keyboard.press(key)
    return focused(page)


def tab_to(page: Page, wanted: Callable[[Focus], bool], what: str, key: str = "Tab") -> Focus:
    """Press Tab (or `key`) until `wanted` holds for the focused element."""
    for _ in range(80):
        now = press(page, key)
        if wanted(now):
            return now
    raise AssertionError(f"80 presses of {key} never reached {what}")


def named(name: str) -> Callable[[Focus], bool]:
    return lambda now: bool(now["name"] == name)


def first_stop_is_the_skip_link(page: Page) -> None:
    """The page's first Tab stop is a "Skip to content" link, in view with a ring."""
    first = press(page, "Tab")
    assert first["name"] == "Skip to content", f"the first Tab stop is {first}, not the skip link"


def skip_to_content(page: Page) -> None:
    """Past the menu with the skip link: Enter moves the focus to the page's content."""
    first_stop_is_the_skip_link(page)
    page.keyboard.press("Enter")
    moved = page.evaluate("document.activeElement.id")
    assert moved == "main-content", f"the skip link moved the focus to {moved!r}"


def test_sign_in_find_open_edit_and_save_a_record_with_the_keyboard(
    page: Page, shots: Screenshots
) -> None:
    page.goto("/admin/login")
    assert focused(page)["id"] == "username", "the login page does not start in the email box"
    page.keyboard.type(ROOT_EMAIL)
    assert press(page, "Tab")["id"] == "password"
    page.keyboard.type(PASSWORD)
    assert press(page, "Tab")["name"] == "Sign in"
    shots.take(page, "sign in focused")
    with next_page(page):
        page.keyboard.press("Enter")

    first_stop_is_the_skip_link(page)
    tab_to(page, named("Products"), "the Products link of the menu")
    shots.take(page, "menu link focused")
    with next_page(page):
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Products")).to_be_visible()

    skip_to_content(page)
    tab_to(page, named("View"), "the first row's View link")
    shots.take(page, "row link focused")
    with next_page(page):
        page.keyboard.press("Enter")
    stock = int(detail(page, "Stock").inner_text())

    skip_to_content(page)
    tab_to(page, named("Edit"), "the Edit button")
    with next_page(page):
        page.keyboard.press("Enter")

    skip_to_content(page)
    tab_to(page, lambda now: now["id"] == "stock", "the Stock field")
    page.keyboard.press("ArrowUp")
    expect(page.get_by_label("Stock")).to_have_value(str(stock + 1))
    tab_to(page, named("Save"), "the Save button")
    assert press(page, "Shift+Tab")["name"] != "Save", "Shift+Tab did not move back"
    assert press(page, "Tab")["name"] == "Save"
    shots.take(page, "save focused")
    with next_page(page):
        page.keyboard.press("Enter")

    expect(page.get_by_role("alert")).to_contain_text("was changed")
    expect(detail(page, "Stock")).to_have_text(str(stock + 1))
    shots.take(page, "saved")
