"""Every column type in the registry (admin_app/admin/lists/columns.py) does what it says.

One row per registry entry in `SAMPLES`: a field of that type and a value it holds. For
each, the cell built in Python is the markup of the field's own list template, the
conversion made once per page gives what the field's `serialize_value` gives, the search
clause compiles on both databases, and the export kind is one the exporter writes. A new
entry without a row here fails `test_every_column_type_has_a_sample`.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, String, Table
from sqlalchemy.dialects import postgresql, sqlite
from starlette.requests import Request
from starlette_admin import RequestAction
from starlette_admin import fields as sa
from starlette_admin.widgets import FieldRef

from admin_app.admin import compat, export_columns
from admin_app.admin.field_markup import CellKit, form_label
from admin_app.admin.fields import AwareDateTimeField
from admin_app.admin.lists.columns import COLUMN_TYPES, column_type, covers
from admin_app.admin.record_fields import draws_detail, draws_form
from admin_app.admin.site import build_admin
from tests.admin.markup_tokens import tokens
from tests.admin.test_list_markup import table_rows


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


_table = Table(
    "sample",
    MetaData(),
    Column("text", String),
    Column("number", Numeric),
    Column("integer", Integer),
    Column("flag", Boolean),
    Column("moment", DateTime(timezone=True)),
    Column("day", Date),
)
_WHEN = datetime(2026, 3, 25, 7, 24, 33, tzinfo=UTC)

SAMPLES: dict[type[sa.BaseField], tuple[sa.BaseField, Any, Any]] = {
    sa.BaseField: (sa.BaseField("text"), "plain", _table.c.text),
    sa.StringField: (sa.StringField("text"), "Ada <Lovelace> & co", _table.c.text),
    sa.EmailField: (sa.EmailField("text"), "ada@example.com", _table.c.text),
    sa.PasswordField: (sa.PasswordField("text"), "secret", _table.c.text),
    sa.ColorField: (sa.ColorField("text"), "#ff0000", _table.c.text),
    sa.UUIDField: (sa.UUIDField("text"), "0b8f7f5e-8f49-4b0a-9d4e-3c2d1e0f9a8b", _table.c.text),
    sa.IPAddressField: (sa.IPAddressField("text"), "192.0.2.1", _table.c.text),
    sa.ComputedField: (sa.ComputedField("text"), "computed", _table.c.text),
    sa.NumberField: (sa.NumberField("number"), 12, _table.c.number),
    sa.IntegerField: (sa.IntegerField("integer"), 42, _table.c.integer),
    sa.FloatField: (sa.FloatField("number"), 2.5, _table.c.number),
    sa.BooleanField: (sa.BooleanField("flag"), True, _table.c.flag),
    sa.EnumField: (sa.EnumField("text", enum=Size), Size.LARGE, _table.c.text),
    sa.DateTimeField: (sa.DateTimeField("moment"), _WHEN, _table.c.moment),
    AwareDateTimeField: (AwareDateTimeField("moment"), _WHEN, _table.c.moment),
    sa.DateField: (sa.DateField("day"), date(2026, 3, 25), _table.c.day),
    sa.TimeField: (sa.TimeField("text"), time(7, 24), _table.c.text),
    sa.JSONField: (sa.JSONField("text"), {"a": 1}, _table.c.text),
    sa.ImageField: (sa.ImageField("text"), {"url": "/media/a.png"}, _table.c.text),
    sa.FileField: (sa.FileField("text"), {"url": "/media/a.pdf"}, _table.c.text),
    sa.RelationField: (sa.HasOne("text", key="category"), None, _table.c.text),
    sa.TagsField: (sa.TagsField("text"), ["a", "b"], _table.c.text),
}

EXPORT_KINDS = {
    export_columns.TEXT,
    export_columns.NUMBER,
    export_columns.BOOL,
    export_columns.DATETIME,
    export_columns.DATE,
    export_columns.JSON,
    export_columns.IDS,
}


def parsed(cell: str) -> list[tuple[Any, ...]]:
    """A cell's canonical tokens (as the list markup test compares them)."""
    return table_rows(f'<table><tbody><tr data-sa-pk="1"><td>{cell}</td></tr></tbody></table>')[0][
        1
    ]


def _request() -> Request:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    request = Request(scope)
    request.state.action = RequestAction.LIST
    return request


def test_every_column_type_has_a_sample():
    missing = [kind.__name__ for kind in COLUMN_TYPES if kind not in SAMPLES]
    assert not missing, f"add a row to SAMPLES in {__file__} for: {missing}"


@pytest.mark.parametrize("kind", list(COLUMN_TYPES), ids=lambda k: k.__name__)
def test_a_column_types_cell_is_its_templates_markup(settings, kind):
    field, value, _ = SAMPLES[kind]
    entry = COLUMN_TYPES[kind]
    assert column_type(field) is entry, f"{kind.__name__} finds another entry"
    if entry.cell is None or not covers(field):
        return  # rendered by the field's own template: nothing to compare
    admin = build_admin(settings)
    request = _request()
    kit = CellKit(request=request, icon=lambda name: compat.resolve_icon(admin, name))
    convert = entry.convert(field, kit) if entry.convert else None
    shown = asyncio.run(field.serialize_value(request, value))
    if convert is not None:
        assert str(convert(value)) == str(shown), "the page's conversion differs from the field's"
    env = admin.templates.env
    env.globals["request"] = request
    reference = env.get_template(field.list_template).render(
        request=request, field=field, data=shown
    )
    fast = entry.cell(field, kit)(shown)
    assert parsed(fast) == parsed(reference), (fast, reference)


@pytest.mark.parametrize("kind", list(COLUMN_TYPES), ids=lambda k: k.__name__)
def test_a_column_types_search_compiles_and_its_export_is_written(kind):
    field, _, column = SAMPLES[kind]
    entry = COLUMN_TYPES[kind]
    assert entry.export is None or entry.export in EXPORT_KINDS, entry.export
    if entry.search is None:
        return
    for name, dialect in (("postgresql", postgresql.dialect()), ("sqlite", sqlite.dialect())):
        clause = entry.search(column, field, "ab%_c", name)
        sql = str(clause.compile(dialect=dialect))
        assert "CAST" not in sql.upper(), f"a cast hides {kind.__name__} from its index: {sql}"


def _kit(admin: Any, request: Request) -> CellKit:
    return CellKit(
        request=request,
        icon=lambda name: compat.resolve_icon(admin, name),
        css=lambda name: compat.resolve_class(admin, name),
    )


@pytest.mark.parametrize("kind", list(COLUMN_TYPES), ids=lambda k: k.__name__)
def test_a_column_types_detail_value_is_its_templates_markup(settings, kind):
    """The value a record's detail page shows, drawn in Python, is the markup of the
    field's detail template (`admin_app.admin.field_markup`)."""
    field, value, _ = SAMPLES[kind]
    drawn = COLUMN_TYPES[kind].detail
    if drawn is None:
        return  # drawn by the field's own template: nothing to compare
    if getattr(field, "copy_to_clipboard", False):
        assert not draws_detail(field), "a copy button is drawn by the field's template"
        field = replace(field, copy_to_clipboard=False)
    assert field.detail_template == drawn.template and draws_detail(field), kind.__name__
    admin = build_admin(settings)
    request = _request()
    request.state.action = RequestAction.DETAIL
    shown = asyncio.run(field.serialize_value(request, value))
    env = admin.templates.env
    env.globals["request"] = request
    for data in (shown, False if kind is sa.BooleanField else "<b>&amp; co</b>"):
        reference = env.get_template(drawn.template).render(request=request, field=field, data=data)
        fast = drawn.make(field, _kit(admin, request))(data)
        assert tokens(fast) == tokens(reference), (fast, reference)


@pytest.mark.parametrize("kind", list(COLUMN_TYPES), ids=lambda k: k.__name__)
def test_a_column_types_input_is_its_templates_markup(settings, kind):
    """A field in a form, drawn in Python with its label, is what starlette-admin's form
    widget renders: with and without a value, an error, help text, a required mark."""
    field, value, _ = SAMPLES[kind]
    drawn = COLUMN_TYPES[kind].form
    if drawn is None:
        return
    admin = build_admin(settings)
    request = _request()
    request.state.action = RequestAction.EDIT
    env = admin.templates.env
    env.globals["request"] = request
    data = asyncio.run(field.serialize_value(request, value))
    variants = [
        (field, data, None),
        (field, None, "Enter a <valid> value."),
        (replace(field, help_text="Say <this> & that", required=True), data, "Wrong."),
    ]
    for sample, shown, error in variants:
        assert sample.form_template == drawn.template and draws_form(sample), kind.__name__
        ref = FieldRef(sample.name, _field=sample, _value=shown, _error=error)
        reference = asyncio.run(ref.render(request, env))
        widget = drawn.make(sample, _kit(admin, request))(shown, error)
        fast = f'<div class="mb-3">{form_label(sample)}{widget}</div>'
        assert tokens(fast) == tokens(reference), (fast, reference)
