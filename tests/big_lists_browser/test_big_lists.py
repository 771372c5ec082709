"""The list page in a real browser: keyset paging, column chooser, export with progress."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.admin.listing_helpers import add_customers, customers
from tests.helpers import PASSWORD, create_admin

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screenshots"


@pytest.fixture
def store(live_server: Any) -> Any:
    """Data first: Playwright's sync API keeps an event loop running once it starts."""
    create_admin(live_server.settings, "root@example.com", superuser=True)
    add_customers(live_server.settings, customers(60))
    return live_server


@pytest.fixture
def signed_in(store: Any, browser_page: Any) -> Any:
    live_server = store
    page = browser_page
    page.goto(f"{live_server.url}/admin/login")
    page.fill("#username", "root@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/?$"))
    return page


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Kept for a person to look at (`.pytest_cache/screenshots/`); nothing compares them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def shown_ids(page: Any) -> list[int]:
    return [
        int(pk)
        for pk in page.locator("tbody tr[data-sa-pk]").evaluate_all(
            "rows => rows.map(r => r.dataset.saPk)"
        )
    ]


def test_first_next_last_and_previous_in_the_browser(signed_in, live_server):
    page = signed_in
    page.goto(f"{live_server.url}/admin/customer/list")
    assert shown_ids(page) == list(range(60, 35, -1))
    assert "Showing 1 to 25 of 60 entries" in page.inner_text("[data-app-hook=list-summary]")
    shot(page, "list-first-page")
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"after="))
    assert shown_ids(page) == list(range(35, 10, -1))
    page.click("a[rel=last]")
    page.wait_for_url(re.compile(r"last=1"))
    assert shown_ids(page) == list(range(25, 0, -1))
    assert page.locator("li.page-item.disabled a[rel=next]").count() == 1
    page.click("a[rel=prev]")
    page.wait_for_url(re.compile(r"before="))
    assert shown_ids(page) == list(range(50, 25, -1))
    page.click("a[rel=first]")
    page.wait_for_url(re.compile(r"/customer/list$"))
    assert shown_ids(page) == list(range(60, 35, -1))
    assert page.console_errors == [], page.console_errors


def test_column_chooser_and_select_all_still_work(signed_in, live_server):
    page = signed_in
    page.goto(f"{live_server.url}/admin/customer/list")
    page.click("#column-visibility-dropdown button")
    page.uncheck("input.column-visibility-toggle[value=email]")
    page.click("[data-app-call=applyColumnVisibility]")
    page.wait_for_url(re.compile(r"cols="))
    assert page.locator("td[data-column=email]").count() == 0
    assert page.locator("td[data-column=first_name]").count() == 25
    page.check("[data-sa-hook=select-all]")
    banner = page.locator("[data-sa-hook=select-all-matching-link]")
    assert banner.is_visible()
    assert "Select all 60 rows" in banner.inner_text()
    assert page.console_errors == [], page.console_errors


def test_export_shows_progress_and_downloads_the_file(signed_in, live_server, tmp_path):
    page = signed_in
    page.goto(f"{live_server.url}/admin/customer/list?q=person1")
    page.click("[data-sa-name=export]")
    form = page.locator("[data-sa-hook=modal-form] form[data-app-export]")
    form.wait_for()
    form.locator("input[value=all]").check()
    with page.expect_download() as download_info:
        page.click("[data-sa-action=action-submit]")
    download = download_info.value
    assert download.suggested_filename == "customer.csv"
    target = tmp_path / "customer.csv"
    download.save_as(target)
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("ID,First name") and len(lines) == 1 + 11
    dialog = page.locator("[data-sa-hook=modal-action]")
    dialog.wait_for(state="hidden")  # waits up to Playwright's timeout, then fails
    alert = page.locator("#alertContainer [role=alert]").filter(has_text="Exported 11 rows")
    alert.wait_for()
    assert "to customer.csv" in alert.inner_text(), alert.inner_text()
    shot(page, "export-done", full_page=False)

    page.click("[data-sa-name=export]")  # the next export starts afresh
    form.wait_for()
    assert not form.locator("[data-app-export-progress]").is_visible(), "no old progress"
    assert form.locator("[data-app-export-cancel]").inner_text() == "Cancel"
    assert page.console_errors == [], page.console_errors
