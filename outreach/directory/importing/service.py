"""The entry point: :func:`import_file` reads, plans and (unless a dry run)
applies a file; :func:`load_shipped_directory` loads the shipped one."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from outreach.batch import gc_paused
from outreach.csvcells import neutralise_formula
from outreach.directory.importing.apply import apply_plan
from outreach.directory.importing.columns import Record
from outreach.directory.importing.planner import ImportResult, Planner
from outreach.directory.importing.readers import read_records
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
    on_match: str = "update",
    dry_run: bool = False,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    keep_actions: bool | None = None,
    display: str | None = None,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Import organizations (*kind* ``"organization"``) or contacts from *path*.

    Raises :class:`ValidationError` listing every problem (``file:line: column:
    what is wrong``) and writes nothing, unless *skip_invalid*: then the good
    rows are written and the bad ones go to *rejects_path* (default:
    ``<file>.rejects.csv`` beside it). *dry_run* writes nothing and reports
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
    with gc_paused():
        return _import(
            path,
            session,
            kind,
            fmt,
            mapping,
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
    session: Session,
    kind: str,
    fmt: str | None,
    mapping: Mapping[str, str] | None,
    on_match: str,
    dry_run: bool,
    skip_invalid: bool,
    rejects_path: str | Path | None,
    keep_actions: bool | None,
    display: str,
    progress: ProgressFn | None,
) -> ImportResult:
    records = read_records(path, kind=kind, fmt=fmt, mapping=mapping, display=display)
    result = ImportResult(path=display, dry_run=dry_run)
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
            target = Path(rejects_path) if rejects_path else _default_rejects(path)
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


def _default_rejects(path: Path) -> Path:
    return path.with_name(path.stem + ".rejects.csv")


def write_rejects(target: Path, rejects: Sequence[tuple[Record, list[str]]]) -> None:
    """Save rejected records, with the reasons, as CSV that opens in a spreadsheet."""
    columns: list[str] = []
    for record, _lines in rejects:
        if isinstance(record.source, tuple):  # a CSV row: (headers, cells)
            headers, cells = record.source
            record.source = dict(zip(headers, cells, strict=False))
            if len(cells) > len(headers):
                record.source["(extra cells)"] = cells[len(headers) :]
        for key in record.source:
            if key not in columns:
                columns.append(key)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["line", "problems", *columns])

    for record, lines in rejects:
        reasons = " | ".join(ln.split(": ", 1)[1] if ": " in ln else ln for ln in lines)
        cells = []
        for col in columns:
            value = record.source.get(col, "")
            if isinstance(value, list | dict):
                value = json.dumps(value, ensure_ascii=False)
            cells.append(neutralise_formula("" if value is None else str(value)))
        writer.writerow([record.line, neutralise_formula(reasons), *cells])
    from outreach.files import write_file

    write_file(target, buf.getvalue(), encoding="utf-8-sig")


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
