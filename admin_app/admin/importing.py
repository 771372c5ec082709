"""File imports take exactly what the forms take, and all rows or none.

starlette-admin parses an import cell with the field's own form parsing, which is
lenient where a form is not: any text that is not "true", "yes" or "on" is a false
boolean, and a bad number is an "unexpected error" for the row rather than a message
at its column. Here each field parses its cells through `STRICT_PARSERS` (one entry per
field type that needs it) and every refusal is a message at the column; the view's
own `validate` (lengths, ranges, choices, uniqueness) runs in the preview too (see
`AppModelView.validate_fields`); and an import with any refused row writes nothing
(`all_or_nothing`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette_admin import RequestAction
from starlette_admin.exceptions import FormValidationError
from starlette_admin.fields import BaseField, BooleanField

TRUE = frozenset({"true", "yes", "on", "1", "y", "t"})
FALSE = frozenset({"false", "no", "off", "0", "n", "f", ""})


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = "" if raw is None else str(raw).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"Use true or false (or yes/no, 1/0), not {str(raw)[:40]!r}.")


STRICT_PARSERS: dict[type[BaseField], Callable[[Any], Any]] = {
    BooleanField: _boolean,
}
"""Import cell parsers for field types whose form parsing accepts anything, by type;
a subclass uses its nearest registered base's parser."""


def _strict_parser(field: BaseField) -> Callable[[Any], Any] | None:
    for kind in type(field).__mro__:
        parser = STRICT_PARSERS.get(kind)
        if parser is not None:
            return parser
    return None


def install_strict_import(fields: Iterable[BaseField]) -> None:
    """Make each field's import parsing strict, with refusals as messages at its column.
    A parser the view set for imports itself is left alone."""
    for field in fields:
        parsers = dict(field.parser or {})
        if RequestAction.IMPORT not in parsers:
            parsers[RequestAction.IMPORT] = _at_the_field(field, _strict_parser(field))
            field.parser = parsers


def _at_the_field(field: BaseField, strict: Callable[[Any], Any] | None) -> Any:
    async def parse(request: Request, raw: Any) -> Any:
        try:
            if strict is not None:
                return strict(raw)
            return await field.parse_import_value(request, raw)
        except (ValueError, TypeError) as error:
            raise FormValidationError({field.name: str(error)}) from None

    return parse


def all_or_nothing(response: Response) -> Response:
    """An import (not its preview) that refused any row writes nothing: a 422, so the
    request's transaction is rolled back, with a message the import dialog shows."""
    body = json.loads(bytes(response.body)) if response.status_code == 200 else {}
    if not body.get("has_errors"):
        return response
    rows = len({error.get("row") for error in body.get("errors", [])}) or 1
    body.update(
        rows_created=0,
        rows_updated=0,
        rows_skipped=0,
        error=f"Nothing was imported: {rows} row(s) have errors. Fix them and import again.",
    )
    return JSONResponse(body, status_code=422)
