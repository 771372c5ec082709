"""HTML as a list of canonical tokens, for comparing markup drawn in Python with a
template's: tags with their attributes sorted and their values' white space folded, and
text with runs of white space folded (templates indent and break lines, Python does not)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


def tokens(html: str) -> list[tuple[Any, ...]]:
    """`html`'s canonical tokens."""
    parser = _Tokens()
    parser.feed(html)
    parser.close()
    return parser.out


class _Tokens(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[tuple[Any, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kept = tuple(sorted((k, " ".join((v or "").split())) for k, v in attrs))
        self.out.append(("<", tag, kept))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.out.append(("/", tag))

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not text:
            return
        if self.out and self.out[-1][0] == "text":  # adjacent text: one token
            self.out[-1] = ("text", f"{self.out[-1][1]} {text}")
        else:
            self.out.append(("text", text))
