"""Cells that spreadsheets will not run as formulas ("CSV injection").

One rule, :func:`starts_formula`, says which text a spreadsheet would take
for a formula; each format defuses such a cell its own way. Every CSV
outreach writes (exports, reports, list output, rejects and failure files)
passes its cells through :func:`neutralise_formula`, which prefixes them with
``'``; the importer undoes it with :func:`restore_formula`, so export then
import changes nothing. The XLSX export writes every cell as a string
(``data_type "s"``, never ``"f"``) and marks such cells "quote prefix", so the
spreadsheet neither runs them nor turns them into formulas when edited.
:func:`csv_text` writes the CSV that reports and list output print.
Standard library only: the command line's output module imports it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

#: Leading characters a spreadsheet would treat as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet would take *text* for a formula (the one rule)."""
    return bool(text) and text.startswith(FORMULA_START)


def neutralise_formula(text: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with ``'``."""
    if starts_formula(text):
        return "'" + text
    return text


def restore_formula(text: str) -> str:
    """Undo :func:`neutralise_formula`."""
    if len(text) > 1 and text[0] == "'" and text[1:2] in FORMULA_START:
        return text[1:]
    return text


def csv_text(rows: Iterable[Iterable[str]]) -> str:
    """*rows* of text cells as CSV, each line ending in ``"\\n"``, every cell
    through :func:`neutralise_formula`.

    Written with a CR LF terminator, then each row's terminator made ``"\\n"``:
    Python 3.11's csv module quotes only a cell holding the terminator's
    characters, so with ``"\\n"`` alone a cell holding a lone CR would be
    left bare and split its row for every reader.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    lines = []
    for cells in rows:
        writer.writerow([neutralise_formula(cell) for cell in cells])
        lines.append(buf.getvalue()[:-2] + "\n")
        buf.seek(0)
        buf.truncate()
    return "".join(lines)
