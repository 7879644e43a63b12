"""The readers: CSV, JSON, vCard and XLSX files into :class:`Record` objects.

Each reader raises :class:`ValidationError` for problems with the file as a
whole (not text, not valid CSV or JSON, unknown columns); problems with one
record's values are the planner's to find. Text files are decoded by
:mod:`.textfiles`; workbooks are read by :mod:`.xlsx`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from outreach.directory.importing.columns import (
    Problems,
    Record,
    Records,
    check_mapped_columns,
    fatal,
    resolve_headers,
    surrogate_problem,
    table_records,
)
from outreach.directory.importing.mapping import parse_mapping
from outreach.directory.importing.textfiles import Decoded, decode_text
from outreach.errors import ConfigurationError

FORMATS = ("csv", "json", "vcard", "xlsx")
#: Formats read as text, in an encoding (detected, or given).
TEXT_FORMATS = ("csv", "json", "vcard")
__all__ = ["FORMATS", "TEXT_FORMATS", "detect_format", "parse_mapping", "read_records"]


def _detect_delimiter(header_line: str) -> str:
    counts = {d: 0 for d in (",", ";", "\t")}
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(
    path: Path,
    kind: str,
    mapping: Mapping[str, str],
    display: str | None = None,
    encoding: str | None = None,
) -> Records:
    """Read a CSV file of *kind* ("organization" or "contact") records, in
    *encoding* (detected when ``None``: :mod:`.textfiles`)."""
    problems = Problems(display or str(path))
    decoded = decode_text(path.read_bytes(), problems, encoding)
    text = decoded.text
    first = next((ln for ln in io.StringIO(text) if ln.strip()), "")
    if not first:
        problems.add(None, None, "the file is empty; the first line must name the columns")
        raise fatal(f"{problems.path}: nothing to import", problems.lines)
    delimiter = _detect_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    last_line = 0

    def rows() -> Iterable[tuple[int, list[str]]]:
        nonlocal last_line
        for row in reader:
            line = last_line + 1
            last_line = reader.line_num
            yield line, row

    try:
        records = table_records(rows(), kind, mapping, problems)
    except csv.Error as exc:
        if "field limit" in str(exc):
            why = (
                f"a cell is longer than {csv.field_size_limit()} characters: a quoted cell "
                "is probably not closed (truncated file?), or the cell is not directory data"
            )
        else:
            why = f"{exc}; a quoted cell is probably not closed (truncated file?)"
        problems.add(reader.line_num or last_line + 1, None, f"cannot read CSV ({why})")
        raise fatal(f"{problems.path}: not valid CSV, nothing imported", problems.lines) from None
    if records is None:
        problems.add(None, None, "the file is empty; the first line must name the columns")
        raise fatal(f"{problems.path}: nothing to import", problems.lines)
    return _records(records, decoded)


def _records(records: list[Record], decoded: Decoded) -> Records:
    notes = [decoded.note] if decoded.note else []
    return Records(records, notes=notes, encoding=decoded.encoding)


def _json_positions(text: str) -> dict[int, int]:
    """Line number of each top-level element of each list in the document,
    keyed by the element's character offset."""
    decoder = json.JSONDecoder(
        parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
    )
    lines: dict[int, int] = {}

    def scan_array(pos: int) -> None:
        # pos is just after '['
        while True:
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(text) or text[pos] == "]":
                return
            lines[pos] = text.count("\n", 0, pos) + 1
            _value, pos = decoder.raw_decode(text, pos)

    for match in re.finditer(r"(?:^\s*|\"(?:organizations|contacts)\"\s*:\s*)\[", text):
        try:
            scan_array(match.end())
        except (ValueError, RecursionError):
            continue
    return lines


#: Deeper JSON is refused before it is parsed (a directory record is a few
#: levels deep; the parser recurses and fails some hundreds of levels down).
MAX_JSON_DEPTH = 32
#: Integers with more digits are refused (Python will not even print one of
#: over 4,300 digits).
MAX_JSON_DIGITS = 50
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class _BadNumber(str):
    """A JSON number (or NaN/Infinity) no field can hold; the text says why."""

    __slots__ = ()


def _json_int(text: str) -> int | _BadNumber:
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_DIGITS:
        return _BadNumber(f"a number of {digits} digits; write it as text in quotes")
    return int(text)


def _json_float(text: str) -> float | _BadNumber:
    value = float(text)
    if math.isfinite(value):
        return value
    return _BadNumber(f"{text[:20]} is out of range for a number; write it as text in quotes")


def _json_constant(text: str) -> _BadNumber:
    return _BadNumber(f"{text} is not valid JSON (not a number); write it as text in quotes")


def _json_too_deep(text: str) -> int | None:
    """Offset of the first bracket nested deeper than :data:`MAX_JSON_DEPTH`."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return token.start()
        elif char in "]}":
            depth -= 1
    return None


def _json_value_problem(value: Any) -> str | None:
    """What makes *value* (a record's value, nested at most :data:`MAX_JSON_DEPTH`
    deep) unfit for any field: a bad number or a lone surrogate, in it or in its keys."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _BadNumber):
            return str(item)
        if isinstance(item, str):
            problem = surrogate_problem(item)
            if problem is not None:
                return problem
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def read_json(
    path: Path,
    kind: str,
    mapping: Mapping[str, str],
    display: str | None = None,
    encoding: str | None = None,
) -> Records:
    """Read a JSON list of *kind* records, or ``{"organizations": [...], "contacts": [...]}``."""
    problems = Problems(display or str(path))
    decoded = decode_text(path.read_bytes(), problems, encoding)
    text = decoded.text
    deep = _json_too_deep(text)
    if deep is not None:
        problems.add(
            text.count("\n", 0, deep) + 1,
            None,
            f"nested more than {MAX_JSON_DEPTH} levels deep; records are objects of "
            "fields, lists of them in at most an object",
        )
        raise fatal(f"{problems.path}: not a directory file, nothing imported", problems.lines)
    try:
        doc = json.loads(
            text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
        )
    except json.JSONDecodeError as exc:
        problems.add(exc.lineno, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
        raise fatal(f"{problems.path}: not valid JSON, nothing imported", problems.lines) from None
    except RecursionError:  # not expected after the depth check; never a traceback
        problems.add(None, None, f"nested more than {MAX_JSON_DEPTH} levels deep")
        raise fatal(
            f"{problems.path}: not a directory file, nothing imported", problems.lines
        ) from None
    offsets = sorted(_json_positions(text).items())
    if isinstance(doc, list):
        groups = [(kind, doc)]
    elif isinstance(doc, dict) and ("organizations" in doc or "contacts" in doc):
        groups = [(k[:-1], doc[k] or []) for k in doc if k in ("organizations", "contacts")]
    else:
        problems.add(
            1, None, 'expected a list of records or {"organizations": [...], "contacts": [...]}'
        )
        raise fatal(f"{problems.path}: nothing imported", problems.lines)
    # Element line numbers, in document order (an organization, then its contacts).
    line_iter = iter(line for _pos, line in offsets)
    records: list[Record] = []
    for group_kind, items in groups:
        if not isinstance(items, list):
            problems.add(1, None, f"{group_kind}s must be a list")
            continue
        for item in items:
            line = next(line_iter, 0) or None
            nested = []
            if isinstance(item, dict) and group_kind == "organization":
                nested = item.get("contacts") or []
            records.append(_json_record(item, group_kind, line, mapping, problems))
            if isinstance(nested, list) and nested:
                for sub in nested:
                    sub_line = next(line_iter, 0) or line
                    child = _json_record(sub, "contact", sub_line, mapping, problems)
                    records[-1].contacts.append(child)
            elif nested:
                problems.add(line, "contacts", "must be a list")
    if mapping:
        keys = [k for r in records for c in (r, *r.contacts) for k in _source_keys(c)]
        check_mapped_columns(mapping, keys, problems.path)
    if problems.lines:
        raise fatal(
            f"{problems.path}: {len(problems.lines)} problem(s) with keys or values, "
            "nothing imported",
            problems.lines,
        )
    return _records(records, decoded)


def _source_keys(record: Record) -> list[str]:
    source = record.source
    return [k for k in source if isinstance(k, str)] if isinstance(source, dict) else []


def _json_record(
    item: Any, kind: str, line: int | None, mapping: Mapping[str, str], problems: Problems
) -> Record:
    if not isinstance(item, dict):
        found = "a number" if isinstance(item, _BadNumber) else type(item).__name__
        problems.add(line, None, f"each {kind} must be an object, found {found}")
        return Record(kind, line or 0, {}, {}, {"value": item})
    keys = [k for k in item if not (kind == "organization" and k == "contacts")]
    fields = resolve_headers(keys, kind, mapping, problems, line=line)
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for key, target in zip(keys, fields, strict=True):
        value = item[key]
        problem = surrogate_problem(key) or (
            _json_value_problem(value) if target is not None else None
        )
        if problem is not None:
            problems.add(line, key, problem)
            continue
        if target is None:
            continue
        if value is None or (isinstance(value, str | list) and not value):
            continue
        if isinstance(value, str) and not value.strip():
            continue
        values[target] = value
        labels[target] = key
    source = {k: v for k, v in item.items() if k != "contacts"}
    return Record(kind, line or 0, values, labels, source)


def read_vcard(path: Path, display: str | None = None, encoding: str | None = None) -> Records:
    """Read contacts from a vCard 3.0 or 4.0 file (one or many cards)."""
    import vobject

    problems = Problems(display or str(path))
    decoded = decode_text(path.read_bytes(), problems, encoding)
    text = decoded.text
    lines = text.splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.strip().upper() == "BEGIN:VCARD"]
    if not starts:
        problems.add(1, None, "no BEGIN:VCARD found: this is not a vCard file")
        raise fatal(f"{problems.path}: nothing imported", problems.lines)
    records = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        block = "\r\n".join(lines[start:end]) + "\r\n"
        line = start + 1
        if not any(ln.strip().upper() == "END:VCARD" for ln in lines[start:end]):
            problems.add(line, None, "card has no END:VCARD (truncated file?)")
            continue
        try:
            card = vobject.readOne(block, ignoreUnreadable=False)
        except Exception as exc:  # vobject raises its own ParseError and others
            problems.add(line, None, f"not a valid vCard: {str(exc).splitlines()[0]}")
            continue
        records.append(_vcard_record(card, line, block, problems))
    if problems.lines:
        raise fatal(
            f"{problems.path}: {len(problems.lines)} problem(s) reading the cards, "
            "nothing imported",
            problems.lines,
        )
    return _records(records, decoded)


def _first(card: Any, name: str) -> Any:
    items = card.contents.get(name.lower())
    return items[0].value if items else None


def _vcard_parts(value: Any) -> list[str]:
    """The text parts of a vCard value: vobject gives a list where the card
    has comma-separated values (``N:Doe,Smith;...``, ``ORG``, ``CATEGORIES``)."""
    if isinstance(value, list | tuple):
        return [part for item in value for part in _vcard_parts(item)]
    if value is None or isinstance(value, bytes):
        return []
    text = str(value).strip()
    return [text] if text else []


def _vcard_record(card: Any, line: int, block: str, problems: Problems) -> Record:
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}

    def put(target: str, value: Any, label: str) -> None:
        if value is None:
            return
        if isinstance(value, bytes):  # ENCODING=b (base64): a photo, a key, never text
            problems.add(line, label, "holds binary (ENCODING=b) data, not text; remove it")
            return
        if isinstance(value, list | tuple) and target != "tags":
            value = ", ".join(_vcard_parts(value))
        elif not isinstance(value, str | list | tuple):
            value = str(value)
        if isinstance(value, str):
            if not value.strip():
                return
            problem = surrogate_problem(value)
            if problem is not None:
                problems.add(line, label, problem)
                return
        values[target] = value
        labels[target] = label

    name = _first(card, "fn")
    if not name and card.contents.get("n"):
        n = card.n.value
        parts = (n.prefix, n.given, n.additional, n.family, n.suffix)
        name = " ".join(p for part in parts for p in _vcard_parts(part))
    put("name", name, "FN")
    org_units = _first(card, "org")
    org_name = None
    if isinstance(org_units, bytes):
        put("organization", org_units, "ORG")
    elif org_units:
        org_name = org_units[0] if isinstance(org_units, list) else str(org_units)
        org_name = ", ".join(_vcard_parts(org_name)) or None
    acronym = _first(card, "x-outreach-organization")
    put("organization", acronym or org_name, "X-OUTREACH-ORGANIZATION" if acronym else "ORG")
    if acronym and org_name:
        put("organization_name", org_name, "ORG")
    kind = _first(card, "x-outreach-kind") or _first(card, "kind")
    put("kind", kind, "KIND")
    put("position", _first(card, "title") or _first(card, "role"), "TITLE")
    put("salutation", _first(card, "x-outreach-salutation"), "X-OUTREACH-SALUTATION")
    put("honorific", _first(card, "x-outreach-honorific"), "X-OUTREACH-HONORIFIC")
    put("email", _first(card, "email"), "EMAIL")
    put("phone", _first(card, "tel"), "TEL")
    adr = _first(card, "adr")
    if adr is not None:
        parts = []
        for attr in ("box", "extended", "street", "city", "region", "code", "country"):
            part = " ".join(_vcard_parts(getattr(adr, attr, "")))
            if part:
                parts.append(part)
        put("postal_address", "\n".join(parts), "ADR")
    put("language", _first(card, "x-outreach-language") or _first(card, "lang"), "LANG")
    put("is_primary", _first(card, "x-outreach-primary"), "X-OUTREACH-PRIMARY")
    put("do_not_contact", _first(card, "x-outreach-do-not-contact"), "X-OUTREACH-DO-NOT-CONTACT")
    put(
        "do_not_contact_reason",
        _first(card, "x-outreach-do-not-contact-reason"),
        "X-OUTREACH-DO-NOT-CONTACT-REASON",
    )
    categories = _first(card, "categories")
    if categories:
        put(
            "tags",
            _vcard_parts(categories) if isinstance(categories, list) else categories,
            "CATEGORIES",
        )
    put("notes", _first(card, "note"), "NOTE")
    source = {"vcard": block.strip()}
    return Record("contact", line, values, labels, source)


#: Spreadsheet files that cannot be read, and what to do instead.
_UNREADABLE = {
    ".xls": "an Excel 97-2003 workbook (.xls)",
    ".xlsb": "an Excel binary workbook (.xlsb)",
    ".ods": "an OpenDocument spreadsheet (.ods)",
    ".numbers": "a Numbers spreadsheet (.numbers)",
}


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ConfigurationError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix == ".json":
        return "json"
    if suffix in (".vcf", ".vcard"):
        return "vcard"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in _UNREADABLE:
        raise ConfigurationError(
            f"{path}: is {_UNREADABLE[suffix]}, which cannot be read: save it from the "
            'spreadsheet program as .xlsx (Excel Workbook) or as "CSV UTF-8" and import that'
        )
    raise ConfigurationError(
        f"{path}: cannot tell the format from the name; name it: csv, json, vcard or xlsx",
        option="from",
    )


def read_records(
    path: Path,
    *,
    kind: str,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    display: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> Records:
    """Read *path* into :class:`Record` objects (raising :class:`ValidationError`
    for problems with the file as a whole), with notes on how it was read.

    *encoding* is for text formats (detected when ``None``), *sheet* for a
    workbook (the first sheet when ``None``)."""
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such file")
    fmt = detect_format(path, fmt)
    mapping = mapping or {}
    if encoding is not None and fmt not in TEXT_FORMATS:
        raise ConfigurationError(
            f"{display or path}: a workbook has no text encoding; leave the encoding out",
            field="encoding",
        )
    if sheet is not None and fmt != "xlsx":
        raise ConfigurationError(
            f"{display or path}: only a workbook (.xlsx) has sheets; leave the sheet out",
            field="sheet",
        )
    if fmt == "csv":
        return read_csv(path, kind, mapping, display, encoding)
    if fmt == "json":
        return read_json(path, kind, mapping, display, encoding)
    if fmt == "xlsx":
        from outreach.directory.importing.xlsx import read_xlsx

        return read_xlsx(path, kind, mapping, display, sheet)
    if mapping:
        from_file = any(getattr(mapping, "origins", {}).values())
        raise ConfigurationError(
            f"{display or path}: a vCard's properties are read as they are; a column "
            "mapping is for CSV, XLSX and JSON files",
            field="map_file" if from_file else "map",
        )
    return read_vcard(path, display, encoding)
