"""What our scripts write on a page reads in the page's language: every text goes
through `appWord` (static/admin.js), each is listed in `WORDS` and translated in every
catalogue, and a page loads its language's words from one cached URL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo

from admin_app.admin.script_words import WORDS, translated
from admin_app.languages import CATALOGUES, DEFAULT, LANGUAGES
from tests.admin.test_languages import set_language

STATIC = Path(__file__).resolve().parents[2] / "static"
SCRIPTS = sorted(p for p in STATIC.glob("*.js") if p.name != "api-docs.js")
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
PLACE = re.compile(r"\{(\w+)\}")

SINK = re.compile(
    r"\.(?:textContent|innerText|title|placeholder)\s*=[^;=\n][^;\n]*"
    r"|setAttribute\(\s*\"(?:aria-label|title|placeholder|alt)\"[^;\n]*"
    r"|\b(?:alert|confirm|prompt)\([^;\n]*"
    r'|"(?:aria-label|title|placeholder)"\s*:\s*"[^"]*"'
    r"|\b(?:placeholder|title)\s*:\s*\"[^\"]*\""
)
"""Where a script puts text in front of a person: an element's text or title, an
accessible name, a placeholder, a browser dialog."""

ATTRIBUTES = {"aria-label", "title", "placeholder", "alt"}

PROSE = re.compile(
    r"\b[A-Z][a-z]+\b|(?<![\w-])[a-z]{2,} [a-z]{2,}(?![\w-])"
    r"|^ +\(?[A-Za-z]+(?![\w-])|(?<![\w-])[A-Za-z]+[).:…]? +$|…"
)
"""A literal that reads as English: a capitalised word, two words, or a piece of a
sentence joined to others (a space at one end)."""

NOT_WORDS = {
    "use strict",
    "Ctrl K / ⌘ K",
    "avatar avatar-xs rounded",
    "Content-Disposition",
    "Content-Type",
    "WebSocket",
    "AbortError",
    "ArrowDown",
    "ArrowUp",
    "Home",
    "End",
    "Enter",
    "Escape",
    "Tab",
    "X-CSRFToken",
    "X-Export-Rows",
    "X-Export-Rows-Estimated",
    "Accept",
}
"""Literals that look like words but are names the code uses (headers, keys, classes)."""

STOCK_TEXTS = {"Search..."}
"""English that starlette-admin's own scripts write (form.js's pickers), which ours look
for in order to put it in the page's language."""


def _without_comments(text: str) -> str:
    return "\n".join(line.split("// ")[0] if "// " in line else line for line in text.splitlines())


def _word_calls(text: str, names: str = "appWord|word") -> list[tuple[int, int]]:
    """The spans of the first argument of each call of one of `names`."""
    spans = []
    for found in re.finditer(rf"(?<!function )\b(?:{names})\(", text):
        start = i = found.end()
        depth, quote = 0, ""
        while i < len(text):
            c = text[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c in "([{":
                depth += 1
            elif c in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            i += 1
        spans.append((start, i))
    return spans


def _asked(text: str) -> set[str]:
    """The words a script asks `appWord` for."""
    return {m.group(1) for a, b in _word_calls(text) for m in LITERAL.finditer(text[a:b])}


def _english(text: str) -> list[str]:
    """Literals that read as English and do not go through `appWord`."""
    spans = _word_calls(text, "appWord|word|Error|querySelector|querySelectorAll|closest|matches")
    found: dict[str, None] = {}
    for m in LITERAL.finditer(text):
        if any(a <= m.start() < b for a, b in spans) or m.group(1) in NOT_WORDS | STOCK_TEXTS:
            continue
        if PROSE.search(m.group(1)):
            found[m.group(1)] = None
    for sink in SINK.finditer(text):
        for m in LITERAL.finditer(sink.group(0)):
            start = sink.start() + m.start()
            said = m.group(1)
            if said in ATTRIBUTES or any(a <= start < b for a, b in spans):
                continue
            if re.search("[A-Za-z]", said):
                found[said] = None
    return list(found)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_script_writes_no_english_of_its_own(script: Path) -> None:
    text = _without_comments(script.read_text(encoding="utf-8"))
    assert _english(text) == [], f"{script.name} writes English outside appWord()"
    unknown = _asked(text) - set(WORDS)
    assert not unknown, f"{script.name} asks for words WORDS does not list: {unknown}"


def test_every_word_is_asked_for_by_some_script() -> None:
    asked = set().union(*(_asked(_without_comments(p.read_text("utf-8"))) for p in SCRIPTS))
    assert set(WORDS) - asked == set(), "words no script uses (they weigh on every page)"
    assert len(set(WORDS)) == len(WORDS)


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != DEFAULT])
def test_every_word_is_translated_keeping_its_places(code: str) -> None:
    with (CATALOGUES / code / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
        catalogue = read_mo(mo)
    for word in WORDS:
        message = catalogue.get(word)
        assert message is not None and message.string, f"{code}: {word!r} is not translated"
        assert set(PLACE.findall(message.string)) == set(PLACE.findall(word)), (code, word)


def test_the_detector_finds_english_in_a_script() -> None:
    assert _english('el.textContent = "Saved " + n;') == ["Saved "]
    assert _english('say("Nothing matches.");') == ["Nothing matches."]
    assert _english('b.setAttribute("aria-label", "x");') == ["x"]
    assert _english('say(word("Nothing matches."));') == []
    assert _english('el.className = "btn btn-sm";') == []


def test_a_page_loads_its_languages_words_kept_for_good(seeded, admin_client) -> None:
    for code in LANGUAGES:
        set_language(admin_client, code)
        page = admin_client.get("/admin/customer/list").text
        found = re.search(r'<script[^>]* src="(/admin/_api/words\.js\?l=(\w+)&amp;v=\w+)"', page)
        assert found and found.group(2) == code, f"{code}: the page does not load its words"
        script = admin_client.get(found.group(1).replace("&amp;", "&"))
        assert script.status_code == 200
        assert "immutable" in script.headers["cache-control"]
        assert script.headers["content-type"].startswith("text/javascript")
        table = translated(code)
        assert (
            script.text
            == f"window.appWords={json.dumps(table, ensure_ascii=False, separators=(',', ':'))};\n"
        )
        assert (len(table) > len(WORDS) // 2) == (code != DEFAULT), code
