"""The admin's languages: which there are, which one a request is in, and the catalogues.

starlette-admin translates its own pages through `starlette_admin.i18n`: a context
variable holds the request's locale (`set_locale`, `get_locale`), and `gettext` reads
that locale's catalogue from its `translations` table, which ships en, fr, de (and a
few more), but no Arabic. The project's own strings are one Babel catalogue, domain
`messages`, under `admin_app/translations/<code>/LC_MESSAGES/` (`make translations`
extracts, updates and compiles them; the compiled `.mo` files are committed, so a fresh
clone needs no build step, and a test checks each matches its `.po`).
`load_catalogues` merges ours over starlette-admin's, so a string found in ours wins and
any other falls back to starlette-admin's, and adds the languages it lacks: one
`gettext`, one locale, for its templates and ours.

A request's language is the signed-in account's (`AdminUser.locale`, so it follows the
person), else the best match of the browser's `Accept-Language`, else English
(`locale_of`); the login check sets it on every admin request (`apply_locale`).

To add a language: its code in `LANGUAGES`, and a catalogue (`make translations
NEW_LANGUAGE=<code>` starts one). Its name and writing direction come from Babel's locale data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, numbers
from babel.core import negotiate_locale
from babel.support import NullTranslations, Translations
from jinja2 import Environment
from starlette.requests import HTTPConnection
from starlette_admin import i18n

from admin_app.auth.identity import current_identity

LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "ar")
"""The languages an account may choose, by code; the first is the default."""

DEFAULT = LANGUAGES[0]
CATALOGUES = Path(__file__).parent / "translations"
DOMAIN = "messages"


@dataclass(frozen=True)
class Language:
    """A language as the switcher shows it: its code, its name in itself, its direction."""

    code: str
    name: str
    rtl: bool


@cache
def language(code: str) -> Language:
    """The language of `code` (one of `LANGUAGES`), from Babel's locale data."""
    locale = Locale.parse(code)
    name = (locale.get_display_name(locale) or code).capitalize()
    return Language(code, name, locale.character_order == "right-to-left")


def parse_locale(value: object) -> str | None:
    """`value` if it is the code of one of `LANGUAGES`, else None."""
    return value if isinstance(value, str) and value in LANGUAGES else None


def accepted(header: str) -> str:
    """The best of `LANGUAGES` for an `Accept-Language` header, else the default."""
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, n, tag.strip()))
    preferred = [tag for _, _, tag in sorted(ranked)]
    return negotiate_locale(preferred, list(LANGUAGES), sep="-") or DEFAULT


def locale_of(conn: HTTPConnection) -> str:
    """The request's language: the signed-in account's, else the browser's choice."""
    identity = current_identity(conn)
    if identity is not None:
        return parse_locale(identity.locale) or DEFAULT
    return accepted(conn.headers.get("accept-language", ""))


def apply_locale(conn: HTTPConnection) -> None:
    """Put the request in its language (`locale_of`): starlette-admin's strings and
    dates, and ours, follow."""
    i18n.set_locale(locale_of(conn))


def text_direction() -> str:
    """`rtl` or `ltr`: how the request's language is written, for `<html dir>`."""
    code = parse_locale(i18n.get_locale()) or DEFAULT
    return "rtl" if language(code).rtl else "ltr"


CAPITALISED = frozenset({"de"})
"""Languages that write a noun capitalised inside a sentence."""


def in_sentence(name: str) -> str:
    """A name as written inside a sentence in the request's language: "Back to
    customers", but German "Zurück zu Kunden" (`CAPITALISED`)."""
    text = str(name)
    return text if (parse_locale(i18n.get_locale()) or DEFAULT) in CAPITALISED else text.lower()


def format_number(value: float | Decimal) -> str:
    """`value` as the request's language writes a number (`1,234` / `1 234` / `1.234`)."""
    return numbers.format_decimal(value, locale=i18n.get_locale())


def format_money(value: float | Decimal, currency: str) -> str:
    """An amount as the request's language writes it (`€1,234.50` / `1.234,50 €`)."""
    return numbers.format_currency(value, currency, locale=i18n.get_locale())


def catalogue(code: str, domain: str = DOMAIN) -> NullTranslations:
    """The project's compiled catalogue for `code` (empty if there is none)."""
    return Translations.load(str(CATALOGUES), [code], domain)


def load_catalogues() -> None:
    """Merge the project's catalogues over starlette-admin's. A language it lacks gets
    the project's translation of its strings (domain `admin`), with ours merged over.
    Running it again changes nothing."""
    for code in LANGUAGES:
        theirs = i18n.translations.get(code)
        if theirs is None:
            theirs = i18n.translations[code] = catalogue(code, "admin")
        ours = catalogue(code)
        if isinstance(theirs, Translations) and isinstance(ours, Translations):
            theirs.merge(ours)


def install(env: Environment) -> None:
    """Give `env` `_()`, `gettext`, `ngettext` and `{% trans %}` in the request's language."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        text_direction=text_direction,
        language=language,
        languages=LANGUAGES,
        format_number=format_number,
    )
