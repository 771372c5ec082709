"""The admin's routes for import jobs: where a job is, its error report, and cancelling it.

`GET /admin/_api/imports/{id}` answers the job's status and counts as JSON (what a
progress bar polls), `GET /admin/_api/imports/{id}/errors.csv` sends its error report,
and `POST /admin/_api/imports/{id}/cancel` stops it before it has written anything.
Only the account that started a job, or a superuser, may see or cancel it; anyone
else gets a 404, as for a job that does not exist.
"""

from __future__ import annotations

from typing import Any

from anyio import Path
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette_admin.contrib.sqla import Admin
from starlette_admin.routing import route

from admin_app.auth.identity import current_identity
from admin_app.auth.permissions import grants
from admin_app.imports.jobs import cancel
from admin_app.models import ImportJob
from admin_app.state import get_session


def job_json(job: ImportJob) -> dict[str, Any]:
    """What a page shows of a job."""
    return {
        "id": job.id,
        "model": job.model,
        "file": job.original_name,
        "mode": str(job.mode),
        "status": str(job.status),
        "rows_done": job.rows_done,
        "new": job.rows_new,
        "updated": job.rows_updated,
        "unchanged": job.rows_unchanged,
        "errors": job.rows_error,
        "has_error_report": bool(job.error_report_path),
        "error": job.error,
    }


class ImportJobRoutes(Admin):
    """Import job routes, mixed into the admin."""

    async def _own_job(self, request: Request) -> ImportJob:
        try:
            job_id = int(request.path_params["job_id"])
        except ValueError:
            raise HTTPException(404, "There is no such import.") from None
        job = await get_session(request).get(ImportJob, job_id) if job_id < 2**31 else None
        user = current_identity(request)
        mine = job is not None and user is not None and job.user_id == user.id
        if job is None or not (mine or grants(request).superuser):
            raise HTTPException(404, "There is no such import.")
        return job

    @route("/_api/imports/{job_id}", methods=["GET"], name="import-job")
    async def import_job(self, request: Request) -> Response:
        """The job's status and counts."""
        return JSONResponse(job_json(await self._own_job(request)))

    @route("/_api/imports/{job_id}/errors.csv", methods=["GET"], name="import-job-errors")
    async def import_job_errors(self, request: Request) -> Response:
        """Every refused row of the file, with its reasons."""
        job = await self._own_job(request)
        if not job.error_report_path or not await Path(job.error_report_path).is_file():
            raise HTTPException(404, "This import has no error report.")
        name = f"import-{job.id}-errors.csv"
        return FileResponse(job.error_report_path, media_type="text/csv", filename=name)

    @route("/_api/imports/{job_id}/cancel", methods=["POST"], name="import-job-cancel")
    async def import_job_cancel(self, request: Request) -> Response:
        """Stop the job; 409 when it has already finished."""
        job = await self._own_job(request)
        if not await cancel(get_session(request), job.id):
            return JSONResponse({"error": f"Import #{job.id} has already ended."}, 409)
        await get_session(request).refresh(job)
        return JSONResponse(job_json(job))
