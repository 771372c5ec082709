"""Light and dark: the theme menu in the top bar, kept on the account, and Auto following
the system. Screenshots of the dashboard's chart, a record's JSON and the JSON editor in
both themes are left in test-results/screenshots/<test>/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL
from tests.helpers import PASSWORD

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOWN_JS = "() => document.documentElement.getAttribute('data-bs-theme')"
CSRF_JS = "() => document.querySelector('[data-app-theme-form] [name=csrftoken]').value"


def signed_in(make: Callable[..., BrowserContext], **options: Any) -> Page:
    page = make(**options).new_page()
    page.goto("/admin/login")
    log_in(page, ROOT_EMAIL, PASSWORD)
    return page


def shown(page: Page) -> str:
    """The theme the page is drawn in (Tabler's switch on `<html>`)."""
    return str(page.evaluate(SHOWN_JS))


@pytest.fixture
def root_page(new_context: Callable[..., BrowserContext]) -> Iterator[Page]:
    """The superuser, signed in on a light system; their theme is Auto again afterwards
    (the screen walks expect Auto)."""
    page = signed_in(new_context, viewport=WIDE, color_scheme="light")
    yield page
    page.goto("/admin/account")
    form = {"theme": "auto", "csrftoken": page.evaluate(CSRF_JS)}
    assert page.request.post("/admin/account/theme", form=form).ok


def choose(page: Page, label: str) -> None:
    """Pick a theme from the top bar's menu with the keyboard alone."""
    toggle = page.locator("header [data-app-theme-toggle]")
    toggle.focus()
    page.keyboard.press("Enter")
    item = page.locator("header").get_by_role("button", name=label, exact=True)
    expect(item).to_be_visible()
    while not item.evaluate("item => item === document.activeElement"):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")


def test_the_theme_menu_switches_at_once_and_follows_the_account(
    root_page: Page, new_context: Callable[..., BrowserContext], shots: Screenshots
) -> None:
    page = root_page
    toggle = page.locator("header [data-app-theme-toggle]")
    expect(toggle).to_have_accessible_name("Theme: Auto (as your system)")
    assert shown(page) == "light"
    shots.take(page, "dashboard light")
    choose(page, "Dark")
    page.wait_for_function(f"() => ({SHOWN_JS})() === 'dark'")
    expect(toggle).to_have_accessible_name("Theme: Dark")
    expect(toggle).to_be_focused()  # the keyboard is where it was, not lost to the page
    shots.take(page, "dashboard dark at once")
    for path, name in (
        ("/admin/product/edit?pk=1", "json editor"),
        ("/admin/product/detail?pk=1", "record json"),
    ):
        page.goto(path)
        assert shown(page) == "dark", f"{path} is not dark after choosing Dark"
        shots.take(page, f"{name} dark")
    other = signed_in(new_context, viewport=PHONE, color_scheme="light")
    assert shown(other) == "dark", "another browser does not show the account's theme"
    shots.take(other, "another browser phone dark")
    page.goto("/admin/account")
    expect(page.get_by_role("radio", name="Dark")).to_be_checked()
    page.get_by_role("radio", name="Light").check()
    page.get_by_role("button", name="Save theme").click()
    expect(page.get_by_role("status")).to_have_text("Theme saved: Light.")
    assert shown(page) == "light"
    light_item = page.locator('header [data-app-theme-form] [value="light"]')
    expect(light_item).to_have_attribute("aria-pressed", "true")
    for path, name in (
        ("/admin/product/edit?pk=1", "json editor"),
        ("/admin/product/detail?pk=1", "record json"),
    ):
        page.goto(path)
        assert shown(page) == "light"
        shots.take(page, f"{name} light")
    with next_page(other):
        other.reload()
    assert shown(other) == "light", "the other browser's next page keeps the old theme"


def test_auto_follows_the_system_as_it_changes(
    new_context: Callable[..., BrowserContext], shots: Screenshots
) -> None:
    page = signed_in(new_context, viewport=WIDE, color_scheme="dark")
    assert shown(page) == "dark", "Auto on a dark system shows light"
    shots.take(page, "auto on a dark system")
    page.emulate_media(color_scheme="light")
    page.wait_for_function(f"() => ({SHOWN_JS})() === 'light'")
    page.emulate_media(color_scheme="dark")
    page.wait_for_function(f"() => ({SHOWN_JS})() === 'dark'")
    page.goto("/admin/login")  # signed in: the admin's home
    page.context.clear_cookies()
    page.goto("/admin/login")
    assert shown(page) == "dark", "the sign-in page does not follow a dark system"


def test_dark_is_drawn_before_the_first_paint(
    new_context: Callable[..., BrowserContext],
) -> None:
    """No flash of light on a dark system: the first paint is already dark."""
    page = signed_in(new_context, viewport=WIDE, color_scheme="dark")
    page.add_init_script(
        """new PerformanceObserver(() => {
            window.__firstPaintTheme = window.__firstPaintTheme
                || document.documentElement.getAttribute("data-bs-theme");
        }).observe({ type: "paint", buffered: true });"""
    )
    page.goto("/admin/customer/list")
    first = page.wait_for_function("() => window.__firstPaintTheme").json_value()
    assert first == "dark", f"the first paint was {first}"


def test_the_two_factor_code_stays_black_on_white_in_dark(
    new_context: Callable[..., BrowserContext], shots: Screenshots
) -> None:
    """A phone's camera needs the QR code's dark modules on a light ground in any theme."""
    page = signed_in(new_context, viewport=WIDE, color_scheme="dark")
    page.goto("/admin/account/2fa/setup")
    assert shown(page) == "dark"
    ground = page.locator("[data-qr] svg").evaluate("svg => getComputedStyle(svg).backgroundColor")
    shots.take(page, "two-factor code dark")
    assert ground == "rgb(255, 255, 255)", f"the QR code is drawn on {ground}"
