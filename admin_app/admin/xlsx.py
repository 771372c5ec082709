"""A streaming XLSX writer: a workbook of one sheet, produced row by row in constant memory.

Spreadsheet libraries build the whole workbook in memory (openpyxl's write-only
mode still spools the sheet to a temporary file before zipping). An XLSX file is a
ZIP of a few XML parts, and Python's `zipfile` can write a ZIP to a stream that
cannot seek, using data descriptors, so the sheet is compressed and sent as it is
written. Cells are inline strings or numbers: no shared-string table to keep, and
an inline string is never evaluated as a formula.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import IO, Any

from markupsafe import escape

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters XML 1.0 cannot carry at all; they are dropped from cell text."""

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_CONTENT_TYPES = (
    f"{_XML}"
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_OOXML}.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    f'ContentType="{_OOXML}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_OOXML}.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC_RELS}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_FONT = '<sz val="11"/><name val="Calibri"/>'
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN}">'
    f'<fonts count="2"><font>{_FONT}</font><font><b/>{_FONT}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

_SHEET_START = (
    f'{_XML}<worksheet xmlns="{_MAIN}">'
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
    'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"


class _Sink:
    """A write-only, unseekable file that hands back what was written since last asked."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


class XlsxStream:
    """Build an .xlsx file piece by piece: `start()`, `rows()` any number of times, `finish()`.

    Each call returns the bytes of the file produced so far; concatenated, they are
    the workbook. `numeric` marks the columns whose non-empty values are numbers.
    """

    def __init__(self, headers: Sequence[str], numeric: Sequence[bool], sheet: str = "Export"):
        self.numeric = list(numeric)
        self.headers = list(headers)
        self.sheet = _ILLEGAL_XML.sub("", sheet)[:31] or "Export"
        self.sink = _Sink()
        self.zip = zipfile.ZipFile(
            self.sink,  # type: ignore[call-overload]  # write-only is enough for mode "w"
            "w",
            compression=zipfile.ZIP_DEFLATED,
        )
        self.stream: IO[bytes] | None = None
        self.row_number = 0

    def start(self) -> bytes:
        """The fixed parts and the header row."""
        self.zip.writestr("[Content_Types].xml", _CONTENT_TYPES)
        self.zip.writestr("_rels/.rels", _ROOT_RELS)
        self.zip.writestr("xl/workbook.xml", _WORKBOOK.format(name=escape(self.sheet)))
        self.zip.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        self.zip.writestr("xl/styles.xml", _STYLES)
        self.stream = self.zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self.stream.write(_SHEET_START.encode())
        self._write([self._row(self.headers, header=True)])
        return self.sink.take()

    def rows(self, rows: Iterable[Sequence[Any]]) -> bytes:
        """More rows of cell texts ("" for an empty cell)."""
        self._write([self._row(row) for row in rows])
        return self.sink.take()

    def finish(self) -> bytes:
        """The end of the sheet and the ZIP directory."""
        assert self.stream is not None
        self.stream.write(_SHEET_END.encode())
        self.stream.close()
        self.zip.close()
        return self.sink.take()

    def _write(self, rows: list[str]) -> None:
        assert self.stream is not None, "call start() first"
        self.stream.write("".join(rows).encode())

    def _row(self, values: Sequence[Any], *, header: bool = False) -> str:
        self.row_number += 1
        cells = []
        for value, numeric in zip(values, self.numeric, strict=True):
            text = "" if value is None else str(value)
            if not text:
                cells.append("<c/>")
            elif numeric and not header:
                cells.append(f"<c><v>{escape(text)}</v></c>")
            else:
                style = ' s="1"' if header else ""
                clean = escape(_ILLEGAL_XML.sub("", text))
                cells.append(
                    f'<c t="inlineStr"{style}><is><t xml:space="preserve">{clean}</t></is></c>'
                )
        return f'<row r="{self.row_number}">{"".join(cells)}</row>'
