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
