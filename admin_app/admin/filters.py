"""The filters a list offers, by field type: starlette-admin's SQLAlchemy registry, plus
"is" on a to-one relation (the orders of one customer).

One registry for every `AppModelView` (`get_filter_registry`): a filter for a new field
type is one method here, as in starlette-admin's own `SqlaFilterRegistry`.

The "is" filter compares the relation's own foreign-key column with the related
record's key, so the list's indexes serve it (no `EXISTS` over the related table). It
is what a relation manager (`admin_app.admin.relations`) narrows its list with:
`filter=customer__is=42`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, SmallInteger, false
from sqlalchemy.orm import RelationshipProperty
from starlette_admin.contrib.sqla.filters import IsNotNullFilter, IsNullFilter, SqlaFilterRegistry
from starlette_admin.fields import BaseField, HasOne
from starlette_admin.filters import FilterApplyContext, filters
from starlette_admin.filters.base import BaseFilter, FilterDataType, FilterValidationError

MAX_KEY_LENGTH = 64
"""Longer related keys are refused (a 400): no key of this admin is that long."""


class RelationIsFilter(BaseFilter):
    """`relation = the record with this key`, on a to-one relation with one foreign key."""

    name = "is"
    label = "is"
    data_type = FilterDataType.STRING

    def parse_value(self, raw: Any) -> str:
        value = str(raw).strip() if isinstance(raw, str | int) else ""
        if not value or len(value) > MAX_KEY_LENGTH:
            raise FilterValidationError("a related record's key is needed")
        return value

    def apply(self, ctx: FilterApplyContext) -> Any:
        column = foreign_key_column(getattr(ctx.view, "model", None), ctx.field_name)
        key = _as_key(column, ctx.value)
        return false() if column is None or key is None else column == key


def foreign_key_column(model: Any, relation: str) -> ColumnElement[Any] | None:
    """The one column a to-one `relation` of `model` is stored in, or None."""
    prop = getattr(getattr(model, relation, None), "property", None)
    if not isinstance(prop, RelationshipProperty) or prop.uselist:
        return None
    columns = list(prop.local_columns)
    return columns[0] if len(columns) == 1 else None


def _as_key(column: ColumnElement[Any] | None, value: Any) -> Any | None:
    """`value` as the column's type, or None where no row can have it (bad type, out of
    an integer column's range): the filter then matches nothing, as it should."""
    if column is None:
        return None
    try:
        key = column.type.python_type(value)
    except (TypeError, ValueError, NotImplementedError):
        return None
    if (
        isinstance(key, int)
        and not -_INT_LIMIT[type(column.type)] <= key < _INT_LIMIT[type(column.type)]
    ):
        return None
    return key


_INT_LIMIT: dict[type[Any], int] = defaultdict(
    lambda: 2**31, {SmallInteger: 2**15, BigInteger: 2**63}
)
"""How far an integer column's values reach, by column type (PostgreSQL's sizes)."""


class AppFilters(SqlaFilterRegistry):
    """starlette-admin's SQLAlchemy filters, plus "is" on to-one relations."""

    @filters(HasOne)
    def to_one_filters(self, field: BaseField) -> list[type[BaseFilter]]:
        return [RelationIsFilter, IsNullFilter, IsNotNullFilter]


FILTERS = AppFilters()
"""The registry every `AppModelView` answers `get_filter_registry` with (built once)."""
