"""starlette-admin's filters, made to take any value a URL can carry without a 500.

The stock filters hand their parsed value to the database as is. PostgreSQL (through
asyncpg) then refuses what the column cannot hold: `quantity >= 1.5` (an integer column
given a fraction), `id = 99999999999999999999` (beyond its range), `status = 'x'` (a
choice the enum does not know: SQLAlchemy refuses it before sending), a NUL character
in text. Each is a question with a plain answer, so these filters give it:

- a number beyond an integer column's range, or infinite, makes its comparison always
  true or always false; a fraction rounds to the next whole number in the direction
  the comparison keeps (`>= 1.5` is `>= 2`), and equals nothing;
- a choice the column does not know equals nothing;
- a NUL character is refused as the value (a 400), as the search box refuses it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Enum, Float, Integer, Numeric, and_, false, true
from sqlalchemy.types import TypeDecorator
from starlette_admin.contrib.sqla import filters as sqla
from starlette_admin.filters import FilterApplyContext
from starlette_admin.filters.base import BaseFilter, FilterValidationError

_LIMITS = {"SmallInteger": 2**15, "BigInteger": 2**63}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def column_of(ctx: FilterApplyContext) -> Any:
    """The mapped column a filter compares."""
    return getattr(getattr(ctx.view, "model", None), ctx.field_name)


def _sql_type(column: Any) -> Any:
    sql_type = column.type
    return sql_type.impl_instance if isinstance(sql_type, TypeDecorator) else sql_type


def compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    """`column <op> value`, answered without the database where the value is beyond
    what the column can hold."""
    sql_type = _sql_type(column)
    if isinstance(value, float) and not math.isfinite(value):
        return _beyond(op, above=value > 0) if not math.isnan(value) else false()
    if isinstance(sql_type, Integer):
        limit = _LIMITS.get(type(sql_type).__name__, 2**31)
        if not -limit <= value < limit:
            return _beyond(op, above=value > 0)
        if value != int(value):
            if op in ("eq", "neq"):
                return false() if op == "eq" else true()
            value = math.floor(value) if op in ("gt", "lte") else math.ceil(value)
        value = int(value)
    elif isinstance(sql_type, Numeric) and not isinstance(sql_type, Float):
        value = Decimal(str(value))  # asyncpg sends a NUMERIC parameter from a Decimal only
    return _COMPARE[op](column, value)  # type: ignore[no-any-return]


def _beyond(op: str, *, above: bool) -> ColumnElement[bool]:
    """The answer for a value above (or below) every value the column holds."""
    holds = op in ("lt", "lte", "neq") if above else op in ("gt", "gte", "neq")
    return true() if holds else false()


def known_choices(column: Any, values: list[Any]) -> list[Any]:
    """The `values` an enum column can hold (all of them for other columns)."""
    sql_type = _sql_type(column)
    if not isinstance(sql_type, Enum):
        return values
    return [v for v in values if str(v) in sql_type.enums]


def no_nul(raw: Any) -> None:
    """Refuse a value holding a NUL character: no text column can hold one."""
    values = raw if isinstance(raw, list) else [raw]
    if any(isinstance(v, str) and "\x00" in v for v in values):
        raise FilterValidationError("the value holds a character that cannot be searched")


def _numeric(stock: type[BaseFilter], op: str) -> type[BaseFilter]:
    def apply(self: BaseFilter, ctx: FilterApplyContext) -> Any:
        return compare(column_of(ctx), op, ctx.value)

    return type(stock.__name__, (stock,), {"apply": apply, "__doc__": stock.__doc__})


class BetweenFilter(sqla.BetweenFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        column = column_of(ctx)
        return and_(compare(column, "gte", ctx.value), compare(column, "lte", ctx.value2))


class EqualFilter(sqla.EqualFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        column = column_of(ctx)
        return column == ctx.value if known_choices(column, [ctx.value]) else false()


class NotEqualFilter(sqla.NotEqualFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        column = column_of(ctx)
        return column != ctx.value if known_choices(column, [ctx.value]) else true()


class InFilter(sqla.InFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        column = column_of(ctx)
        return column.in_(known_choices(column, ctx.value))


class NotInFilter(sqla.NotInFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        column = column_of(ctx)
        return column.not_in(known_choices(column, ctx.value))


SAFE: dict[type[BaseFilter], type[BaseFilter]] = {
    sqla.NumericEqualFilter: _numeric(sqla.NumericEqualFilter, "eq"),
    sqla.NumericNotEqualFilter: _numeric(sqla.NumericNotEqualFilter, "neq"),
    sqla.GreaterThanFilter: _numeric(sqla.GreaterThanFilter, "gt"),
    sqla.GreaterThanOrEqualFilter: _numeric(sqla.GreaterThanOrEqualFilter, "gte"),
    sqla.LessThanFilter: _numeric(sqla.LessThanFilter, "lt"),
    sqla.LessThanOrEqualFilter: _numeric(sqla.LessThanOrEqualFilter, "lte"),
    sqla.BetweenFilter: BetweenFilter,
    sqla.EqualFilter: EqualFilter,
    sqla.NotEqualFilter: NotEqualFilter,
    sqla.InFilter: InFilter,
    sqla.NotInFilter: NotInFilter,
}
"""starlette-admin's filters and their replacements that take any value."""


_CHECKED: dict[type[BaseFilter], type[BaseFilter]] = {}


def checked(stock: type[BaseFilter]) -> type[BaseFilter]:
    """`stock`, refusing a value with a NUL character (`no_nul`); one class per filter."""
    found = _CHECKED.get(stock)
    if found is None:

        def parse_value(self: BaseFilter, raw: Any) -> Any:
            no_nul(raw)
            return stock.parse_value(self, raw)

        attrs = {"parse_value": parse_value, "__doc__": stock.__doc__}
        found = _CHECKED[stock] = type(stock.__name__, (stock,), attrs)
    return found
