"""An import job's life: validate, apply, and what the rest of the app is told.

The job row is updated from short sessions of its own, so its status and progress are
visible while the apply's one transaction is still open. The apply writes the rows,
their change set (for a revert, see `imports.revert`), one audit entry for the whole
import and the job's `done` status in that transaction; listeners get one "N rows
imported" change after it commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_app.admin.base import AppModelView
from admin_app.audit.recorder import AUDIT_TABLE, actor_columns
from admin_app.auth.identity import Identity
from admin_app.auth.permissions import Grants
from admin_app.db import table_of, utcnow
from admin_app.imports.requests import import_request
from admin_app.imports.spool import WritePlan
from admin_app.imports.validation import ImportPlan, Report, validate_file
from admin_app.imports.writing import Target, Written, apply_spool, conflict_target
from admin_app.live.messages import Action, Actor, Change
from admin_app.models import ImportJob, ImportMode, ImportStatus
from admin_app.settings import Settings

FINISHED = (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED)


def job_progress(job: ImportJob) -> dict[str, Any]:
    """How a job is going: what its progress bar and counts show."""
    return {
        "id": job.id,
        "status": str(job.status),
        "rows_done": job.rows_done,
        "new": job.rows_new,
        "updated": job.rows_updated,
        "unchanged": job.rows_unchanged,
        "errors": job.rows_error,
        "has_error_report": bool(job.error_report_path),
        "error": (job.error or "")[:500],
    }


def job_json(job: ImportJob) -> dict[str, Any]:
    """What a page shows of a job: its progress, file, mode and mapping."""
    return {
        **job_progress(job),
        "model": job.model,
        "file": job.original_name,
        "mode": str(job.mode),
        "key": job.key_field,
        "mapping": dict(job.mapping),
        "error": job.error,
    }


class Cancelled(Exception):
    """The job was cancelled while it ran; nothing was written."""


class JobError(Exception):
    """The job cannot go on; the message says why, for a person."""


def job_dir(settings: Settings, job_id: int) -> Path:
    """Where a job keeps its error report and spooled rows."""
    path = settings.data_dir / "imports" / str(job_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def create_job(session: AsyncSession, **values: Any) -> ImportJob:
    """A new pending job (committed by the caller)."""
    job = ImportJob(**values)
    session.add(job)
    await session.flush()
    return job


Publish = Callable[[Change], None]
Progress = Callable[[ImportJob], Awaitable[None]]


@dataclass
class Importer:
    """Runs jobs into one view as one user: the CLI's, or a web user's."""

    maker: async_sessionmaker[AsyncSession]
    settings: Settings
    view: AppModelView
    grants: Grants
    identity: Identity | None = None
    publish: Publish | None = None

    async def validate(self, job_id: int, progress: Progress | None = None) -> Report:
        """Check the job's file; the job ends `validated`, or `failed` with the reason."""
        job = await self._set(job_id, status=ImportStatus.VALIDATING, rows_done=0, error="")
        plan = ImportPlan(self.view, dict(job.mapping), job.mode, job.key_field)

        async def step(report: Report) -> None:
            done = await self._set(job_id, rows_done=report.rows, **_counts(report))
            if done.status == ImportStatus.CANCELLED:
                raise Cancelled
            if progress is not None:
                await progress(done)

        try:
            async with self.maker() as session:
                request = import_request(
                    session=session,
                    grants=self.grants,
                    settings=self.settings,
                    identity=self.identity,
                )
                report = await validate_file(
                    plan,
                    request,
                    Path(job.file_path),
                    job_dir(self.settings, job_id),
                    name=job.original_name,
                    progress=step,
                )
        except Cancelled:
            raise
        except Exception as error:
            await self._fail(job_id, error)
            raise
        if (await self._load(job_id)).status == ImportStatus.CANCELLED:
            raise Cancelled
        report_path = str(report.error_report) if report.error_report else None
        await self._set(
            job_id,
            status=ImportStatus.VALIDATED,
            mapping=plan.columns,
            error_report_path=report_path,
            rows_done=report.rows,
            **_counts(report),
        )
        return report

    async def apply(
        self, job_id: int, progress: Progress | None = None, *, skip_errors: bool = False
    ) -> Written:
        """Write the validated rows in one transaction; the job ends `done`, or `failed`
        (or `cancelled`) with nothing written."""
        job = await self._load(job_id)
        if job.status != ImportStatus.VALIDATED:
            raise JobError(f"Import #{job_id} is {job.status}, not validated; check it first.")
        if job.rows_error and not skip_errors:
            raise JobError(f"{job.rows_error} row(s) have errors; nothing was imported.")
        await self._set(job_id, status=ImportStatus.APPLYING, rows_done=0)
        job.status, done = ImportStatus.APPLYING, 0

        async def step(rows: int) -> None:
            nonlocal done
            done += rows
            job.rows_done = done
            # SQLite has one writer, the apply itself: its progress stays in memory there.
            current = job if self.settings.is_sqlite else await self._set(job_id, rows_done=done)
            if current.status == ImportStatus.CANCELLED:
                raise Cancelled
            if progress is not None:
                await progress(current)

        try:
            written = await self._write(job, step)
        except Cancelled:
            raise
        except IntegrityError as error:
            refused = JobError(
                "The database refused the import, so nothing was written "
                f"({_first_line(error)}); check the file again."
            )
            await self._fail(job_id, refused)
            raise refused from None
        except Exception as error:
            await self._fail(job_id, error)
            raise
        self._announce(written)
        return written

    async def _write(self, job: ImportJob, step: Callable[[int], Awaitable[None]]) -> Written:
        target = self._target(job)
        spool = job_dir(self.settings, job.id) / "rows.pickle"
        async with self.maker() as session, session.begin():
            written = await apply_spool(session, target, spool, step, job_id=job.id)
            audit = insert(AUDIT_TABLE).values(self._audit_row(job, written))
            entry_id = (await session.execute(audit.returning(AUDIT_TABLE.c.id))).scalar_one()
            finished = await session.execute(
                update(ImportJob)
                .where(ImportJob.id == job.id, ImportJob.status == ImportStatus.APPLYING)
                .values(
                    status=ImportStatus.DONE,
                    rows_done=written.inserted + written.updated,
                    finished_at=utcnow(),
                    updated_at=utcnow(),
                    audit_entry_id=entry_id,
                )
            )
            if not finished.rowcount:  # type: ignore[attr-defined]
                raise Cancelled  # cancelled meanwhile: the transaction rolls back
        spool.unlink(missing_ok=True)
        return written

    def _target(self, job: ImportJob) -> Target:
        model = self.view.model
        plan = WritePlan.of(model, list(job.mapping.values()), job.key_field)
        if job.mode != ImportMode.UPSERT or job.key_field is None:
            return Target(plan)
        ci = job.key_field in self.view.case_insensitive_unique
        return Target(plan, conflict_target(model, job.key_field, ci))

    def _audit_row(self, job: ImportJob, written: Written) -> dict[str, Any]:
        total = written.inserted + written.updated
        return {
            **actor_columns(),
            "action": "import",
            "model": table_of(self.view.model).name,
            "object_pk": "",
            "object_repr": f"{total} rows imported from {job.original_name}"[:200],
            "changes": {
                "rows_created": [None, written.inserted],
                "rows_updated": [None, written.updated],
                "mode": [None, str(job.mode)],
                "file": [None, job.original_name],
            },
            "note": f"import #{job.id}",
        }

    def _announce(self, written: Written) -> None:
        total = written.inserted + written.updated
        if self.publish is None or self.identity is None or not total:
            return
        actor = Actor(self.identity.id, self.identity.display_name)
        action: Action = "created" if written.inserted else "updated"
        self.publish(Change(str(self.view.key), (), action, actor, utcnow().isoformat(), total))

    async def _load(self, job_id: int) -> ImportJob:
        async with self.maker() as session:
            job = await session.get(ImportJob, job_id)
            if job is None:
                raise JobError(f"There is no import #{job_id}.")
            return job

    async def _set(self, job_id: int, **values: Any) -> ImportJob:
        async with self.maker() as session, session.begin():
            job = await session.get(ImportJob, job_id)
            if job is None:
                raise JobError(f"There is no import #{job_id}.")
            if job.status != ImportStatus.CANCELLED:
                for name, value in values.items():
                    setattr(job, name, value)
            return job

    async def _fail(self, job_id: int, error: BaseException) -> None:
        message = str(error) or type(error).__name__
        await self._set(
            job_id, status=ImportStatus.FAILED, error=message[:2000], finished_at=utcnow()
        )


def _first_line(error: IntegrityError) -> str:
    text = str(error.orig if error.orig is not None else error).strip()
    return text.splitlines()[0][:300] if text else "a constraint failed"


def _counts(report: Report) -> dict[str, int]:
    return {
        "rows_new": report.new,
        "rows_updated": report.updated,
        "rows_unchanged": report.unchanged,
        "rows_error": report.errors,
    }


async def cancel(session: AsyncSession, job_id: int) -> bool:
    """Mark a job cancelled unless it has finished; its task stops at its next batch."""
    result = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status.not_in(FINISHED))
        .values(status=ImportStatus.CANCELLED, finished_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def recover(session: AsyncSession) -> int:
    """After a restart: a job left `applying` wrote nothing (its transaction died with the
    process) and is marked failed; one left `validating` goes back to `pending`, to be
    checked again. Returns how many jobs were touched."""
    failed = await session.execute(
        update(ImportJob)
        .where(ImportJob.status == ImportStatus.APPLYING)
        .values(
            status=ImportStatus.FAILED,
            error="The server stopped during the import; nothing was written. Retry it.",
            finished_at=utcnow(),
        )
    )
    restarted = await session.execute(
        update(ImportJob)
        .where(ImportJob.status == ImportStatus.VALIDATING)
        .values(status=ImportStatus.PENDING, rows_done=0)
    )
    return int(failed.rowcount) + int(restarted.rowcount)  # type: ignore[attr-defined]
