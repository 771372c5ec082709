"""Turning column values into JSON for the log, and back again for a revert."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column
from sqlalchemy.types import TypeDecorator

REDACTED = "[redacted]"
SECRET_FIELDS = frozenset({"password_hash", "totp_secret", "totp_last_step", "code_hash"})
IGNORED_FIELDS = frozenset({"version", "updated_at", "last_login"})


def to_json(value: Any) -> Any:
    """A JSON-safe form of a column value."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    convert = _CONVERTERS.get(kind)
    return convert(value) if convert is not None else _subclass_to_json(value)


def _subclass_to_json(value: Any) -> Any:
    """`to_json` of a value whose exact type the tables do not hold (an enum, a subclass)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return value
    return str(value)


_AS_IS = frozenset({type(None), bool, int, float, str, dict, list})
"""Types whose values are JSON as they are: looked up by exact type, as a list page or
an API page converts thousands of values (`isinstance` through the chain above cost an
API list page a tenth of its time)."""
_CONVERTERS: dict[type, Any] = {Decimal: str, datetime: datetime.isoformat, date: date.isoformat}


def from_json(column: Column[Any], value: Any) -> Any:
    """The Python value a column expects, from its logged JSON form."""
    if value is None:
        return None
    type_ = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    try:
        python_type = type_.python_type
    except NotImplementedError:
        return value
    if python_type is Decimal:
        return Decimal(str(value))
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return python_type(value)
    return value
