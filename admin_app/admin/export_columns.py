"""What an export writes for each field, as SQL (for PostgreSQL's COPY) and in Python.

Both renderings produce the same text, so a CSV does not depend on the backend:

| value | written as |
| --- | --- |
| text, choice | as stored; a leading `=`, `+`, `-`, `@`, tab or CR gets a `'` in front |
| number | `12.50`, `42` |
| true/false | `true`, `false` |
| date-time | UTC, ISO 8601 to the second: `2026-03-25T07:24:33Z` |
| date | `2026-03-25` |
| JSON | its JSON text (escaped like text) |
| relation | the related row's id; several are joined with `; ` |
| NULL | an empty cell |

The leading apostrophe is the OWASP advice against CSV formula injection: Excel,
LibreOffice and Google Sheets treat such a cell as text instead of running it.
XLSX cells need no apostrophe: they are written as typed text, which no
spreadsheet evaluates.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, case, cast, func, literal, not_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import ColumnProperty, RelationshipProperty
from sqlalchemy.sql.elements import ColumnElement
from starlette_admin.fields import BaseField

from admin_app.admin.lists.columns import column_type
from admin_app.admin.lists.keyset import column_python_type

log = logging.getLogger(__name__)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""

TEXT, NUMBER, BOOL, DATETIME, DATE, JSON, IDS = (
    "text",
    "number",
    "bool",
    "datetime",
    "date",
    "json",
    "ids",
)


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: its header, the SQL value, and how it is written."""

    header: str
    value: ColumnElement[Any]
    kind: str

    @property
    def numeric(self) -> bool:
        return self.kind == NUMBER


def escape_formula(text: str) -> str:
    """`text`, made safe to open in a spreadsheet."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_columns(
    model: type[Any], fields: Sequence[BaseField], dialect: str
) -> list[ExportColumn]:
    """The columns for `fields`; fields that are neither columns nor relations are left out."""
    columns = []
    for field in fields:
        attr = getattr(model, field.name, None)
        prop = getattr(attr, "property", None)
        label = str(field.label or field.name)
        if isinstance(prop, ColumnProperty) and len(prop.columns) == 1:
            kind = column_type(field).export or _kind(attr)
            columns.append(ExportColumn(label, attr, kind))  # type: ignore[arg-type]
        elif isinstance(prop, RelationshipProperty):
            columns.append(_relation(label, model, prop, dialect))
        else:
            log.info("%s.%s is not a column; it is not exported", model.__name__, field.name)
    return columns


def _kind(attr: Any) -> str:
    try:
        python_type = column_python_type(attr)
    except NotImplementedError:
        return JSON
    if python_type is bool:
        return BOOL
    if issubclass(python_type, enum.Enum) or python_type is str:
        return TEXT
    if issubclass(python_type, (int, float, Decimal)):
        return NUMBER
    if python_type is datetime:
        return DATETIME
    if python_type is date:
        return DATE
    return JSON


def _relation(
    label: str, model: type[Any], prop: RelationshipProperty[Any], dialect: str
) -> ExportColumn:
    if not prop.uselist and len(prop.local_columns) == 1 and prop.direction.name == "MANYTOONE":
        (local,) = prop.local_columns
        return ExportColumn(f"{label} ID", local, NUMBER)
    target_pk = prop.mapper.primary_key[0]
    source = prop.mapper.local_table
    if prop.secondary is not None:
        source = prop.secondary.join(source, prop.secondaryjoin)
    if dialect == "postgresql":
        ids = func.string_agg(cast(target_pk, Text), aggregate_order_by(literal("; "), target_pk))
    else:
        ids = func.group_concat(target_pk, "; ")
    subquery = select(ids).select_from(source).where(prop.primaryjoin).scalar_subquery()
    return ExportColumn(f"{label} IDs", subquery.correlate(model), IDS)


def sql_text(column: ExportColumn) -> ColumnElement[Any]:
    """The column as PostgreSQL text, written exactly as `python_text` writes it."""
    value = column.value
    if column.kind == BOOL:
        return case((value, "true"), (not_(value), "false"))
    if column.kind == DATETIME:
        return func.to_char(func.timezone("UTC", value), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    if column.kind == DATE:
        return func.to_char(value, "YYYY-MM-DD")
    if column.kind in (NUMBER, IDS):
        return cast(value, Text)
    text = cast(value, Text)
    return case((func.substr(text, 1, 1).in_(FORMULA_STARTS), literal("'") + text), else_=text)


def python_text(kind: str, *, spreadsheet: bool = False) -> Callable[[Any], str]:
    """How a value of this kind is written, in Python. In an XLSX file (`spreadsheet`)
    text cells are typed as text, never read as formulas, so they are not escaped."""
    if spreadsheet and kind in (TEXT, JSON):
        return _plain_json if kind == JSON else _plain_text
    return _WRITERS[kind]


def _plain_text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value if isinstance(value, enum.Enum) else value)


def _plain_json(value: Any) -> str:
    return "" if value is None else json.dumps(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        value = value.value
    return escape_formula(str(value))


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def _bool(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")


def _datetime(value: Any) -> str:
    if value is None:
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return str(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _date(value: Any) -> str:
    return "" if value is None else str(value.isoformat())


def _json(value: Any) -> str:
    return "" if value is None else escape_formula(json.dumps(value))


_WRITERS: dict[str, Callable[[Any], str]] = {
    TEXT: _text,
    NUMBER: _number,
    BOOL: _bool,
    DATETIME: _datetime,
    DATE: _date,
    JSON: _json,
    IDS: _number,
}
