"""The filters a list offers, by field type: starlette-admin's SQLAlchemy registry, plus
"is" on a to-one relation (the orders of one customer), "is within" a period on dates
(today, the last 7 days, this month, in the user's time zone), text matches that
leave text columns bare, so their indexes serve them, and comparisons that take any
value a URL can carry (`admin_app.admin.filter_values`).

One registry for every `AppModelView` (`get_filter_registry`): a filter for a new field
type is one method here, as in starlette-admin's own `SqlaFilterRegistry`.

The "is" filter compares the relation's own foreign-key column with the related
record's key, so the list's indexes serve it (no `EXISTS` over the related table). It
is what a relation manager (`admin_app.admin.relations`) narrows its list with:
`filter=customer__is=42`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Date, SmallInteger, String, and_, cast, false
from sqlalchemy import not_ as sql_not
from sqlalchemy.orm import RelationshipProperty
from sqlalchemy.types import TypeDecorator
from starlette.requests import Request
from starlette_admin.contrib.sqla import filters as sqla
from starlette_admin.contrib.sqla.filters import IsNotNullFilter, IsNullFilter, SqlaFilterRegistry
from starlette_admin.fields import BaseField, DateField, DateTimeField, HasOne
from starlette_admin.filters import FilterApplyContext, filters
from starlette_admin.filters.base import BaseFilter, FilterDataType, FilterValidationError
from starlette_admin.i18n import get_database_tzinfo, get_tzinfo, lazy_gettext

from admin_app.admin.filter_values import SAFE, checked
from admin_app.admin.lists.columns import escape_like

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


# -- text: bare columns, wildcards taken literally ---------------------------------------


def _like(ctx: FilterApplyContext, pattern: str) -> ColumnElement[bool]:
    """`column ILIKE pattern`, on the bare column when it holds text (its trigram index
    serves that), else on its text form; `%` and `_` in the value are taken literally."""
    column: Any = getattr(getattr(ctx.view, "model", None), ctx.field_name)
    sql_type = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    text = column if isinstance(sql_type, String) else cast(column, String)
    value = escape_like(str(ctx.value))
    return text.ilike(pattern.replace("{}", value), escape="\\")


class ContainsFilter(sqla.ContainsFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        return _like(ctx, "%{}%")


class NotContainsFilter(sqla.NotContainsFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        return sql_not(_like(ctx, "%{}%"))


class StartsWithFilter(sqla.StartsWithFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        return _like(ctx, "{}%")


class EndsWithFilter(sqla.EndsWithFilter):
    def apply(self, ctx: FilterApplyContext) -> Any:
        return _like(ctx, "%{}")


# -- dates: a period named, as the user's calendar has it --------------------------------

PERIODS = {
    "today": lazy_gettext("Today"),
    "last_7_days": lazy_gettext("Last 7 days"),
    "this_month": lazy_gettext("This month"),
}
"""The periods "is within" offers, by the name the URL carries (`placed_at__within=today`):
worked out when the list is read, so a saved view of "today" stays today."""


def period_days(name: str, today: date) -> tuple[date, date]:
    """The first day of period `name` and the day after its last."""
    if name == "today":
        return today, today + timedelta(days=1)
    if name == "last_7_days":
        return today - timedelta(days=6), today + timedelta(days=1)
    first = today.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


class WithinFilter(BaseFilter):
    """The date or moment falls within a named period of the user's calendar."""

    name = "within"
    label = "Is within"
    data_type = FilterDataType.ENUM

    def parse_value(self, raw: Any) -> str:
        value = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
        if not isinstance(value, str) or value.strip() not in PERIODS:
            raise FilterValidationError(f"the period must be one of {', '.join(PERIODS)}")
        return value.strip()

    def get_choices(self, request: Request) -> Sequence[tuple[Any, str]]:
        return [(name, str(said)) for name, said in PERIODS.items()]

    def apply(self, ctx: FilterApplyContext) -> Any:
        column: Any = getattr(getattr(ctx.view, "model", None), ctx.field_name)
        zone = get_tzinfo()
        first, after = period_days(ctx.value, datetime.now(zone).date())
        if isinstance(column.type, Date):
            return and_(column >= first, column < after)
        start, end = (datetime.combine(day, time(), zone) for day in (first, after))
        return and_(column >= start, column < end)


class DateTimeEqualFilter(sqla.DateTimeEqualFilter):
    """As starlette-admin's, its moment handed on timezone-aware (the columns are)."""

    def parse_value(self, raw: Any) -> Any:
        return _aware(lambda: super(DateTimeEqualFilter, self).parse_value(raw))


class DateTimeBetweenFilter(sqla.DateTimeBetweenFilter):
    """As starlette-admin's, its moments handed on timezone-aware (the columns are)."""

    def parse_value(self, raw: Any) -> Any:
        return _aware(lambda: super(DateTimeBetweenFilter, self).parse_value(raw))


def _aware(parse: Callable[[], Any]) -> Any:
    """What `parse` gives, in the database zone with the zone put back (starlette-admin
    drops it); a moment no calendar reaches in the user's zone is refused."""
    try:
        value = parse()
    except OverflowError:
        raise FilterValidationError("the date is out of range") from None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=get_database_tzinfo())
    return value


_OWN: dict[type[BaseFilter], type[BaseFilter]] = {
    **SAFE,
    sqla.ContainsFilter: ContainsFilter,
    sqla.NotContainsFilter: NotContainsFilter,
    sqla.StartsWithFilter: StartsWithFilter,
    sqla.EndsWithFilter: EndsWithFilter,
    sqla.DateTimeEqualFilter: DateTimeEqualFilter,
    sqla.DateTimeBetweenFilter: DateTimeBetweenFilter,
}
"""starlette-admin's filters this registry answers with its own."""


class AppFilters(SqlaFilterRegistry):
    """starlette-admin's SQLAlchemy filters, with bare text matches and "is within" a
    period on dates, plus "is" on to-one relations."""

    def filters_for(self, field: BaseField) -> list[type[BaseFilter]]:
        """The stock filters of `field`'s type, in this module's versions where it has
        them, each refusing a NUL character (`filter_values`)."""
        return [checked(_OWN.get(f, f)) for f in super().filters_for(field)]

    @filters(HasOne)
    def to_one_filters(self, field: BaseField) -> list[type[BaseFilter]]:
        return [RelationIsFilter, IsNullFilter, IsNotNullFilter]

    @filters(DateField)
    def date_filters(self, field: BaseField) -> list[type[BaseFilter]]:
        return [WithinFilter, *super().date_filters(field)]

    @filters(DateTimeField)
    def datetime_filters(self, field: BaseField) -> list[type[BaseFilter]]:
        return [WithinFilter, *super().datetime_filters(field)]


FILTERS = AppFilters()
"""The registry every `AppModelView` answers `get_filter_registry` with (built once)."""
