"""What the admin tells a person when it refuses or reports (an HTTP error page, a form
error, a flash message, a failed action) is written through `gettext`, so it reads in
their language. Emails (English by design), logs, the CLI and the JSON API are left out."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT = ("admin_app/api/", "admin_app/email/", "admin_app/cli/", "admin_app/web/metrics.py")
"""Not read by a person in the admin: the JSON API, emails, the CLI, the metrics endpoint."""

SAID_AT: dict[str, int] = {
    "HTTPException": 1,
    "flash": 1,
    "ActionFailed": 0,
    "FormValidationError": 0,
    "DecisionError": 0,
    "NotOffered": 0,
}
"""The calls that put a message in front of a person, and which argument is the message."""
SAID_AS = frozenset({"error"})
"""Keyword arguments that hand a page or a dialog the message it shows (`error=`): words,
not a code (`segno.make(uri, error="m")`), and not a column a background job writes
(`.values(error=…)`: stored for later, in English by choice, docs/lists.md)."""


def _written_in_english(node: ast.expr) -> bool:
    """A literal message (a string with letters, an f-string, a dict of them)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any(c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Dict):
        return any(v is not None and _written_in_english(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _written_in_english(node.left)
    return False


def untranslated(source: str) -> Iterator[tuple[int, str]]:
    """The calls of `source` that give a message as English text, with their lines."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        at = SAID_AT.get(name)
        said = [
            kw.value
            for kw in node.keywords
            if kw.arg in SAID_AS and name != "values" and " " in ast.unparse(kw.value)
        ]
        if at is not None and len(node.args) > at:
            said.append(node.args[at])
        if any(_written_in_english(value) for value in said):
            yield node.lineno, ast.unparse(node)[:100]


def test_every_refusal_and_notice_goes_through_gettext() -> None:
    found = []
    for path in sorted((ROOT / "admin_app").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if not name.startswith(LEFT_OUT):
            found += [f"{name}:{line}: {call}" for line, call in untranslated(path.read_text())]
    assert not found, "messages shown to people in English only:\n" + "\n".join(found)


def test_the_check_sees_english_and_lets_gettext_through() -> None:
    english = [
        'raise HTTPException(404, "There is no such thing.")',
        'flash(request, f"{n} saved.", "success")',
        'raise FormValidationError({"name": "Too long."})',
        'raise ActionFailed("No." + reason)',
        'return self._page(request, "ask", 422, error="Enter your email address.")',
    ]
    for source in english:
        assert list(untranslated(source)), source
    for source in (
        'raise HTTPException(404, gettext("There is no such thing."))',
        'flash(request, gettext("%(n)s saved.") % {"n": n}, "success")',
        'raise FormValidationError({"name": gettext("Too long.")})',
        "raise HTTPException(403)",
    ):
        assert not list(untranslated(source)), source


GETTEXT = frozenset({"gettext", "ngettext", "lazy_gettext", "_"})


def hidden_from_extraction(source: str) -> Iterator[tuple[int, str]]:
    """`gettext("…")` calls written inside an f-string: `make translations` (Babel's
    extractor) does not look inside f-strings, so their words never reach a catalogue."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.JoinedStr):
            continue
        for inner in ast.walk(node):
            func = inner.func if isinstance(inner, ast.Call) else None
            if isinstance(func, ast.Name) and func.id in GETTEXT:
                yield inner.lineno, ast.unparse(inner)[:100]


def test_no_gettext_call_hides_inside_an_f_string() -> None:
    found = []
    for path in sorted((ROOT / "admin_app").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        found += [
            f"{name}:{line}: {call}" for line, call in hidden_from_extraction(path.read_text())
        ]
    assert not found, "gettext inside f-strings (name the text first):\n" + "\n".join(found)
    assert list(hidden_from_extraction("""f"<b>{esc(gettext('Apply'))}</b>\"""")), "the check"
