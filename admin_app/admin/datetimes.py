"""Dates and times in list cells, as starlette-admin shows them, at a fraction of the cost.

starlette-admin formats each date-time cell with babel's `format_datetime` in the
user's time zone and locale. babel parses the locale, looks up three patterns and
then fills each field through a generic formatter: 60 us a cell, the largest cost of
a list row. `DateTimeText` looks the patterns up once per page, and `_Compiled` fills
the common fields (numbers, month names, AM/PM) straight from the locale's data,
leaving any other field (weekday, era, zone names …) to babel. tests/admin/
test_datetimes.py holds the output to babel's, character for character.

`local_datetime` and `local_date` show one value the same way, for pages that are not
lists (an audit entry's history, My account).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, tzinfo
from typing import Any, Literal, cast

from babel import dates
from babel.core import Locale
from starlette_admin.i18n import (
    format_date,
    format_datetime,
    get_database_tzinfo,
    get_locale,
    get_tzinfo,
)

_NamedFormat = Literal["full", "long", "medium", "short"]
NAMED_FORMATS = ("full", "long", "medium", "short")
_FIELD = re.compile(r"%\((\w+)\)s")


class _Compiled:
    """One babel pattern, filled without babel's per-field dispatch when every field in
    it is a plain one; otherwise babel's own `apply`."""

    def __init__(self, pattern: str, locale: Locale) -> None:
        self.pattern = dates.parse_pattern(pattern)
        self.locale = locale
        self.format = str(self.pattern.format)  # e.g. "%(MMM)s %(d)s, %(y)s"
        self.fields = _FIELD.findall(self.format)
        self.fast = all(name in _FILLERS for name in self.fields)
        self.months = {
            3: locale.months["format"]["abbreviated"],
            4: locale.months["format"]["wide"],
        }
        self.periods = {period: _period_name(locale, period) for period in ("am", "pm")}

    def __call__(self, value: date | time, reference: date | None = None) -> str:
        if not self.fast:
            return str(self.pattern.apply(value, self.locale, reference_date=reference))
        return self.format % {name: _FILLERS[name](self, value) for name in self.fields}


def _period_name(locale: Locale, period: str) -> str:
    # babel's `format_period` for "a": the first width that names the period.
    for width in ("abbreviated", "wide", "narrow", "abbreviated"):
        names = locale.day_periods.get("format", {}).get(width, {})
        if period in names:
            return str(names[period])
    return period


def _number(attribute: str, width: int) -> Callable[[_Compiled, Any], str]:
    return lambda _, value: f"{getattr(value, attribute):0{width}d}"


_FILLERS: dict[str, Callable[[_Compiled, Any], str]] = {
    "y": _number("year", 1),
    "yyyy": _number("year", 4),
    "yy": lambda _, value: f"{value.year % 100:02d}",
    "M": _number("month", 1),
    "MM": _number("month", 2),
    "MMM": lambda c, value: str(c.months[3][value.month]),
    "MMMM": lambda c, value: str(c.months[4][value.month]),
    "d": _number("day", 1),
    "dd": _number("day", 2),
    "H": _number("hour", 1),
    "HH": _number("hour", 2),
    "h": lambda _, value: str(value.hour % 12 or 12),
    "hh": lambda _, value: f"{value.hour % 12 or 12:02d}",
    "m": _number("minute", 1),
    "mm": _number("minute", 2),
    "s": _number("second", 1),
    "ss": _number("second", 2),
    "a": lambda c, value: c.periods["pm" if value.hour >= 12 else "am"],
}


class DateTimeText:
    """starlette-admin's display of a date and time: babel's `format_datetime` in the
    user's zone and locale (starlette-admin's for the request, read when this is made,
    once per page, unless given). `precise=False` drops fractions of a second, as
    `AwareDateTimeField` does."""

    def __init__(
        self,
        pattern: str,
        *,
        precise: bool,
        locale: str | None = None,
        zone: tzinfo | None = None,
    ) -> None:
        self.locale = Locale.parse(locale or get_locale())
        self.zone = zone or get_tzinfo()
        self.database_zone = get_database_tzinfo()
        self.precise = precise
        self.memo: dict[datetime, str] = {}
        if pattern in NAMED_FORMATS:
            name = cast(_NamedFormat, pattern)
            layout = dates.get_datetime_format(name, locale=self.locale)
            self.layout: str | None = str(layout).replace("'", "")
            self.time = _Compiled(str(dates.get_time_format(name, locale=self.locale)), self.locale)
            self.date = _Compiled(str(dates.get_date_format(name, locale=self.locale)), self.locale)
        else:
            self.layout = None
            self.custom = _Compiled(pattern, self.locale)

    MEMO_LIMIT = 256
    """Texts remembered (a few pages' worth): one of these lives in each kept page shell,
    and 128 shells of 4,096 dates would hold over 100 MB."""

    def __call__(self, value: datetime) -> str:
        """The text for `value`; remembered, as a page shown again shows the same values."""
        text = self.memo.get(value)
        if text is None:
            if len(self.memo) >= self.MEMO_LIMIT:
                self.memo.clear()
            text = self.memo[value] = self._format(value)
        return text

    def _format(self, value: datetime) -> str:
        if not self.precise:
            value = value.replace(microsecond=0)
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.database_zone)
        value = value.astimezone(self.zone)
        if self.layout is None:
            return self.custom(value)
        day = value.date()
        return self.layout.replace("{0}", self.time(value.timetz(), day)).replace(
            "{1}", self.date(day)
        )


def local_datetime(value: datetime) -> str:
    """One date-time as starlette-admin shows a date-time field (babel's medium format),
    in the viewer's time zone and locale; a naive value is in the database's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=get_database_tzinfo())
    return str(format_datetime(value.replace(microsecond=0), None, get_tzinfo()))


def local_date(value: date) -> str:
    """One date as starlette-admin shows a date field; for a date-time, its day where the
    viewer is."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=get_database_tzinfo())
        value = value.astimezone(get_tzinfo()).date()
    return str(format_date(value))
