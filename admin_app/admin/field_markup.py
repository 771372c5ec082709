"""A field's markup on a record's pages, drawn in Python: its value on the detail page and
its input in a form, each the markup of one of starlette-admin's field templates.

starlette-admin draws a record's fields through templates: on the detail page an include
per field, in a form a template render per field plus an include each for its label,
its input and its error (`widgets/form_field_widget.html`). Those were a large part of a
detail page's and an edit form's CPU (docs/big-tables.md). The makers here are made once
per field and page (as a list's cells are, `admin_app.admin.lists.columns`), and each
registry entry there names which of them draws its type (`ColumnType.detail`,
`ColumnType.form`) and which template's markup it reproduces;
`tests/admin/test_columns.py` renders both for every entry and compares them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette_admin import fields as sa
from starlette_admin import i18n
from starlette_admin.i18n import gettext

from admin_app.admin import compat


def null_html() -> str:
    """An empty value, in the request's language: the same dash as
    templates/admin/fields/detail/_null.html."""
    return _marks(i18n.get_locale())[0]


def empty_html() -> str:
    """An empty collection, in the request's language: the same dash as
    templates/admin/fields/detail/_empty.html."""
    return _marks(i18n.get_locale())[1]


@cache
def _marks(locale: str) -> tuple[str, str]:
    """`null_html` and `empty_html` in `locale` (the one `gettext` reads), made once each."""
    return _dash(gettext("Not set"), gettext("not set")), _dash(gettext("None"), gettext("none"))


def _dash(title: str, said: str) -> str:
    return (
        f'<span class="text-muted inline-edit-value" title="{esc(title)}">'
        f'<span aria-hidden="true">—</span><span class="visually-hidden">{esc(said)}</span></span>'
    )


NULL_TEMPLATE, EMPTY_TEMPLATE = "fields/detail/_null.html", "fields/detail/_empty.html"
LABEL_TEMPLATE, ERROR_TEMPLATE = "fields/form/_label.html", "fields/form/_error.html"


def _named(name: str) -> str:
    return name


@dataclass(frozen=True)
class CellKit:
    """What a cell or conversion maker may need from the page: the request (its locale,
    its choices) and the admin's icon and CSS class names (`icon(…)`, `cls(…)`)."""

    request: Request
    icon: Callable[[str], str]
    css: Callable[[str], str] = _named


Cell = Callable[[Any], str]
"""A shown value to its markup."""
Input = Callable[[Any, str | None], str]
"""A form's value and its error (None: no error) to the field's input markup."""


@dataclass(frozen=True)
class Drawn:
    """How a record's page draws fields of a type: `make(field, kit)` gives the markup of
    `template` (a cell maker for the detail page, an input maker for a form)."""

    template: str
    make: Callable[[sa.BaseField, CellKit], Any]


def esc(text: Any) -> str:
    """HTML-escape a value as a template's `{{ value }}` does, as a plain string."""
    return str(escape(text))


# -- the detail page's values (`fields/detail/*.html`) ----------------------------------


def detail_text(field: sa.BaseField, kit: CellKit) -> Cell:
    """`fields/detail/text.html` without its copy button."""
    return esc


def detail_email(field: sa.BaseField, kit: CellKit) -> Cell:
    """`fields/detail/email.html` without its copy button."""

    def cell(data: Any) -> str:
        address = esc(data)
        return f'<a href="mailto:{address}">{address}</a>'

    return cell


def detail_boolean(field: sa.BaseField, kit: CellKit) -> Cell:
    """`fields/detail/boolean.html`: a green tick or a red cross."""

    def one(value: bool) -> str:
        colour = "text-success" if value else "text-danger"
        icon = esc(kit.icon("field.boolean_true" if value else "field.boolean_false"))
        return f'<span class="text-center {colour} me-1"><i class="{icon} fa-lg"></i></span>'

    yes, no = one(True), one(False)
    return lambda data: yes if data else no


# -- a form's inputs (`fields/form/*.html`) ------------------------------------------------


@dataclass(frozen=True)
class _Input:
    """What every input template says the same way: the wrapper's and the input's error
    classes, `aria-*` for an error and help text, the help and the error lines."""

    field: sa.BaseField
    kit: CellKit

    def wrapper(self, error: str | None) -> str:
        return self.kit.css(self.field.error_class) if error else ""

    def described(self, error: str | None) -> str:
        ids = [f"{self.field.id}-error" if error else "", self.help_id]
        joined = " ".join(i for i in ids if i)
        invalid = ' aria-invalid="true"' if error else ""
        return invalid + (f' aria-describedby="{esc(joined)}"' if joined else "")

    @property
    def help_id(self) -> str:
        return f"{self.field.id}-help" if self.field.help_text else ""

    def help(self, css: str = "form-hint") -> str:
        text = self.field.help_text
        return f'<small class="{css}" id="{esc(self.help_id)}">{esc(text)}</small>' if text else ""

    def error(self, error: str | None) -> str:
        """`fields/form/_error.html`."""
        if not error:
            return ""
        return f'<div class="invalid-feedback" id="{esc(self.field.id)}-error">{esc(error)}</div>'


def form_input(field: sa.BaseField, kit: CellKit) -> Input:
    """`fields/form/input.html`, without an input group (`FieldRef.prepend`/`append`)."""
    parts = _Input(field, kit)
    ident, params = esc(field.id), field.input_params()
    css = kit.css(getattr(field, "class_", ""))

    def draw(data: Any, error: str | None) -> str:
        value = "" if data is None else esc(data)
        classes = esc(f"{css} {parts.wrapper(error)}")
        return (
            f'<div class="{esc(parts.wrapper(error))}"><input id="{ident}" name="{ident}" '
            f'class="{classes}" value="{value}"{parts.described(error)} {params} />'
            f"{parts.help()}</div>{parts.error(error)}"
        )

    return draw


def form_boolean(field: sa.BaseField, kit: CellKit) -> Input:
    """`fields/form/boolean.html`: a switch."""
    parts = _Input(field, kit)
    ident, params = esc(field.id), field.input_params()
    help_text = field.help_text
    label = f'<span class="form-check-label">{esc(help_text)}</span>' if help_text else ""

    def draw(data: Any, error: str | None) -> str:
        checked = "checked" if data else ""
        invalid = f' aria-invalid="true" aria-describedby="{ident}-error"' if error else ""
        return (
            f'<div class="{esc(parts.wrapper(error))}"><label class="form-check form-switch">'
            f'<input id="{ident}" name="{ident}" class="field-boolean form-check-input" '
            f'type="checkbox" {checked}{invalid} {params} />{label}</label></div>'
            f"{parts.error(error)}"
        )

    return draw


def form_enum(field: sa.BaseField, kit: CellKit) -> Input:
    """`templates/admin/fields/form/enum.html`: a choice list; a single choice from a
    loaded list shows only its blank and current options (static/choices.js)."""
    assert isinstance(field, sa.EnumField)
    parts = _Input(field, kit)
    request = kit.request
    lazy = field.choices_loader is not None and not (
        field.multiple or field.select2 or field.disabled
    )
    ident = esc(field.id)
    # As Jinja's `_()` with autoescape: the catalogue's text as markup, the label escaped.
    template = Markup(gettext("Select a %(label)s"))  # noqa: S704 (the translation catalogue)
    placeholder = str(template % {"label": field.label})
    flags = "".join(
        f" {flag}"
        for flag, on in (
            ("multiple", field.multiple),
            ("disabled", field.disabled),
            ('data-role="select2"', field.select2),
        )
        if on
    )
    choices = list(compat.enum_choices(field, request))
    blank = "" if field.multiple or field.required else "<option></option>"
    fetch = ""
    if lazy:
        url = request.url_for("admin:choices", key=request.path_params["key"])
        fetch = f' data-app-choices="{esc(url.include_query_params(field=field.name))}"'

    def options(data: Any) -> str:
        if lazy:
            if data is None or data == "":
                return ""
            label = dict(choices).get(data, data)
            return f'<option value="{esc(data)}" selected>{esc(label)}</option>'
        chosen = (data if field.multiple else [data]) if data is not None else ()
        return "".join(
            f'<option value="{esc(value)}" {"selected" if value in chosen else ""}>'
            f"{esc(label)}</option>"
            for value, label in choices
        )

    def draw(data: Any, error: str | None) -> str:
        classes = esc(f"field-enum {kit.css(field.class_)} {parts.wrapper(error)}")
        return (
            f'<div class="{esc(parts.wrapper(error))}"><select id="{ident}" name="{ident}" '
            f'data-allow-clear="true" data-placeholder="{placeholder}" class="{classes}"'
            f"{fetch}{parts.described(error)}{flags}>{blank}{options(data)}</select>"
            f"{parts.help('form-hint mt-2')}</div>{parts.error(error)}"
        )

    return draw


def form_label(field: sa.BaseField) -> str:
    """`fields/form/_label.html`."""
    required = "required" if field.required else ""
    return f'<label class="form-label {required}" for="{esc(field.id)}">{esc(field.label)}</label>'
