"""Every page of every registered model, read in French, German and Arabic, shows none of
the English sentences our catalogue translates: a word left in English on a translated
page (a heading passed to a macro, a message built in Python, a script's text) shows here,
for the model registered next year too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import starlette_admin
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from admin_app.admin.registry import REGISTRY
from admin_app.languages import CATALOGUES
from tests.admin.listing_helpers import add_customers, customers
from tests.admin.test_languages import set_language
from tests.e2e.screens import ACCOUNT_PAGES, model_pages

PAGES = [
    *((page.name, page.path(None)) for page in model_pages()),
    *(
        (f"{view_class.__name__} import", f"/admin/{view_class().key}/import")
        for view_class in REGISTRY
    ),
    *ACCOUNT_PAGES.items(),
]
"""Every page of every registered model (and the import page, for those that offer one)
and the account's pages, listed once when the tests are collected: a view made later
would take over the fields of the app's own views."""

SKIPPED = frozenset({"script", "style", "code", "textarea"})
READ = ("title", "aria-label", "placeholder", "alt", "data-label")


class Shown(HTMLParser):
    """The text a person reads on a page: text nodes and read attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipped = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skipped += 1
        self.parts += [value for name, value in attrs if name in READ and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skipped = max(0, self.skipped - 1)

    def handle_data(self, data: str) -> None:
        if not self.skipped:
            self.parts.append(data)


def shown(html: str) -> str:
    parser = Shown()
    parser.feed(html)
    return "\n".join(" ".join(p.split()) for p in parser.parts if p.strip())


STOCK = Path(starlette_admin.__file__).parent / "translations"


def catalogues(code: str) -> Iterator[Catalog]:
    """Ours, and starlette-admin's own (its templates' words; Arabic's is ours)."""
    for path in (
        CATALOGUES / code / "LC_MESSAGES" / "messages.po",
        CATALOGUES / code / "LC_MESSAGES" / "admin.po",
        STOCK / code / "LC_MESSAGES" / "admin.po",
    ):
        if path.exists():
            with path.open("rb") as handle:
                yield read_po(handle, locale=code)


PLACE = re.compile(r"%\(\w+\)[sd]|%[sd]")
"""A place a message leaves to fill: `%(name)s`, `%s`."""


def translated_away(catalogue: Catalog) -> Iterator[tuple[str, list[str]]]:
    """Each singular English message `catalogue` says otherwise, and its words between
    the places to fill."""
    for message in catalogue:
        if isinstance(message.id, str) and message.id and message.string not in ("", message.id):
            yield message.id, PLACE.split(message.id)


def english_sentences(code: str) -> list[tuple[str, re.Pattern[str]]]:
    """The English sentences (three words or more) the catalogues say otherwise in `code`,
    each as a pattern with its `%(name)s` places open."""
    found = []
    for catalogue in catalogues(code):
        for said, parts in translated_away(catalogue):
            if sum(len(p.split()) for p in parts) < 3:
                continue  # short, or mostly places to fill: too loose to find
            pattern = ".{1,80}?".join(re.escape(" ".join(p.split())) for p in parts)
            found.append((said, re.compile(pattern)))
    return found


@pytest.mark.parametrize("code", ["fr", "de", "ar"])
def test_no_page_of_any_model_shows_english_the_catalogue_translates(seeded, admin_client, code):
    assert set_language(admin_client, code).status_code == 303
    sentences = english_sentences(code)
    problems = []
    for name, path in PAGES:
        response = admin_client.get(path)
        if response.status_code >= 500:
            problems.append(f"{name}: {response.status_code}")
        if response.status_code != 200:
            continue
        text = shown(response.text)
        problems += [f"{name}: {said!r}" for said, pattern in sentences if pattern.search(text)]
    assert not problems, f"English on {code} pages:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("code", "offer"),
    [
        ("fr", "Sélectionner les 30 lignes correspondant au filtre actuel."),
        ("de", "Wählen Sie alle 30 Zeilen aus, die dem aktuellen Filter entsprechen."),
    ],
)
def test_the_select_all_banner_speaks_the_accounts_language(admin_client, settings, code, offer):
    """The banner a list offers when more rows match than it shows (written by the list
    engine, not starlette-admin's template) is in the account's language."""
    add_customers(settings, customers(30))
    assert set_language(admin_client, code).status_code == 303
    page = admin_client.get("/admin/customer/list").text
    banner = page[page.index('id="select-all-banner"') :]
    assert offer in banner and "rows matching" not in banner


def test_an_empty_cell_says_not_set_in_the_accounts_language_and_back(admin_client, settings):
    """The dash of an empty value (its tooltip, and what a screen reader says) is written
    once per language by the list engine and the detail page; switching back shows it
    in English again."""
    add_customers(settings, [{**customers(1)[0], "country": None}])
    said = {"fr": "Non défini", "de": "Nicht gesetzt", "en": "Not set"}
    for code in ("fr", "de", "en"):
        assert set_language(admin_client, code).status_code == 303
        for url in ("/admin/customer/list", "/admin/customer/detail?pk=1"):
            page = admin_client.get(url).text
            assert f'title="{said[code]}"' in page, (code, url)
            assert code == "en" or 'title="Not set"' not in page, (code, url)


def words_written_by(code: str, source: str) -> list[tuple[str, re.Pattern[str]]]:
    """Each English message `source` says that `code` says otherwise, however short, as
    a pattern for a whole text of the page."""
    with (CATALOGUES / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale=code)
    written_there = {m.id for m in catalogue if any(path == source for path, _ in m.locations)}
    return [
        (said, re.compile(".+?".join(re.escape(p) for p in parts)))
        for said, parts in translated_away(catalogue)
        if said in written_there
    ]


@pytest.mark.parametrize("code", ["fr", "de", "ar"])
def test_every_header_filter_of_every_list_speaks_the_accounts_language(seeded, admin_client, code):
    """Each column's filter popover (its button's name, the form fetched when it opens)
    of every registered model's list shows none of its own English words."""
    assert set_language(admin_client, code).status_code == 303
    english = words_written_by(code, "admin_app/admin/header_filters.py")
    assert len(english) > 10
    problems = []
    for name, path in PAGES:
        if not name.endswith(" list"):
            continue
        page = admin_client.get(path).text
        links = re.findall(r'<a href="([^"]+)" data-app-hf-load>', page)
        texts = shown(page).splitlines()
        for link in links:
            texts += shown(admin_client.get(unescape(link)).text).splitlines()
        problems += [
            f"{name}: {text!r}"
            for text in set(texts)
            for said, pattern in english
            if pattern.fullmatch(text)
        ]
    assert not problems, f"English in {code} header filters:\n" + "\n".join(sorted(problems))
