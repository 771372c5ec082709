"""Every screen of the admin in Chromium, for a superuser and a limited role, on a wide
screen and a phone, on a light system and (on the wide screen) a dark one: each opens
without errors, is laid out right, and is accessible.

The screens come from the registry (tests/e2e/screens.py). One walk per role, size and
colour scheme serves both the screen test and the accessibility test; its screenshots are
left in test-results/screenshots/test-every-screen-<role>-<size>-<scheme>/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.admin_ui import log_in
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SCREENSHOTS, SUPPORT_EMAIL, SUPPORT_ROLE
from tests.e2e.screens import Role, demo_role
from tests.e2e.server import LiveServer
from tests.e2e.walk import Walk, walk
from tests.helpers import PASSWORD

ROLES = {
    "superuser": Role("superuser", ROOT_EMAIL, None),
    "support": demo_role(SUPPORT_ROLE, SUPPORT_EMAIL),
}
SIZES = {"1366x900": {"width": 1366, "height": 900}, "390x844": {"width": 390, "height": 844}}
PASSES = [
    *((role, size, "light") for role in ROLES for size in SIZES),
    # Dark mode changes colours, not layout: one wide pass per role checks every screen's
    # contrast in it (each pass takes over a minute).
    *((role, "1366x900", "dark") for role in ROLES),
]
"""(role, size, colour scheme) of each walk."""
PASS_IDS = ["-".join(p) for p in PASSES]

Walks = Callable[[str, str, str], Walk]


@pytest.fixture(scope="module")
def walks(browser: Browser, live_server: LiveServer) -> Walks:
    """The walk of a role at a size and colour scheme, made by whichever test asks for it
    first."""
    done: dict[tuple[str, str, str], Walk] = {}

    def get(role: str, size: str, scheme: str) -> Walk:
        if (role, size, scheme) not in done:
            shots = Screenshots(SCREENSHOTS, f"test every screen {role} {size} {scheme}")
            done[role, size, scheme] = walk(
                browser, live_server.url, ROLES[role], SIZES[size], shots, scheme
            )
        return done[role, size, scheme]

    return get


@pytest.mark.parametrize(("role", "size", "scheme"), PASSES, ids=PASS_IDS)
def test_every_screen(
    walks: Walks, role: str, size: str, scheme: str, live_server: LiveServer
) -> None:
    """No 5xx, console error, CSP violation or escaped markup, and the layout holds:
    tables fit or scroll visibly, the search box keeps its width, the sidebar runs the
    whole page, the History card lines up; every page is in the system's colour scheme;
    pages the role may not open answer 403/404."""
    result = walks(role, size, scheme)
    assert len(result.visits) >= 10, f"the walk opened only {len(result.visits)} pages"
    assert not result.problems(), f"as {role} at {size}, {scheme}:\n{result.problems()}"


@pytest.mark.parametrize(("role", "size", "scheme"), PASSES, ids=PASS_IDS)
def test_every_screen_is_accessible(
    walks: Walks, role: str, size: str, scheme: str, live_server: LiveServer
) -> None:
    """axe-core finds no critical or serious violation on any page of the walk, colour
    contrast included, in light and in dark."""
    result = walks(role, size, scheme)
    assert not result.violations(), f"as {role} at {size}, {scheme}:\n{result.violations()}"


def test_the_customer_list_shows_every_column_at_1366(
    new_context: Callable[..., Any], shots: Screenshots
) -> None:
    """The list's last column ("Created at") is in view, with no sideways scrolling."""
    page: Page = new_context(viewport=SIZES["1366x900"]).new_page()
    page.goto("/admin/login")
    log_in(page, ROOT_EMAIL, PASSWORD)
    page.goto("/admin/customer/list")
    header = page.get_by_role("columnheader", name="Created at")
    expect(header).to_be_in_viewport(ratio=1)
    box = page.locator(".card .table-responsive")
    overflow = box.evaluate("box => box.scrollWidth - box.clientWidth")
    shots.take(page, "customer list")
    assert overflow <= 1, f"the customer table is {overflow} px wider than its card"
