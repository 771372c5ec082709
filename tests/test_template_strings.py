"""Every word a person reads in the project's templates is marked for translation.

Each `templates/**/*.html` is cut by Jinja's own lexer: whatever is inside `{{ }}`,
`{% %}` and `{# #}` becomes a stand-in without letters, and `{% trans %}` blocks too (their
text is marked); the rest is HTML, read with the standard library's parser. A text node,
or one of the attributes below, with a letter in it is a string nobody marked: wrap it in
`{{ _("…") }}` (or `{% trans %}`), then run `make translations`. What is inside
`<script>`, `<style>` and `<code>` is code, not text.

Prose can also hide inside Jinja itself: a heading passed to a macro
(`section("upload", "Choose a file")`), a list of step names, `"Yes" if … else "No"`.
A string literal there that reads as words (a capital, then words) and is not the
argument of `_()` is flagged too; one compared (`== "Forbidden"`) is code.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

from admin_app.templating import TEMPLATES_DIR

READ_ATTRIBUTES = frozenset(
    {"title", "aria-label", "placeholder", "alt", "label", "aria-description", "data-label"}
)
"""Attributes whose value a person reads (a tooltip, what a screen reader says, or a
table cell's label on a phone: `data-label`)."""

ALLOWED = frozenset(
    {
        "Store Admin",  # the product's name, the same in every language
    }
)
"""Text that is the same in every language. Keep it tiny: each entry says why."""

CODE = frozenset({"script", "style", "code"})
"""Elements whose content is code (a script, a style, a token's prefix), not prose."""

PROSE = re.compile(r"^[A-Z][a-z]+(?:[ ,'\u2019]+[A-Za-z'\u2019]+)*[.…?!]?$")
"""A string literal inside Jinja that reads as words: "Choose a file", "Yes, restore"."""
MARKERS = frozenset({"_", "gettext", "ngettext"})
COMPARED = frozenset({"==", "!=", "in"})

STAND_IN = "\u2022"  # a bullet: no letter, so never mistaken for text
LETTER = re.compile(r"[^\W\d_]")


def markup(source: str) -> str:
    """`source` with every Jinja construct, and every `{% trans %}` block, a stand-in."""
    out: list[str] = []
    depth = 0  # inside a `{% trans %}` block
    previous = ""
    for _, kind, value in Environment(extensions=["jinja2.ext.i18n"]).lex(source):
        if kind == "data":
            out.append(STAND_IN if depth else value)
        elif kind in ("variable_begin", "block_begin", "comment_begin"):
            # a tag's name made by Jinja (`<{{ tag }}>`) stays a tag's name
            out.append("x" if out and out[-1].endswith(("<", "</")) else STAND_IN)
        elif kind == "name" and previous == "block_begin":
            depth += {"trans": 1, "endtrans": -1}.get(value, 0)
        if kind not in ("whitespace",):
            previous = kind
    return "".join(out)


def unmarked_literals(source: str) -> list[str]:
    """The prose string literals inside `source`'s Jinja that `_()` does not take."""
    found = []
    tokens = [t for t in Environment(extensions=["jinja2.ext.i18n"]).lex(source)]
    tokens = [(kind, value) for _, kind, value in tokens if kind != "whitespace"]
    for n, (kind, value) in enumerate(tokens):
        text = value[1:-1]
        if kind != "string" or not PROSE.match(text):
            continue
        before = [v for _, v in tokens[max(0, n - 2) : n]]
        marked = before[-2:] in ([m, "("] for m in MARKERS)
        compared = n > 0 and tokens[n - 1][1] in COMPARED
        if not marked and not compared:
            found.append(text)
    return found


class Unmarked(HTMLParser):
    """Collects the text with letters outside Jinja: text nodes and read attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.code = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in CODE:
            self.code += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self._check(f'{name}="{value}"', value)

    def handle_endtag(self, tag: str) -> None:
        if tag in CODE:
            self.code = max(0, self.code - 1)

    def handle_data(self, data: str) -> None:
        if not self.code:
            self._check(data.strip(), data)

    def _check(self, shown: str, text: str) -> None:
        if LETTER.search(text) and text.strip() not in ALLOWED:
            self.found.append(" ".join(shown.split()))


def unmarked(path: Path) -> list[str]:
    source = path.read_text()
    parser = Unmarked()
    parser.feed(markup(source))
    parser.close()
    return parser.found + unmarked_literals(source)


TEMPLATES = sorted(TEMPLATES_DIR.rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_every_string_a_person_reads_is_marked_for_translation(path):
    found = unmarked(path)
    assert not found, f"{path.relative_to(TEMPLATES_DIR)}: not marked for translation: {found}"


def test_the_check_finds_text_and_attributes_but_not_marked_strings_or_code(tmp_path):
    sample = tmp_path / "sample.html"
    sample.write_text(
        '<p title="Tip">Hello {{ name }}</p><i aria-label="{{ _(\'Icon\') }}"></i>'
        "{{ _('Marked') }}{% trans %}Also marked{% endtrans %}{# a comment #}"
        '<script>var text = "code";</script><span>{{ count }} &times; 3</span>'
    )
    assert unmarked(sample) == ['title="Tip"', "Hello •"]


def test_the_check_finds_words_written_inside_jinja_but_not_keys_or_comparisons(tmp_path):
    sample = tmp_path / "sample.html"
    sample.write_text(
        '{% call section("upload", "Choose a file") %}{% endcall %}'
        '{% for step in [_("File"), "Columns"] %}{% endfor %}'
        '<td data-label="{{ noun }} total"></td>'
        '{{ _("Yes, restore") if ready else "Restore with the new values" }}'
        '{% if exc.detail == "Forbidden" %}{% endif %}{{ page | attr("Upload") }}'
    )
    assert unmarked(sample) == [
        'data-label="• total"',
        "Choose a file",
        "Columns",
        "Restore with the new values",
        "Upload",
    ]
