"""Import jobs run as tasks of the web process, and picked up again after a restart.

A job runs as the user who started it: their grants are loaded again when its task
starts, so a role changed meanwhile applies. At start-up (`resume`), a job the last
process left `applying` is marked failed (its one transaction died with the process,
so nothing of it was written) and one left `validating` or `pending` is checked again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from admin_app.admin.base import AppModelView
from admin_app.audit.context import Actor, set_actor
from admin_app.auth.identity import Identity
from admin_app.auth.permissions import load_grants
from admin_app.imports.files import FileError
from admin_app.imports.jobs import (
    Cancelled,
    Importer,
    JobError,
    Progress,
    Publish,
    job_progress,
    recover,
)
from admin_app.imports.mapping import MappingError
from admin_app.models import AdminUser, ImportJob, ImportStatus
from admin_app.settings import Settings

log = logging.getLogger(__name__)

EXPECTED = (Cancelled, MappingError, FileError, JobError)
"""Ways a job ends that its row already explains to the user."""


Tell = Callable[[int, dict[str, Any]], None]
"""Send a message to one user's live connections (`LiveService.tell`)."""

TELL_EVERY = 0.25
"""Seconds between two progress messages of a job: a batch takes a few milliseconds."""


class ImportTasks:
    """The import jobs this process runs, one task each. With `tell`, a job's progress
    goes to its user's live connections as it happens (`{"type": "import", "job"}`),
    on SQLite too, where the apply's progress is not written until it commits."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        views: Mapping[str, AppModelView],
        publish: Publish | None = None,
        tell: Tell | None = None,
    ) -> None:
        self.settings, self.sessions, self.views, self.publish = settings, sessions, views, publish
        self.tell = tell
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._resuming: asyncio.Task[None] | None = None

    async def stop_job(self, job_id: int) -> None:
        """Cancel the job's task if this process runs it, and wait until it has stopped
        (what it was applying is rolled back). On SQLite this is how a cancel reaches an
        apply: its transaction holds the only write lock until it ends."""
        task = self.tasks.get(job_id)
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=10)

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
        user_id = None
        try:
            async with self.sessions() as session:
                job = await session.get(ImportJob, job_id)
            if job is None:
                return
            user_id = job.user_id
            importer = await self.importer(job)
            progress = self._progress(user_id)
            if job.status == ImportStatus.PENDING:
                await importer.validate(job_id, progress)
            if apply:
                await importer.apply(job_id, progress)
        except EXPECTED as error:
            log.info("import %s stopped: %s", job_id, error)
            if isinstance(error, JobError):
                await _fail_quietly(self.sessions, job_id, str(error))
        except Exception:
            log.exception("import %s failed", job_id)
        finally:
            await self._tell_outcome(user_id, job_id)

    def _progress(self, user_id: int | None) -> Progress | None:
        """Tell the job's user how it is going: when its status changes, else at most
        every `TELL_EVERY` seconds."""
        tell = self.tell
        if tell is None or user_id is None:
            return None
        last, status = 0.0, ""

        async def progress(job: ImportJob) -> None:
            nonlocal last, status
            now = time.monotonic()
            if now - last >= TELL_EVERY or job.status != status:
                last, status = now, str(job.status)
                tell(user_id, {"type": "import", "job": job_progress(job)})

        return progress

    async def _tell_outcome(self, user_id: int | None, job_id: int) -> None:
        """The job's state as its task leaves it (validated, done, failed, cancelled)."""
        if self.tell is None or user_id is None:
            return
        try:
            async with self.sessions() as session:
                job = await session.get(ImportJob, job_id)
        except Exception:  # the page's poll will tell
            log.warning("import %s: could not read its outcome", job_id, exc_info=True)
            return
        if job is not None:
            self.tell(user_id, {"type": "import", "job": job_progress(job)})


async def _fail_quietly(sessions: async_sessionmaker[AsyncSession], job_id: int, why: str) -> None:
    async with sessions.begin() as session:
        job = await session.get(ImportJob, job_id)
        if job is not None and job.status in (ImportStatus.PENDING, ImportStatus.VALIDATING):
            job.status, job.error = ImportStatus.FAILED, why[:2000]


def get_imports(conn: HTTPConnection) -> ImportTasks:
    """The process's import tasks (put on the app's state by the lifespan)."""
    tasks: ImportTasks = conn.state.imports
    return tasks
