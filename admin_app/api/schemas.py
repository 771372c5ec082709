"""JSON Schema for each kind of admin field: the one table the API's description reads.

A new field class gets its entry here (`FIELD_SCHEMAS`, most specific first);
`tests/api/test_openapi.py` checks that every field of every registered view finds one
that is not the fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import inspect
from starlette_admin import BaseField
from starlette_admin.fields import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EnumField,
    FileField,
    FloatField,
    HasMany,
    HasOne,
    IntegerField,
    JSONField,
    StringField,
    TagsField,
    TimeField,
)

from admin_app.admin.fields import PermissionMatrixField

Schema = dict[str, Any]
KEY: Schema = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
"""A related record's key (numbers for most models, text for a few)."""


def _choices(field: BaseField) -> Schema:
    assert isinstance(field, EnumField)
    choices: Any = field.choices or ()
    values = [str(choice[0]) for choice in choices if isinstance(choice, tuple | list)]
    one: Schema = {"type": "string", **({"enum": values} if values else {})}
    return {"type": "array", "items": one} if field.multiple else one


def _text(field: BaseField) -> Schema:
    limit = getattr(field, "maxlength", None)
    return {"type": "string", **({"maxLength": limit} if limit else {})}


FIELD_SCHEMAS: tuple[tuple[type[BaseField], Callable[[BaseField], Schema]], ...] = (
    (PermissionMatrixField, lambda f: {"type": "array", "items": {"type": "string"}}),
    (HasMany, lambda f: {"type": "array", "items": KEY}),
    (HasOne, lambda f: KEY),
    (BooleanField, lambda f: {"type": "boolean"}),
    (IntegerField, lambda f: {"type": "integer"}),
    (
        DecimalField,
        lambda f: {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"},
    ),
    (FloatField, lambda f: {"type": "number"}),
    (DateField, lambda f: {"type": "string", "format": "date"}),
    (TimeField, lambda f: {"type": "string", "format": "time"}),
    (DateTimeField, lambda f: {"type": "string", "format": "date-time"}),
    (EnumField, _choices),
    (TagsField, lambda f: {"type": "array", "items": {"type": "string"}}),
    (JSONField, lambda f: {"type": "object"}),
    (FileField, lambda f: {"type": "string", "description": "The stored file's path."}),
    (StringField, _text),
)
FALLBACK: Schema = {"description": "A value shown by the admin as text."}


def field_schema(field: BaseField) -> Schema:
    """The JSON Schema of a field's value (before nullability)."""
    for kind, schema in FIELD_SCHEMAS:
        if isinstance(field, kind):
            return schema(field)
    return dict(FALLBACK)


def write_schema(field: BaseField) -> Schema:
    """What a client may send: decimals also as JSON numbers."""
    schema = field_schema(field)
    if isinstance(field, DecimalField):
        return {"anyOf": [schema, {"type": "number"}]}
    return schema


def nullable(schema: Schema) -> Schema:
    """`schema`, or null."""
    return {"anyOf": [schema, {"type": "null"}]} if schema.get("type") != "null" else schema


def pk_schema(model: type[Any]) -> Schema:
    """The primary key's schema: integer for integer keys, else text."""
    columns = inspect(model).primary_key
    if len(columns) == 1 and columns[0].type.python_type is int:
        return {"type": "integer"}
    return {"type": "string"}
