"""`admin-app import MODEL FILE`: a CSV or XLSX file into one model, checked first.

The same job as the web's: the file is checked with the forms' rules (every error row
goes to an error CSV), then written in one transaction, or nothing is. The command
acts with every permission, as every `admin-app` command does, and is audited as
`cli:<user>`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.admin.base import AppModelView
from admin_app.admin.registry import REGISTRY
from admin_app.cli.common import CommandError, require_migrated, run_with_engine
from admin_app.db import create_sessionmaker
from admin_app.imports import mapping
from admin_app.imports.files import FileError, check_size, file_format, read_rows
from admin_app.imports.jobs import Importer, JobError, create_job
from admin_app.imports.requests import COMMAND_LINE, import_request
from admin_app.imports.validation import Report
from admin_app.models import ImportJob, ImportMode
from admin_app.settings import Settings, load_settings

SHOWN = 10
"""Errors printed; the error CSV has them all."""


def find_view(key: str) -> AppModelView:
    """The registered view of `key`, or a one-line error naming the ones there are."""
    views = {str(view_class.key): view_class for view_class in REGISTRY}
    if key not in views:
        raise CommandError(f"no model {key!r}; one of: {', '.join(sorted(views))}")
    return views[key]()


def _progress(label: str, started: float):  # type: ignore[no-untyped-def]
    async def show(job: ImportJob) -> None:
        if sys.stdout.isatty():
            rate = job.rows_done / max(time.monotonic() - started, 1e-6)
            click.echo(f"\r{label}: {job.rows_done:,} rows ({rate:,.0f}/s)", nl=False)

    return show


def _summary(report: Report) -> str:
    return (
        f"checked {report.rows:,} rows: {report.new:,} new, {report.updated:,} updated, "
        f"{report.unchanged:,} unchanged, {report.errors:,} with errors"
    )


@click.command("import")
@click.argument("model")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_name", help="Use the mapping saved under this name.")
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Feed FIELD from the file's COLUMN (repeatable); other columns are matched by name.",
)
@click.option("--save-mapping", help="Save the mapping used under this name for next time.")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in ImportMode]),
    default=ImportMode.CREATE.value,
    show_default=True,
    help="create: new records only; update: existing ones, by --key; upsert: both.",
)
@click.option("--key", help="The unique field naming the record a row updates, such as email.")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
def import_(
    model: str,
    file: Path,
    mapping_name: str | None,
    pairs: tuple[str, ...],
    save_mapping: str | None,
    mode: str,
    key: str | None,
    dry_run: bool,
) -> None:
    """Import a CSV or XLSX file into MODEL (such as customer): check every row as the
    forms would, then write them all in one transaction, or none."""
    settings = load_settings()
    view = find_view(model)
    _check_file(file, settings)
    chosen = _pairs(pairs)
    source = str(file.resolve())
    started = time.monotonic()

    async def work(engine: AsyncEngine) -> tuple[Report, int]:
        await require_migrated(engine)
        maker = create_sessionmaker(engine)
        columns = await _columns(maker, settings, view, file, mapping_name, chosen)
        async with maker.begin() as session:
            if save_mapping:
                await mapping.save(session, str(view.key), save_mapping, columns)
            job = await create_job(
                session,
                model=str(view.key),
                file_path=source,
                original_name=file.name,
                mode=ImportMode(mode),
                key_field=key,
                mapping=columns,
            )
        importer = Importer(maker, settings, view, COMMAND_LINE)
        try:
            report = await importer.validate(job.id, _progress("checking", started))
            _report(report)
            if report.errors or dry_run:
                return report, 0
            written = await importer.apply(job.id, _progress("writing", time.monotonic()))
        except (mapping.MappingError, FileError, JobError) as error:
            raise CommandError(str(error)) from None
        return report, written.inserted + written.updated

    report, written = run_with_engine(settings, work)
    if report.errors:
        raise CommandError(
            f"{report.errors:,} row(s) have errors; nothing was imported "
            f"(every error row, with its reason: {report.error_report})"
        )
    seconds = time.monotonic() - started
    if dry_run:
        click.echo("dry run: nothing was written")
        return
    rate = report.rows / max(seconds, 1e-6)
    click.echo(f"imported {written:,} rows into {view.key} in {seconds:.1f}s ({rate:,.0f} rows/s)")


def _check_file(file: Path, settings: Settings) -> None:
    try:
        file_format(file.name)
        if not file.is_file():
            raise FileError(f"there is no file {str(file)[-200:]!r}")
        check_size(file, settings.max_import_size)
    except FileError as error:
        raise CommandError(str(error)) from None


def _pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column.strip() or not field.strip():
            raise CommandError(f"--map takes COLUMN=FIELD, not {pair[:80]!r}")
        chosen[column.strip()] = field.strip()
    return chosen


async def _columns(  # type: ignore[no-untyped-def]
    maker,
    settings: Settings,
    view: AppModelView,
    file: Path,
    name: str | None,
    chosen: dict[str, str],
) -> dict[str, str]:
    """The saved mapping, or the columns named like fields, with `--map` on top."""
    async with maker() as session:
        try:
            if name:
                columns = await mapping.load(session, str(view.key), name)
            else:
                request = import_request(session=session, grants=COMMAND_LINE, settings=settings)
                headers = next(read_rows(file))
                columns = mapping.suggest(headers, mapping.importable_fields(view, request))
        except (mapping.MappingError, FileError) as error:
            raise CommandError(str(error)) from None
    return {**columns, **chosen}


def _report(report: Report) -> None:
    if sys.stdout.isatty():
        click.echo("\r", nl=False)
    click.echo(_summary(report))
    for error in report.first_errors[:SHOWN]:
        click.echo(f"  row {error.row}, {error.field or 'row'}: {error.message}")
    if report.errors > SHOWN:
        click.echo(f"  … and more in {report.error_report}")
