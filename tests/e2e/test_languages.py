"""Four languages: the language menu beside the theme menu, kept on the account, for an
administrator and for a limited role (Support); Arabic mirrors the page (sidebar on the
right); amounts and dates on a list follow the language; the sign-in page follows the
browser. axe-core checks the open menu. Screenshots (light, dark, Arabic, wide and phone)
are left in test-results/screenshots/<test>/."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.admin_ui import log_in, next_page
from tests.e2e.browser import Screenshots
from tests.e2e.conftest import ROOT_EMAIL, SUPPORT_EMAIL
from tests.e2e.screens import Accessibility
from tests.helpers import PASSWORD

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
LOG_OUT = {"en": "Logout", "fr": "Se déconnecter", "de": "Abmelden", "ar": "تسجيل الخروج"}
"""The user menu's Logout, per language (starlette-admin's catalogue, and ours for ar)."""
NAMES = {"en": "English", "fr": "Français", "de": "Deutsch", "ar": "العربية"}
MONEY = {
    "en": re.compile(r"€\d[\d,]*\.\d\d"),
    "fr": re.compile(r"\d[\d\u202f]*,\d\d\xa0€"),
    "de": re.compile(r"\d[\d.]*,\d\d\xa0€"),
    "ar": re.compile(r"\d[\d,]*\.\d\d\xa0€"),
}
"""An order total as each language writes an amount in euros (Babel's CLDR patterns)."""
MONTHS = {
    "en": r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d",
    "fr": r"\d (janv|févr|mars|avr|mai|juin|juil|août|sept|oct|nov|déc)\.? 20\d\d",
    "de": r"\d{2}\.\d{2}\.20\d\d",
}
"""A date in the order list's Created column, per language."""


def signed_in(make: Callable[..., BrowserContext], email: str, **options: Any) -> Page:
    page = make(**options).new_page()
    page.goto("/admin/login")
    log_in(page, email, PASSWORD)
    return page


def html(page: Page, name: str) -> str:
    return str(page.evaluate(f"() => document.documentElement.getAttribute('{name}')"))


def choose(page: Page, code: str) -> None:
    """Pick a language from the menu the screen shows (top bar, or a phone's top row)."""
    page.locator("[data-app-language-toggle]").filter(visible=True).click()
    item = page.locator(f'[data-app-language-form] [value="{code}"]').filter(visible=True)
    expect(item).to_have_accessible_name(NAMES[code])
    with next_page(page):
        item.click()
    assert html(page, "lang") == code


@pytest.fixture
def back_to_english() -> Iterator[list[Page]]:
    """Pages whose accounts go back to English afterwards (the other tests read English)."""
    pages: list[Page] = []
    yield pages
    for page in pages:
        page.goto("/admin/account")
        if html(page, "lang") != "en":
            choose(page, "en")


def test_an_administrator_switches_language_and_arabic_mirrors_the_page(
    new_context: Callable[..., BrowserContext], shots: Screenshots, back_to_english: list[Page]
) -> None:
    page = signed_in(new_context, ROOT_EMAIL, viewport=WIDE, color_scheme="light")
    back_to_english.append(page)
    axe = Accessibility()
    problems: list[str] = []
    page.goto("/admin/order/list")
    for code in ("fr", "de", "ar", "en"):
        choose(page, code)
        expect(page).to_have_url(re.compile(r"/admin/order/list"))  # back where it was chosen
        assert LOG_OUT[code] in page.content(), f"the page is not in {NAMES[code]}"
        assert html(page, "dir") == ("rtl" if code == "ar" else "ltr")
        assert MONEY[code].search(page.locator("table").inner_text()), f"{code}: amounts"
        if code in MONTHS:
            assert re.search(MONTHS[code], page.locator("table").inner_text()), f"{code}: dates"
        page.locator("[data-app-language-toggle]").filter(visible=True).click()
        problems += [f"{code} menu open: {p}" for p in axe.violations(page)]
        shots.take(page, f"order list {code} light menu open", full_page=False)
        page.keyboard.press("Escape")
        if code == "de":  # a noun keeps its capital inside a sentence
            page.goto("/admin/order/import")
            expect(page.get_by_role("heading", name="Importieren: Bestellungen")).to_be_visible()
            shots.take(page, "order import de")
            page.goto("/admin/order/list")
        if code == "ar":
            sidebar = page.locator("aside.navbar-vertical").bounding_box()
            main = page.locator(".page-wrapper").bounding_box()
            assert sidebar and main and sidebar["x"] > main["x"] + main["width"] / 2, (
                f"the sidebar is not on the right in Arabic: {sidebar}, content {main}"
            )
            page.goto("/admin/order/detail?pk=1")
            shots.take(page, "order detail ar")
            page.goto("/admin/order/list")
    assert not problems, "\n".join(problems)


def test_a_limited_role_switches_too_on_a_phone_and_in_dark(
    new_context: Callable[..., BrowserContext], shots: Screenshots, back_to_english: list[Page]
) -> None:
    page = signed_in(new_context, SUPPORT_EMAIL, viewport=PHONE, color_scheme="dark")
    back_to_english.append(page)
    axe = Accessibility()
    page.goto("/admin/order/list")
    choose(page, "de")
    assert LOG_OUT["de"] in page.content()
    assert MONEY["de"].search(page.locator("table").inner_text()), "amounts are not German"
    shots.take(page, "order list de phone")
    page.goto("/admin/order/edit?pk=1")
    expect(page.get_by_text("Hinzufügen: Position")).to_be_visible()
    shots.take(page, "order edit de phone")
    page.goto("/admin/order/list")
    choose(page, "ar")
    assert html(page, "dir") == "rtl"
    page.locator("[data-app-language-toggle]").filter(visible=True).click()
    problems = axe.violations(page)
    shots.take(page, "order list ar phone menu open", full_page=False)
    assert not problems, "\n".join(problems)
    page.keyboard.press("Escape")
    wide = signed_in(new_context, SUPPORT_EMAIL, viewport=WIDE, color_scheme="dark")
    assert html(wide, "lang") == "ar", "another browser does not get the account's language"
    wide.goto("/admin/order/list")
    shots.take(wide, "order list ar wide dark")


def test_before_sign_in_the_page_speaks_the_browsers_language(
    new_context: Callable[..., BrowserContext], shots: Screenshots
) -> None:
    page = new_context(viewport=WIDE, locale="de-DE").new_page()
    page.goto("/admin/login")
    assert html(page, "lang") == "de"
    expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
    shots.take(page, "sign in de")
    arabic = new_context(viewport=PHONE, locale="ar-EG").new_page()
    arabic.goto("/admin/login")
    assert (html(arabic, "lang"), html(arabic, "dir")) == ("ar", "rtl")
    shots.take(arabic, "sign in ar phone")


ENGLISH_LEFT = re.compile(
    r"\b(Go to|search records|Saved views|Save current view|Save view|Type \d|Keyboard shortcuts"
    r"|New Order|New order|Preview|row\(s\)|Cancel)\b"
)
"""English that our scripts and the create page used to write on a translated page."""


def test_what_scripts_write_follows_the_language_and_arabic_keeps_names_readable(
    new_context: Callable[..., BrowserContext], shots: Screenshots, back_to_english: list[Page]
) -> None:
    """French, then Arabic (wide, then a phone): the palette, the saved view dialog, the
    bulk edit preview and the create page speak the language; an Arabic order list shows
    the customer's "Name <email>" as written, and its breadcrumb has its separator."""
    page = signed_in(new_context, ROOT_EMAIL, viewport=WIDE, color_scheme="light")
    back_to_english.append(page)
    page.goto("/admin/order/list")
    choose(page, "fr")
    for code, size in (("fr", WIDE), ("ar", WIDE), ("ar", PHONE)):
        if html(page, "lang") != code:
            choose(page, code)
        page.set_viewport_size(size)
        name = f"{code} {size['width']}x{size['height']}"
        page.goto("/admin/order/list")
        shots.take(page, f"scripts {name} list", full_page=False)
        page.keyboard.press("Control+k")
        palette = page.locator("dialog.app-palette")
        expect(palette).to_be_visible()
        page.keyboard.type("zz")
        expect(palette.locator("[role=status]")).not_to_be_empty()
        shots.take(page, f"scripts {name} palette", full_page=False)
        said = palette.inner_text() + (palette.locator("input").get_attribute("placeholder") or "")
        assert not ENGLISH_LEFT.search(said), f"{name} palette: {said}"
        page.keyboard.press("Escape")
        page.locator("[data-app-saved-views-toggle]").click()
        page.locator("[data-app-saved-view-new]").click()
        dialog = page.locator("[data-app-saved-view-dialog]")
        expect(dialog).to_be_visible()
        shots.take(page, f"scripts {name} save view dialog", full_page=False)
        assert not ENGLISH_LEFT.search(dialog.inner_text()), f"{name} dialog"
        dialog.locator("[data-app-saved-view-cancel]").click()
        if code == "ar":
            cell = page.locator("table tbody tr[data-sa-pk] bdi").filter(has_text="@").first
            assert re.fullmatch(r"[^<>]+ <[^<>@]+@[^<>]+>", cell.inner_text()), cell.inner_text()
        page.goto("/admin/order/create")
        heading = page.locator(".card-title").first
        expect(heading).to_have_text({"fr": "Nouvelle commande", "ar": "طلب جديد"}[code])
        crumbs = page.locator(".breadcrumb-item + .breadcrumb-item").first
        divider = crumbs.evaluate("e => getComputedStyle(e, '::before').content")
        assert divider not in ("none", "normal", ""), f"{name}: no breadcrumb separator"
        picker = page.locator(".select2-selection__rendered").first  # the order's customer
        expect(picker).to_have_text({"fr": "Rechercher…", "ar": "بحث…"}[code])
        shots.take(page, f"scripts {name} create", full_page=False)
        if size is WIDE:
            page.goto("/admin/product/list")
            for row in range(2):
                page.locator("table tbody tr[data-sa-pk]").nth(row).get_by_role("checkbox").check()
            page.locator('[data-sa-hook="actions-dropdown"] [data-bs-toggle="dropdown"]').click()
            with next_page(page):
                page.locator('[data-sa-hook="action-item"][data-sa-name="bulk_edit"]').click()
            page.locator('[data-bulk-field="stock"] input[type="number"]').fill("321")
            with next_page(page):
                page.locator("form button.btn-primary[type=submit]").first.click()
            expect(page.locator("[data-bulk-sample] tbody tr")).to_have_count(2)
            shots.take(page, f"scripts {name} bulk edit preview", full_page=False)
            assert not ENGLISH_LEFT.search(page.locator(".page-wrapper").inner_text()), name
