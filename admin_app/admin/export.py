"""Export a whole filtered list, however big, as CSV or XLSX, streamed in constant memory.

starlette-admin's export action serializes every row into memory before writing
the file, and refuses more than 100,000 rows. `ExportMixin` replaces that action
(same button, same modal) with one that streams:

- CSV on PostgreSQL is produced by the database itself (`COPY (SELECT …) TO STDOUT`),
  passed through a small bounded queue, so memory stays flat and the rate is the
  database's (hundreds of thousands of rows per second);
- XLSX, and CSV on SQLite, read the rows through a server-side cursor in batches of
  `export_batch_size` and write them as they arrive (`admin_app.admin.xlsx`).

Rows come in the list's order, with its search and filters. Values are written
as described in `admin_app.admin.export_columns`, formula-escaped. The action is
only offered, and only runs, when `can_export` allows it. The response carries
`X-Export-Rows` (the expected number of rows, or an estimate) so the page can show
progress while it downloads (`static/export.js`).
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from typing import Any, ClassVar
from urllib.parse import quote

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette_admin.actions import ActionSelection, action
from starlette_admin.exceptions import ActionFailed
from starlette_admin.flash import flash
from starlette_admin.helpers import safe_redirect_url
from starlette_admin.i18n import gettext, lazy_gettext
from starlette_admin.types import RequestAction

from admin_app.admin import compat
from admin_app.admin.export_columns import ExportColumn, export_columns, python_text, sql_text
from admin_app.admin.lists import keyset
from admin_app.admin.lists.keyset import CursorError
from admin_app.admin.lists.query import ListingMixin, Position
from admin_app.admin.xlsx import XlsxStream
from admin_app.db import without_trashed
from admin_app.replicas.routing import read_connection
from admin_app.state import get_session

log = logging.getLogger(__name__)

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
QUEUE_CHUNKS = 8
"""COPY output chunks (about 64 KB each) held between the database and the client."""
COPY_TIMEOUT = 3600
"""Seconds one export may take; the engine's 60-second statement timeout is too short."""
BOM = "\ufeff".encode()
"""Lets Excel recognise the CSV as UTF-8."""
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


EXPORT_FORM_SLOT = "<div data-app-export-form></div>"
"""The export action's form as the list page writes it into its button: escaped into an
attribute, the whole form (`export_form`) was a tenth of the page. The page carries only
its URL (`<template data-app-export-form data-url=…>`); static/export.js fetches it when
the button is first reached and puts it in place."""


class ExportMixin(ListingMixin):
    """The streaming export action, for views that page with `ListingMixin`."""

    export_formats: ClassVar[Sequence[str]] = ("csv", "xlsx")
    """Formats offered in the export dialog, among `csv` and `xlsx`."""

    export_batch_size: ClassVar[int] = 5_000
    """Rows fetched per round trip when rows are written by Python (XLSX, SQLite)."""

    @action(
        name="export",
        text=lazy_gettext("Export"),
        confirmation="",
        header=lazy_gettext("Export"),
        icon_class="list.export",
        submit_btn_text=lazy_gettext("Export"),
        form=lambda request, view: EXPORT_FORM_SLOT,
        custom_response=True,
        allow_empty_selection=True,
        dedicated_button=True,
        modal_size="lg",
    )
    async def export_action(self, request: Request, selection: ActionSelection) -> Response:
        """Stream the chosen rows and columns in the chosen format."""
        request.state.action = RequestAction.EXPORT
        try:
            if not self.can_export(request):
                raise ActionFailed(gettext("You may not export these records."))
            return await self._export(request, selection)
        except ActionFailed as failed:
            flash(request, failed.msg, "error")
            fallback = str(request.url_for(f"{self._admin_route()}:list", key=self.key))
            origin = compat.requested_origin(request) or fallback
            return RedirectResponse(safe_redirect_url(origin, request, fallback), status_code=303)

    def _admin_route(self) -> str:
        return str(compat.admin_of(self).route_name)

    async def export_form(self, request: Request) -> str:
        """The dialog's form: which rows, which columns, which format, which file name."""
        template = compat.admin_of(self).templates.env.get_template("export_form.html")
        fields = self.get_fields_list(request, action=RequestAction.EXPORT)
        return template.render(
            request=request,
            fields=fields,
            formats=self.export_formats,
            filename=self.key,
            action_url=request.url_for(f"{self._admin_route()}:action", key=self.key),
        )

    async def _export(self, request: Request, selection: ActionSelection) -> Response:
        form = await request.form()
        fmt = str(form.get("format") or "csv")
        if fmt not in self.export_formats or fmt not in FORMATS:
            raise ActionFailed(
                gettext("Choose one of these formats: %(formats)s.")
                % {"formats": ", ".join(self.export_formats)}
            )
        columns = self._chosen_columns(request, [str(f) for f in form.getlist("fields")])
        query, expected = await self._export_rows(request, selection, str(form.get("scope") or ""))
        media_type, extension = FORMATS[fmt]
        body = self.export_body(request, query, columns, fmt)
        filename = f"{_safe_filename(str(form.get('filename') or ''), str(self.key))}.{extension}"
        disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
        headers = {
            "Content-Disposition": disposition,
            "X-Export-Rows": str(expected.value),
            "X-Export-Rows-Estimated": "0" if expected.exact else "1",
            "Cache-Control": "no-store",
        }
        if fmt == "xlsx":  # already a ZIP: compressing it again costs CPU and saves nothing
            headers["Content-Encoding"] = "identity"
        return StreamingResponse(body, media_type=media_type, headers=headers)

    def export_body(
        self, request: Request, query: Select[Any], columns: list[ExportColumn], fmt: str
    ) -> AsyncIterator[bytes]:
        """The file's bytes, produced as the rows arrive: by COPY for CSV on PostgreSQL."""
        if fmt == "csv" and self._dialect(request) == "postgresql":
            return self._copy_csv(request, query, columns)
        return self._python_rows(request, query, columns, fmt)

    def _dialect(self, request: Request) -> str:
        return str(get_session(request).get_bind().dialect.name)

    def _chosen_columns(self, request: Request, names: list[str]) -> list[ExportColumn]:
        fields = self.get_fields_list(request, action=RequestAction.EXPORT)
        chosen = [f for f in fields if f.name in names] if names else list(fields)
        columns = export_columns(self.model, chosen or fields, self._dialect(request))
        if not columns:
            raise ActionFailed(gettext("Choose at least one column to export."))
        return columns

    async def _export_rows(
        self, request: Request, selection: ActionSelection, scope: str
    ) -> tuple[Select[Any], Any]:
        """The ordered query for the chosen rows, and how many there should be."""
        list_query = QueryParams((request.query_params.get("_list_query") or "").lstrip("?"))
        params = compat.parse_list_params(self, request, list_query)
        query = await self.filtered_query(request, params.q, params.filters)
        keys = self.list_sort_keys(request, params.sorts)
        if scope == "page":
            size = params.page_size
            position = Position.from_query(list_query)
            rows = await self._fetch(request, query, keys, position, size)
            query = query.where(self._pk_in([self._pk_of(obj) for obj in rows.items]))
        elif scope == "selected" and not selection.is_select_all:
            query = query.where(self._pk_in(await selection.pks()))
        elif scope not in ("all", "selected"):
            raise ActionFailed(gettext("Choose which rows to export: selected, this page, or all."))
        expected = await self.list_total(request, query)
        # The rows are read on a bare connection (`read_connection`), not by the session
        # that leaves trashed rows out by itself.
        query = without_trashed(query)
        return query.order_by(*(key.order_by() for key in keys)), expected

    def _pk_of(self, obj: Any) -> Any:
        return getattr(obj, str(self.pk_attr))

    def _pk_in(self, pks: Sequence[Any]) -> Any:
        column = compat.pk_column(self)
        if isinstance(column, tuple):
            raise ActionFailed(gettext("Exporting a selection needs a single-column primary key."))
        return column.in_([self.coerce_export_pk(pk) for pk in pks])

    def coerce_export_pk(self, pk: Any) -> Any:
        """A selected key as the column's type; a 400 for one that cannot be."""
        key = self._pk_keys()[0]
        try:
            return keyset.decode(keyset.encode([_json_scalar(pk, key)]), [key])[0]
        except (CursorError, TypeError, ValueError):
            raise ActionFailed(gettext("The selection names rows that cannot exist.")) from None

    async def _copy_csv(
        self, request: Request, query: Select[Any], columns: list[ExportColumn]
    ) -> AsyncIterator[bytes]:
        yield BOM + _csv_line([c.header for c in columns]).encode()
        stmt = query.with_only_columns(*(sql_text(c) for c in columns), maintain_column_froms=True)
        async with read_connection(request) as connection:
            async for chunk in copy_out(connection, stmt):
                yield chunk

    async def _python_rows(
        self, request: Request, query: Select[Any], columns: list[ExportColumn], fmt: str
    ) -> AsyncIterator[bytes]:
        writers = [python_text(c.kind, spreadsheet=fmt == "xlsx") for c in columns]
        stmt = query.with_only_columns(*(c.value for c in columns), maintain_column_froms=True)
        stmt = stmt.execution_options(yield_per=self.export_batch_size)
        sheet = XlsxStream([c.header for c in columns], [c.numeric for c in columns])
        headers = [c.header for c in columns]
        yield sheet.start() if fmt == "xlsx" else BOM + _csv_line(headers).encode()
        async with read_connection(request) as connection:
            result = await connection.stream(stmt)
            async for batch in result.partitions():
                texts = [[w(v) for w, v in zip(writers, row, strict=True)] for row in batch]
                yield sheet.rows(texts) if fmt == "xlsx" else _csv_rows(texts).encode()
        if fmt == "xlsx":
            yield sheet.finish()


async def copy_out(
    connection: AsyncConnection,
    stmt: Select[Any],
    queue: asyncio.Queue[bytes | None] | None = None,
) -> AsyncIterator[bytes]:
    """The rows of `stmt` as CSV, from PostgreSQL's COPY, through a bounded queue.

    The COPY waits whenever the queue is full, that is whenever the client reads
    more slowly than the database writes; memory holds at most the queue's chunks.
    """
    sql, args = _compiled(connection, stmt)
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    queue = queue if queue is not None else asyncio.Queue(maxsize=QUEUE_CHUNKS)

    async def put(data: bytes) -> None:
        await queue.put(bytes(data))  # asyncpg hands over a reused buffer

    async def copy() -> None:
        await driver.copy_from_query(sql, *args, output=put, format="csv", timeout=COPY_TIMEOUT)
        await queue.put(None)

    task = asyncio.create_task(copy())
    finished = False
    try:
        while (chunk := await _next(queue, task)) is not None:
            yield chunk
        finished = True
        await task
    finally:
        if not finished:
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task
            # A COPY cut short leaves the connection mid-protocol: never reuse it.
            await connection.invalidate()


async def _next(queue: asyncio.Queue[bytes | None], task: asyncio.Task[None]) -> bytes | None:
    """The next chunk; the COPY's own error if it failed instead of producing one."""
    getter = asyncio.ensure_future(queue.get())
    done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
    if getter in done:
        return getter.result()
    getter.cancel()
    task.result()  # raises what went wrong
    return await queue.get()


def _compiled(connection: AsyncConnection, stmt: Select[Any]) -> tuple[str, list[Any]]:
    """`stmt` as asyncpg SQL (`$1`, …) and its parameters, converted as SQLAlchemy would."""
    dialect = connection.dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = []
    for name in compiled.positiontup or ():
        # An expanded IN list names its items `<bind>_1`, `<bind>_2`, …
        bind = compiled.binds[name if name in compiled.binds else name.rsplit("_", 1)[0]]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        args.append(processor(params[name]) if processor else params[name])
    return compiled.string, args


def _json_scalar(pk: Any, key: keyset.SortKey) -> Any:
    """A key from a form (text) as the JSON value a position token would hold."""
    return int(pk) if key.python_type is int and isinstance(pk, str) else pk


def _csv_line(values: Sequence[str]) -> str:
    return _csv_rows([values])


def _csv_rows(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _safe_filename(requested: str, default: str) -> str:
    name = _UNSAFE_FILENAME.sub("", requested).strip(" .")[:100]
    name = re.sub(r"\.(csv|xlsx)$", "", name, flags=re.IGNORECASE)
    return name or default
