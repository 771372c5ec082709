"""Keyset ("seek") pagination: each page starts where the previous one ended, never at an OFFSET.

`OFFSET 250000` makes the database read and throw away 250,000 rows; a keyset page
asks for "the next 25 rows after (placed_at, id) = (…, …)" instead, which an index
on the sort columns answers by reading 25 rows, however deep the page. The sort
always ends with the primary key (unless a unique, non-null column already
decides the order), so the order is total and no row is skipped or repeated.

NULLs sort as the greatest value in both directions (`ASC NULLS LAST`,
`DESC NULLS FIRST`): PostgreSQL's B-tree default, spelled out so SQLite agrees.

A position travels in the URL as an opaque token: the sort-key values of a boundary
row, JSON in URL-safe base64. Decoding checks every value against its column's
type, so a tampered token is a 400, never a database error.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    SmallInteger,
    UniqueConstraint,
    and_,
    false,
    or_,
    tuple_,
)
from sqlalchemy import literal as sql_literal
from sqlalchemy.orm import ColumnProperty, InstrumentedAttribute
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.types import TypeDecorator

MAX_TOKEN_LENGTH = 2_000
"""Longer tokens are refused before decoding; real ones are far shorter."""

_INT_BITS = {SmallInteger: 16, BigInteger: 64, Integer: 32}
_KEYABLE = (int, str, Decimal, datetime, date, bool, float, enum.Enum)


class CursorError(ValueError):
    """A position token that does not fit the current sort."""


@dataclass(frozen=True)
class SortKey:
    """One column of the page order."""

    attr: str
    """The mapped attribute whose value a row contributes to a position token."""
    column: InstrumentedAttribute[Any]
    descending: bool = False
    nullable: bool = False

    def reversed(self) -> SortKey:
        """The same column in the opposite direction (NULLs flip ends with it)."""
        return replace(self, descending=not self.descending)

    def order_by(self) -> UnaryExpression[Any]:
        """The ORDER BY term, with NULL placement explicit for nullable columns."""
        if self.descending:
            return self.column.desc().nulls_first() if self.nullable else self.column.desc()
        return self.column.asc().nulls_last() if self.nullable else self.column.asc()

    @property
    def python_type(self) -> type[Any]:
        return column_python_type(self.column)


def column_python_type(column: InstrumentedAttribute[Any]) -> type[Any]:
    """The Python type of a mapped column's values (a TypeDecorator's, from its `impl`)."""
    sql_type = column.property.columns[0].type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    python_type: type[Any] = sql_type.python_type
    return python_type


def is_keyable(column: Any) -> bool:
    """True when `column` is a single mapped column whose values can go into a token."""
    prop = getattr(column, "property", None)
    if not isinstance(prop, ColumnProperty) or len(prop.columns) != 1:
        return False
    try:
        python_type = column_python_type(column)
    except NotImplementedError:
        return False
    return issubclass(python_type, _KEYABLE)


def is_unique_not_null(column: InstrumentedAttribute[Any]) -> bool:
    """True when the column alone orders rows totally: unique (or the key) and never NULL."""
    col = column.property.columns[0]
    if col.nullable:
        return False
    if col.unique or (col.primary_key and len(col.table.primary_key.columns) == 1):
        return True
    constraints = [c for c in col.table.constraints if isinstance(c, UniqueConstraint)]
    indexes = [i for i in col.table.indexes if i.unique and all(e is not None for e in i.columns)]
    return any(list(c.columns) == [col] for c in (*constraints, *indexes))


def with_tiebreaker(keys: Sequence[SortKey], pk: Sequence[SortKey]) -> list[SortKey]:
    """`keys`, then the primary key in the first key's direction, unless already total."""
    result: list[SortKey] = []
    for key in keys:
        if any(k.attr == key.attr for k in result):
            continue
        result.append(key)
        if is_unique_not_null(key.column):
            return result
    direction = result[0].descending if result else False
    taken = {k.attr for k in result}
    return [*result, *(replace(k, descending=direction) for k in pk if k.attr not in taken)]


def row_values(keys: Sequence[SortKey], obj: Any) -> list[Any]:
    """The sort-key values of one loaded row."""
    return [getattr(obj, key.attr) for key in keys]


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys`.

    One direction and no NULLs: a row comparison `(a, b) > (x, y)`, which an index
    on `(a, b)` serves as a range. Otherwise the expanded form
    `a > x OR (a = x AND b > y) …`, with `a >= x` in front so an index still
    bounds the scan.
    """
    if _uniform(keys, values):
        left = tuple_(*(key.column for key in keys))
        right = tuple_(*(_bind(key, value) for key, value in zip(keys, values, strict=True)))
        return left < right if keys[0].descending else left > right
    branches = []
    for i, key in enumerate(keys):
        equal = [_equal(k, v) for k, v in zip(keys[:i], values[:i], strict=True)]
        branches.append(and_(*equal, _beyond(key, values[i])))
    bound = _bound(keys[0], values[0])
    expanded = or_(*branches)
    return expanded if bound is None else and_(bound, expanded)


def _uniform(keys: Sequence[SortKey], values: Sequence[Any]) -> bool:
    same_direction = len({key.descending for key in keys}) == 1
    return same_direction and not any(
        k.nullable or v is None for k, v in zip(keys, values, strict=True)
    )


def _bind(key: SortKey, value: Any) -> ColumnElement[Any]:
    return sql_literal(value, type_=key.column.type)


def _equal(key: SortKey, value: Any) -> ColumnElement[bool]:
    return key.column.is_(None) if value is None else key.column == _bind(key, value)


def _beyond(key: SortKey, value: Any) -> ColumnElement[bool]:
    """Strictly further along this column's order (NULL being the greatest value)."""
    if key.descending:
        return key.column.is_not(None) if value is None else key.column < _bind(key, value)
    if value is None:
        return false()
    beyond = key.column > _bind(key, value)
    return or_(beyond, key.column.is_(None)) if key.nullable else beyond


def _bound(key: SortKey, value: Any) -> ColumnElement[bool] | None:
    if value is None or key.nullable:
        return None
    bound = _bind(key, value)
    return key.column <= bound if key.descending else key.column >= bound


def encode(values: Sequence[Any]) -> str:
    """A URL-safe token for a position."""
    data = json.dumps([_plain(v) for v in values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()


def decode(token: str, keys: Sequence[SortKey]) -> list[Any]:
    """The position a token names, typed for `keys`; `CursorError` if it cannot be one."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise CursorError("the position is too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise CursorError("the position is not readable") from None
    if not isinstance(values, list) or len(values) != len(keys):
        raise CursorError("the position belongs to a different sort order")
    return [_typed(key, value) for key, value in zip(keys, values, strict=True)]


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _typed(key: SortKey, value: Any) -> Any:
    if value is None:
        if not key.nullable:
            raise CursorError(f"the position has no value for {key.attr}")
        return None
    try:
        return _convert(key, key.python_type, value)
    except (TypeError, ValueError, InvalidOperation, OverflowError):
        raise CursorError(f"the position has an invalid value for {key.attr}") from None


def _convert(key: SortKey, python_type: type[Any], value: Any) -> Any:
    if issubclass(python_type, enum.Enum):
        return python_type(value)
    if python_type is bool:
        if not isinstance(value, bool):
            raise TypeError
        return value
    if python_type is int:
        return _int(key, value)
    if python_type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        return float(value)
    if not isinstance(value, str):
        raise TypeError
    if "\x00" in value:
        raise ValueError
    return _from_text(python_type, value)


def _int(key: SortKey, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError
    bits = next((n for t, n in _INT_BITS.items() if isinstance(key.column.type, t)), 64)
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise ValueError
    return value


def _from_text(python_type: type[Any], value: str) -> Any:
    if python_type is Decimal:
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError
        return number
    if python_type is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment
    if python_type is date:
        return date.fromisoformat(value)
    return str(value)
