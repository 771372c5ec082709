"""The rows of an uploaded file, read from disk one at a time.

CSV goes through the standard library's reader over the open file; XLSX through
openpyxl's read-only mode, which parses the sheet's XML as it goes. Either way a row
is a list of texts, as a person typed them: the cell types of a spreadsheet become
the text the forms would receive (a date as `2026-03-31`, a whole number without
`.0`), so the same rules read both formats.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from starlette_admin.i18n import gettext

from admin_app.languages import format_number

FORMATS = ("csv", "xlsx")
"""File extensions an import reads."""


class FileError(Exception):
    """The file cannot be read as an import; the message says why, for a person."""


def file_format(name: str) -> str:
    """The format of a file, from its name; `FileError` for one that cannot be imported."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise FileError(
            gettext("Import a .csv or .xlsx file, not %(name)s.") % {"name": repr(name[-60:])}
        )
    return suffix


def check_size(path: Path, limit: int) -> None:
    """Refuse a file larger than `limit` bytes (`MAX_IMPORT_SIZE`)."""
    size = path.stat().st_size
    if size > limit:
        said = gettext("The file has %(size)s bytes; imports take at most %(limit)s.")
        raise FileError(said % {"size": format_number(size), "limit": format_number(limit)})


def read_rows(path: Path, name: str | None = None) -> Iterator[list[str]]:
    """The header, then every row (blank ones too, so that row numbers stay those of
    the file), as lists of text of the header's width."""
    rows = _xlsx_rows(path) if file_format(name or path.name) == "xlsx" else _csv_rows(path)
    header: list[str] | None = None
    for row in rows:
        if header is None:
            header = [cell.strip() for cell in row]
            if not any(header):
                raise FileError(gettext("The first row must name the columns; it is empty."))
            yield header
            continue
        width = len(header)
        yield row[:width] + [""] * (width - len(row))
    if header is None:
        raise FileError(gettext("The file is empty: it needs a first row naming the columns."))


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        try:
            sample = handle.read(8192)
            handle.seek(0)
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
        except csv.Error:
            dialect = csv.excel
        except UnicodeDecodeError:
            raise FileError(gettext("The file is not UTF-8 text; save it as CSV UTF-8.")) from None
        try:
            yield from csv.reader(handle, dialect)
        except UnicodeDecodeError:
            raise FileError(gettext("The file is not UTF-8 text; save it as CSV UTF-8.")) from None
        except csv.Error as error:
            raise FileError(
                gettext("The CSV cannot be read: %(error)s.") % {"error": error}
            ) from None


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # XLSX only

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise FileError(
            gettext("The file is not an Excel workbook (.xlsx) that can be read.")
        ) from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [cell_text(value) for value in row]
    finally:
        book.close()


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person would type into the form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
