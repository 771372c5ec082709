"""API tokens on My account, in a browser: made (the secret shown once), used, revoked;
and the API reference page. Each screen is checked by axe-core, wide and on a phone, in
light and dark, as a superuser and as the demo's Support role; screenshots are left in
test-results/screenshots/<test>/."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SCREENSHOTS, SUPPORT_EMAIL
from tests.e2e.screens import Accessibility
from tests.helpers import PASSWORD

SIZES = {"wide": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("who", [ROOT_EMAIL, SUPPORT_EMAIL], ids=["superuser", "support"])
def test_a_token_is_made_used_and_revoked_from_my_account(
    new_context: Callable[..., BrowserContext], who: str, request: pytest.FixtureRequest
) -> None:
    shots = Screenshots(SCREENSHOTS, request.node.name)
    axe = Accessibility()
    problems: list[str] = []
    page = new_context(viewport=SIZES["wide"], color_scheme="light").new_page()
    page.goto("/admin/login")
    log_in(page, who, PASSWORD)
    page.goto("/admin/account")
    card = page.locator("[data-api-tokens]")
    card.get_by_label("Name").fill(f"browser {who}")
    with next_page(page):
        card.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Token").input_value()
    assert secret.startswith("aat_"), secret
    problems += [f"token shown: {p}" for p in axe.violations(page)]
    shots.take(page, "token shown once")
    answer = page.request.get("/api/v1/order", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200, answer.text()
    for size, theme in (("wide", "light"), ("wide", "dark"), ("phone", "light"), ("phone", "dark")):
        page.set_viewport_size(SIZES[size])
        page.emulate_media(color_scheme=theme)
        page.goto("/admin/account")
        expect(page.locator("[data-api-tokens] tbody tr").first).to_be_visible()
        problems += [f"account {size} {theme}: {p}" for p in axe.violations(page)]
        shots.take(page, f"account {size} {theme}")
    row = page.locator("[data-api-tokens] tr", has_text=f"browser {who}")
    with next_page(page):
        row.get_by_role("button", name=f"Revoke the token browser {who}").click()
    expect(page.get_by_text("it no longer works")).to_be_visible()
    refused = page.request.get("/api/v1/order", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status == 401
    assert not problems, "\n".join(problems)


def test_the_api_reference_renders_the_description(
    new_context: Callable[..., BrowserContext], request: pytest.FixtureRequest
) -> None:
    shots = Screenshots(SCREENSHOTS, request.node.name)
    axe = Accessibility()
    problems: list[str] = []
    page: Page = new_context(viewport=SIZES["wide"]).new_page()
    for size, theme in (("wide", "light"), ("phone", "dark")):
        page.set_viewport_size(SIZES[size])
        page.emulate_media(color_scheme=theme)
        page.goto("/api/docs")
        expect(page.locator("section#product h2")).to_have_text("product")
        expect(page.locator("section#product")).to_contain_text("/api/v1/product/{pk}")
        problems += [f"reference {size} {theme}: {p}" for p in axe.violations(page)]
        shots.take(page, f"reference {size} {theme}")
    assert not problems, "\n".join(problems)
