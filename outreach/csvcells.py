"""CSV cells that spreadsheets will not run as formulas ("CSV injection").

Every CSV outreach writes (exports, reports, list output, rejects and failure
files) passes its cells through :func:`neutralise_formula`; the importer
undoes it with :func:`restore_formula`, so export then import changes nothing.
Standard library only: the command line's output module imports it.
"""

from __future__ import annotations

#: Leading characters a spreadsheet would treat as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with ``'``."""
    if text and text.startswith(FORMULA_START):
        return "'" + text
    return text


def restore_formula(text: str) -> str:
    """Undo :func:`neutralise_formula`."""
    if len(text) > 1 and text[0] == "'" and text[1:2] in FORMULA_START:
        return text[1:]
    return text
