"""Records as JSON, and JSON as the admin's form data: the admin's fields decide both.

A record reads as the fields its detail page shows the caller (relations as keys);
it is written through the fields its forms offer the caller, parsed by each field's
own form parser and checked by the view's own validation, so a value the admin's form
refuses is refused here with the same message. What the admin never shows (password
hashes) is in neither list, so it can be neither read nor written; what it shows a
person but keeps out of its exports (a signing secret) is not read either. Uploads
(image fields) are read as their stored path and are not written through the API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any, cast

from sqlalchemy import inspect
from sqlalchemy.orm import Mapper
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette_admin import BaseField, BooleanField, FileField, RelationField, RequestAction
from starlette_admin.fields import HasMany, JSONField, PasswordField, TagsField

from admin_app.admin import compat
from admin_app.admin.base import AppModelView
from admin_app.admin.fields import PermissionMatrixField
from admin_app.admin.lists.rows import ListRow, row_objects
from admin_app.api.errors import ApiError
from admin_app.audit.values import to_json
from admin_app.state import get_session

NO_RECORD = "There is no such record, or it is outside what you may see."
CANNOT_SET = "This field cannot be set: it is unknown, read-only, or not yours to change."


def readable_fields(view: AppModelView, request: Request) -> list[BaseField]:
    """What the caller may read of a record: its detail page's fields that a program may
    read (`shown_to_programs`)."""
    fields = view.get_fields_list(request, action=RequestAction.DETAIL)
    return [f for f in fields if shown_to_programs(view, f)]


def shown_to_programs(view: AppModelView, field: BaseField) -> bool:
    """Whether the API may read `field`: not a password, nor what the view keeps out of
    its exports (a webhook endpoint's signing secret, shown on its page to a person but
    never carried away by a token or a file)."""
    return not isinstance(field, PasswordField) and field.name not in (
        view.exclude_fields_from_export or ()
    )


def writable_fields(view: AppModelView, request: Request, action: RequestAction) -> list[BaseField]:
    """What the caller may set for `action` (CREATE or EDIT): its form's editable fields."""
    fields = view.get_fields_list(request, action=action)
    return [f for f in fields if not f.read_only and not isinstance(f, FileField)]


def key_of(obj: Any) -> Any:
    """A loaded row's primary key as JSON: a number or text, or a list for a composite key."""
    identity = inspect(obj).identity or ()
    values = [to_json(part) for part in identity]
    return values[0] if len(values) == 1 else values


async def to_record(
    view: AppModelView, request: Request, obj: Any, fields: Sequence[BaseField]
) -> dict[str, Any]:
    """`obj` as JSON, with the given fields only (the key always comes first)."""
    record: dict[str, Any] = {view.pk_attr or "id": key_of(obj)}
    for field in fields:
        value = await field.parse_obj(request, obj)
        if isinstance(field, RelationField):
            record[field.name] = relation_keys(view, field, value)
        else:
            record[field.name] = to_json(_plain(field, obj, value))
    return record


async def to_records(
    view: AppModelView, request: Request, rows: Sequence[ListRow], fields: Sequence[BaseField]
) -> list[dict[str, Any]]:
    """A list page's rows (column values, relations set: `read_rows`) as JSON, each as
    `to_record` writes the loaded record. A field that reads more than its column (its
    own `parse_obj`, a getter, a Python property) reads the page's records, loaded in
    one query when there is such a field."""
    mapper = inspect(view.model)
    keys = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
    page = _Page(view, request, keys, [(f, _reading(mapper, f)) for f in fields])
    if rows and any(reading is _OWN for _, reading in page.fields):
        page.objects.update(await row_objects(get_session(request), view.model, rows))
    return [await page.record(row) for row in rows]


_COLUMN, _RELATION, _OWN = "column", "relation", "own"
"""How a list page's field is read: its column's value, a relation's keys, or the
field's own `parse_obj` of the loaded record."""


def _reading(mapper: Mapper[Any], field: BaseField) -> str:
    if isinstance(field, RelationField):
        return _RELATION
    return _COLUMN if _reads_its_column(mapper, field) else _OWN


@dataclass
class _Page:
    """What writing one list page's rows needs, worked out once for the page."""

    view: AppModelView
    request: Request
    keys: list[str]
    """The attributes of the primary key."""
    fields: list[tuple[BaseField, str]]
    """The fields, each with how it is read (`_reading`)."""
    objects: dict[Any, Any] = default(default_factory=dict)
    """The page's loaded records by key, when a field needs them."""

    async def record(self, row: ListRow) -> dict[str, Any]:
        values = vars(row)
        key = [to_json(values[name]) for name in self.keys]
        record: dict[str, Any] = {self.view.pk_attr or "id": key[0] if len(key) == 1 else key}
        for shown, reading in self.fields:
            name = shown.name
            if reading is _COLUMN:
                record[name] = to_json(values[name])
            elif reading is _RELATION:
                relation = cast(RelationField, shown)
                record[name] = relation_keys(self.view, relation, values.get(name))
            else:
                obj = self.objects[values[self.keys[0]]]
                value = await shown.parse_obj(self.request, obj)
                record[name] = to_json(_plain(shown, obj, value))
        return record


def _reads_its_column(mapper: Mapper[Any], field: BaseField) -> bool:
    """Whether the field's value is its column's, as stored (starlette-admin's own
    `parse_obj`, no getter)."""
    return (
        field.name in mapper.column_attrs
        and type(field).parse_obj is BaseField.parse_obj
        and field.getter is None
    )


def relation_keys(view: AppModelView, field: RelationField, value: Any) -> Any:
    """A relation's value as JSON: the related records' keys; a to-many's in its
    relationship's order, or by key when it has none (as a list page reads them)."""
    if not isinstance(field, HasMany):
        return None if value is None else key_of(value)
    keys = [key_of(item) for item in value or []]
    prop = inspect(view.model).relationships.get(field.name)
    return keys if prop is not None and prop.order_by else sorted(keys)


def _plain(field: BaseField, obj: Any, value: Any) -> Any:
    """A field that reads the whole row to show it (an audit entry's changes) gives its
    column's value instead."""
    if value is obj:
        return getattr(obj, field.name, None)
    return value


def record_version(obj: Any) -> str | None:
    """The row version an `ETag` carries, for versioned models."""
    version = getattr(obj, "version", None)
    return None if version is None or inspect(type(obj)).version_id_col is None else str(version)


async def form_data(
    view: AppModelView,
    request: Request,
    action: RequestAction,
    body: Mapping[str, Any],
    current: Any = None,
) -> dict[str, Any]:
    """The admin's form data for `body`, parsed by each field as a submitted form would be.
    For an edit, fields the body leaves out keep the record's current values; uploads are
    left as a form that chose no file leaves them."""
    settable = {f.name for f in writable_fields(view, request, action)}
    unknown = sorted(set(body) - settable)
    if unknown:
        refused = {name[:100]: CANNOT_SET for name in unknown[:20]}
        raise ApiError(422, "Some fields cannot be set.", refused)
    fields = [f for f in view.get_fields_list(request, action=action) if not f.read_only]
    items: list[tuple[str, str | UploadFile]] = []
    errors: dict[str, str] = {}
    for field in fields:
        if field.name not in settable:
            continue
        if field.name in body:
            value = body[field.name]
        elif current is not None:
            value = await _current_value(view, request, field, current)
        else:  # as the create form starts: with the field's default
            value = to_json(await field.get_create_default(request))
        try:
            items += _form_items(field, value)
        except ValueError as error:
            errors[field.name] = str(error)
    if errors:
        raise ApiError(422, "Some values are not valid.", errors)
    form = FormData(items)
    data = {f.name: await f.parse_input(request, form) for f in fields}
    await _related_exist(view, request, body, data)
    return data


async def _related_exist(
    view: AppModelView, request: Request, body: Mapping[str, Any], data: dict[str, Any]
) -> None:
    """Keys of related records must name records the caller can see (the form's pickers
    offer nothing else; a key from elsewhere would be dropped without a word)."""
    errors: dict[str, str] = {}
    for field in view.get_fields_list(request):
        if not isinstance(field, RelationField) or body.get(field.name) in (None, []):
            continue
        foreign = compat.find_foreign_view(view, str(field.key))
        keys = data.get(field.name)
        wanted = keys if isinstance(keys, list) else [keys]
        if not await _all_found(foreign, request, wanted):
            errors[field.name] = NO_RECORD
    if errors:
        raise ApiError(422, "Some values are not valid.", errors)


async def _all_found(foreign: Any, request: Request, keys: list[Any]) -> bool:
    """Whether every key names a record of `foreign` that the caller can see."""
    if any(getattr(foreign, "coerce_pk", lambda k: k)(k) is None for k in keys):
        return False
    return len(await foreign.find_by_pks(request, keys)) == len(set(map(str, keys)))


async def _current_value(view: AppModelView, request: Request, field: BaseField, obj: Any) -> Any:
    value = await field.parse_obj(request, obj)
    if isinstance(field, RelationField):
        return relation_keys(view, field, value)
    return to_json(value)


def _form_items(field: BaseField, value: Any) -> list[tuple[str, str | UploadFile]]:
    """How a browser would post `value` for `field`."""
    if value is None:
        return []
    if isinstance(field, BooleanField):
        if not isinstance(value, bool):
            raise ValueError("Enter true or false.")
        return [(field.id, "on")] if value else []
    if isinstance(field, JSONField):
        return [(field.id, json.dumps(value))]
    if isinstance(value, list):
        if not takes_many(field):
            raise ValueError("Enter a single value here, not a list.")
        return [(field.id, _text(field, item)) for item in value]
    return [(field.id, _text(field, value))]


def takes_many(field: BaseField) -> bool:
    """Whether the field's form input holds several values (a list in JSON)."""
    return isinstance(field, HasMany | TagsField | PermissionMatrixField) or bool(
        getattr(field, "multiple", False)
    )


def _text(field: BaseField, value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("Enter a single plain value here.")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError(f"Enter a value for {field.name}.")
