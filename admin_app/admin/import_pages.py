"""The import pages: upload a file, map its columns, check it, apply it with a progress bar.

`GET /admin/<key>/import` offers step 1, choosing a file; `static/import.js` sends it
with `PUT` to the upload call (`import_jobs.py`), never as a multipart form, and then
opens the job's own page, `GET /admin/<key>/import/<job_id>`. That page shows the step
the job is at (mapping, checking, result, applying, done, failed or cancelled), so a
reload resumes where the job is; the script moves it on through the JSON calls and
follows a running job by polling its status once a second (the live channel does not
carry job progress).

Only a user who may import into the model sees these pages (403 otherwise), and a
job's page only its owner or a superuser (404 for anyone else, as for no job).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette_admin import RequestAction
from starlette_admin.i18n import gettext
from starlette_admin.routing import route

from admin_app.admin import compat
from admin_app.admin.base import AppModelView, acting_view
from admin_app.admin.import_jobs import ImportJobRoutes, file_columns, first_errors
from admin_app.imports import mapping
from admin_app.imports.files import FileError
from admin_app.imports.jobs import job_json
from admin_app.models import ImportJob, ImportMapping, ImportMode, ImportStatus
from admin_app.state import get_session

MODES = {
    ImportMode.CREATE: "Create new records only",
    ImportMode.UPDATE: "Update existing records, found by a key",
    ImportMode.UPSERT: "Create new records and update existing ones",
}


def offers_import(view: Any, request: Request) -> bool:
    """Whether `view` offers the import pages to this user: an app view that takes files
    (`importers` not emptied) and lets the user import (`can_import`)."""
    return (
        isinstance(view, AppModelView)
        and bool(view.importers)
        and view.is_accessible(request)
        and view.can_import(request)
    )


def allowed_modes(view: AppModelView, request: Request) -> dict[str, str]:
    """The modes this user's grants allow, with their labels."""
    allowed: dict[str, str] = {}
    for mode, label in MODES.items():
        try:
            mapping.require_permission(view, request, mode)
        except mapping.ImportRefused:
            continue
        allowed[str(mode)] = label
    return allowed


class ImportPages(ImportJobRoutes):
    """The import pages' routes, mixed into the admin."""

    @route("/{key}/import", methods=["GET"], name="import-page")
    async def import_page(self, request: Request) -> Response:
        """Step 1: choose a file."""
        return await self._import_response(request, self._importing(request), None)

    @route("/{key}/import/{job_id}", methods=["GET"], name="import-job-page")
    async def import_job_page(self, request: Request) -> Response:
        """The job's page, at the step the job is at."""
        view = self._importing(request)
        job = await self._own_job(request)
        if job.model != view.key:
            raise HTTPException(404, gettext("There is no such import."))
        return await self._import_response(request, view, job)

    def _importing(self, request: Request) -> AppModelView:
        refusal = gettext("You may not import into %(things)s.")
        return acting_view(self, request, RequestAction.IMPORT, offers_import, refusal)

    async def _import_response(
        self, request: Request, view: AppModelView, job: ImportJob | None
    ) -> Response:
        context: dict[str, Any] = {
            "title": f"Import {view.records_label()}",
            "view": view,
            "job": job,
            "modes": allowed_modes(view, request),
            "page": await self._page_data(request, view, job),
        }
        if job is not None:
            context.update(await mapping_choices(request, view, job))
        return compat.template_response(self, request, "import.html", context)

    async def _page_data(
        self, request: Request, view: AppModelView, job: ImportJob | None
    ) -> dict[str, Any]:
        """What the page's script needs: the calls' URLs, the job and the saved mappings."""
        name = self.route_name
        data: dict[str, Any] = {
            "upload_url": str(request.url_for(f"{name}:import-upload", key=view.key)),
            "page_url": str(request.url_for(f"{name}:import-page", key=view.key)),
            "api_url": str(request.url_for(f"{name}:index")) + "_api/imports/",
            "job": None,
        }
        if job is not None:
            data["job"] = job_json(job)
            if job.status == ImportStatus.VALIDATED:
                data["job"]["first_errors"] = await first_errors(job)
            data["saved"] = await saved_mappings(request, str(view.key))
        return data


async def mapping_choices(request: Request, view: AppModelView, job: ImportJob) -> dict[str, Any]:
    """Step 2's table: the file's columns, the fields they may feed, the chosen (or
    suggested) field of each, and the key fields; `file_problem` if the file is gone."""
    fields = mapping.importable_fields(view, request)
    try:
        columns, problem = await file_columns(job), ""
    except FileError as gone:
        columns, problem = [], str(gone)
    chosen = dict(job.mapping) or mapping.suggest(columns, fields)
    return {
        "columns": columns,
        "file_problem": problem,
        "fields": {name: str(field.label or name) for name, field in fields.items()},
        "chosen": chosen,
        "key_fields": mapping.key_fields(view),
    }


async def saved_mappings(request: Request, model: str) -> dict[str, dict[str, str]]:
    """The mappings saved for `model`, by name."""
    rows = await get_session(request).scalars(
        select(ImportMapping).where(ImportMapping.model == model).order_by(ImportMapping.name)
    )
    return {row.name: {str(k): str(v) for k, v in row.columns.items()} for row in rows}
