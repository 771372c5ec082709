"""Accounts in the browser: inviting an administrator, signing in, My account, sessions.

Each test fails if any page logged a console error or threw (see conftest.py), and
leaves numbered screenshots in test-results/screenshots/<test>/.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.admin_ui import log_in, next_page, open_link, pick, rows
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL
from tests.helpers import PASSWORD


def test_inviting_hides_the_password_fields_and_keeps_the_role(
    page: Page, shots: Screenshots
) -> None:
    page.goto("/admin/")
    log_in(page, ROOT_EMAIL, PASSWORD)
    open_link(page, "Admin users")
    open_link(page, "New admin user")
    passwords = [page.get_by_label("Password", exact=True), page.get_by_label("Repeat password")]
    invitation = page.get_by_role(
        "checkbox", name="Send an invitation instead of setting a password"
    )
    for field in passwords:
        expect(field).to_be_visible()
    shots.take(page, "password fields without an invitation")

    invitation.check()
    for field in passwords:
        expect(field).to_be_hidden()
    shots.take(page, "an invitation needs no password")
    invitation.uncheck()
    for field in passwords:
        expect(field).to_be_visible()
    passwords[0].fill("typed before choosing to invite")

    invitation.check()
    page.get_by_label("Email", exact=True).fill("invitee@example.com")
    page.get_by_label("Full name").fill("Ivy Invitee")
    pick(page, "roles", "Supp", "Support")
    with next_page(page):
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text('"Ivy Invitee" was added')
    expect(rows(page).filter(has_text="invitee@example.com")).to_contain_text("Support")
    shots.take(page, "invited with the role")
