"""Reverting an applied import as one change set, from its audit entry.

The rows it created are deleted and the rows it updated get back the values they had
(only the columns the import wrote), set-wise from the job's `import_change` rows, in
one savepoint of the caller's transaction: all of it, or nothing. It is refused, with
nothing changed, when any of those rows changed since (its version differs, or it is
gone), when other records now refer to rows it created (deleting them would cascade
into, or be blocked by, later work), when some are outside the rows the user may
reach, or when the import was reverted already. The revert is logged as one audit
entry, action `revert`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import FromClause

from admin_app.audit.recorder import AUDIT_TABLE, actor_columns
from admin_app.audit.revert import RevertError, mapper_for
from admin_app.db import Base, utcnow
from admin_app.imports.changeset import CHANGES
from admin_app.imports.spool import WritePlan
from admin_app.models import AuditEntry, ImportJob, ImportStatus


@dataclass(frozen=True)
class Reverted:
    """What a revert did: rows deleted (the import created them) and restored."""

    job_id: int
    deleted: int
    restored: int


async def import_job_of(db: AsyncSession, entry: AuditEntry) -> ImportJob:
    """The job an `import` audit entry logged, or `RevertError` if it kept no change set."""
    job = await db.scalar(select(ImportJob).where(ImportJob.audit_entry_id == entry.id))
    if job is None:
        raise RevertError(
            "This import was applied before imports kept what they wrote, "
            "so it cannot be reverted as a whole."
        )
    return job


async def revert_import(
    db: AsyncSession, entry: AuditEntry, reachable: Select[Any] | None = None
) -> Reverted:
    """Undo the import `entry` logged, in the caller's transaction (the caller commits).

    `reachable` selects the keys of the rows the user may change, None for every row."""
    job = await import_job_of(db, entry)
    plan = WritePlan.of(mapper_for(entry.model).class_, list(job.mapping.values()), job.key_field)
    try:
        async with db.begin_nested():
            await _claim(db, job)
            created, updated = await _counts(db, job.id)
            await _refuse_moved(db, plan, job.id, created + updated)
            await _refuse_referenced(db, plan, job.id)
            await _refuse_unreachable(db, plan, job.id, reachable)
            deleted = await _delete_created(db, plan, job.id)
            restored = await _restore_updated(db, plan, job.id)
            if (deleted, restored) != (created, updated):  # changed while we were at it
                raise RevertError(_moved_message(created + updated - deleted - restored))
            await db.execute(delete(CHANGES).where(CHANGES.c.job_id == job.id))
            await db.execute(insert(AUDIT_TABLE).values(_audit_row(entry, job, deleted, restored)))
    except IntegrityError as error:
        raise RevertError(
            "The database refused the revert, so nothing was changed: other records "
            "now refer to rows of this import, or a restored value is taken "
            f"({_first_line(error)})."
        ) from None
    return Reverted(job.id, deleted, restored)


async def _claim(db: AsyncSession, job: ImportJob) -> None:
    """Mark the job reverted; refused if it already is (the row lock also serialises two
    reverts racing)."""
    claimed = await db.execute(
        update(ImportJob)
        .where(
            ImportJob.id == job.id,
            ImportJob.status == ImportStatus.DONE,
            ImportJob.reverted_at.is_(None),
        )
        .values(reverted_at=utcnow())
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise RevertError(f"Import #{job.id} was already reverted; there is nothing left to undo.")


async def _counts(db: AsyncSession, job_id: int) -> tuple[int, int]:
    """How many rows the import created, and how many it updated."""
    rows = await db.execute(
        select(CHANGES.c.created, func.count())
        .where(CHANGES.c.job_id == job_id)
        .group_by(CHANGES.c.created)
    )
    counts = {bool(created): int(n) for created, n in rows}
    return counts.get(True, 0), counts.get(False, 0)


def _target_of(plan: WritePlan) -> tuple[Table, ColumnElement[Any]]:
    return plan.table, plan.table.c[plan.pk]


async def _refuse_moved(db: AsyncSession, plan: WritePlan, job_id: int, total: int) -> None:
    table, pk = _target_of(plan)
    gone_or_changed: ColumnElement[bool] = pk.is_(None)
    if plan.versioned:
        gone_or_changed = or_(gone_or_changed, table.c.version != CHANGES.c.version)
    moved = await db.scalar(
        select(func.count())
        .select_from(CHANGES.outerjoin(table, pk == CHANGES.c.record_id))
        .where(CHANGES.c.job_id == job_id, gone_or_changed)
    )
    if moved:
        raise RevertError(_moved_message(int(moved), total))


def _moved_message(moved: int, total: int | None = None) -> str:
    of = f" of the {total}" if total is not None else ""
    return (
        f"{moved}{of} record(s) this import wrote have been changed or deleted since, "
        "so nothing was reverted. Undo those changes first, or fix the records by hand."
    )


async def _refuse_referenced(db: AsyncSession, plan: WritePlan, job_id: int) -> None:
    """Refuse when rows of other tables point at rows the import created, one count per
    foreign key (rows the import created itself do not count)."""
    created = select(CHANGES.c.record_id).where(
        CHANGES.c.job_id == job_id, CHANGES.c.created.is_(True)
    )
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table is not plan.table:
                continue
            condition = [key.parent.in_(created)]
            if table is plan.table:
                condition.append(table.c[plan.pk].not_in(created))
            found = await db.scalar(select(func.count()).select_from(table).where(*condition))
            if found:
                raise RevertError(
                    f"{found} record(s) in {table.name} now refer to records this import "
                    "created, so nothing was reverted. Remove or re-assign them first."
                )


async def _refuse_unreachable(
    db: AsyncSession, plan: WritePlan, job_id: int, reachable: Select[Any] | None
) -> None:
    if reachable is None:
        return
    outside = await db.scalar(
        select(func.count())
        .select_from(CHANGES)
        .where(CHANGES.c.job_id == job_id, CHANGES.c.record_id.not_in(reachable))
    )
    if outside:
        raise RevertError(
            f"{outside} record(s) this import wrote are outside the records you may "
            "change, so nothing was reverted."
        )


async def _delete_created(db: AsyncSession, plan: WritePlan, job_id: int) -> int:
    table, pk = _target_of(plan)
    mine = CHANGES.c.job_id == job_id, CHANGES.c.created.is_(True)
    if plan.versioned:
        keys = select(CHANGES.c.record_id, CHANGES.c.version).where(*mine)
        condition = tuple_(pk, table.c.version).in_(keys)
    else:
        condition = pk.in_(select(CHANGES.c.record_id).where(*mine))
    result = await db.execute(delete(table).where(condition))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _restore_updated(db: AsyncSession, plan: WritePlan, job_id: int) -> int:
    """Give the updated rows their logged values back, in one `UPDATE … FROM`."""
    if not plan.update_columns:
        return 0
    table, pk = _target_of(plan)
    source, before = _before_values(db, plan)
    logged = (
        select(CHANGES.c.record_id, CHANGES.c.version, *before)
        .select_from(source)
        .where(CHANGES.c.job_id == job_id, CHANGES.c.created.is_(False))
        .subquery("logged")
    )
    values: dict[str, Any] = {name: logged.c[name] for name in plan.update_columns}
    condition = [logged.c.record_id == pk]
    if plan.versioned:
        condition.append(table.c.version == logged.c.version)
        values["version"] = table.c.version + 1
    result = await db.execute(update(table).values(values).where(*condition))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _before_values(
    db: AsyncSession, plan: WritePlan
) -> tuple[FromClause, list[ColumnElement[Any]]]:
    """Where to read each written column's logged value, and the values, typed by the
    database: PostgreSQL reads the JSON back as a row of the table's own type; SQLite,
    typeless, extracts them as they are."""
    dialect = db.get_bind().dialect
    names = plan.update_columns
    if dialect.name == "postgresql":
        shape: ColumnElement[Any] = literal_column(
            f"NULL::{dialect.identifier_preparer.format_table(plan.table)}"
        )
        row = func.json_populate_record(shape, CHANGES.c.before).table_valued(*names)
        lateral = row.lateral("before_row")
        columns: list[ColumnElement[Any]] = [lateral.c[name].label(name) for name in names]
        return CHANGES.join(lateral, true()), columns
    json = CHANGES.c.before
    return CHANGES, [func.json_extract(json, f'$."{name}"').label(name) for name in names]


def _audit_row(entry: AuditEntry, job: ImportJob, deleted: int, restored: int) -> dict[str, Any]:
    return {
        **actor_columns(),
        "action": "revert",
        "model": entry.model,
        "object_pk": "",
        "object_repr": (f"Import #{job.id} reverted: {deleted} rows deleted, {restored} restored")[
            :200
        ],
        "changes": {"rows_deleted": [None, deleted], "rows_restored": [None, restored]},
        "note": f"revert of #{entry.id}",
    }


def _first_line(error: IntegrityError) -> str:
    text = str(error.orig if error.orig is not None else error).strip()
    return text.splitlines()[0][:300] if text else "a constraint failed"
