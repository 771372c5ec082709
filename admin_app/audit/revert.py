"""Reverting a logged change: restore an update's previous values, or re-create a deleted row.

A revert is refused when the record has changed again since the logged change (its
current values no longer equal the logged "after"), so a revert never silently
discards someone's later work. The revert itself is logged, as action `revert`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, selectinload
from starlette_admin.i18n import gettext

from admin_app.audit.context import audit_as
from admin_app.audit.values import REDACTED, from_json, to_json
from admin_app.db import Base
from admin_app.models import AuditEntry

REVERTIBLE = ("update", "revert", "delete")


class RevertError(Exception):
    """The change cannot be reverted; the message says why, for the user."""


def mapper_for(table: str) -> Mapper[Any]:
    for mapper in Base.registry.mappers:
        if getattr(mapper.local_table, "name", None) == table:
            return mapper
    raise RevertError(
        gettext("There is no model for the table %(table)s any more.") % {"table": repr(table)}
    )


async def revert(db: AsyncSession, entry: AuditEntry) -> Any:
    """Undo `entry` in the caller's transaction; return the affected object."""
    if entry.action not in REVERTIBLE:
        raise RevertError(gettext("Only changes and deletions can be reverted."))
    if not entry.object_pk:  # the revert of a whole import names no record
        raise RevertError(
            gettext("A reverted import cannot be re-applied from the log; import the file again.")
        )
    mapper = mapper_for(entry.model)
    with audit_as("revert", f"revert of #{entry.id}"):
        if entry.action == "delete":
            return await recreate(db, mapper, entry)
        return await restore(db, mapper, entry)


async def load(db: AsyncSession, mapper: Mapper[Any], pk: str) -> Any:
    """The logged record as it is now (with its logged collections), or None."""
    model = mapper.class_
    options = [selectinload(getattr(model, n)) for n in getattr(model, "__audit_collections__", ())]
    column = mapper.primary_key[0]
    return await db.get(model, column.type.python_type(pk), options=options)


def revertible_changes(entry: AuditEntry) -> dict[str, Any]:
    return {k: v for k, v in entry.changes.items() if REDACTED not in (v[0], v[1])}


def moved_fields(obj: Any, changes: dict[str, Any]) -> list[str]:
    """The logged fields (`{name: [before, after]}`) whose value is no longer the one the
    change left."""
    return sorted(
        name
        for name, (_b, after) in changes.items()
        if _current(obj, name) != _logged(obj, name, after)
    )


async def restore(db: AsyncSession, mapper: Mapper[Any], entry: AuditEntry) -> Any:
    """Give the logged record its values before the change, unless it changed again."""
    obj = await load(db, mapper, entry.object_pk)
    if obj is None:
        raise RevertError(gettext("The record no longer exists."))
    changes = revertible_changes(entry)
    if not changes:
        raise RevertError(gettext("Nothing in this change can be reverted (secrets are not kept)."))
    moved = moved_fields(obj, changes)
    if moved:
        raise RevertError(
            gettext(
                "The record has changed again since (%(fields)s); revert the later changes "
                "first, or edit it by hand."
            )
            % {"fields": ", ".join(moved)}
        )
    for name, (before, _after) in changes.items():
        await _assign(db, mapper, obj, name, before)
    await db.flush()
    return obj


async def recreate(db: AsyncSession, mapper: Mapper[Any], entry: AuditEntry) -> Any:
    """Re-create a logged deleted record with its logged values."""
    if await load(db, mapper, entry.object_pk) is not None:
        raise RevertError(gettext("A record with this id exists again; nothing to re-create."))
    key = mapper.primary_key[0]
    obj = mapper.class_()
    setattr(obj, str(key.key), key.type.python_type(entry.object_pk))
    collections = getattr(mapper.class_, "__audit_collections__", ())
    for name, (before, _after) in entry.changes.items():
        if before is not None and before != REDACTED and name not in collections:
            await _assign(db, mapper, obj, name, before)
    for name in collections:
        setattr(obj, name, [])
    db.add(obj)
    for name in collections:
        if name in entry.changes:
            await _assign(db, mapper, obj, name, entry.changes[name][0])
    await db.flush()
    return obj


def _current(obj: Any, name: str) -> Any:
    value = getattr(obj, name)
    if name in getattr(type(obj), "__audit_collections__", ()):
        return sorted((_item_key(i) for i in value), key=str)
    return to_json(value)


def _logged(obj: Any, name: str, value: Any) -> Any:
    """A logged value in the same form `_current` gives."""
    if name in getattr(type(obj), "__audit_collections__", ()):
        return sorted((i["id"] if isinstance(i, dict) else i for i in value or []), key=str)
    return value


def _item_key(item: Any) -> Any:
    label = getattr(item, "audit_label", None)
    return label if label is not None else str(inspect(item).identity[0])


async def _assign(db: AsyncSession, mapper: Mapper[Any], obj: Any, name: str, value: Any) -> None:
    if name in getattr(mapper.class_, "__audit_collections__", ()):
        await _assign_collection(db, mapper, obj, name, value or [])
    elif name in mapper.columns:
        setattr(obj, name, from_json(mapper.columns[name], value))


async def _assign_collection(
    db: AsyncSession, mapper: Mapper[Any], obj: Any, name: str, items: list[Any]
) -> None:
    if hasattr(obj, "permission_codes") and name == "permissions":
        obj.permission_codes = [str(i) for i in items]
        return
    target = mapper.relationships[name].mapper.class_
    related = [await db.get(target, int(item["id"])) for item in items]
    setattr(obj, name, [r for r in related if r is not None])
