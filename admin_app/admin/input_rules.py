"""What a field accepts: typed input read strictly, and values its column can hold.

Both are refused at the field with a message for a person, in forms (inline rows
included) and imports alike, before anything is written.

## Reading typed input

starlette-admin reads form input leniently: a number or date it cannot read becomes
"no value" without a word ("Erroneous input is ignored", its IntegerField says), so
`12.345` typed as a stock count saved nothing and the old value was lost, and an
impossible date cleared the field. Imports read booleans so that any text but "true",
"yes" or "on" is false.

Here each field type that reads typed text has one entry in `READERS`: a check of the
text that raises `ValueError` with a message for a person. `install(fields)` puts it in
front of the field's own parsing for forms and imports (starlette-admin's `parser`
hook): text it refuses becomes `Unreadable` (the text, kept so the form shows it again,
and the message), which the field's first validator reports; text it accepts goes on
to the field's own parsing. Single-line text loses surrounding spaces, as Django's
forms do; a textarea and a password keep what was typed.

## What the column holds
`COLUMN_CHECKS` gives, by column type, a validator from the column's declaration: at most
`String(n)` characters, a `Numeric(p, s)` within its digits and scale, an `Integer`
within 32 bits. They are added to the field of the same name.

Adding a field type or column type is one entry in one of the two tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, Numeric, String, inspect
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette_admin import RequestAction
from starlette_admin.exceptions import FormValidationError
from starlette_admin.fields import (
    BaseField,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    FloatField,
    IntegerField,
    PasswordField,
    StringField,
    TextAreaField,
    TimeField,
)
from starlette_admin.i18n import gettext

from admin_app.languages import format_number


class Unreadable(str):
    """Input a field could not read: the text as typed, and why it was refused."""

    message: str

    def __new__(cls, text: str, message: str) -> Unreadable:
        value = super().__new__(cls, text)
        value.message = message
        return value


def _whole_number(text: str) -> str:
    number = _number(text, gettext("Enter a whole number, such as 12."))
    if number != number.to_integral_value():
        raise ValueError(gettext("Enter a whole number, such as 12 (no decimals)."))
    return str(int(number))


def _decimal(text: str) -> str:
    return str(_number(text, gettext("Enter a number, such as 12.50.")))


def _number(text: str, message: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(message) from None
    if not number.is_finite():
        raise ValueError(message)
    return number


def _float(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(gettext("Enter a number, such as 1.5.")) from None
    if not math.isfinite(number):
        raise ValueError(gettext("Enter a number, such as 1.5."))
    return text


def _moment(text: str) -> str:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(gettext("Enter a real date and time, such as 2026-03-31 14:30.")) from None
    return text


def _day(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(gettext("Enter a real date, such as 2026-03-31.")) from None
    return text


def _clock(text: str) -> str:
    try:
        time.fromisoformat(text)
    except ValueError:
        raise ValueError(gettext("Enter a time of day, such as 14:30.")) from None
    return text


TRUE = frozenset({"true", "yes", "on", "1", "y", "t"})
FALSE = frozenset({"false", "no", "off", "0", "n", "f"})


def _boolean(text: str) -> str:
    if text.lower() not in TRUE | FALSE:
        said = gettext("Use true or false (or yes/no, 1/0), not %(text)s.")
        raise ValueError(said % {"text": repr(text[:40])})
    return text


def _line(text: str) -> str:
    return text.strip()


def _as_typed(text: str) -> str:
    return text


Reader = Callable[[str], str]

READERS: dict[type[BaseField], Reader] = {
    StringField: _line,
    TextAreaField: _as_typed,
    PasswordField: _as_typed,
    IntegerField: _whole_number,
    DecimalField: _decimal,
    FloatField: _float,
    DateTimeField: _moment,
    DateField: _day,
    TimeField: _clock,
}
"""Readers of typed text, by field type (a subclass uses its nearest registered base's):
each gives the text in the form the field's own parsing takes (`500.00` for a whole
number is `500`), or raises `ValueError` with a message."""

IMPORT_READERS: dict[type[BaseField], Reader] = {**READERS, BooleanField: _boolean}
"""Imports read booleans as text; forms send a ticked box or nothing."""

FORM_ACTIONS = (RequestAction.CREATE, RequestAction.EDIT, RequestAction.INLINE_EDIT)


def reader(field: BaseField, table: dict[type[BaseField], Reader]) -> Reader | None:
    """The check for `field`'s typed text, if its type has one."""
    for kind in type(field).__mro__:
        found = table.get(kind)
        if found is not None:
            return found
    return None


def install(fields: Iterable[BaseField], model: type[Any] | None = None) -> None:
    """Give each field its reader (for forms and imports) and its column's checks. A
    parser the view set itself for an action is left alone. Idempotent."""
    columns = inspect(model).columns if model is not None else None
    for field in fields:
        if getattr(field, "_input_rules", False):
            continue
        field._input_rules = True  # type: ignore[attr-defined]
        parsers = dict(field.parser or {})
        form_reader = reader(field, READERS)
        if form_reader is not None:
            for action in FORM_ACTIONS:
                parsers.setdefault(action, _form_parser(field, form_reader))
        parsers.setdefault(RequestAction.IMPORT, _import_parser(field))
        field.parser = parsers
        column = columns.get(field.name) if columns is not None else None
        checks = column_checks(column) if column is not None else []
        field.validators = [_readable, *checks, *field.validators]


def _readable(request: Request, field: BaseField, value: Any, form: dict[str, Any]) -> None:
    if isinstance(value, Unreadable):
        raise ValueError(value.message)


def _form_parser(field: BaseField, read: Reader) -> Any:
    async def parse(request: Request, raw: Any) -> Any:
        # starlette-admin hands a form parser the field's own value (a list for a
        # multiple select), not the whole form.
        values = raw if isinstance(raw, list) else ([] if raw is None else [raw])
        taken = []
        for value in values:
            if isinstance(value, str) and value.strip():
                try:
                    value = read(value)
                except ValueError as error:
                    return Unreadable(value.strip(), str(error))
            elif isinstance(value, str):
                value = ""
            taken.append(value)
        return await field.parse_form_data(request, FormData([(field.id, v) for v in taken]))

    return parse


def _import_parser(field: BaseField) -> Any:
    check = reader(field, IMPORT_READERS)
    as_is = check is not None and _takes_text_as_is(field)

    async def parse(request: Request, raw: Any) -> Any:
        text = "" if raw is None else str(raw).strip()
        try:
            if check is not None and text:
                text = check(text)
            if isinstance(field, BooleanField):
                return text.lower() in TRUE
            if as_is:
                return text
            return await field.parse_import_value(request, text if check else raw)
        except (ValueError, TypeError) as error:
            raise FormValidationError({field.name: str(error)}) from None

    return parse


def _takes_text_as_is(field: BaseField) -> bool:
    """Whether the field's import parsing hands a text back unchanged: starlette-admin's
    own, which puts it in a form and reads it out again. Skipping that round trip
    for text fields is a fifth of an import's time."""
    kind = type(field)
    return (
        kind.parse_import_value is BaseField.parse_import_value
        and kind.parse_form_data is BaseField.parse_form_data
    )


def unreadable(data: dict[str, Any]) -> dict[str | int, Any]:
    """The form errors for input that could not be read."""
    return {name: value.message for name, value in data.items() if isinstance(value, Unreadable)}


Check = Callable[[Request, BaseField, Any, dict[str, Any]], None]


def _length(column: Column[Any]) -> Check | None:
    length = getattr(column.type, "length", None)
    if not length:
        return None

    def check(request: Request, field: BaseField, value: Any, form: dict[str, Any]) -> None:
        if isinstance(value, str) and len(value) > length:
            said = gettext("Use at most %(count)s characters (this has %(length)s).")
            raise ValueError(said % {"count": length, "length": len(value)})

    return check


def _digits(column: Column[Any]) -> Check | None:
    kind = column.type
    precision, scale = getattr(kind, "precision", None), getattr(kind, "scale", None)
    if not precision or scale is None:
        return None
    bound = Decimal(10) ** (precision - scale)

    def check(request: Request, field: BaseField, value: Any, form: dict[str, Any]) -> None:
        if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
            return
        number = Decimal(str(value))
        exponent = number.normalize().as_tuple().exponent
        if abs(number) >= bound:
            raise ValueError(
                gettext("Enter a number below %(bound)s.") % {"bound": format_number(bound)}
            )
        if isinstance(exponent, int) and -exponent > scale:
            raise ValueError(gettext("Use at most %(count)s decimal places.") % {"count": scale})

    return check


def _int32(column: Column[Any]) -> Check | None:
    if isinstance(column.type, BigInteger):
        return None

    def check(request: Request, field: BaseField, value: Any, form: dict[str, Any]) -> None:
        outside = isinstance(value, int) and not -(2**31) <= value < 2**31
        if outside and not isinstance(value, bool):
            raise ValueError(
                gettext("Enter a whole number between %(low)s and %(high)s.")
                % {"low": format_number(-(2**31)), "high": format_number(2**31 - 1)}
            )

    return check


COLUMN_CHECKS: dict[type[Any], Callable[[Column[Any]], Check | None]] = {
    String: _length,
    Numeric: _digits,
    Integer: _int32,
}
"""Validators from a column's declaration, by column type (subclasses use their nearest
registered base's: `Text` is a `String` without a length, so it gets none)."""


def column_checks(column: Column[Any]) -> list[Check]:
    """The checks of what `column` can hold."""
    kind = getattr(column.type, "impl", column.type)
    for base in type(kind).__mro__:
        make = COLUMN_CHECKS.get(base)
        if make is not None:
            found = make(column)
            return [found] if found is not None else []
    return []
