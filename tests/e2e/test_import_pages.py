"""Importing customers through the import pages: upload, map the columns, check, apply with
a progress bar, and find the new customers in the list. Screenshots of each step are left
in test-results/screenshots/test-import-pages-*/ (wide screen, and the mapping on a phone
in dark)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.e2e.admin_ui import log_in, next_page, open_link
from tests.e2e.browser import ConsoleWatch, Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SCREENSHOTS
from tests.e2e.screens import Accessibility
from tests.helpers import PASSWORD

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CSV = (
    "First name,Surname,E-mail,Country,Active,Notes\n"
    "Ines,Vale,ines.pages@example.com,PT,yes,met at the fair\n"
    "Otto,Brenner,otto.pages@example.com,DE,no,\n"
    "Yuki,Sato,yuki.pages@example.com,JP,true,prefers email\n"
)
JOB_PAGE = re.compile(r"/admin/customer/import/\d+$")
STATUS = re.compile(r"/admin/_api/imports/\d+$")


class Steps:
    """Screenshots of the steps, each checked by axe-core for serious problems."""

    def __init__(self, name: str) -> None:
        self.shots = Screenshots(SCREENSHOTS, name)
        self.axe = Accessibility()
        self.problems: list[str] = []

    def take(self, page: Page, name: str) -> None:
        self.shots.take(page, name)
        self.problems += [f"{name}: {problem}" for problem in self.axe.violations(page)]


def step(page: Page, name: str):
    """The step of the import page called `name`, once it is the one shown."""
    section = page.locator(f'[data-import-step="{name}"]')
    expect(section).to_be_visible()
    return section


@contextmanager
def slowed_down(page: Page) -> Iterator[Callable[[], None]]:
    """Within the block, polls of a job's status answer that it is applying, one row of
    three done and then two, until the block calls the function it was given; later
    polls get the server's own answers.

    The e2e server runs on SQLite, where an apply of three rows is over before the first
    poll (and stores no progress while it runs), so the bar would jump to done: this shows
    the bar, the rate and the time left as a longer import on PostgreSQL would.
    """
    polls: list[int] = []
    held = [True]

    def answer(route: Route) -> None:
        real = route.fetch()
        if route.request.method != "GET" or not held[0]:
            route.fulfill(response=real)
            return
        polls.append(1)
        job = {**real.json(), "status": "applying", "rows_done": min(len(polls), 2)}
        route.fulfill(response=real, json=job)

    page.route(STATUS, answer)
    try:
        yield lambda: held.__setitem__(0, False)
    finally:
        # A poll may still be in the handler (fetching the real answer) when the block
        # ends: let it finish, or it would answer a route already handed back.
        page.unroute_all(behavior="wait")


def upload(page: Page, path: Path) -> None:
    """From the customer list, open the import page and send the file."""
    open_link(page, "Customers")
    open_link(page, "Import")
    expect(page.get_by_role("heading", name="Choose a file")).to_be_visible()
    page.get_by_label(re.compile("A CSV or Excel")).set_input_files(path)


def test_import_pages_from_file_to_list(
    new_context: Callable[..., BrowserContext], console: ConsoleWatch, tmp_path: Path
) -> None:
    file = tmp_path / "new customers.csv"
    file.write_text(CSV, encoding="utf-8")
    page = new_context(viewport=WIDE).new_page()
    shots = Steps("test import pages 1366x900")
    page.goto("/admin/")
    log_in(page, ROOT_EMAIL, PASSWORD)
    upload(page, file)
    shots.take(page, "choose a file")
    with next_page(page):
        page.get_by_role("button", name="Upload and continue").click()
    expect(page).to_have_url(JOB_PAGE)

    mapping = step(page, "mapping")
    expect(mapping.get_by_label("E-mail")).to_have_value("email")
    expect(mapping.get_by_label("Surname")).to_have_value("")
    expect(mapping.get_by_label("Notes")).to_have_value("")
    mapping.get_by_label("First name").select_option("first_name")
    with console.tolerating("400 (Bad Request)") as refused:
        mapping.get_by_role("button", name="Check the file").click()
        expect(page.locator('[data-import-error="mapping"]')).to_contain_text(
            "New records need a value for last_name (Last name)"
        )
    assert refused, "the refused mapping is the validate call's 400"
    shots.take(page, "a mapping that cannot work")
    mapping.get_by_label("Surname").select_option("last_name")
    mapping.get_by_label("Save this mapping as").fill("fair leads")
    shots.take(page, "mapping")
    mapping.get_by_role("button", name="Check the file").click()

    result = step(page, "result")
    expect(result.locator('[data-import-count="new"]')).to_have_text("3")
    expect(result.locator('[data-import-count="errors"]')).to_have_text("0")
    apply = result.get_by_role("button", name="Import", exact=True)
    expect(apply).to_be_enabled()
    shots.take(page, "validation result")
    page.reload()
    expect(step(page, "result").locator('[data-import-count="new"]')).to_have_text("3")

    with slowed_down(page) as release:
        step(page, "result").get_by_role("button", name="Import", exact=True).click()
        applying = step(page, "applying")
        bar = applying.get_by_role("progressbar", name="Rows imported")
        expect(bar).to_have_attribute("aria-valuenow", "67")
        expect(applying.locator("[data-import-done]")).to_have_text("2 of 3 (67%)")
        expect(applying.locator("[data-import-rate]")).to_have_text(re.compile(r"rows/s$"))
        expect(applying.locator("[data-import-left]")).to_have_text(re.compile(r"^about \d+ s$"))
        shots.take(page, "applying")
        release()
    done = step(page, "done")
    expect(done.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(done).to_contain_text("3 rows imported from new customers.csv (3 new, 0 updated)")
    shots.take(page, "done")
    with next_page(page):
        done.get_by_role("link", name="Back to customers").click()
    for email in ("ines.pages@example.com", "otto.pages@example.com", "yuki.pages@example.com"):
        expect(page.get_by_role("cell", name=email)).to_be_visible()
    assert not shots.problems, "accessibility problems:\n" + "\n".join(shots.problems)
    on_a_phone(new_context, tmp_path)


def on_a_phone(new_context: Callable[..., BrowserContext], tmp_path: Path) -> None:
    """The same file with a bad cell, on a phone set to dark (so the import pages are
    checked by axe-core in both themes), with the mapping saved above: the error is
    listed, the import is not offered, and cancelling writes nothing."""
    file = tmp_path / "bad.csv"
    bad = CSV.replace("JP,true", "JP,maybe").replace(".pages@", ".phone@")
    file.write_text(bad, encoding="utf-8")
    page = new_context(viewport=PHONE, color_scheme="dark").new_page()
    shots = Steps("test import pages 390x844 dark")
    page.goto("/admin/customer/list")
    log_in(page, ROOT_EMAIL, PASSWORD)
    shots.take(page, "list with the import link")
    open_link(page, "Import")
    page.get_by_label(re.compile("A CSV or Excel")).set_input_files(file)
    with next_page(page):
        page.get_by_role("button", name="Upload and continue").click()
    mapping = step(page, "mapping")
    mapping.get_by_label("Use a saved mapping").select_option("fair leads")
    expect(mapping.get_by_label("Surname")).to_have_value("last_name")
    shots.take(page, "mapping")
    mapping.get_by_role("button", name="Check the file").click()
    result = step(page, "result")
    expect(result.locator('[data-import-count="errors"]')).to_have_text("1")
    expect(result.get_by_role("cell", name=re.compile("is_active"))).to_be_visible()
    expect(result.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    expect(result.get_by_role("link", name=re.compile("errors.csv"))).to_have_attribute(
        "href", re.compile(r"/admin/_api/imports/\d+/errors.csv$")
    )
    shots.take(page, "validation result with an error")
    result.get_by_role("button", name="Cancel import").click()
    expect(step(page, "cancelled")).to_contain_text("Nothing was written")
    assert not shots.problems, "accessibility problems:\n" + "\n".join(shots.problems)
