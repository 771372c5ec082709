"""Moving records to the trash and back, with the children a delete would take.

A delete of trashable rows is one UPDATE per row: `deleted_at` set, and one new
`trash_batch` shared by the rows and every trashable row the deletion map
(`admin_app.admin.deletion`) says a hard delete would remove with them (an order's
lines). Restoring a batch clears both columns on exactly the rows that carry it, so a
line trashed on its own before its order keeps its own batch and stays in the trash.
The rows are loaded and changed through the ORM, so each change is in the audit log
(as `trash` or `restore`) and bumps the row's version.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.admin.deletion import DeleteBlocked, Outcome, consequences
from admin_app.db import INCLUDE_TRASHED, Base, Trashable, table_of, utcnow


def is_trashable(model: type[Any]) -> bool:
    """Whether deleting a `model` row moves it to the trash (it inherits `Trashable`)."""
    return isinstance(model, type) and issubclass(model, Trashable)


def trashable_models() -> list[type[Base]]:
    """Every mapped trashable model, children before parents (the order purges go in)."""
    by_table = {m.local_table: m.class_ for m in Base.registry.mappers}
    tables = reversed(Base.metadata.sorted_tables)
    return [by_table[t] for t in tables if t in by_table and is_trashable(by_table[t])]


def new_batch() -> str:
    """A name for one delete's set of rows."""
    return uuid.uuid4().hex


async def trash(
    db: AsyncSession, model: type[Base], objs: Sequence[Any], batch: str | None = None
) -> str:
    """Move `objs` (rows of `model`) and their owned children to the trash, as one batch."""
    batch = batch or new_batch()
    when = utcnow()
    chosen = _pk(model).in_([inspect(obj).identity[0] for obj in objs])
    await _refuse_if_blocked(db, model, chosen)
    for obj in objs:
        _mark(obj, when, batch)
    for child, where in _children(model, chosen):
        for row in (await db.scalars(select(child).where(where))).all():
            _mark(row, when, batch)
    await db.flush()
    return batch


async def restore(db: AsyncSession, model: type[Base], objs: Sequence[Any]) -> None:
    """Bring trashed `objs` (rows of `model`) back, with the children that went to the
    trash with them (in their batch)."""
    for child, where in _coming_back(model, objs):
        for row in await trashed(db, child, where):
            _mark(row, None, None)
    for obj in objs:
        _mark(obj, None, None)
    await db.flush()


async def restored_with(
    db: AsyncSession, model: type[Base], objs: Sequence[Any]
) -> dict[type[Base], int]:
    """How many rows of each trashable model a `restore` of `objs` brings back with them."""
    counts: dict[type[Base], int] = {}
    for child, where in _coming_back(model, objs):
        count = select(func.count()).select_from(table_of(child)).where(where)
        counts[child] = counts.get(child, 0) + int(await db.scalar(count) or 0)
    return {child: n for child, n in counts.items() if n}


async def trashed(
    db: AsyncSession, model: type[Base], *where: ColumnElement[bool], limit: int | None = None
) -> Sequence[Any]:
    """Rows of `model` in the trash matching `where`, the latest first."""
    stmt = (
        select(model)
        .where(Trashable.in_trash(model), *where)
        .order_by(model.deleted_at.desc(), _pk(model).desc())  # type: ignore[attr-defined]
        .limit(limit)
        .execution_options(**{INCLUDE_TRASHED: True})
    )
    return (await db.scalars(stmt)).all()


async def unique_clashes(
    db: AsyncSession,
    model: type[Base],
    values: Mapping[str, Any],
    fields: Sequence[str],
    lowercase: Sequence[str],
) -> list[str]:
    """The unique fields among `fields` whose value in `values` (a trashed row's, or the
    new one given for it) a record outside the trash now holds: restoring the row with
    it would break the unique index."""
    clashing = []
    for name in fields:
        column: Any = getattr(model, name)
        value = values.get(name)
        if value is None:
            continue
        if name in lowercase and isinstance(value, str):
            condition = func.lower(column) == value.strip().lower()
        else:
            condition = column == value
        taken = select(model).where(condition, Trashable.live(model)).limit(1)
        if (await db.scalars(taken)).first() is not None:
            clashing.append(name)
    return clashing


async def _refuse_if_blocked(
    db: AsyncSession, model: type[Base], where: ColumnElement[bool]
) -> None:
    """Refuse what a hard delete would be refused: rows (in the trash too) still refer to
    these by a key that forbids deleting them (an order its customer)."""
    for consequence in consequences(table_of(model), where):
        if consequence.outcome is Outcome.BLOCKING and await db.scalar(
            select(exists().where(consequence.where))
        ):
            raise DeleteBlocked(f"{consequence.table.name} rows refer to these records")


def _children(model: type[Base], where: ColumnElement[bool]) -> list[tuple[type[Base], Any]]:
    """The trashable models a hard delete of `model`'s rows matching `where` would remove
    rows of, and which rows."""
    return [
        (c.model, c.where)
        for c in consequences(table_of(model), where)
        if c.outcome is Outcome.DELETED and c.model is not None and is_trashable(c.model)
    ]


def _coming_back(model: type[Base], objs: Sequence[Any]) -> list[tuple[type[Base], Any]]:
    """The children a restore of `objs` brings back, as (model, rows): those of each
    batch's rows still in the trash in that batch (a line trashed on its own before its
    order keeps its own batch, and stays)."""
    batches: dict[str, list[Any]] = {}
    for obj in objs:
        batches.setdefault(obj.trash_batch, []).append(inspect(obj).identity[0])
    found = []
    for batch, pks in batches.items():
        for child, where in _children(model, _pk(model).in_(pks)):
            table = table_of(child)
            found.append((child, and_(where, table.c.trash_batch == batch)))
    return found


def _mark(obj: Any, when: datetime | None, batch: str | None) -> None:
    obj.deleted_at = when
    obj.trash_batch = batch


def _pk(model: type[Base]) -> Any:
    return inspect(model).primary_key[0]
