"""What a person can put into each kind of form control, as hypothesis strategies.

`pick(control, bundle)` looks at a control as the browser shows it (its tag, type,
options, limits: `tests.forms.Control`) and takes what a user could type, pick or tick,
plus what a hand-made request could send: blanks, very long text, emoji and
right-to-left text, spreadsheet-formula prefixes, markup, negative, zero and huge
numbers, impossible dates, and for a choice every option it offers, the blank one
included. A control type added to a form later is drawn from by what it looks like.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from tests.forms import Control

ODD_TEXT = (
    "",
    " ",
    "  padded  ",
    "😀🎉 party",
    "مرحبا بالعالم",
    "שלום עולם",
    "=1+2",
    "+31 6 1234 5678",
    "-1",
    "@SUM(A1:A2)",
    "<b>bold</b> & <script>alert(1)</script>",
    "a'b\"c\\d",
    "100%_done",
    "Ünïcödé ñ ß",
    "x" * 5000,
)
"""Text the forms must take or refuse at the field, never choke on."""

_TYPED = st.characters(exclude_categories=("Cs", "Cc"))  # what an input can carry

NUMBERS = (
    "",
    "0",
    "-0",
    "-1",
    "0.001",
    "12.345",
    "1e20",
    "-99999999999",
    "99999999999999999999",
    "2147483648",
)

IMPOSSIBLE_DATES = ("2026-02-30T10:00", "2026-13-01T00:00", "0000-01-01T00:00", "", "2026-06-31")

JSON_TEXT = (
    "{}",
    '{"colour": "red"}',
    '{"😀": [1, 2, {"x": null}], "deep": {"a": {"b": {"c": 1}}}}',
    "[1, 2]",
    "null",
    '"just text"',
    "not json",
    "{",
    "",
)


def text(control: Control) -> st.SearchStrategy[str]:
    """Free text for a text-like input or a textarea."""
    typed = st.text(alphabet=_TYPED, min_size=1, max_size=40)
    lines = st.lists(typed, min_size=2, max_size=3).map("\n".join)
    kinds = [st.sampled_from(ODD_TEXT), typed, typed]
    if control.tag == "textarea":
        kinds.append(lines)
    return st.one_of(*kinds)


def email() -> st.SearchStrategy[str]:
    """An address, usually new (so it rarely clashes with another record), or not one."""
    local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+", min_size=1, max_size=20)
    fresh = st.builds(lambda a, n: f"{a}.{n}@example.com", local, st.integers(0, 10**9))
    odd = st.sampled_from(
        ["", "not-an-email", "ünïcode@example.com", "a@b", "x" * 250 + "@example.com", " a@b.co "]
    )
    return st.one_of(fresh, fresh, odd)


def number(control: Control) -> st.SearchStrategy[str]:
    """What a number input sends: a valid number of any size and sign, or nothing."""
    step = control.attrs.get("step", "")
    decimals = st.decimals(
        min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False, places=2
    ).map(str)
    integers = st.integers(-(10**12), 10**12).map(str)
    return st.one_of(st.sampled_from(NUMBERS), integers, decimals if step != "1" else integers)


def moment() -> st.SearchStrategy[str]:
    """A `datetime-local` value: any date and time, seconds or not, or an impossible one."""
    when = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31))
    return st.one_of(
        when.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")),
        when.map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
        st.sampled_from(IMPOSSIBLE_DATES),
    )


def json_text() -> st.SearchStrategy[str]:
    """What a JSON editor could hold."""
    objects = st.dictionaries(
        st.text(alphabet=_TYPED, max_size=8),
        st.one_of(st.integers(), st.text(alphabet=_TYPED, max_size=10), st.booleans(), st.none()),
        max_size=4,
    ).map(lambda d: json.dumps(d, ensure_ascii=False))
    return st.one_of(st.sampled_from(JSON_TEXT), objects)


def is_json_editor(control: Control) -> bool:
    """The hidden text input behind a JSON editor (its value is JSON)."""
    if control.type != "text" or "hidden" not in control.attrs:
        return False
    try:
        json.loads(control.value)
    except ValueError:
        return False
    return True


def fillable(control: Control) -> bool:
    """Whether a person fills in `control` (not hidden bookkeeping, read-only fields, files
    or buttons; passwords are drawn as a pair, see `password_pair`)."""
    if control.readonly or control.disabled or control.type in _NOT_TYPED:
        return False
    return is_json_editor(control) or control.type != "hidden"


def bundle() -> st.SearchStrategy[dict[str, Any]]:
    """One draw of every kind of value at once, for `pick` to choose from.

    Every draw has the same shape whatever the control turns out to be, so hypothesis
    sees the same choices in the same order on every run even when the forms it meets
    change with the data (a record's form may have more rows than the last one had)."""
    return st.fixed_dictionaries(
        {
            "text": text(Control("t", "input")),
            "lines": text(Control("t", "textarea")),
            "email": email(),
            "whole": number(Control("n", "input", attrs={"step": "1"})),
            "decimal": number(Control("n", "input")),
            "moment": moment(),
            "bool": st.booleans(),
            "json": json_text(),
            "index": st.integers(0, 10**6),
            "indices": st.lists(st.integers(0, 10**6), max_size=3),
        }
    )


def pick(control: Control, drawn: dict[str, Any], related: Sequence[str] = ()) -> Any:
    """The value `control` gets from one `bundle()` draw."""
    if is_json_editor(control):
        return drawn["json"]
    if control.type == "number":
        return drawn["whole" if control.attrs.get("step") == "1" else "decimal"]
    if control.type in _BY_TYPE:
        return drawn[_BY_TYPE[control.type]]
    if control.tag == "select":
        offered = [value for value, _label in control.options] or [*related, ""]
        if control.multiple:
            real = [v for v in offered if v]
            return sorted({real[i % len(real)] for i in drawn["indices"]}) if real else []
        return offered[drawn["index"] % len(offered)]
    return drawn["lines" if control.tag == "textarea" else "text"]


_NOT_TYPED = frozenset({"file", "submit", "button", "reset", "image", "password"})

_BY_TYPE = {"email": "email", "datetime-local": "moment", "checkbox": "bool"}
"""Bundle entries by input type; text-like types (text, phone, url, search) and textareas
take free text."""


def password_pair() -> st.SearchStrategy[tuple[str, str]]:
    """A new password and its confirmation: matching and strong, mismatched, or weak."""
    strong = st.text(alphabet="abcdefghijkmnpqrstuvwxyz23456789", min_size=16, max_size=24).map(
        lambda p: f"Pw-{p}"
    )
    return st.one_of(
        strong.map(lambda p: (p, p)),
        strong.map(lambda p: (p, p + "x")),
        st.sampled_from([("short", "short"), ("password123", "password123"), ("", "")]),
    )
