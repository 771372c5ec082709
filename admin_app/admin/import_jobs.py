"""The admin's routes for import jobs: upload, mapping, validation, apply, status, errors, cancel.

The flow, as JSON calls (each unsafe one sends the CSRF token in `X-CSRFToken`):

1. `PUT /admin/_api/imports/upload/{key}?name=FILE` with the file as the body: it is
   written to disk as it arrives (up to `MAX_IMPORT_SIZE`; `BodyLimitMiddleware`
   does not buffer this path) and becomes an `uploaded` job. The answer names the
   file's columns, the fields they may feed (the matching ones preselected), the key
   fields and the saved mappings.
2. `POST /admin/_api/imports/{id}/validate` with `{"mapping", "mode", "key",
   "save_as"}` checks every row in a task of the web process. A mapping that cannot
   work is refused at once (400, with the `field` it is about), not left to the task.
3. `POST /admin/_api/imports/{id}/apply` writes the validated rows, in a task.

`GET /admin/_api/imports/{id}` answers the job's status and counts as JSON (what the
import pages, `import_pages.py`, poll), `GET /admin/_api/imports/{id}/errors.csv` sends
its error report, and `POST /admin/_api/imports/{id}/cancel` stops it before it has
written anything.
Only the account that started a job, or a superuser, may see or cancel it; anyone
else gets a 404, as for a job that does not exist.
"""

from __future__ import annotations

import csv
import pathlib
import secrets
from itertools import islice

import anyio
from anyio import Path
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette_admin import RequestAction
from starlette_admin.contrib.sqla import Admin
from starlette_admin.i18n import gettext
from starlette_admin.routing import route

from admin_app.admin.base import AppModelView
from admin_app.admin.compat import find_view_by_key
from admin_app.auth.identity import current_identity
from admin_app.auth.permissions import grants
from admin_app.imports import mapping
from admin_app.imports.files import FileError, file_format, read_rows
from admin_app.imports.jobs import cancel, create_job, job_json
from admin_app.imports.tasks import get_imports
from admin_app.imports.validation import SHOWN_ERRORS
from admin_app.models import ImportJob, ImportMode, ImportStatus
from admin_app.state import get_session, get_settings

UPLOAD_PATH = "/admin/_api/imports/upload/"
"""Where files are uploaded: bodies there are streamed to disk, not buffered."""

CHUNK = 1024 * 1024


class ImportJobRoutes(Admin):
    """Import job routes, mixed into the admin."""

    async def _own_job(self, request: Request) -> ImportJob:
        try:
            job_id = int(request.path_params["job_id"])
        except ValueError:
            raise HTTPException(404, gettext("There is no such import.")) from None
        job = await get_session(request).get(ImportJob, job_id) if job_id < 2**31 else None
        user = current_identity(request)
        mine = job is not None and user is not None and job.user_id == user.id
        if job is None or not (mine or grants(request).superuser):
            raise HTTPException(404, gettext("There is no such import."))
        return job

    @route("/_api/imports/{job_id}", methods=["GET"], name="import-job")
    async def import_job(self, request: Request) -> Response:
        """The job's status and counts; once checked, its first refused rows too."""
        job = await self._own_job(request)
        answer = job_json(job)
        if job.status == ImportStatus.VALIDATED:
            answer["first_errors"] = await first_errors(job)
        return JSONResponse(answer)

    @route("/_api/imports/{job_id}/errors.csv", methods=["GET"], name="import-job-errors")
    async def import_job_errors(self, request: Request) -> Response:
        """Every refused row of the file, with its reasons."""
        job = await self._own_job(request)
        if not job.error_report_path or not await Path(job.error_report_path).is_file():
            raise HTTPException(404, gettext("This import has no error report."))
        name = f"import-{job.id}-errors.csv"
        return FileResponse(job.error_report_path, media_type="text/csv", filename=name)

    @route("/_api/imports/{job_id}/cancel", methods=["POST"], name="import-job-cancel")
    async def import_job_cancel(self, request: Request) -> Response:
        """Stop the job; 409 when it has already finished."""
        job = await self._own_job(request)
        await get_imports(request).stop_job(job.id)
        if not await cancel(get_session(request), job.id):
            return JSONResponse({"error": f"Import #{job.id} has already ended."}, 409)
        await get_session(request).refresh(job)
        return JSONResponse(job_json(job))

    @route("/_api/imports/upload/{key}", methods=["PUT"], name="import-upload")
    async def import_upload(self, request: Request) -> Response:
        """Write the body to disk as it arrives; answer the new job and its columns."""
        request.state.action = RequestAction.IMPORT
        view = find_view_by_key(self, request.path_params["key"])
        name = request.query_params.get("name", "")
        try:
            if not isinstance(view, AppModelView):
                raise HTTPException(404, gettext("There is no such model."))
            mapping.require_permission(view, request, ImportMode.CREATE)
            extension = file_format(name)
        except (mapping.MappingError, FileError) as refused:
            return JSONResponse({"error": str(refused)}, 400)
        await get_session(request).commit()  # hold no connection while the file arrives
        folder = get_settings(request).data_dir / "imports" / "uploads"
        await Path(folder).mkdir(parents=True, exist_ok=True)
        path = folder / f"{secrets.token_hex(16)}.{extension}"
        await _receive_file(request, Path(path))
        try:
            headers = await anyio.to_thread.run_sync(lambda: next(read_rows(path, name)))
        except FileError as unreadable:
            await Path(path).unlink(missing_ok=True)
            return JSONResponse({"error": str(unreadable)}, 400)
        fields = mapping.importable_fields(view, request)
        suggested = mapping.suggest(headers, fields)
        user = current_identity(request)
        job = await create_job(
            get_session(request),
            model=str(view.key),
            user_id=user.id if user else None,
            file_path=str(path),
            original_name=name[:255],
            mode=ImportMode.CREATE,
            mapping=suggested,
            status=ImportStatus.UPLOADED,
        )
        return JSONResponse(
            {
                **job_json(job),
                "columns": headers,
                "fields": {n: str(f.label or n) for n, f in fields.items()},
                "suggested": suggested,
                "key_fields": mapping.key_fields(view),
                "saved_mappings": await mapping.saved_names(get_session(request), str(view.key)),
            },
            201,
        )

    @route("/_api/imports/{job_id}/validate", methods=["POST"], name="import-job-validate")
    async def import_job_validate(self, request: Request) -> Response:
        """Check the file with the chosen mapping, mode and key, in a task."""
        job = await self._own_job(request)
        if job.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATED, ImportStatus.FAILED):
            return JSONResponse({"error": f"Import #{job.id} is {job.status}."}, 409)
        try:
            choice = await request.json()
            job.mode = ImportMode(choice.get("mode", "create"))
            job.key_field = choice.get("key") or None
            job.mapping = {str(k): str(v) for k, v in dict(choice.get("mapping", {})).items()}
        except (ValueError, TypeError, AttributeError):
            return JSONResponse({"error": "Send {mapping, mode, key} as JSON."}, 400)
        try:
            await self._check_mapping(request, job)
        except (mapping.MappingError, FileError) as refused:
            where = getattr(refused, "field", "file")
            return JSONResponse({"error": str(refused), "field": where}, 400)
        if choice.get("save_as"):
            await mapping.save(get_session(request), job.model, str(choice["save_as"]), job.mapping)
        job.status, job.error = ImportStatus.PENDING, ""
        await get_session(request).commit()
        get_imports(request).start(job.id)
        return JSONResponse(job_json(job), 202)

    async def _check_mapping(self, request: Request, job: ImportJob) -> None:
        """Refuse, before any row is read, a mapping the job's task would refuse."""
        view = find_view_by_key(self, job.model)
        if not isinstance(view, AppModelView):
            raise FileError(f"There is no model {job.model!r} any more.")
        request.state.action = RequestAction.IMPORT
        headers = await file_columns(job)
        mapping.check(view, request, headers, job.mapping, job.mode, job.key_field)

    @route("/_api/imports/{job_id}/apply", methods=["POST"], name="import-job-apply")
    async def import_job_apply(self, request: Request) -> Response:
        """Write the validated rows, in a task: all of them, or none."""
        job = await self._own_job(request)
        if job.status != ImportStatus.VALIDATED or job.rows_error:
            why = "has errors" if job.rows_error else f"is {job.status}, not validated"
            return JSONResponse({"error": f"Import #{job.id} {why}."}, 409)
        get_imports(request).start(job.id, apply=True)
        return JSONResponse(job_json(job), 202)


async def file_columns(job: ImportJob) -> list[str]:
    """The first row of the job's file: its column names."""
    path = Path(job.file_path)
    if not await path.is_file():
        raise FileError(gettext("The uploaded file is gone; upload it again."))
    return await anyio.to_thread.run_sync(
        lambda: next(read_rows(pathlib.Path(job.file_path), job.original_name))
    )


async def first_errors(job: ImportJob, limit: int = SHOWN_ERRORS) -> list[dict[str, str]]:
    """The first refused rows of the job's error report: row number and reasons."""
    path = job.error_report_path
    if not path or not await Path(path).is_file():
        return []

    def read() -> list[dict[str, str]]:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = islice(csv.reader(handle), 1, limit + 1)
            return [{"row": row[-2], "reason": row[-1]} for row in rows if len(row) >= 2]

    return await anyio.to_thread.run_sync(read)


async def _receive_file(request: Request, path: Path) -> None:
    """The request body, written to `path` chunk by chunk; nothing is left on failure."""
    try:
        async with await anyio.open_file(path, "wb") as handle:
            async for chunk in request.stream():
                await handle.write(chunk)
    except BaseException:
        await path.unlink(missing_ok=True)
        raise
