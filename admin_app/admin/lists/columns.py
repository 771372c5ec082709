"""The column types: one registry entry per field type, all a list (and a record's
pages) do with it.

Each `ColumnType` gives, for fields of its type:
- `cell`: the cell's HTML from the displayed value (the same markup as the field's
  `list_template`, which it names in `template`), made once per page (`CellKit`);
- `convert`: how a stored value becomes the displayed one, made once per page (the
  user's locale and zone are fixed by then); None where the field's own
  `serialize_value` decides;
- `search`: the search box's clause for a column of this type, in a form an index can
  serve (no casts), or None when the search box ignores it;
- `export`: how an export writes a column of it (a kind of `admin_app.admin.export_columns`),
  or None to go by the column's SQL type (relations are written as ids, by their shape);
- `sortable`: whether the list may be ordered by it (keyset pages need a comparable,
  indexable column);
- `detail`, `form`: how a record's detail page draws its value and its forms draw its
  input (`admin_app.admin.field_markup`), each the markup of the template it names; None
  where the field's own templates draw it (`admin_app.admin.record_fields`).

Filters come from starlette-admin's own filter registry, which also goes by field type.

Looking a field up walks its class's MRO, so a subclass (`MoneyField` of `DecimalField`)
gets its parent's entry. A field whose `list_template` is not its entry's `template`, or
that reads or formats its value its own way, is rendered by its template: never wrong,
only slower. Adding a column type is one entry in `COLUMN_TYPES`, and one row in
`tests/admin/test_columns.py`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import escape
from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import ColumnProperty
from starlette_admin import fields as sa
from starlette_admin.i18n import is_timezone_conversion_enabled

from admin_app.admin import compat
from admin_app.admin.datetimes import DateTimeText
from admin_app.admin.field_markup import (
    Cell,
    CellKit,
    Drawn,
    detail_boolean,
    detail_email,
    detail_text,
    esc,
    form_boolean,
    form_enum,
    form_input,
)
from admin_app.admin.fields import AwareDateTimeField

MAX_TERM_LENGTH = 200
"""Longer search terms are refused (a 400): no one types them, and they cost."""

Search = Callable[[Any, sa.BaseField, str, str], ColumnElement[bool]]


@dataclass(frozen=True)
class ColumnType:
    """What a list does with one field type (see the module docstring)."""

    template: str | None
    cell: Callable[[sa.BaseField, CellKit], Cell] | None
    convert: Callable[[sa.BaseField, CellKit], Callable[[Any], Any] | None] | None = None
    search: Search | None = None
    export: str | None = None
    sortable: bool = True
    detail: Drawn | None = None
    """How a record's detail page draws the value (`admin_app.admin.field_markup`)."""
    form: Drawn | None = None
    """How a record's forms draw the input."""


# -- cells (the markup of starlette-admin's `fields/list/*.html`) ---------------------------

TITLED = 24
"""Text longer than this gets the whole of it as the cell's tooltip: shorter text always
fits a cell's two lines (`templates/admin/fields/list/_truncated.html`)."""


def truncated(title: str, body: str) -> str:
    """The one-line cell (`fields/list/_truncated.html`); `body` is HTML (escaped by the
    caller), `title` the text it shows."""
    whole = " ".join(title.split())
    if len(whole) > TITLED:
        return f'<span class="cell inline-edit-value" title="{esc(whole)}">{body}</span>'
    return f'<span class="cell inline-edit-value">{body}</span>'


def text_cell(field: sa.BaseField, kit: CellKit) -> Cell:
    """`fields/list/text.html`."""

    def cell(data: Any) -> str:
        text = str(data)
        return truncated(text, esc(text))

    return cell


def email_cell(field: sa.BaseField, kit: CellKit) -> Cell:
    """`fields/list/email.html`, one address."""

    def cell(data: Any) -> str:
        address = esc(str(data))
        return truncated(str(data), f'<a href="mailto:{address}">{address}</a>')

    return cell


def boolean_cell(field: sa.BaseField, kit: CellKit) -> Cell:
    """`fields/list/boolean.html`: a green tick or a red cross."""

    def one(value: bool) -> str:
        colour = "text-success" if value else "text-danger"
        icon = esc(kit.icon("field.boolean_true" if value else "field.boolean_false"))
        return (
            f'<div class="d-flex"><div class="p-1"><span class="{colour} inline-edit-value">'
            f'<i class="{icon} fa-lg"></i></span></div></div>'
        )

    yes, no = one(True), one(False)
    return lambda data: yes if data else no


def image_cell(field: sa.BaseField, kit: CellKit) -> Cell:
    """`fields/list/image.html`, one image: its thumbnail as an avatar."""

    def cell(data: Any) -> str:
        url = _get(data, "thumbnail_url") or _get(data, "url")
        return (
            '<div class="d-flex"><div class="p-1"><span class="avatar avatar-sm" '
            f"style=\"background-image: url('{escape(url)}')\"></span></div></div>"
        )

    return cell


def _get(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


# -- conversions ------------------------------------------------------------------------


def as_is(convert: Callable[[Any], Any]) -> Callable[[sa.BaseField, CellKit], Callable[[Any], Any]]:
    """The same conversion for every field of the type."""
    return lambda field, kit: convert


def enum_labels(field: sa.BaseField, kit: CellKit) -> Callable[[Any], Any] | None:
    """A choice's label, looked up once per page (starlette-admin scans every choice per
    cell); None for fields that hold several choices."""
    if getattr(field, "multiple", False):
        return None
    assert isinstance(field, sa.EnumField)
    labels = {value: label for value, label in compat.enum_choices(field, kit.request)}

    def convert(value: Any) -> Any:
        key = value.value if isinstance(value, enum.Enum) else value
        return labels.get(key, key)

    return convert


def date_time(field: sa.BaseField, kit: CellKit) -> Callable[[Any], Any] | None:
    """babel's date and time in the user's zone and locale, once per page."""
    if not is_timezone_conversion_enabled():
        return None
    assert isinstance(field, sa.DateTimeField)
    precise = type(field).serialize_value is sa.DateTimeField.serialize_value
    return DateTimeText(field.output_format or "medium", precise=precise)


# -- search -----------------------------------------------------------------------------


class SearchTermError(ValueError):
    """A search term that cannot be searched for."""


def clean_term(term: str) -> str:
    """The term to search for, or `SearchTermError` for one the database would reject."""
    term = term.strip()
    if "\x00" in term:
        raise SearchTermError("The search text contains a character that cannot be searched.")
    if len(term) > MAX_TERM_LENGTH:
        raise SearchTermError(f"Search for at most {MAX_TERM_LENGTH} characters.")
    return term


def escape_like(term: str) -> str:
    """`term` with LIKE's wildcards taken literally (escape character `\\`)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column: Any, field: Any, term: str, dialect: str) -> ColumnElement[bool]:
    """`column` contains `term`, ignoring case, in a form its trigram index can use:
    `col ILIKE '%term%'` on PostgreSQL; SQLite's LIKE already ignores ASCII case."""
    pattern = f"%{escape_like(term)}%"
    if dialect == "postgresql":
        return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]
    return column.like(pattern, escape="\\")  # type: ignore[no-any-return]


def enum_matches(column: Any, field: Any, term: str, dialect: str) -> ColumnElement[bool]:
    """`column` holds one of the choices whose value or label contains `term`."""
    needle = term.casefold()
    values = [
        value
        for value, label in _choices(field)
        if needle in str(value).casefold() or needle in str(label).casefold()
    ]
    if not values:
        return false()
    python_type = column.type.python_type
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        values = [python_type(v) for v in values]
    return column.in_(values)  # type: ignore[no-any-return]


def _choices(field: Any) -> Iterable[tuple[Any, Any]]:
    if field.choices:
        return [(choice[0], choice[1]) for choice in field.choices]
    if field.enum is not None:
        return [(member.value, member.name) for member in field.enum]
    return []


def search_clause(
    model: type[Any], fields: Iterable[sa.BaseField], term: str, dialect: str
) -> ColumnElement[bool]:
    """OR of the per-field matches for `term` over the searchable columns."""
    clauses = []
    for field in fields:
        column = getattr(model, field.name, None)
        search, prop = column_type(field).search, getattr(column, "property", None)
        if field.searchable and search and isinstance(prop, ColumnProperty):
            clauses.append(search(column, field, term, dialect))
    return or_(*clauses) if clauses else false()


# -- the registry -----------------------------------------------------------------------

_TEXT = "fields/list/text.html"
_SHOWN = Drawn("fields/detail/text.html", detail_text)
_INPUT = Drawn("fields/form/input.html", form_input)
_NOT_SHOWN = ColumnType(template=None, cell=None, search=None, sortable=False)


def _plain(export: str | None, convert: Any = None, search: Search | None = None) -> ColumnType:
    """A column shown as text in a list and on a detail page, typed into a plain input."""
    return ColumnType(_TEXT, text_cell, convert, search, export, detail=_SHOWN, form=_INPUT)


COLUMN_TYPES: dict[type[sa.BaseField], ColumnType] = {
    sa.BaseField: ColumnType(template=None, cell=None),
    sa.StringField: _plain("text", as_is(str), contains),
    sa.EmailField: replace(
        _plain("text", as_is(str), contains),
        template="fields/list/email.html",
        cell=email_cell,
        detail=Drawn("fields/detail/email.html", detail_email),
    ),
    sa.PasswordField: _NOT_SHOWN,
    sa.ColorField: ColumnType(None, None, None, None, "text", form=_INPUT),
    sa.UUIDField: _plain("text"),
    sa.IPAddressField: _plain("text"),
    sa.ComputedField: ColumnType(_TEXT, text_cell, None, None, None, False, detail=_SHOWN),
    sa.NumberField: _plain("number"),
    sa.IntegerField: _plain("number", as_is(int)),
    sa.FloatField: _plain("number"),
    sa.BooleanField: ColumnType(
        "fields/list/boolean.html",
        boolean_cell,
        as_is(bool),
        export="bool",
        detail=Drawn("fields/detail/boolean.html", detail_boolean),
        form=Drawn("fields/form/boolean.html", form_boolean),
    ),
    sa.EnumField: replace(
        _plain("text", enum_labels, enum_matches), form=Drawn("fields/form/enum.html", form_enum)
    ),
    sa.DateTimeField: _plain("datetime", date_time),
    AwareDateTimeField: _plain("datetime", date_time),
    sa.DateField: _plain("date"),
    sa.TimeField: _plain(None),
    sa.JSONField: ColumnType(None, None, None, None, "json", sortable=False),
    sa.ImageField: ColumnType("fields/list/image.html", image_cell, sortable=False),
    sa.FileField: ColumnType(None, None, sortable=False),
    sa.RelationField: ColumnType(None, None, sortable=False),
    sa.TagsField: ColumnType(None, None, None, None, "json", sortable=False),
}
"""Every field type a list knows, by class; a field's entry is its nearest class's."""


def covers(field: sa.BaseField) -> bool:
    """Whether `field`'s cell is its column type's: it shows its own value, in the markup
    its type's entry reproduces (not its own template, formatter, getter, several
    values, or a copy button)."""
    entry = column_type(field)
    return not (
        entry.cell is None
        or field.list_template != entry.template
        or bool(field.formatter)
        or getattr(field, "getter", None) is not None
        or type(field).parse_obj is not sa.BaseField.parse_obj
        or getattr(field, "multiple", False)
        or getattr(field, "copy_to_clipboard", False)
    )


def column_type(field: sa.BaseField) -> ColumnType:
    """The registry entry for `field`: that of the nearest class in its MRO."""
    for kind in type(field).__mro__:
        entry = COLUMN_TYPES.get(kind)
        if entry is not None:
            return entry
    return COLUMN_TYPES[sa.BaseField]
