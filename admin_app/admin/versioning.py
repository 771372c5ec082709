"""No lost updates: an edit form carries the row version it was made from.

Saving a form made from an older version overwrites nothing. The check happens twice:
against the loaded row (the usual case, a clear conflict page), and in the UPDATE
itself (`WHERE version = ...`, see `admin_app.db.Versioned`), which catches the race
between two saves of the same version: exactly one of them wins.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette_admin import BaseField, RelationField, RequestAction
from starlette_admin.contrib.sqla import ModelView

from admin_app.admin import compat
from admin_app.state import get_session

VERSION_FIELD = "_version"


@dataclass(frozen=True)
class ConflictRow:
    """One field on the conflict page: its value now, and the value the user tried to save."""

    label: str
    current: str
    submitted: str

    @property
    def differs(self) -> bool:
        return self.current != self.submitted


class EditConflict(HTTPException):
    """A 409: the record changed since the form was opened. Carries both versions for display."""

    def __init__(self, view: ModelView, pk: Any, rows: list[ConflictRow], gone: bool) -> None:
        super().__init__(409, "Someone else changed this record since you opened it.")
        self.view = view
        self.pk = pk
        self.rows = rows
        self.gone = gone


class VersionedEditMixin(ModelView):
    """Refuses edits made from a stale version, with a 409 conflict page."""

    async def edit(self, request: Request, pk: Any, data: dict[str, Any]) -> Any:
        expected = await _submitted_version(request)
        request.state.form_version = expected
        if expected is not None and _has_version(self.model):
            obj = await self.find_by_pk(request, pk)
            if obj is not None and str(obj.version) != expected:
                raise await self._conflict(request, pk, data)
        try:
            return await super().edit(request, pk, data)
        except StaleDataError:
            raise await self._conflict(request, pk, data) from None

    async def handle_exception(self, request: Request, exc: Exception) -> None:
        if isinstance(exc, StaleDataError):
            raise exc
        await super().handle_exception(request, exc)

    async def _conflict(self, request: Request, pk: Any, data: dict[str, Any]) -> EditConflict:
        current = await self._current_values(request, pk) or {}
        rows = []
        for field in self.get_fields_list(request, action=RequestAction.EDIT):
            if field.name not in data or field.read_only:
                continue
            now = _display(current.get(field.name))
            mine = await self._display_submitted(request, field, data[field.name], now)
            rows.append(ConflictRow(field.label or field.name, now, mine))
        if current:
            with _action(request, RequestAction.EDIT):
                rows += await self.child_conflict_rows(request, await self.find_by_pk(request, pk))
        return EditConflict(self, pk, rows, gone=not current)

    async def child_conflict_rows(self, request: Request, parent: Any) -> list[ConflictRow]:
        """The rows edited inside the form (an order's lines) that changed, went or came
        since it was opened, for the conflict page. None by default."""
        return []

    async def _display_submitted(
        self, request: Request, field: BaseField, value: Any, now: str
    ) -> str:
        """The user's value, shown as the saved one is (the detail page's formatting), so
        that a field nobody touched reads the same on both sides."""
        if isinstance(field, RelationField) and value not in (None, "", []):
            foreign = compat.find_foreign_view(self, str(field.key))
            pks = value if isinstance(value, list) else [value]
            objs = [await foreign.find_by_pk(request, pk) for pk in pks]
            return ", ".join(str(obj) for obj in objs if obj is not None)
        if isinstance(value, tuple):  # file fields: (upload, delete?)
            upload, delete = value[0], bool(value[1:] and value[1])
            if upload:
                return f"(a new file: {getattr(upload, 'filename', '') or 'unnamed'})"
            return "(removed)" if delete else now
        with _action(request, RequestAction.DETAIL):
            return _display(await self.serialize_field_value(value, field, request))

    async def _current_values(self, request: Request, pk: Any) -> dict[str, Any] | None:
        """The record as it is now. The request's transaction is rolled back first (the
        response is a 409 anyway): that drops stale state and frees its connection, so a
        conflict never needs a second connection from a busy pool."""
        await get_session(request).rollback()
        with _action(request, RequestAction.DETAIL):
            obj = await self.find_by_pk(request, pk)
            return None if obj is None else await self.serialize(obj, request)


@contextmanager
def _action(request: Request, action: RequestAction) -> Iterator[None]:
    """Serialize as for `action` (formats depend on it), then restore the request's own."""
    previous = request.state.action
    request.state.action = action
    try:
        yield
    finally:
        request.state.action = previous


def _display(value: Any) -> str:
    """A serialized value as plain text for the conflict page."""
    if value is None:
        return ""
    related = compat.related_repr(value)
    if related is not None:
        return related
    if isinstance(value, dict) and "filename" in value:  # a stored file, as serialized
        return str(value["filename"])
    if isinstance(value, list):
        return ", ".join(_display(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


async def _submitted_version(request: Request) -> str | None:
    if request.state.action != RequestAction.EDIT:
        return None
    form = await request.form()
    value = form.get(VERSION_FIELD)
    return str(value) if value else None


def _has_version(model: type[Any]) -> bool:
    return inspect(model).version_id_col is not None
