"""The apply: spooled rows written in the caller's transaction, all of them or none.

On PostgreSQL new rows go through `COPY` into a temporary staging table, then one
`INSERT … SELECT` (with `ON CONFLICT (key) DO UPDATE` when the mode is "create or
update"); changed rows go through their own staging table and one `UPDATE … FROM`.
On SQLite, which has no COPY, the same rows go through batched `executemany`
statements. Either way the caller commits once, so a failure or a killed process
leaves nothing of the import.

A versioned row is only updated if its version is still the one the validation saw;
if any row changed in between, the whole import is refused rather than overwriting
someone's later edit.

Along the way the job's change set is recorded (`changeset`): the keys of the rows
created and the overwritten values of the rows updated, so the import can be reverted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    cast,
    column,
    func,
    insert,
    null,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.sql.visitors import replacement_traverse

from admin_app.db import Trashable
from admin_app.imports.changeset import CHANGES, ChangeSet
from admin_app.imports.spool import Record, WritePlan, read_spool

NEW_STAGE = "import_new_rows"
CHANGED_STAGE = "import_changed_rows"
SEQ = "import_seq"
"""Each staged row's number, so the set-wise statements go through them in slices."""

SLICE = 50_000
"""Staged rows per set-wise statement: each stays well within the connection's statement
timeout (60 s) whatever the file's size, and the progress bar moves meanwhile."""


class ApplyConflict(Exception):
    """Rows changed since the validation; nothing was written. The message says what to do."""


@dataclass(frozen=True)
class Target:
    """Where rows go: the plan, and how the key names a row (for "create or update")."""

    plan: WritePlan
    conflict: ColumnElement[Any] | None = None
    """The unique index expression new rows may collide on, such as `lower(email)`."""


Progress = Callable[[int], Awaitable[None]]


@dataclass
class Written:
    """How many rows the apply inserted and updated (updates on a key conflict included)."""

    inserted: int = 0
    updated: int = 0


async def apply_spool(
    session: AsyncSession,
    target: Target,
    spool: Path,
    progress: Progress | None = None,
    *,
    job_id: int,
) -> Written:
    """Write every spooled row in the session's transaction (the caller commits), and
    record them as job `job_id`'s change set."""
    postgres = session.get_bind().dialect.name == "postgresql"
    changes = ChangeSet(job_id, target.plan, postgres)
    written = Written()
    staged = 0
    stage = _PostgresStage(session, target.plan, changes) if postgres else None
    if stage is not None:
        await stage.create()
    for new_rows, changed_rows in read_spool(spool):
        if stage is not None:
            await stage.load(new_rows, changed_rows)
        else:
            written.inserted += await _sqlite_insert(session, changes, new_rows)
            written.updated += await _sqlite_update(session, changes, changed_rows)
        staged += len(changed_rows)
        # On PostgreSQL rows count as done once written from the staging tables, below.
        await _moved(progress, 0 if stage else len(new_rows) + len(changed_rows))
    if stage is not None:
        written.updated = await stage.update(progress)
    if written.updated != staged:
        raise ApplyConflict(
            f"{staged - written.updated} record(s) were changed by someone else since the "
            "file was checked; nothing was imported. Check the file again."
        )
    if stage is not None:
        written.inserted, upserted = await stage.insert(target.conflict, progress)
        written.updated += upserted
    return written


def slices(total: int) -> list[tuple[int, int]]:
    """`(first, last)` staged row numbers (from 1) of each set-wise statement."""
    return [(first, min(first + SLICE - 1, total)) for first in range(1, total + 1, SLICE)]


class _PostgresStage:
    def __init__(self, session: AsyncSession, plan: WritePlan, changes: ChangeSet) -> None:
        self.session, self.plan, self.changes = session, plan, changes
        self.target: Table = plan.table
        self.changed_columns = ("import_pk", "import_version", *plan.update_columns)
        self.staged = {NEW_STAGE: 0, CHANGED_STAGE: 0}

    async def _driver(self) -> Any:
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        return raw.driver_connection

    async def create(self) -> None:
        """The two staging tables, shaped like the target's columns, gone at commit."""
        target = self.target
        version = target.c.version if self.plan.versioned else cast(null(), Integer)
        changed = [
            target.c[self.plan.pk].label("import_pk"),
            version.label("import_version"),
            *(target.c[c] for c in self.plan.update_columns),
        ]
        new = [target.c[c] for c in self.plan.insert_columns]
        dialect = self.session.get_bind().dialect
        for stage, columns in ((NEW_STAGE, new), (CHANGED_STAGE, changed)):
            shape = select(*columns).select_from(target).compile(dialect=dialect)
            # Names from the model and constants above, never from the file.
            create = f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS {shape} WITH NO DATA"
            await self.session.execute(text(create))
            await self.session.execute(text(f"ALTER TABLE {stage} ADD COLUMN {SEQ} bigserial"))

    async def load(self, new_rows: list[Record], changed_rows: list[Record]) -> None:
        driver = await self._driver()
        for stage, rows, columns in (
            (NEW_STAGE, new_rows, self.plan.insert_columns),
            (CHANGED_STAGE, changed_rows, self.changed_columns),
        ):
            if rows:
                await driver.copy_records_to_table(stage, records=rows, columns=list(columns))
                self.staged[stage] += len(rows)

    async def insert(
        self, conflict: ColumnElement[Any] | None, progress: Progress | None = None
    ) -> tuple[int, int]:
        """Insert the new rows, a slice at a time; returns how many were created, and how
        many updated instead because their key appeared since the validation ("create
        or update")."""
        stage = table(NEW_STAGE, *(column(c) for c in (*self.plan.insert_columns, SEQ)))
        created = upserted = 0
        for first, last in slices(self.staged[NEW_STAGE]):
            in_slice = stage.c[SEQ].between(first, last)
            rows = select(*(stage.c[c] for c in self.plan.insert_columns)).where(in_slice)
            statement = pg_insert(self.target).from_select(list(self.plan.insert_columns), rows)
            if conflict is not None:
                keys = select(_on(conflict, stage)).where(in_slice)
                live = Trashable.live(self.target)
                taken = await self.session.execute(
                    self.changes.overwritten(conflict.in_(keys) & live)
                )
                upserted += int(taken.rowcount)  # type: ignore[attr-defined]
                statement = statement.on_conflict_do_update(
                    index_elements=[conflict],
                    # A trashable table's unique index covers the rows not in the trash.
                    index_where=live if Trashable.has_trash(self.target) else None,
                    set_=self._set(statement.excluded),
                )
            version = self.target.c.version if self.plan.versioned else cast(null(), Integer)
            returned = statement.returning(
                self.target.c[self.plan.pk].label("record_id"), version.label("version")
            ).cte("imported")
            # Rows updated on a conflict were recorded above; the rest were created.
            record = self.changes.created_from(returned.c.record_id, returned.c.version)
            result = await self.session.execute(record.add_cte(returned))
            created += int(result.rowcount)  # type: ignore[attr-defined]
            await _moved(progress, last - first + 1)
        return created, upserted

    async def update(self, progress: Progress | None = None) -> int:
        """Update the changed rows, a slice at a time; returns how many were updated
        (fewer than staged: some changed since the validation)."""
        if not self.plan.update_columns:
            return 0
        stage = table(CHANGED_STAGE, *(column(c) for c in (*self.changed_columns, SEQ)))
        condition = self.target.c[self.plan.pk] == stage.c.import_pk
        if self.plan.versioned:
            condition = condition & (self.target.c.version == stage.c.import_version)
        updated = 0
        for first, last in slices(self.staged[CHANGED_STAGE]):
            where = condition & stage.c[SEQ].between(first, last)
            await self.session.execute(self.changes.overwritten(where))
            statement = update(self.target).where(where).values(self._set(stage.c))
            result = await self.session.execute(statement)
            updated += int(result.rowcount)  # type: ignore[attr-defined]
            await _moved(progress, last - first + 1)
        return updated

    def _set(self, source: Any) -> dict[str, Any]:
        values: dict[str, Any] = {c: source[c] for c in self.plan.update_columns}
        if self.plan.versioned:
            values["version"] = self.target.c.version + 1
        return values


async def _moved(progress: Progress | None, rows: int) -> None:
    """`rows` more are written (or a step ended): a chance to cancel, and to show it."""
    if progress is not None:
        await progress(rows)


async def _sqlite_insert(session: AsyncSession, changes: ChangeSet, rows: list[Record]) -> int:
    if not rows:
        return 0
    plan = changes.plan
    names = plan.insert_columns
    target = plan.table
    version = target.c.version if plan.versioned else cast(null(), Integer)
    statement = insert(target).returning(target.c[plan.pk], version)
    params = [dict(zip(names, row, strict=True)) for row in rows]
    created = (await session.execute(statement, params)).all()
    await session.execute(insert(CHANGES), changes.created_rows(created))
    return len(rows)


async def _sqlite_update(session: AsyncSession, changes: ChangeSet, rows: list[Record]) -> int:
    plan = changes.plan
    if not rows or not plan.update_columns:
        return 0
    target = plan.table
    await session.execute(changes.overwritten(target.c[plan.pk].in_([row[0] for row in rows])))
    condition = target.c[plan.pk] == bindparam("import_pk")
    values: dict[str, Any] = {c: bindparam(f"new_{c}") for c in plan.update_columns}
    if plan.versioned:
        condition = condition & (target.c.version == bindparam("import_version"))
        values["version"] = target.c.version + 1
    names = ("import_pk", "import_version", *(f"new_{c}" for c in plan.update_columns))
    params = [dict(zip(names, row, strict=True)) for row in rows]
    result = await session.execute(update(target).where(condition).values(values), params)
    return int(result.rowcount)  # type: ignore[attr-defined]


def _on(expression: ColumnElement[Any], source: Any) -> ColumnElement[Any]:
    """`expression` over the target's columns, rewritten over `source`'s same-named ones
    (the staging table's `lower(email)` for the target's)."""

    def swap(element: Any, **_: Any) -> Any:
        if isinstance(element, ColumnClause) and element.name in source.c:
            return source.c[element.name]
        return None

    rewritten: ColumnElement[Any] = replacement_traverse(expression, {}, swap)
    return rewritten


def conflict_target(model: Any, key: str, case_insensitive: bool) -> ColumnElement[Any]:
    """The unique index expression of `key` (`lower(email)` for case-insensitive keys)."""
    column_ = getattr(model, key)
    return func.lower(column_) if case_insensitive else column_
