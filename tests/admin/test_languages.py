"""Each account's language: kept on the account, chosen from the top bar, shown on every
page (its strings, `<html lang dir>`, dates and numbers), taken from the browser before
sign-in, and never served from a kept page chrome of another language
(admin_app/admin/chrome.py)."""

from __future__ import annotations

import io
import re

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from admin_app.languages import CATALOGUES, LANGUAGES, accepted, language
from admin_app.main import create_app
from tests.helpers import create_admin, fetch, give_role, html_attributes, login, post_form

PAGES = (
    "/admin/",
    "/admin/account",
    "/admin/customer/list",
    "/admin/customer/detail?pk=1",
    "/admin/customer/edit?pk=1",
    "/admin/customer/create",
)
"""A page of each kind: dashboard, My account, and a model's list, detail and forms (the
last four served from kept chromes)."""

LOG_OUT = {"en": "Logout", "fr": "Se déconnecter", "de": "Abmelden", "ar": "تسجيل الخروج"}
"""starlette-admin's own "Logout", in the top bar of every page, per language."""


def html_lang(page: str) -> tuple[str, str]:
    """(`lang`, `dir`) of a page's `<html>` element."""
    lang, direction = html_attributes(page, "lang", "dir")
    return lang, direction


def set_language(client: TestClient, locale: str, **headers: str):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        "/admin/account/language",
        {"locale": locale},
        headers=headers,
        follow_redirects=False,
    )


def stored_locale(settings, email: str) -> str:  # type: ignore[no-untyped-def]
    return str(fetch(settings, "SELECT locale FROM admin_user WHERE email = :e", e=email)[0][0])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("de-AT", "de"),
        ("ar-EG,ar;q=0.9", "ar"),
        ("es, de;q=0.5, fr;q=0.7", "fr"),
        ("es, pt", "en"),
        ("", "en"),
        ("fr;q=nonsense", "en"),
        ("fr;q=0", "en"),
    ],
)
def test_before_sign_in_the_browsers_best_language_is_used(header, expected):
    assert accepted(header) == expected, header


def test_every_language_has_a_name_in_itself_and_arabic_reads_right_to_left():
    names = {code: language(code).name for code in LANGUAGES}
    assert names == {"en": "English", "fr": "Français", "de": "Deutsch", "ar": "العربية"}
    assert [code for code in LANGUAGES if language(code).rtl] == ["ar"]


def test_the_sign_in_page_speaks_the_browsers_language(seeded):
    with TestClient(create_app(seeded)) as browser:
        for header, lang, direction in (("de-DE,de;q=0.9", "de", "ltr"), ("ar", "ar", "rtl")):
            page = browser.get("/admin/login", headers={"accept-language": header}).text
            assert html_lang(page) == (lang, direction), header
        page = browser.get("/admin/login", headers={"accept-language": "fr"}).text
        assert "Se connecter" in page or "Connexion" in page, "the sign-in page is not in French"


def test_a_chosen_language_is_kept_on_the_account_and_shown_on_every_page(seeded, admin_client):
    came_from = "http://testserver/admin/customer/list?page=2"
    answer = set_language(admin_client, "fr", referer=came_from)
    assert answer.status_code == 303 and answer.headers["location"] == came_from
    assert stored_locale(seeded, "root@example.com") == "fr"
    for url in PAGES:
        page = admin_client.get(url, headers={"accept-language": "de"}).text
        assert html_lang(page) == ("fr", "ltr"), url
        assert LOG_OUT["fr"] in page, f"{url} is not in French"
    with TestClient(create_app(seeded)) as elsewhere:
        assert login(elsewhere, "root@example.com").status_code == 303
        assert html_lang(elsewhere.get("/admin/").text) == ("fr", "ltr"), (
            "another browser does not get the account's language"
        )


def test_arabic_pages_read_right_to_left(seeded, admin_client):
    set_language(admin_client, "ar")
    for url in PAGES:
        page = admin_client.get(url).text
        assert html_lang(page) == ("ar", "rtl"), url
        assert LOG_OUT["ar"] in page, f"{url}: starlette-admin's own strings are not in Arabic"


@pytest.mark.parametrize("value", ["es", "", "FR", "fr-FR"])
def test_an_unknown_language_is_refused_and_nothing_changes(seeded, admin_client, value):
    answer = set_language(admin_client, value)
    assert answer.status_code == 303
    assert (
        "English, Français, Deutsch, العربية" in admin_client.get(answer.headers["location"]).text
    )
    assert stored_locale(seeded, "root@example.com") == "en"


def test_a_kept_chrome_never_shows_another_language(seeded, admin_client):
    """Two accounts in different languages take turns on the same kept pages; then one
    changes language, and the very next page of each kind shows it."""
    create_admin(seeded, "clerk@example.com", superuser=False)
    give_role(seeded, "clerk@example.com", "Support")
    with TestClient(create_app(seeded)) as clerk:
        assert login(clerk, "clerk@example.com").status_code == 303
        set_language(admin_client, "de")
        for _ in range(2):
            for url in ("/admin/", "/admin/customer/list", "/admin/customer/detail?pk=1"):
                assert LOG_OUT["de"] in admin_client.get(url).text, f"root, {url}"
                assert LOG_OUT["en"] in clerk.get(url).text, f"clerk, {url}"
        set_language(admin_client, "en")
        set_language(clerk, "fr")
        for url in ("/admin/", "/admin/customer/list", "/admin/customer/detail?pk=1"):
            assert html_lang(admin_client.get(url).text)[0] == "en", f"root, {url}"
            page = clerk.get(url).text
            assert LOG_OUT["fr"] in page and html_lang(page)[0] == "fr", f"clerk, {url}"


def test_a_language_change_is_in_the_audit_log(seeded, admin_client):
    set_language(admin_client, "ar")
    set_language(admin_client, "ar")  # no change: nothing to log
    rows = fetch(
        seeded,
        "SELECT actor, changes FROM audit_entry WHERE action = 'update' AND model = 'admin_user'",
    )
    assert len(rows) == 1, f"expected one logged change, found {rows}"
    assert '"locale": ["en", "ar"]' in str(rows[0][1]).replace("'", '"')


def test_signed_out_nobody_sets_a_language(seeded, client):
    answer = post_form(client, "/admin/account/language", {"locale": "fr"}, follow_redirects=False)
    assert "/admin/login" in answer.headers.get("location", "/admin/login")


PO_FILES = sorted(CATALOGUES.glob("*/LC_MESSAGES/*.po"))


def test_every_language_has_a_catalogue():
    have = {path.parts[-3] for path in PO_FILES if path.name == "messages.po"}
    assert have == set(LANGUAGES), "run `make translations NEW_LANGUAGE=<code>`"


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: "/".join(p.parts[-3:]))
def test_each_compiled_catalogue_is_its_po_file_and_complete(path):
    """The committed .mo files are what `make translations` compiles from the .po files
    (a .po edited without compiling would not show), and every string is translated."""
    with path.open("rb") as po:
        source = read_po(po)
    compiled = io.BytesIO()
    write_mo(compiled, source)
    assert path.with_suffix(".mo").read_bytes() == compiled.getvalue(), (
        f"{path}: the .mo file is not its .po compiled: run `make translations`"
    )
    if path.parts[-3] != "en":
        untranslated = [m.id for m in source if m.id and not all(_strings(m.string))]
        assert not untranslated, f"{path}: not translated: {untranslated}"


def _strings(string: str | tuple[str, ...]) -> tuple[str, ...]:
    return string if isinstance(string, tuple) else (string,)


AMOUNT = {
    "en": re.compile(r"€\d[\d,]*\.\d\d"),
    "fr": re.compile(r"\d[\d\u202f]*,\d\d\xa0€"),
    "de": re.compile(r"\d[\d.]*,\d\d\xa0€"),
}
"""An amount in euros as each language writes it (Babel's CLDR patterns)."""


@pytest.mark.parametrize("code", ["en", "fr", "de"])
def test_amounts_and_dates_follow_the_language_but_forms_keep_plain_numbers(
    seeded, admin_client, code
):
    set_language(admin_client, code)
    listing = admin_client.get("/admin/order/list").text
    assert AMOUNT[code].search(listing), f"no amount written the {code} way on the order list"
    month = {
        "en": r"[A-Z][a-z]{2} \d{1,2}, 20\d\d",
        "fr": r"\d{1,2} [a-zéû]+\.? 20\d\d",
        "de": r"\d\d\.\d\d\.20\d\d",
    }
    assert re.search(month[code], listing), f"no date written the {code} way on the order list"
    summary = {"en": "Showing 1 to 25 of 40 entries", "fr": "Affichage des entrées 1 à 25 sur 40"}
    summary["de"] = "Zeige 1 bis 25 von 40 Einträgen"
    assert summary[code] in listing, "the line under the list is not in the language"
    assert AMOUNT[code].search(admin_client.get("/admin/order/detail?pk=1").text)
    form = admin_client.get("/admin/order/edit?pk=1").text
    assert not AMOUNT[code].search(form), "the edit form shows a formatted amount"


def test_a_field_error_is_in_the_accounts_language(seeded, admin_client):
    set_language(admin_client, "fr")
    page = post_form(admin_client, "/admin/product/create", {"name": "Lampe", "price": "douze"})
    assert page.status_code in (400, 422), page.status_code
    assert "Saisissez un nombre, par exemple 12.50" in page.text, "the price's error is not French"
