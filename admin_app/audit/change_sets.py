"""Reverting a change set: every entry of one save (an order with its lines), undone as one.

The entries are undone newest first: a line created by the save is deleted, a changed
row gets its values back, a deleted row is re-created. Nothing is undone unless all of
it can be: a row that changed again since the save (or a created row that is gone, or a
deleted one that is back) refuses the whole revert, naming the rows. The revert is one
change set of its own, logged as `revert`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from starlette_admin.i18n import gettext

from admin_app.audit.context import audit_as, change_set
from admin_app.audit.revert import (
    RevertError,
    load,
    mapper_for,
    moved_fields,
    recreate,
    restore,
    revertible_changes,
)
from admin_app.models import AuditEntry


async def entries_of(db: AsyncSession, entry: AuditEntry) -> Sequence[AuditEntry]:
    """The entries of `entry`'s change set, newest first (the order they are undone in)."""
    stmt = select(AuditEntry).where(AuditEntry.change_set == entry.change_set)
    return (await db.scalars(stmt.order_by(AuditEntry.id.desc()))).all()


async def revert_change_set(db: AsyncSession, entry: AuditEntry) -> int:
    """Undo the whole save `entry` belongs to, in the caller's transaction; return how
    many rows were put back. Raises `RevertError` (nothing undone) when any row moved on."""
    entries = await entries_of(db, entry)
    if any(e.action not in ("create", "update", "delete") for e in entries):
        raise RevertError(gettext("This change set holds changes that cannot be undone together."))
    problems = [
        p
        for key, logged in _final_states(entries).items()
        if (p := await _problem(db, key, logged))
    ]
    if problems:
        raise RevertError(
            gettext(
                "Nothing was reverted: %(problems)s. Revert the later changes first, or edit "
                "by hand."
            )
            % {"problems": "; ".join(problems[:5])}
        )
    with audit_as("revert", f"revert of change set of #{entry.id}"), change_set():
        for item in entries:
            await _undo(db, mapper_for(item.model), item)
    return len(entries)


def _final_states(
    entries: Sequence[AuditEntry],
) -> dict[tuple[str, str], tuple[AuditEntry, dict[str, Any]]]:
    """Each record the set touched: its newest entry and the values the set left it
    with (a line created, then changed, by the same save)."""
    final: dict[tuple[str, str], tuple[AuditEntry, dict[str, Any]]] = {}
    for entry in reversed(entries):  # oldest first
        key = (entry.model, entry.object_pk)
        values = dict(final[key][1]) if key in final else {}
        values.update(revertible_changes(entry))
        final[key] = (entry, values)
    return final


async def _problem(
    db: AsyncSession, key: tuple[str, str], logged: tuple[AuditEntry, dict[str, Any]]
) -> str:
    """Why the record cannot be put back now, or ""."""
    newest, values = logged
    obj = await load(db, mapper_for(key[0]), key[1])
    name = newest.object_repr or f"{key[0]} #{key[1]}"
    if newest.action == "delete":
        return f"{name} exists again" if obj is not None else ""
    if obj is None:
        return f"{name} no longer exists"
    moved = moved_fields(obj, values)
    return f"{name} changed again ({', '.join(moved)})" if moved else ""


async def _undo(db: AsyncSession, mapper: Mapper[Any], entry: AuditEntry) -> None:
    if entry.action == "create":
        await db.delete(await load(db, mapper, entry.object_pk))
        await db.flush()
    elif entry.action == "delete":
        await recreate(db, mapper, entry)
    else:
        await restore(db, mapper, entry)
