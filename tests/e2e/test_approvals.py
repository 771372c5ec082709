"""Four-eyes approval in the browser: a clerk proposes a price, a lead approves it with
the keyboard alone; both screens at 1366x900 and 390x844, axe-clean."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import CLERK_EMAIL, LEAD_EMAIL
from tests.e2e.screens import Accessibility
from tests.e2e.test_keyboard import Focus, named, press, tab_to
from tests.helpers import PASSWORD

SIZES = {"1366x900": {"width": 1366, "height": 900}, "390x844": {"width": 390, "height": 844}}
PRODUCTS = {"1366x900": 2, "390x844": 3}
"""A product per size (the seeded request is about product 1)."""


def signed_in(new_context: Callable[..., BrowserContext], email: str, size: str) -> Page:
    page = new_context(viewport=SIZES[size]).new_page()
    page.goto("/admin/login")
    log_in(page, email, PASSWORD)
    return page


def clean(a11y: Accessibility, page: Page, what: str) -> None:
    problems = a11y.violations(page)
    assert not problems, f"{what}: " + "\n".join(problems)


def commented(now: Focus) -> bool:
    return bool(now["id"] == "decision-comment")


@pytest.mark.parametrize("size", SIZES)
def test_a_clerk_proposes_a_price_and_a_lead_approves_it_with_the_keyboard(
    new_context: Callable[..., BrowserContext], shots: Screenshots, size: str
) -> None:
    a11y = Accessibility()
    pk = PRODUCTS[size]
    clerk = signed_in(new_context, CLERK_EMAIL, size)
    clerk.goto(f"/admin/product/edit?pk={pk}")
    expect(clerk.get_by_text("sent for approval")).to_be_visible()
    clean(a11y, clerk, "the clerk's edit form")
    shots.take(clerk, f"{size} clerk edit form")
    price = clerk.locator('input[name="price"]')
    price.fill("77.70")
    expect(clerk.get_by_role("button", name="Save and add another")).to_have_count(0)
    with next_page(clerk):
        clerk.get_by_role("button", name="Save", exact=True).click()
    expect(clerk.get_by_text("awaits approval")).to_be_visible()
    shots.take(clerk, f"{size} clerk told it awaits approval")

    lead = signed_in(new_context, LEAD_EMAIL, size)
    lead.goto("/admin/change-request/list")
    newest = lead.locator("tbody tr[data-sa-pk]").first
    expect(newest).to_contain_text("pending", ignore_case=True)
    request_id = newest.get_attribute("data-sa-pk")
    clean(a11y, lead, "the change requests list")
    shots.take(lead, f"{size} lead change requests list")
    lead.goto(f"/admin/change-request/detail?pk={request_id}")
    expect(lead.get_by_text("77.70", exact=True).first).to_be_visible()
    clean(a11y, lead, "a change request's page")
    shots.take(lead, f"{size} lead change request page")

    tab_to(lead, named("Approve"), "the Approve button")
    press(lead, "Enter")
    dialog = lead.get_by_role("dialog")
    expect(dialog).to_be_visible()
    # The dialog takes the focus once it has faded in; a person tabs on from there.
    lead.wait_for_function("() => document.activeElement?.closest('.modal.show') != null")
    tab_to(lead, commented, "the comment box")
    lead.keyboard.type("Matches the spring promotion.")
    expect(dialog.locator("#decision-comment")).to_have_value("Matches the spring promotion.")
    clean(a11y, lead, "the approval dialog")
    shots.take(lead, f"{size} lead approval dialog")
    tab_to(lead, named("Approve"), "the dialog's Approve button")
    lead.keyboard.press("Enter")
    expect(lead.get_by_text("the change to").first).to_be_visible()
    shots.take(lead, f"{size} lead after approving")
    lead.goto(f"/admin/change-request/detail?pk={request_id}")
    expect(lead.get_by_text("Matches the spring promotion.").first).to_be_visible()
    shots.take(lead, f"{size} lead sees the request approved")
    lead.goto(f"/admin/product/detail?pk={pk}")
    expect(lead.get_by_text("77.70").first).to_be_visible()
