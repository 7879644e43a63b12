"""The XLSX reader: one sheet of a workbook into :class:`Record` objects.

The first sheet is read, or the one named. Its first row with a value names
the columns (title rows above it must be empty), rows with no value are
skipped, and every problem names the sheet's own row number. Cells are read
as the spreadsheet shows their value: a formula's last calculated value (a
formula never calculated, as in a file no spreadsheet program saved, reads
as empty), dates as ``YYYY-MM-DD``, whole numbers without ``.0`` (a phone
number typed as a number stays all digits), TRUE/FALSE as ``true``/``false``.
A cell holding an error (``#REF!``) is a problem of its row.

Before openpyxl opens it, the file is checked to be a workbook at all: text
(a CSV file named .xlsx), an Excel 97-2003 ``.xls``, a password-protected
(encrypted) workbook, another kind of ZIP archive or one that unpacks to more
than :data:`MAX_UNPACKED_BYTES` (a "ZIP bomb") are each refused in one line
that says what to do. A sheet of more than :data:`MAX_ROWS` rows, or a cell
longer than Excel's own limit of :data:`MAX_CELL_CHARS` characters, is
refused as well.
"""

from __future__ import annotations

import datetime as dt
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from outreach.directory.importing.columns import (
    Problems,
    Records,
    fatal,
    quoted,
    shown_text,
    table_records,
)
from outreach.directory.importing.textfiles import OLE_MAGIC, ZIP_MAGIC
from outreach.errors import ConfigurationError, OutreachError, ValidationError

#: Data rows one import reads from a sheet.
MAX_ROWS = 100_000
#: The most characters an Excel cell holds.
MAX_CELL_CHARS = 32_767
#: What a workbook may unpack to; a sheet of :data:`MAX_ROWS` rows of
#: directory data is far less.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
#: Members a workbook's ZIP archive may hold.
MAX_MEMBERS = 10_000
#: The last row number of an Excel sheet.
EXCEL_MAX_ROW = 1_048_576

_ENCRYPTED_MARKS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))


def _refuse(message: str, **kw: Any) -> ConfigurationError:
    return ConfigurationError(message, **kw)


def check_workbook_file(path: Path, name: str) -> None:
    """Refuse, in one line, a file that is no XLSX workbook openpyxl could read."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(OLE_MAGIC):
        with path.open("rb") as fh:
            data = fh.read(64 * 1024 * 1024)
        if any(mark in data for mark in _ENCRYPTED_MARKS):
            raise _refuse(
                f"{name}: the workbook is password-protected (encrypted); open it in the "
                "spreadsheet program, remove the password (File > Info > Protect Workbook) "
                "or save an unprotected copy, and import that"
            )
        raise _refuse(
            f"{name}: is an Excel 97-2003 workbook (.xls), which cannot be read: save it "
            'from the spreadsheet program as .xlsx (Excel Workbook) or as "CSV UTF-8" and '
            "import that"
        )
    if not head.startswith(ZIP_MAGIC):
        if not head.strip():
            raise _refuse(f"{name}: the file is empty; nothing to import")
        if b"\x00" not in head:
            raise _refuse(
                f"{name}: is not an .xlsx workbook but text (a CSV file named .xlsx?); "
                "rename it .csv, or name its format csv",
                option="from",
            )
        raise _refuse(
            f"{name}: is not an .xlsx workbook (no ZIP archive); save it from the "
            "spreadsheet program as .xlsx (Excel Workbook) and import that"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse(
            f"{name}: the workbook is damaged or cut short (not a complete ZIP archive); "
            "save it again from the spreadsheet program"
        ) from None
    names = {info.filename for info in infos}
    if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        unpacked = sum(i.file_size for i in infos) // (1024 * 1024)
        raise _refuse(
            f"{name}: unpacks to {unpacked:,} MiB in {len(infos):,} parts, far more than a "
            f"directory of {MAX_ROWS:,} rows needs (a ZIP bomb?); nothing imported"
        )
    if any(info.flag_bits & 0x1 for info in infos):
        raise _refuse(f"{name}: a password-protected ZIP archive, not a workbook; unpack it first")
    if "xl/workbook.bin" in names:
        raise _refuse(
            f"{name}: is an Excel binary workbook (.xlsb), which cannot be read: save it as "
            ".xlsx (Excel Workbook) and import that"
        )
    if not any(n.startswith("xl/") for n in names) or "[Content_Types].xml" not in names:
        what = (
            "an OpenDocument file (.ods?)" if "mimetype" in names
            else "a Word document" if any(n.startswith("word/") for n in names)
            else "a ZIP archive without a workbook"
        )  # fmt: skip
        raise _refuse(
            f"{name}: is {what}, not an .xlsx workbook; save the sheet as .xlsx (Excel "
            'Workbook) or as "CSV UTF-8" and import that'
        )


def cell_text(value: Any) -> str:
    """A cell's value as the text an import reads (see the module)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    return str(value)


class _Sheet:
    """The rows of one sheet as ``(row number, cells as text)``, trailing empty
    cells left off; a cell holding an error, or too long, is noted."""

    def __init__(self, ws: Any, problems: Problems) -> None:
        self.ws = ws
        self.problems = problems
        #: row number -> the row's error (a spreadsheet error in a cell)
        self.errors: dict[int, str] = {}
        self.headers: list[str] = []

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        data_rows = 0
        for number, row in enumerate(self.ws.iter_rows(), 1):
            if number > EXCEL_MAX_ROW:
                raise ValidationError(
                    f"{self.problems.path}: rows numbered past {EXCEL_MAX_ROW:,}, the last "
                    "row of a sheet: the file is damaged; save it again"
                )
            if not row:
                continue
            cells = self._cells(number, row)
            if not any(c.strip() for c in cells):
                continue
            if not self.headers:
                self.headers = cells
            else:
                data_rows += 1
                if data_rows > MAX_ROWS:
                    raise ValidationError(
                        f"{self.problems.path}: more than {MAX_ROWS:,} rows; split the sheet "
                        f"and import at most {MAX_ROWS:,} rows at a time"
                    )
            yield number, cells

    def _cells(self, number: int, row: tuple[Any, ...]) -> list[str]:
        cells: list[str] = []
        for n, cell in enumerate(row):
            value = cell.value
            if value is None:
                cells.append("")
                continue
            if cell.data_type == "e":
                header = self.headers[n] if n < len(self.headers) else f"column {n + 1}"
                self.errors.setdefault(
                    number,
                    f"{shown_text(header)}: the cell holds the spreadsheet error "
                    f"{shown_text(str(value), 20)}; correct its formula or type the value",
                )
                cells.append(str(value))
                continue
            text = cell_text(value)
            if len(text) > MAX_CELL_CHARS:
                raise ValidationError(
                    f"{self.problems.path}:{number}: a cell of {len(text):,} characters, "
                    f"more than a spreadsheet cell holds ({MAX_CELL_CHARS:,}): this is not "
                    "directory data; nothing imported"
                )
            cells.append(text)
        while cells and not cells[-1]:
            cells.pop()
        return cells


def _pick_sheet(wb: Any, sheet: str | None, name: str) -> tuple[Any, str | None]:
    sheets = wb.worksheets
    if not sheets:
        raise ConfigurationError(f"{name}: the workbook has no sheet of cells; nothing to import")
    titles = [ws.title for ws in sheets]
    if sheet is None:
        note = None
        if len(sheets) > 1:
            note = f"read sheet {titles[0]!r}, the first of {len(sheets)}"
        return sheets[0], note
    for ws in sheets:
        if ws.title == sheet:
            return ws, f"read sheet {ws.title!r}"
    for ws in sheets:
        if ws.title.casefold() == sheet.strip().casefold():
            return ws, f"read sheet {ws.title!r}"
    raise ConfigurationError(
        f"{name}: no sheet {quoted(sheet)}; its sheets: "
        + ", ".join(quoted(t) for t in titles[:20]),
        field="sheet",
    )


def read_xlsx(
    path: Path,
    kind: str,
    mapping: Mapping[str, str],
    display: str | None = None,
    sheet: str | None = None,
) -> Records:
    """Read one sheet of the workbook at *path* (the first, or *sheet*) as
    *kind* records."""
    problems = Problems(display or str(path))
    check_workbook_file(path, problems.path)
    import openpyxl

    try:
        with warnings.catch_warnings():
            # openpyxl warns of every extension it skips (data validation,
            # conditional formats); none of them holds a value.
            warnings.simplefilter("ignore")
            # An open file, not the path: openpyxl refuses a name not ending in .xlsx.
            with path.open("rb") as fh:
                wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
                try:
                    ws, note = _pick_sheet(wb, sheet, problems.path)
                    ws.reset_dimensions()  # never trust the size a file claims
                    reader = _Sheet(ws, problems)
                    records = table_records(reader.rows(), kind, mapping, problems, ragged=True)
                finally:
                    wb.close()
    except OutreachError:
        raise
    except Exception as exc:  # openpyxl raises KeyError, ValueError, XML parse errors...
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ConfigurationError(
            f"{problems.path}: the workbook cannot be read ({shown_text(why, 200)}); open it "
            'in the spreadsheet program and save it again as .xlsx, or as "CSV UTF-8"'
        ) from None
    if records is None:
        problems.add(None, None, "the sheet is empty; its first row must name the columns")
        raise fatal(f"{problems.path}: nothing to import", problems.lines)
    for record in records:
        error = reader.errors.get(record.line)
        if error is not None and record.error is None:
            record.error = error
            record.values = {}
    return Records(records, notes=[note] if note else [], encoding=None)
