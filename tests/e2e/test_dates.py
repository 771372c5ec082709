"""Typing a date: an administrator types into a date field (flatpickr's visible input)
the way dates are written, ISO or as the field shows them, and the form keeps it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.admin_ui import log_in, next_page, open_link
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL
from tests.helpers import PASSWORD


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("2026-03-14 09:30", "2026-03-14 09:30:00"),
        ("2026-03-14 09:30:15", "2026-03-14 09:30:15"),
        ("2026-03-14", "2026-03-14 00:00:00"),
        ("March 14, 2026  09:30:00", "2026-03-14 09:30:00"),
    ],
)
def test_a_typed_date_is_kept(page: Page, shots: Screenshots, typed: str, kept: str) -> None:
    page.goto("/admin/login")
    log_in(page, ROOT_EMAIL, PASSWORD)
    page.goto("/admin/order/list")
    open_link(page, "New order")
    field = page.get_by_label("Placed At")
    field.fill(typed)
    field.press("Tab")
    expect(page.locator("#placed_at-value")).to_have_value(kept)
    shots.take(page, f"typed {typed}")


def test_a_date_shown_on_the_edit_form_survives_passing_through_the_field(page: Page) -> None:
    page.goto("/admin/login")
    log_in(page, ROOT_EMAIL, PASSWORD)
    page.goto("/admin/order/list")
    with next_page(page):
        page.locator("tbody tr[data-sa-pk] a[href*='/admin/order/edit']").first.click()
    stored = page.locator("#placed_at-value")
    before = stored.input_value()
    assert before, "an order has a date"
    field = page.get_by_label("Placed At")
    expect(field).not_to_have_value("")
    field.click()
    field.press("Tab")
    expect(stored).to_have_value(before)
