"""Two people in two browsers (real Chromium) on one record: each sees the other, and the
one who is only looking is warned when the other saves. A list page counts the changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.helpers import PASSWORD, create_admin, fetch, run
from tests.live.servers import AppServer, server_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("TEST_SCREENSHOTS", "")) if os.environ.get("TEST_SCREENSHOTS") else None


@pytest.fixture
def server(settings, tmp_path) -> Iterator[tuple[AppServer, int]]:
    create_admin(settings, "ann@example.com", full_name="Ann Editor")
    create_admin(settings, "bob@example.com", full_name="Bob Writer")

    async def category(session) -> None:
        from admin_app.models import Category

        session.add(Category(name="Garden", slug="garden"))

    run(settings, category)
    pk = fetch(settings, "SELECT id FROM category WHERE slug = 'garden'")[0][0]
    env = server_env(settings.database_url, tmp_path / "data")
    with AppServer(env, tmp_path / "server.log") as app_server:
        yield app_server, pk


@pytest.fixture
def chromium() -> Iterator[Browser]:
    # A missing browser fails the run (CI forbids skips); `make test` installs it.
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def signed_in(browser: Browser, base_url: str, email: str, problems: list[str]) -> BrowserContext:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.on("console", lambda m: m.type == "error" and problems.append(f"{email}: {m.text}"))
    page = context.new_page()
    page.goto("/admin/login")
    page.fill("#username", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/admin/")
    page.close()
    return context


def shot(page: Page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_two_browsers_see_each_other_and_the_change(server, chromium):
    server, pk = server
    problems: list[str] = []
    ann = signed_in(chromium, server.url, "ann@example.com", problems)
    bob = signed_in(chromium, server.url, "bob@example.com", problems)

    ann_list = ann.new_page()
    ann_list.goto("/admin/category/list")
    ann_detail = ann.new_page()
    ann_detail.goto(f"/admin/category/detail?pk={pk}")
    bob_edit = bob.new_page()
    bob_edit.goto(f"/admin/category/edit?pk={pk}")

    presence = '[data-live="presence"]'
    expect(ann_detail.locator(presence)).to_contain_text("Bob Writer (editing)")
    expect(bob_edit.locator(presence)).to_contain_text("Ann Editor")
    expect(bob_edit.locator(presence)).not_to_contain_text("Bob Writer"), "not yourself"
    shot(ann_detail, "presence-detail")
    shot(bob_edit, "presence-edit")

    bob_edit.fill("#name", "Garden & Patio")
    bob_edit.get_by_role("button", name="Save", exact=True).click()
    expect(bob_edit).not_to_have_url(f"{server.url}/admin/category/edit?pk={pk}")

    warning = ann_detail.locator('[data-live="notice"]')
    expect(warning).to_contain_text("Bob Writer just changed this record")
    shot(ann_detail, "changed-warning")
    expect(ann_detail.locator(presence)).to_be_hidden()  # Bob left the edit page

    banner = ann_list.locator('[data-live="notice"]')
    expect(banner).to_contain_text("1 new change: refresh")
    shot(ann_list, "list-banner")
    banner.get_by_role("button", name="refresh").click()
    expect(ann_list.get_by_text("Garden & Patio")).to_be_visible()
    expect(ann_list.locator('[data-live="notice"]')).to_be_hidden()

    assert not [p for p in problems if "Content Security Policy" in p], problems
    assert not problems, f"browser errors: {problems}"


def test_a_page_reconnects_after_a_restart_and_says_it_may_have_missed_changes(server, chromium):
    server, _ = server
    problems: list[str] = []
    ann = signed_in(chromium, server.url, "ann@example.com", problems)
    ann.add_init_script("Math.random = function () { return 0.999; };")  # jitter, pinned
    page = ann.new_page()
    page.goto("/admin/category/list")
    panel = page.locator('[data-live="panel"]')
    expect(panel).to_have_attribute("data-state", "open")
    server.__exit__()
    status = page.locator('[data-live="status"]')
    expect(status).to_contain_text("reconnecting")
    shot(page, "reconnecting")
    # Each failed try waits about twice as long as the one before (0.25 s + jitter x 0.5 s x 2^n).
    for delay in ("750", "1249", "2248", "4246"):
        expect(panel).to_have_attribute("data-retry-in", delay, timeout=10_000)
    server.__enter__()  # same port, as after a deploy
    notice = page.locator('[data-live="notice"]')
    expect(notice).to_contain_text("changes may have been missed", timeout=40_000)
    expect(status).to_be_hidden()
    shot(page, "reconnected")
