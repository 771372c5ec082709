"""Importing a file in the browser: the preview says which rows are wrong, and a file with
errors cannot be imported by half."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.admin_ui import log_in, open_link
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL
from tests.helpers import PASSWORD

CSV = (
    "first_name,last_name,email,country,is_active\n"
    "Bea,Ray,bea.import@example.com,DE,yes\n"
    "Ann,Lee,ann.import@example.com,FR,maybe\n"
)


def test_a_preview_with_errors_offers_no_import(page: Page, shots: Screenshots, tmp_path: Path):
    upload = tmp_path / "customers.csv"
    upload.write_text(CSV)
    page.goto("/admin/")
    log_in(page, ROOT_EMAIL, PASSWORD)
    open_link(page, "Customers")
    page.get_by_role("button", name="Import").click()
    page.locator('[data-sa-hook="import-form"] input[type=file]').set_input_files(upload)
    submit = page.locator('[data-sa-action="import-submit"]')
    submit.click()
    errors = page.locator('[data-sa-hook="import-preview-errors"]')
    expect(errors).to_contain_text("Use true or false")
    expect(submit).to_be_disabled()
    expect(submit).to_have_text("Fix the rows with errors to import")
    shots.take(page, "preview with an error")
