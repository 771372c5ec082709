"""Running the import service as a job would, against the test database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from admin_app.admin.views.customer import CustomerView
from admin_app.auth.permissions import Grants
from admin_app.db import create_engine, create_sessionmaker
from admin_app.imports import mapping
from admin_app.imports.files import read_rows
from admin_app.imports.jobs import Importer, create_job
from admin_app.imports.requests import COMMAND_LINE, import_request
from admin_app.imports.validation import ImportPlan, Report, validate_file
from admin_app.models import ImportMode
from admin_app.settings import Settings

HEADER = "first_name,last_name,email,country,is_active\n"


def write(tmp_path: Path, text: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def validate(
    settings: Settings,
    path: Path,
    *,
    mode: ImportMode = ImportMode.CREATE,
    key: str | None = None,
    columns: dict[str, str] | None = None,
    grants: Grants = COMMAND_LINE,
    view: Any = CustomerView,
) -> Report:
    """The validation pass over `path`, as the given user, with suggested columns by default."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            request = import_request(session=session, grants=grants, settings=settings)
            admin_view = view()
            headers = next(read_rows(path))
            chosen = columns
            if chosen is None:
                fields = mapping.importable_fields(admin_view, request)
                chosen = mapping.suggest(headers, fields)
            out = path.parent / f"{path.stem}-out"
            out.mkdir(exist_ok=True)
            plan = ImportPlan(admin_view, chosen, mode, key)
            return await validate_file(plan, request, path, out)
    finally:
        await engine.dispose()


async def run_job(
    settings: Settings,
    path: Path,
    *,
    mode: ImportMode = ImportMode.CREATE,
    key: str | None = None,
    columns: dict[str, str] | None = None,
    apply: bool = True,
    publish: Any = None,
    identity: Any = None,
    on_progress: Any = None,
) -> tuple[int, Importer, Report]:
    """A job for `path`, validated and (unless `apply=False`) applied; returns its id."""
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    try:
        view = CustomerView()
        if columns is None:
            async with maker() as session:
                request = import_request(session=session, grants=COMMAND_LINE, settings=settings)
                fields = mapping.importable_fields(view, request)
                columns = mapping.suggest(next(read_rows(path)), fields)
        async with maker.begin() as session:
            job = await create_job(
                session,
                model="customer",
                file_path=str(path),
                original_name=path.name,
                mode=mode,
                key_field=key,
                mapping=columns,
            )
            job_id = job.id
        importer = Importer(maker, settings, view, COMMAND_LINE, identity, publish)
        report = await importer.validate(job_id, on_progress)
        if apply:
            await importer.apply(job_id, on_progress)
        return job_id, importer, report
    finally:
        await engine.dispose()
