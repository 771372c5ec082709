"""The validation pass: every row of the file read and checked before anything is written.

Rows are read from disk and checked in batches (one query per batch finds the records
a key names), so memory holds one batch, whatever the file's size. The pass counts
new, updated, unchanged and refused rows, keeps the first 100 problems for the page,
writes every refused row with its reasons to an error CSV (the file's own columns, so
the user can fix it and import just those rows), and spools the clean rows to disk
for the apply (`writing`).
"""

from __future__ import annotations

import csv
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from starlette.requests import Request

from admin_app.admin.base import AppModelView
from admin_app.imports import mapping
from admin_app.imports.files import read_rows
from admin_app.imports.rows import Row, RowChecker
from admin_app.imports.spool import SpoolWriter, WritePlan
from admin_app.models import ImportMode
from admin_app.state import get_session

BATCH = 500
"""Rows checked together: one query finds the records their keys name."""

SHOWN_ERRORS = 100
"""Problems kept for the page; the error CSV has them all."""


@dataclass(frozen=True)
class RowError:
    """One problem of one row: the row's number (the first data row is 1), the field, why."""

    row: int
    field: str | None
    message: str


@dataclass
class Report:
    """What the file would do, as counted by the validation pass."""

    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    first_errors: list[RowError] = field(default_factory=list)
    error_report: Path | None = None
    spool: Path | None = None

    def count(self, row: Row) -> None:
        self.rows += 1
        outcome = row.outcome
        if outcome == "error":
            self.errors += 1
            for name, message in row.errors.items():
                if len(self.first_errors) < SHOWN_ERRORS:
                    self.first_errors.append(RowError(row.number, name, message))
        else:
            setattr(self, outcome, getattr(self, outcome) + 1)


Progress = Callable[[Report], Awaitable[None]]


@dataclass
class ImportPlan:
    """What to import: into which view, from which columns, how, and keyed by what."""

    view: AppModelView
    columns: dict[str, str]
    mode: ImportMode
    key: str | None = None


async def validate_file(
    plan: ImportPlan,
    request: Request,
    path: Path,
    out_dir: Path,
    *,
    name: str | None = None,
    progress: Progress | None = None,
) -> Report:
    """Check every row of the file at `path`; write the error CSV and the clean rows
    into `out_dir`. A mapping that cannot be used raises `mapping.MappingError`."""
    rows = read_rows(path, name)
    headers = next(rows)
    plan.columns = mapping.check(plan.view, request, headers, plan.columns, plan.mode, plan.key)
    checker = RowChecker(plan.view, request, plan.columns, plan.mode, plan.key, headers)
    error_path, spool_path = out_dir / "errors.csv", out_dir / "rows.pickle"
    report = Report(error_report=error_path, spool=spool_path)
    write_plan = WritePlan.of(plan.view.model, list(plan.columns.values()), plan.key)
    with (
        error_path.open("w", newline="", encoding="utf-8") as errors_file,
        SpoolWriter(spool_path, write_plan) as spool,
    ):
        errors = _error_writer(errors_file, headers)
        for batch in _batches(rows):
            parsed = [await checker.parse(number, cells) for number, cells in batch]
            await checker.find_existing(parsed)
            await checker.find_unique_owners(parsed)
            for row in parsed:
                await _take(await checker.check(row), report, errors, spool)
            get_session(request).expunge_all()  # one batch of records in memory
            if progress is not None:
                await progress(report)
    if not report.errors:
        error_path.unlink()
        report.error_report = None
    return report


async def _take(row: Row, report: Report, errors: Any, spool: SpoolWriter) -> None:
    report.count(row)
    if row.errors:
        reasons = "; ".join(f"{name}: {message}" for name, message in row.errors.items())
        errors.writerow([*row.cells, row.number, reasons])
    elif row.existing is None:
        spool.new(row.data)
    elif row.changes:
        spool.update(row.existing, row.data)


def _error_writer(handle: IO[str], headers: list[str]) -> Any:
    writer = csv.writer(handle)
    writer.writerow([*headers, "error_row", "error_reason"])
    return writer


def _batches(rows: Iterator[list[str]]) -> Iterator[list[tuple[int, list[str]]]]:
    numbered = ((n, cells) for n, cells in enumerate(rows, start=1) if "".join(cells).strip())
    while batch := list(islice(numbered, BATCH)):
        yield batch
