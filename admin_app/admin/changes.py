"""Audit entries as people read them: field labels, related records by name, local times.

The log stores what changed in the database's terms: `{"category_id": [1, 2]}` for an
update, or details such as `{"sessions_ended": 0}` for a security event. `ChangeReader`
turns either shape (or any other: old rows, other software) into rows to show:

- a field is named as the record's view labels it ("Category", not "category_id");
- an id that refers to a record of a registered model is shown by that record's name,
  read through the view (its `repr`, its row scope), one query per model and page;
- times are shown in the viewer's time zone, as everywhere else in the admin;
- choices by their label, true/false as yes/no.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import RelationshipProperty
from sqlalchemy.types import TypeDecorator
from starlette.requests import Request
from starlette_admin.fields import BaseField, EnumField

from admin_app.admin.datetimes import local_date, local_datetime
from admin_app.audit.events import SECURITY_ACTIONS
from admin_app.auth.permissions import grants
from admin_app.db import table_of
from admin_app.models import AuditEntry
from admin_app.state import get_session

if TYPE_CHECKING:  # the views' base imports the fields, which use this module
    from admin_app.admin.base import AppModelView

Names = dict[tuple[str, Any], str]
"""A record's name by its view's key and its primary key."""

Shown = dict[str, Any]
"""One row: `{"label", "before", "after"}` for a change, `{"label", "value"}` for a detail.
Values are text, or None for "not set". Plain dicts, so the JSON API can return them."""


@dataclass(frozen=True)
class _Column:
    """How one logged field of a table is named and shown."""

    field: BaseField | None
    name: str
    kind: type[Any] | None = None
    target: AppModelView | None = None
    """For a foreign key: the view of the records its ids name."""

    @property
    def label(self) -> str:
        return str(self.field.label) if self.field is not None else humanize(self.name)


def humanize(name: str) -> str:
    """`sessions_ended` as "Sessions ended"."""
    return name.replace("_", " ").strip().capitalize() or name


class ChangeReader:
    """Reads audit entries for display; made once per admin from its views."""

    def __init__(self, views: Iterable[AppModelView]) -> None:
        views = list(views)
        by_model = {view.model: view for view in views}
        self.tables = {table_of(v.model).name: _columns(v, by_model) for v in views}

    def labels(self, entry: AuditEntry) -> list[str]:
        """What the entry touched, in a few words: the field labels, or the event's details."""
        columns = self.tables.get(entry.model, {})
        rows = []
        for name, value in _items(entry.changes):
            if _is_change(entry, value):
                rows.append(_column(columns, name).label)
            else:
                rows.append(f"{humanize(name)}: {_text(value) or '—'}")
        return rows

    async def read(self, request: Request, entries: Sequence[AuditEntry]) -> list[list[Shown]]:
        """The rows of each entry, with related records named (one query per model)."""
        names = await self._names(request, entries)
        return [self.rows(entry, names) for entry in entries]

    def rows(self, entry: AuditEntry, names: Names | None = None) -> list[Shown]:
        """The rows of one entry; ids of related records are named from `names`, if known."""
        names = names or {}
        columns = self.tables.get(entry.model, {})
        rows: list[Shown] = []
        for name, value in _items(entry.changes):
            if not _is_change(entry, value):
                rows.append({"label": humanize(name), "value": _text(value)})
                continue
            column = _column(columns, name)
            show = _shower(column, names)
            rows.append({"label": column.label, "before": show(value[0]), "after": show(value[1])})
        return rows

    async def _names(self, request: Request, entries: Sequence[AuditEntry]) -> Names:
        """The names of every record the entries refer to by id."""
        wanted: dict[str, tuple[AppModelView, set[Any]]] = {}
        for entry in entries:
            columns = self.tables.get(entry.model, {})
            for name, value in _items(entry.changes):
                column = columns.get(name)
                if column is None or column.target is None or not _is_change(entry, value):
                    continue
                ids = {v for v in value if isinstance(v, int | str) and not isinstance(v, bool)}
                wanted.setdefault(str(column.target.key), (column.target, set()))[1].update(ids)
        names: Names = {}
        for key, (view, ids) in wanted.items():
            for pk, name in (await _named(request, view, ids)).items():
                names[key, pk] = name
        return names


async def _named(request: Request, view: AppModelView, ids: set[Any]) -> dict[Any, str]:
    """Names of the records of `view` with these keys, as far as the user may reach them."""
    pk = getattr(view.model, view.pk_attr or "id")
    keys = {key for key in (view.coerce_pk(i) for i in ids) if key is not None}
    if not keys:
        return {}
    stmt = view.scope_query(request, select(view.model).where(pk.in_(keys)), grants(request))
    rows = (await get_session(request).scalars(stmt)).all()
    return {getattr(obj, view.pk_attr or "id"): await view.repr(obj, request) for obj in rows}


def _columns(view: AppModelView, by_model: dict[type[Any], AppModelView]) -> dict[str, _Column]:
    """Every logged field of the view's table: its columns, foreign keys and collections."""
    mapper = inspect(view.model)
    fields = {field.name: field for field in view.fields}
    columns = {
        attr.key: _Column(fields.get(attr.key), attr.key, _python_type(attr.columns[0]))
        for attr in mapper.column_attrs
    }
    for rel in mapper.relationships:
        field = fields.get(rel.key)
        local = _single_local_column(rel)
        if local is not None:
            known = columns[local].field if local in columns else None
            target = by_model.get(rel.mapper.class_)
            columns[local] = _Column(field or known, rel.key, None, target)
        elif rel.uselist:
            columns[rel.key] = _Column(field, rel.key)
    return columns


def _single_local_column(rel: RelationshipProperty[Any]) -> str | None:
    """The foreign key column of a many-to-one relationship, such as `category_id`."""
    if rel.uselist or rel.direction.name != "MANYTOONE" or len(rel.local_columns) != 1:
        return None
    (column,) = rel.local_columns
    prop = inspect(rel.parent.class_).get_property_by_column(column)
    return str(prop.key)


def _python_type(column: Any) -> type[Any] | None:
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    try:
        python_type: type[Any] = sql_type.python_type
    except NotImplementedError:
        return None
    return python_type


def _column(columns: dict[str, _Column], name: str) -> _Column:
    return columns.get(name) or _Column(None, name)


def _items(changes: Any) -> list[tuple[str, Any]]:
    """The entry's changes as pairs, whatever was stored."""
    if isinstance(changes, dict):
        return [(str(name), value) for name, value in changes.items()]
    if changes in (None, "", [], {}):
        return []
    return [("details", changes)]


def _is_change(entry: AuditEntry, value: Any) -> bool:
    """Whether `value` is a `[before, after]` pair (security events carry plain details)."""
    if entry.action in SECURITY_ACTIONS:
        return False
    return isinstance(value, list | tuple) and len(value) == 2


def _shower(column: _Column, names: Names) -> Callable[[Any], str | None]:
    if column.target is not None:
        target = column.target

        def named(value: Any) -> str | None:
            if value is None:
                return None
            key = target.coerce_pk(value)
            return names.get((str(target.key), key)) or f"#{value}"

        return named
    choices = _choices(column.field)
    kind = column.kind
    return lambda value: _text(value, kind, choices)


def _choices(field: BaseField | None) -> dict[Any, str]:
    """A choice field's labels by stored value (static choices only)."""
    if not isinstance(field, EnumField) or not field.choices:
        return {}
    pairs = [choice for choice in field.choices if isinstance(choice, list | tuple)]
    return {value: str(label) for value, label in pairs}


def _text(value: Any, kind: type[Any] | None = None, choices: dict[Any, str] | None = None) -> Any:
    """A logged value as text; None for "not set" (no value, empty text, an empty list)."""
    if value is None or value == "" or value == []:
        return None
    if choices and isinstance(value, str | int) and value in choices:
        return choices[value]
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str) and kind is datetime:
        return _parsed(value, datetime.fromisoformat, local_datetime)
    if isinstance(value, str) and kind is date:
        return _parsed(value, date.fromisoformat, local_date)
    if isinstance(value, list):
        return ", ".join(str(i["label"]) if isinstance(i, dict) else str(i) for i in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _parsed(text: str, parse: Callable[[str], Any], show: Callable[[Any], str]) -> str:
    try:
        return show(parse(text))
    except ValueError:
        return text


@dataclass
class ChangesField(BaseField):
    """An audit entry's changes, or its event's details, as a readable table.

    The value read is the whole entry (`parse_obj`): how its changes read depends on its
    model and action. `AuditEntryView` serializes it with the admin's `ChangeReader`;
    alone, this field shows the raw field names.
    """

    list_template: str = "fields/list/changes.html"
    detail_template: str = "fields/detail/changes.html"
    exclude_from_create: bool | None = True
    exclude_from_edit: bool | None = True

    async def parse_obj(self, request: Request, obj: Any) -> Any:
        return obj

    async def serialize_value(self, request: Request, value: Any) -> Any:
        return ChangeReader(()).rows(value) if isinstance(value, AuditEntry) else []
