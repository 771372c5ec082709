"""Which file column feeds which field: suggested from names, checked, saved per model.

A field can be imported when it is a column of the model that the import's form would
let the user set: not read-only, not excluded from imports, not the primary key, not
a protected field the user may not edit, and not a relation (relations are not
imported yet). Unmapped columns are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette_admin import RequestAction
from starlette_admin.fields import BaseField
from starlette_admin.i18n import gettext

from admin_app.admin.base import AppModelView
from admin_app.models import ImportMapping, ImportMode


class MappingError(Exception):
    """The mapping cannot be used; the message says what to change, and `field` which
    choice it is about: `mapping` (the columns), `mode` or `key`."""

    def __init__(self, message: str, field: str = "mapping") -> None:
        super().__init__(message)
        self.field = field


class ImportRefused(MappingError):
    """The user may not import into this model in this mode."""


def require_permission(view: AppModelView, request: Request, mode: ImportMode) -> None:
    """Refuse an import the user's grants do not allow: the view's own `can_import`, and
    `can_create` / `can_edit` for the rows the mode may create or change."""
    name = getattr(view, "name", None) or view.key
    if not (view.is_accessible(request) and view.can_import(request)):
        raise ImportRefused(f"You may not import into {name}.")
    if mode != ImportMode.UPDATE and not view.can_create(request):
        raise ImportRefused(
            f"You may not create records in {name}; import with mode update.", "mode"
        )
    # `edit` itself: `can_edit` also opens the form to a role that may only propose changes.
    if mode != ImportMode.CREATE and not (view.can_edit(request) and view.allows(request, "edit")):
        raise ImportRefused(
            f"You may not change records in {name}; import with mode create.", "mode"
        )


def importable_fields(view: AppModelView, request: Request) -> dict[str, BaseField]:
    """The fields a file may set, by name, in the view's order."""
    columns = inspect(view.model).columns
    locked = view.readonly_fields(request)
    found: dict[str, BaseField] = {}
    for field in view.get_fields_list(request, action=RequestAction.IMPORT):
        column = columns.get(field.name)
        if column is None or column.primary_key or field.read_only:
            continue
        if getattr(field, "exclude_from_import", False) or field.name in locked:
            continue
        found[field.name] = field
    return found


def key_fields(view: AppModelView) -> list[str]:
    """Fields whose value names one record, usable as the key of an update."""
    return [view.pk_attr or "id", *view.unique_fields, *view.case_insensitive_unique]


def _plain(text: str) -> str:
    """`text` without case, spaces or punctuation; letters of any script stay. (A label
    is a `str` whose methods read it as written, in English: `str(label)` translates.)"""
    return re.sub(r"[\W_]+", "", text.casefold())


def suggest(headers: Sequence[str], fields: Mapping[str, BaseField]) -> dict[str, str]:
    """File column -> field, for every column named like a field (its name, or its label
    as written or in the user's language, ignoring case, spaces and punctuation)."""
    names: dict[str, str] = {}
    for name, field in fields.items():
        for said in (name, field.label or name, str(field.label or name)):
            if plain := _plain(said):
                names.setdefault(plain, name)
    chosen: dict[str, str] = {}
    for header in headers:
        match = names.get(_plain(header)) if _plain(header) else None
        if match is not None and match not in chosen.values():
            chosen[header] = match
    return chosen


def check(
    view: AppModelView,
    request: Request,
    headers: Sequence[str],
    columns: Mapping[str, str],
    mode: ImportMode,
    key: str | None,
) -> dict[str, str]:
    """The mapping, if the user may import it for this file and mode; `MappingError` otherwise."""
    require_permission(view, request, mode)
    fields = importable_fields(view, request)
    locked = view.readonly_fields(request)
    for header, name in columns.items():
        if header not in headers:
            raise MappingError(gettext("The file has no column %(name)s.") % {"name": repr(header)})
        if name in locked:
            said = gettext("You may not change %(name)s (a protected field): unmap it.")
            raise MappingError(said % {"name": repr(name)})
        if name not in fields and name != key:
            said = gettext("%(name)s is not a field that can be imported into %(model)s.")
            raise MappingError(said % {"name": repr(name), "model": view.key})
    targets = list(columns.values())
    twice = {name for name in targets if targets.count(name) > 1}
    if twice:
        said = gettext("Two columns feed the same field: %(names)s.")
        raise MappingError(said % {"names": ", ".join(sorted(twice))})
    if mode != ImportMode.CREATE:
        _check_key(view, columns, key)
    if mode != ImportMode.UPDATE:
        _check_required(view, fields, targets)
    return dict(columns)


def _check_key(view: AppModelView, columns: Mapping[str, str], key: str | None) -> None:
    if key is None:
        raise MappingError(gettext("Updating needs a key field, such as --key email."), "key")
    if key not in key_fields(view):
        allowed = ", ".join(key_fields(view))
        said = gettext("%(key)s does not name one record; use one of: %(allowed)s.")
        raise MappingError(said % {"key": repr(key), "allowed": allowed}, "key")
    if key not in columns.values():
        said = gettext("No column of the file is mapped to the key %(key)s.")
        raise MappingError(said % {"key": repr(key)}, "key")


def _check_required(
    view: AppModelView, fields: Mapping[str, BaseField], targets: Sequence[str]
) -> None:
    columns = inspect(view.model).columns
    missing = [
        f"{name} ({field.label})" if field.label and field.label != name else name
        for name, field in fields.items()
        if name not in targets
        and (field.required or not columns[name].nullable)
        and columns[name].default is None
        and columns[name].server_default is None
    ]
    if missing:
        said = gettext("New records need a value for %(names)s: map a column.")
        raise MappingError(said % {"names": ", ".join(missing)})


async def save(session: AsyncSession, model: str, name: str, columns: Mapping[str, str]) -> None:
    """Keep a mapping under `name` for `model`, replacing one of the same name."""
    found = await session.scalar(
        select(ImportMapping).where(ImportMapping.model == model, ImportMapping.name == name)
    )
    if found is None:
        session.add(ImportMapping(model=model, name=name[:100], columns=dict(columns)))
    else:
        found.columns = dict(columns)


async def load(session: AsyncSession, model: str, name: str) -> dict[str, Any]:
    """A saved mapping; `MappingError` when there is none of that name."""
    found = await session.scalar(
        select(ImportMapping).where(ImportMapping.model == model, ImportMapping.name == name)
    )
    if found is None:
        said = gettext("There is no saved mapping %(name)s for %(model)s.")
        raise MappingError(said % {"name": repr(name), "model": model})
    return dict(found.columns)


async def saved_names(session: AsyncSession, model: str) -> list[str]:
    """The names of the mappings saved for `model`."""
    rows = await session.scalars(
        select(ImportMapping.name).where(ImportMapping.model == model).order_by(ImportMapping.name)
    )
    return list(rows)
