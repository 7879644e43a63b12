"""Workbooks built in the tests with openpyxl, as a spreadsheet program saves them."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

Rows = Sequence[Sequence[Any]]


def workbook(
    sheets: Rows | Mapping[str, Rows],
    *,
    cached: Mapping[str, Any] | None = None,
    merged: Sequence[str] = (),
    formats: Mapping[str, str] | None = None,
) -> bytes:
    """An .xlsx file of *sheets* (``{title: rows}``, or the rows of one sheet
    called "Sheet1"); ``rows[0]`` is row 1 and ``None`` a blank cell. A text
    starting with "=" is a formula; *cached* gives formulas of the first sheet
    the value a spreadsheet program would have saved with them (a number,
    text, ``True``/``False`` or an error such as ``"#REF!"``), by coordinate.
    *merged* ranges are merged on the first sheet; *formats* give cells of the
    first sheet a number format (``{"C4": "yyyy-mm-dd"}``)."""
    import openpyxl

    if not isinstance(sheets, Mapping):
        sheets = {"Sheet1": sheets}
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row, 1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
    first = wb.worksheets[0]
    for cells in merged:
        first.merge_cells(cells)
    for coordinate, fmt in (formats or {}).items():
        first[coordinate].number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    return with_cached_values(data, cached) if cached else data


def with_cached_values(data: bytes, cached: Mapping[str, Any]) -> bytes:
    """*data* with each formula cell of the first sheet holding a saved value."""

    def value(coordinate: str, match: re.Match[str]) -> str:
        result = cached[coordinate]
        if isinstance(result, bool):
            kind, text = "b", str(int(result))
        elif isinstance(result, int | float):
            kind, text = "n", repr(result)
        elif isinstance(result, str) and result.startswith("#"):
            kind, text = "e", result
        else:
            kind, text = "str", str(result)
        attributes, formula = match.group(1), match.group(2)
        return f'<c r="{coordinate}"{attributes} t="{kind}"><f>{formula}</f><v>{text}</v></c>'

    def patch(xml: str) -> str:
        for coordinate in cached:
            pattern = re.compile(rf'<c r="{coordinate}"([^>]*?)><f>(.*?)</f><v\s*>\s*</v></c>')
            xml, n = pattern.subn(lambda m, c=coordinate: value(c, m), xml)
            assert n == 1, f"no formula at {coordinate}"
        return xml

    return rewrite(data, {"xl/worksheets/sheet1.xml": patch})


def rewrite(data: bytes, changes: Mapping[str, Any]) -> bytes:
    """*data* (a ZIP archive) with members changed: ``{name: fn(text) -> text}``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename in changes:
                body = changes[item.filename](body.decode("utf-8")).encode("utf-8")
            target.writestr(item, body)
    return out.getvalue()


def read_sheet(data: bytes) -> list[list[Any]]:
    """The values of the first sheet of *data*, as openpyxl reads them."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
