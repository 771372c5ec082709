"""The filter builder of a list: its fields arrive in their own cached script
(admin_app/admin/lists/routes.py, `filter_fields_script`), and a condition built with
them filters the list and shows as a chip."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL
from tests.helpers import PASSWORD


def test_a_condition_from_the_filter_builder_filters_the_list(
    page: Page, shots: Screenshots
) -> None:
    page.goto("/admin/customer/list")
    log_in(page, ROOT_EMAIL, PASSWORD)
    page.goto("/admin/customer/list")
    city = page.locator("tbody tr[data-sa-pk] td[data-column=city]").first.inner_text().strip()
    page.get_by_role("button", name="Filters").click()
    page.locator("#add-filter-row").click()
    row = page.locator('[data-sa-hook="filter-rows"] .filter-row').first
    offered = row.locator("select.filter-row-field option").all_inner_texts()
    assert "City" in offered and "Country" in offered, f"the builder offers {offered}"
    row.locator("select.filter-row-field").select_option("city")
    row.locator("select.filter-row-op").select_option("eq")
    row.locator("input.filter-row-value").fill(city)
    shots.take(page, "a condition on the city")
    with next_page(page):
        page.locator("#filter-form button[type=submit]").click()
    cities = page.locator("tbody tr[data-sa-pk] td[data-column=city]").all_inner_texts()
    assert cities and {c.strip() for c in cities} == {city}, f"filtered on {city}: {cities}"
    expect(page.get_by_text(f"City: Equal {city}")).to_be_visible()
    shots.take(page, "the list filtered")
