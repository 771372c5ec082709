"""An import's change set: the rows it created, and the values it overwrote, kept for its revert.

Recorded in the apply's own transaction, set-wise: on PostgreSQL one `INSERT … SELECT`
from the target joined to the staging table before the update, and the insert's own
`RETURNING` fed through a CTE into `import_change`, so no row passes through Python; on
SQLite one statement per spooled batch. Either way memory stays flat for a large file.

`before` holds only the columns the import writes, as a JSON object the database builds
(`json_build_object` / `json_object`); the revert turns it back into typed values in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    cast,
    false,
    func,
    literal,
    null,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.selectable import Select

from admin_app.db import table_of
from admin_app.imports.spool import WritePlan
from admin_app.models import ImportChange

CHANGES = table_of(ImportChange)
COLUMNS = ("job_id", "record_id", "created", "version", "before")


def before_object(plan: WritePlan, postgres: bool) -> ColumnElement[Any]:
    """The target row's values of the columns the import writes, as one JSON object."""
    pairs: list[Any] = []
    for name in plan.update_columns:
        pairs += [cast(literal(name), String), plan.table.c[name]]
    builder = func.json_build_object if postgres else func.json_object
    return builder(*pairs)


@dataclass(frozen=True)
class ChangeSet:
    """Writes one job's rows into `import_change`; each statement runs in the apply's session."""

    job_id: int
    plan: WritePlan
    postgres: bool

    def _insert(self, rows: Select[Any]) -> Insert:
        make = pg_insert if self.postgres else sqlite_insert
        # A row already recorded keeps its first entry: its values before the import.
        return make(CHANGES).from_select(list(COLUMNS), rows).on_conflict_do_nothing()

    def _job(self) -> ColumnElement[int]:
        return literal(self.job_id, Integer)

    def next_version(self) -> ColumnElement[Any]:
        """The version an update of the import leaves (it adds one), or NULL."""
        table = self.plan.table
        return table.c.version + 1 if self.plan.versioned else cast(null(), Integer)

    def overwritten(self, *condition: ColumnElement[bool]) -> Insert:
        """Record the target rows matching `condition`, about to be updated, as they are."""
        table = self.plan.table
        rows = select(
            self._job(),
            table.c[self.plan.pk],
            false(),
            self.next_version(),
            before_object(self.plan, self.postgres),
        ).where(true(), *condition)
        return self._insert(rows)

    def created_from(self, pk: ColumnElement[Any], version: ColumnElement[Any]) -> Insert:
        """Record rows named by `pk` and `version` columns (of a CTE) as created."""
        rows = select(self._job(), pk, true(), version, null())
        return self._insert(rows.where(true()))

    def created_rows(self, rows: Iterable[Any]) -> list[dict[str, Any]]:
        """Parameters recording returned `(pk, version)` rows as created (SQLite's batches)."""
        return [
            {"job_id": self.job_id, "record_id": pk, "created": True, "version": version}
            for pk, version in rows
        ]
