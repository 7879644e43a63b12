"""The entry point: :func:`import_file` reads, plans and (unless a dry run)
applies a file; :func:`load_shipped_directory` loads the shipped one."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from outreach.batch import gc_paused
from outreach.csvcells import neutralise_formula
from outreach.directory.i18n import flatten
from outreach.directory.importing.apply import apply_plan
from outreach.directory.importing.columns import REJECTS_COLUMNS, Record, Records, header_key
from outreach.directory.importing.mapping import combine, load_map_file
from outreach.directory.importing.planner import ImportResult, Planner
from outreach.directory.importing.readers import read_records
from outreach.directory.importing.textfiles import check_encoding
from outreach.errors import ConfigurationError, ValidationError

#: ``progress(done, total)``: called now and then during a long import.
ProgressFn = Callable[[int, int], None]
ON_MATCH = ("update", "skip", "error")


# --- the entry point ------------------------------------------------------------


def import_file(
    path: str | Path,
    *,
    session: Session,
    kind: str = "contact",
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    map_file: str | Path | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    on_match: str = "update",
    dry_run: bool = False,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    keep_actions: bool | None = None,
    display: str | None = None,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Import organizations (*kind* ``"organization"``) or contacts from *path*.

    *fmt* is ``"csv"``, ``"json"``, ``"vcard"`` or ``"xlsx"`` (default: from
    the file's name). Headers are read through the aliases, the mapping file
    *map_file* (TOML or YAML, :mod:`.mapping`) and *mapping* (``{header:
    field}``, winning over the file). A text file is read in *encoding*
    (default: detected, :mod:`.textfiles`); a workbook's first sheet, or
    *sheet*. :attr:`ImportResult.notes` says how the file was read when that
    was not plain UTF-8 (the encoding used, the sheet).

    Raises :class:`ValidationError` listing every problem (``file:line: column:
    what is wrong``) and writes nothing, unless *skip_invalid*: then the good
    rows are written and the bad ones go to *rejects_path* (default:
    ``NAME.rejects.csv`` beside the file: ``contacts.xlsx`` ->
    ``contacts.rejects.csv``), see :func:`write_rejects`. *dry_run* writes nothing and reports
    what would happen. *on_match* says what a row matching a stored record
    does: ``"update"`` its fields, ``"skip"`` it, refuse it (``"error"``), or
    ``"fill"`` only what is not stored yet (fields, texts per language, the
    parent), as the shipped directory does. *keep_actions* (default: on for a dry run) records one
    line per record in :attr:`ImportResult.actions`. *progress*, if given, is
    called as ``progress(done, total)`` while the records are checked.
    """
    if kind in ("organizations", "orgs", "org"):
        kind = "organization"
    if kind in ("contacts",):
        kind = "contact"
    if kind not in ("organization", "contact"):
        raise ConfigurationError(f"cannot import {kind!r}: organizations or contacts")
    if on_match not in (*ON_MATCH, "fill"):
        raise ConfigurationError(f"{on_match!r}: use update, skip or error", field="on_match")
    path = Path(path)
    display = display or str(path)
    if map_file is not None:
        mapping = combine(load_map_file(map_file, kind), mapping or {})
    if encoding is not None:
        encoding = check_encoding(encoding)
    with gc_paused():
        records = read_records(
            path,
            kind=kind,
            fmt=fmt,
            mapping=mapping,
            display=display,
            encoding=encoding,
            sheet=sheet,
        )
        return _import(
            path,
            records,
            session,
            on_match,
            dry_run,
            skip_invalid,
            rejects_path,
            keep_actions,
            display,
            progress,
        )


def _import(
    path: Path,
    records: Records,
    session: Session,
    on_match: str,
    dry_run: bool,
    skip_invalid: bool,
    rejects_path: str | Path | None,
    keep_actions: bool | None,
    display: str,
    progress: ProgressFn | None,
) -> ImportResult:
    result = ImportResult(
        path=display, dry_run=dry_run, notes=records.notes, encoding=records.encoding
    )
    planner = Planner(
        session, display, on_match, result, dry_run if keep_actions is None else keep_actions
    )
    total = len(records)
    for n, record in enumerate(records, 1):
        if record.kind == "organization":
            planner.org(record)
        else:
            planner.contact(record)
        if progress is not None and (n % 2000 == 0 or n == total):
            progress(n, total)
    planner.finish()
    if planner.problems and not skip_invalid:
        n = len(planner.rejects)
        raise ValidationError(
            f"{display}: {n} row(s) with problems, nothing imported: fix them, or "
            "import only the good rows",
            planner.problems,
            option="skip_invalid",
        )
    if planner.problems:
        result.problems = planner.problems
        if not dry_run:
            target = Path(rejects_path) if rejects_path else default_rejects_path(path)
            if _same_file(target, path):
                raise ValidationError(
                    f"{target}: is the file being imported; the rejected rows go to another file",
                    planner.problems,
                    field="rejects",
                )
            try:
                write_rejects(target, planner.rejects)
            except OSError as exc:
                raise ValidationError(
                    f"{target}: cannot write the rejected rows there "
                    f"({exc.strerror or exc}); nothing imported: give another file",
                    planner.problems,
                    field="rejects",
                ) from None
            result.rejects_path = str(target)
    if not dry_run and (
        planner.new_orgs or planner.org_updates or planner.new_contacts or planner.contact_updates
    ):
        apply_plan(planner, path.name)
        session.expire_all()
    return result


def default_rejects_path(path: Path) -> Path:
    """Where the rejected rows of *path* go: beside it, ``NAME.rejects.csv``
    (CSV whatever the file's format: ``contacts.xlsx`` -> ``contacts.rejects.csv``)."""
    return path.with_name(path.stem + ".rejects.csv")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and a.samefile(b))
    except OSError:
        return False


def write_rejects(target: Path, rejects: Sequence[tuple[Record, list[str]]]) -> None:
    """Save rejected records as CSV that opens in a spreadsheet and imports
    again as it is once corrected: the columns of the file (a CSV's or a
    sheet's headers, a JSON record's keys), then a last column
    ``problems`` with the row's line (or sheet row) and what is wrong. The
    importer ignores that last column (:data:`~.columns.REJECTS_COLUMNS`), and
    a rejects file that is imported and rejected again gets the new reasons
    in place of the old.

    A JSON record's lists are written comma-separated and its texts per
    language as ``name_fr``-style columns; a vCard's card is written whole in a
    ``vcard`` column (fix those in the original file)."""
    columns: list[str] = []
    rows: list[tuple[Record, dict[str, Any], list[str]]] = []
    for record, _lines in rejects:
        cells, extra = _reject_cells(record)
        for key in cells:
            if key not in columns:
                columns.append(key)
        rows.append((record, cells, extra))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([*columns, REJECTS_COLUMNS[0]])
    for (record, cells, extra), (_record, lines) in zip(rows, rejects, strict=True):
        reasons = " | ".join(ln.split(": ", 1)[1] if ": " in ln else ln for ln in lines)
        where = f"line {record.line}: " if record.line else ""
        writer.writerow(
            [
                *(neutralise_formula(cells.get(col, "")) for col in columns),
                neutralise_formula(where + reasons),
                *(neutralise_formula(cell) for cell in extra),
            ]
        )
    from outreach.files import write_file

    write_file(target, buf.getvalue(), encoding="utf-8-sig")


def _reject_cells(record: Record) -> tuple[dict[str, str], list[str]]:
    """A rejected record's cells by column, and the cells right of the last
    column (a row longer than its header)."""
    source = record.source
    if isinstance(source, tuple):  # a table's row: (headers, cells)
        headers, cells = source
        if headers and header_key(headers[-1]) in {header_key(c) for c in REJECTS_COLUMNS}:
            headers = headers[:-1]  # the reasons of an earlier rejects file
            cells = cells[: len(headers)] + cells[len(headers) + 1 :]
        # every column, also those right of the row's last value (a sheet's rows end there)
        out = {h: (cells[n] if n < len(cells) else "") for n, h in enumerate(headers) if h}
        return out, list(cells[len(headers) :])
    if not isinstance(source, dict):
        return {}, []
    flat: dict[str, Any] = {}
    for key, value in source.items():
        if key == "i18n" and isinstance(value, dict):
            try:
                flat.update(flatten(value))
                continue
            except (TypeError, ValueError, AttributeError):
                pass
        flat[str(key)] = value
    out = {}
    for key, value in flat.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ", ".join(value)
        elif isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        out[key] = "" if value is None else str(value)
    return out, []


#: The shipped directory file inside ``contacts/``.
SHIPPED_DIRECTORY = "directory.json"


def load_shipped_directory(*, session: Session) -> ImportResult:
    """Load the regional organizations shipped in ``contacts/directory.json``
    (and their office contacts and organs).

    Over a directory that has them already, it completes what is missing
    (names per language, positions and salutations per language, honorifics,
    parents, new organs) and never overrides what a user changed; nothing is
    duplicated, and loading it again changes nothing."""
    from outreach.resources import contacts_path

    path = contacts_path() / SHIPPED_DIRECTORY
    return import_file(
        path, session=session, kind="organization", on_match="fill", display=path.name
    )
