"""Import jobs run as tasks of the web process, and picked up again after a restart.

A job runs as the user who started it: their grants are loaded again when its task
starts, so a role changed meanwhile applies. At start-up (`resume`), a job the last
process left `applying` is marked failed (its one transaction died with the process,
so nothing of it was written) and one left `validating` or `pending` is checked again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from admin_app.admin.base import AppModelView
from admin_app.audit.context import Actor, set_actor
from admin_app.auth.identity import Identity
from admin_app.auth.permissions import load_grants
from admin_app.imports.files import FileError
from admin_app.imports.jobs import Cancelled, Importer, JobError, Publish, recover
from admin_app.imports.mapping import MappingError
from admin_app.models import AdminUser, ImportJob, ImportStatus
from admin_app.settings import Settings

log = logging.getLogger(__name__)

EXPECTED = (Cancelled, MappingError, FileError, JobError)
"""Ways a job ends that its row already explains to the user."""


class ImportTasks:
    """The import jobs this process runs, one task each."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        views: Mapping[str, AppModelView],
        publish: Publish | None = None,
    ) -> None:
        self.settings, self.sessions, self.views, self.publish = settings, sessions, views, publish
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._resuming: asyncio.Task[None] | None = None

    def start(self, job_id: int, *, apply: bool = False) -> None:
        """Validate the job (and apply it, with `apply`) in a task of its own."""
        if job_id in self.tasks:
            return
        task = asyncio.create_task(self._run(job_id, apply), name=f"import-{job_id}")
        self.tasks[job_id] = task
        task.add_done_callback(lambda _task: self.tasks.pop(job_id, None))

    async def resume(self) -> list[int]:
        """After a restart: fail what was being applied, check again what was being checked.
        Writes only when a job was left unfinished: a write at every start-up raced the
        first requests for SQLite's single write lock."""
        unfinished = (ImportStatus.APPLYING, ImportStatus.VALIDATING, ImportStatus.PENDING)
        async with self.sessions() as session:
            left = await session.scalar(
                select(ImportJob.id).where(ImportJob.status.in_(unfinished)).limit(1)
            )
        if left is None:
            return []
        async with self.sessions.begin() as session:
            await recover(session)
            pending = list(
                await session.scalars(
                    select(ImportJob.id).where(ImportJob.status == ImportStatus.PENDING)
                )
            )
        for job_id in pending:
            self.start(job_id)
        return pending

    def resume_soon(self) -> None:
        """`resume` in a task, so that a database that is down or not migrated yet
        delays nothing at start-up (the jobs wait for the next start)."""

        async def attempt() -> None:
            try:
                await self.resume()
            except Exception as error:  # the app starts anyway; the jobs are not lost
                log.warning("import jobs not resumed: %s", error)

        self._resuming = asyncio.create_task(attempt(), name="import-resume")

    async def stop(self) -> None:
        """Cancel the running tasks; what they were applying is rolled back."""
        tasks = [*self.tasks.values(), *([self._resuming] if self._resuming else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def importer(self, job: ImportJob) -> Importer:
        """The job's importer, acting as its user with their grants as they are now."""
        view = self.views.get(job.model)
        if view is None:
            raise JobError(f"There is no model {job.model!r} any more.")
        async with self.sessions() as session:
            user = await session.get(AdminUser, job.user_id) if job.user_id else None
            if user is None or not user.is_active:
                raise JobError("The account that started this import cannot use the admin now.")
            identity = Identity.of(user)
            grants = await load_grants(session, identity)
        set_actor(Actor(identity.id, identity.email))
        return Importer(self.sessions, self.settings, view, grants, identity, self.publish)

    async def _run(self, job_id: int, apply: bool) -> None:
        try:
            async with self.sessions() as session:
                job = await session.get(ImportJob, job_id)
            if job is None:
                return
            importer = await self.importer(job)
            if job.status == ImportStatus.PENDING:
                await importer.validate(job_id)
            if apply:
                await importer.apply(job_id)
        except EXPECTED as error:
            log.info("import %s stopped: %s", job_id, error)
            if isinstance(error, JobError):
                await _fail_quietly(self.sessions, job_id, str(error))
        except Exception:
            log.exception("import %s failed", job_id)


async def _fail_quietly(sessions: async_sessionmaker[AsyncSession], job_id: int, why: str) -> None:
    async with sessions.begin() as session:
        job = await session.get(ImportJob, job_id)
        if job is not None and job.status in (ImportStatus.PENDING, ImportStatus.VALIDATING):
            job.status, job.error = ImportStatus.FAILED, why[:2000]


def get_imports(conn: HTTPConnection) -> ImportTasks:
    """The process's import tasks (put on the app's state by the lifespan)."""
    tasks: ImportTasks = conn.state.imports
    return tasks
