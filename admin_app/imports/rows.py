"""One row of a file, read and checked as the view's form would.

Each mapped cell goes through its field's own import parsing (`input_rules`: no
silent coercion, `maybe` is not a boolean), then the whole row through the view's
`validate_fields`, the very check a create or edit form runs: field validators,
lengths, ranges, choices, blanks and uniqueness. A row that updates a record is
checked as its edit form would be (the record's values, with the file's on top) and
only if the user may change that record (its row scope and `change_refusal`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.sql.elements import ColumnElement
from starlette.requests import Request
from starlette_admin import RequestAction
from starlette_admin.exceptions import FormValidationError
from starlette_admin.fields import BaseField
from starlette_admin.helpers import maybe_async

from admin_app.admin.base import AppModelView
from admin_app.auth.permissions import grants
from admin_app.imports.requests import for_row
from admin_app.models import ImportMode
from admin_app.state import get_session


@dataclass
class Row:
    """A row of the file: its number, cells, what they parsed to, and what is wrong."""

    number: int
    cells: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    existing: Any = None
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """`error`, `new`, `updated` or `unchanged`."""
        if self.errors:
            return "error"
        if self.existing is None:
            return "new"
        return "updated" if self.changes else "unchanged"


@dataclass
class RowChecker:
    """Checks rows of one file for one view, mapping, mode and key."""

    view: AppModelView
    request: Request
    columns: Mapping[str, str]
    """File column -> field name."""
    mode: ImportMode
    key: str | None
    headers: Sequence[str]
    seen: dict[Any, int] = field(default_factory=dict)
    """Each unique value met so far (`seen_key`) -> the first row holding it."""

    def __post_init__(self) -> None:
        self.fields = {f.name: f for f in self.view.get_fields_list(self.request)}
        self.model_columns = inspect(self.view.model).columns
        self.index = {header: i for i, header in enumerate(self.headers)}
        names = set(self.columns.values())
        unique = (self.key, *self.view.unique_fields, *self.view.case_insensitive_unique)
        self.unique = [n for n in dict.fromkeys(unique) if n is not None and n in names]
        self.not_columns = [n for n in self.fields if n not in self.model_columns]
        self.readers = [
            (name, self.index[header], self._reader(self.fields[name]))
            for header, name in self.columns.items()
        ]

    def _reader(self, field: BaseField) -> Callable[[Request, str], Awaitable[Any]]:
        """The field's import parsing, looked up once per file rather than per cell
        (what `parse_input` does for an import, less its routing)."""
        parser = (field.parser or {}).get(RequestAction.IMPORT)
        if parser is None:
            return field.parse_input
        return lambda request, text: maybe_async(parser(request, text))

    async def parse(self, number: int, cells: list[str]) -> Row:
        """The row with each mapped cell read by its field's import parsing."""
        row = Row(number, cells)
        for name, index, read in self.readers:
            try:
                value = await read(self.request, cells[index])
            except FormValidationError as refused:
                row.errors.update({str(k): str(v) for k, v in refused.errors.items()})
                continue
            row.data[name] = value
        return row

    def identity(self, name: str, value: Any) -> Any:
        """A unique value as the database compares it (without case where it should)."""
        return self.view.unique_value(name, value)

    async def find_unique_owners(self, rows: Iterable[Row]) -> None:
        """Look up, for the whole batch, which records hold the rows' unique values, so
        the view's uniqueness check (`validate`) answers each row without a query."""
        owners: dict[str, dict[Any, Any]] = {}
        for name in (*self.view.unique_fields, *self.view.case_insensitive_unique):
            values = {r.data[name] for r in rows if r.data.get(name) not in (None, "")}
            found = await self.view.unique_owners(self.request, name, values) if values else {}
            owners[name] = found
        self.request.state.unique_owners = owners

    def key_expression(self) -> ColumnElement[Any]:
        column = getattr(self.view.model, str(self.key))
        return func.lower(column) if self.key in self.view.case_insensitive_unique else column

    async def find_existing(self, rows: Iterable[Row]) -> None:
        """Attach to each row the record its key names, or note why it may not change it."""
        if self.mode == ImportMode.CREATE or self.key is None:
            return
        keyed = {self.identity(self.key, r.data.get(self.key)): r for r in rows if not r.errors}
        keyed.pop(None, None)
        if not keyed:
            return
        session = get_session(self.request)
        where = self.key_expression().in_(list(keyed))
        found = {
            self.identity(str(self.key), getattr(obj, str(self.key))): obj
            for obj in await session.scalars(select(self.view.model).where(where))
        }
        pk = getattr(self.view.model, self.view.pk_attr or "id")
        scoped = self.view.scope_query(self.request, select(pk).where(where), grants(self.request))
        reachable = set(await session.scalars(scoped))
        for value, row in keyed.items():
            obj = found.get(value)
            if obj is not None and getattr(obj, pk.key) not in reachable:
                row.errors[str(self.key)] = f"You may not change the record with this {self.key}."
            else:
                row.existing = obj

    async def check(self, row: Row) -> Row:
        """The row, with every problem the form would report (all at once, as the form
        shows them) and what it changes."""
        self._duplicates(row)
        if str(self.key) in row.errors:
            return row
        if row.existing is None and self.mode == ImportMode.UPDATE:
            row.errors[str(self.key)] = f"No record has this {self.key}; nothing to update."
            return row
        if row.existing is not None:
            refusal = await self.view.change_refusal(self.request, row.existing)
            if refusal:
                row.errors[str(self.key)] = refusal
                return row
        try:
            await self._form_check(row, unreadable=list(row.errors))
        except FormValidationError as refused:
            for name, message in refused.errors.items():
                row.errors.setdefault(str(name), str(message))
        if row.existing is not None and not row.errors:
            current = row.existing
            row.changes = {n: v for n, v in row.data.items() if getattr(current, n) != v}
        return row

    async def _form_check(self, row: Row, unreadable: list[str]) -> None:
        pk_name = self.view.pk_attr or "id"
        exclude = [pk_name, *self.not_columns, *unreadable]
        if row.existing is None:
            data = {name: None for name in self.fields} | row.data
            await self.view.validate_fields(self.request, data, exclude=exclude)
            return
        pk = getattr(row.existing, pk_name)
        current = {n: getattr(row.existing, n) for n in self.fields if n in self.model_columns}
        request = for_row(self.request, RequestAction.EDIT, pk)
        await self.view.validate_fields(request, current | row.data, exclude=exclude)

    def _duplicates(self, row: Row) -> None:
        for name in self.unique:
            value = self.identity(name, row.data.get(name))
            if value in (None, ""):
                continue
            first = self.seen.setdefault(seen_key(name, value), row.number)
            if first != row.number:
                label = name.replace("_", " ")
                row.errors.setdefault(name, f"Row {first} of this file has the same {label}.")


def seen_key(name: str, value: Any) -> Any:
    """What `RowChecker.seen` keeps of a unique value: for a text, a 128-bit digest of
    it (an int of 44 bytes, where the text and its tuple took over 200 MB for a million
    e-mail addresses; two texts share a digest with odds of about 1 in 10^27), and
    other values as they are, compared as the database would."""
    if isinstance(value, str):
        digest = hashlib.blake2b(f"{name}\0{value}".encode(), digest_size=16).digest()
        return int.from_bytes(digest, "big")
    return (name, value)
