"""Import organizations and contacts from CSV, JSON and vCard files.

The rules, in the order they apply:

* **Reading.** CSV is UTF-8 with or without a byte-order mark, with comma,
  semicolon or tab between cells (detected from the header line) and any line
  endings. JSON is a list of records, or an object with ``"organizations"``
  and/or ``"contacts"`` lists; an organization may carry its own
  ``"contacts"`` list. vCard 3.0 and 4.0 files are read with ``vobject``.
* **Columns.** Headers are matched to fields through known aliases
  (``E-mail``, ``email_address``, ``Organisation``, ...; see
  :data:`ORG_ALIASES` and :data:`CONTACT_ALIASES`) and ``--map
  "Header=field"`` (``Header=-`` ignores a column). An unknown column stops the
  import: nothing is guessed.
* **Validation.** Every value is checked as ``outreach orgs/contacts add``
  checks it (e-mail syntax, ISO 639-1 languages, countries, regions, kinds,
  required fields); rows repeating an earlier row of the same file are
  problems too. Every problem is reported, as ``file:line: column: what is
  wrong``.
* **All or nothing.** If any row has a problem nothing is written, unless
  *skip_invalid*: then the good rows are written and the bad ones saved, with
  their reasons, to a rejects file.
* **Matching.** An organization matches an existing one on its acronym (any
  case) or its exact full name; a contact on its e-mail (any case) or on its
  organization plus its name. A match is updated, skipped or refused
  (*on_match*). Only the cells that hold a value are applied: an empty cell
  never erases what is stored (use ``outreach ... edit`` for that), so a
  partial spreadsheet cannot wipe the directory.
* **Organizations named by contacts.** A contact row names its organization
  by acronym (or exact full name). An organization that does not exist yet is
  a problem, unless the row also has an ``organization_name`` column: then the
  organization is created with that acronym and name (kind "other"; complete
  it later with ``outreach orgs edit``).

Large files are written with bulk inserts in the caller's transaction; a
dry run computes the same plan and writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.activity import actor_of
from outreach.batch import gc_paused
from outreach.csvcells import neutralise_formula, restore_formula
from outreach.directory import (
    BOOL_FIELDS,
    CONTACT_FIELDS,
    LIST_FIELDS,
    ORG_FIELDS,
    clean_contact,
    clean_organization,
)
from outreach.errors import ConfigurationError, ValidationError
from outreach.models import Activity, Contact, ContactKind, Organization, OrgKind
from outreach.types import utcnow

FORMATS = ("csv", "json", "vcard")

#: ``progress(done, total)``: called now and then during a long import.
ProgressFn = Callable[[int, int], None]
ON_MATCH = ("update", "skip", "error")

#: Columns that exports of other tools (and our own ``--format json`` lists)
#: carry but an import has no use for: read and ignored.
IGNORED_COLUMNS = frozenset(
    {"id", "created_at", "updated_at", "archived_at", "forgotten_at", "contacts_count"}
)


def _alias_table(aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    table = {}
    for target, names in aliases.items():
        table[_norm(target)] = target
        for name in names:
            table[_norm(name)] = target
    return table


def _norm(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.casefold())


#: field -> other headers that mean it (compared ignoring case, spaces and punctuation).
ORG_ALIASES: dict[str, Sequence[str]] = {
    "acronym": ("abbreviation", "short name", "code", "organization acronym"),
    "name": (
        "full name",
        "official name",
        "organization",
        "organisation",
        "organization name",
        "organisation name",
    ),
    "kind": ("type", "organization type", "category"),
    "region": ("area",),
    "hq_city": ("headquarters", "hq", "city", "headquarters city", "seat"),
    "hq_country": ("country", "headquarters country", "hq country code", "country code"),
    "languages": ("working languages", "official languages", "language", "langs"),
    "website": ("url", "web", "web site", "homepage", "site"),
    "tags": ("tag", "labels", "keywords"),
    "notes": ("note", "comments", "comment", "remarks"),
}

CONTACT_ALIASES: dict[str, Sequence[str]] = {
    "organization": (
        "organisation",
        "org",
        "organization acronym",
        "organisation acronym",
        "org acronym",
        "acronym",
    ),
    "organization_name": (
        "organisation name",
        "org name",
        "organization full name",
        "organisation full name",
    ),
    "kind": ("type", "contact kind", "contact type"),
    "name": ("full name", "contact", "contact name", "office", "addressee"),
    "position": ("title", "job title", "role", "function"),
    "salutation": ("greeting", "dear", "form of address"),
    "email": ("e-mail", "email address", "e-mail address", "mail", "emailaddress"),
    "phone": ("telephone", "tel", "phone number", "telephone number"),
    "postal_address": ("address", "postal", "mailing address", "post address"),
    "language": ("lang", "preferred language", "letter language"),
    "is_primary": ("primary", "main contact"),
    "do_not_contact": ("dnc", "opt out", "opted out", "do not write"),
    "do_not_contact_reason": ("dnc reason", "opt out reason"),
    "tags": ("tag", "labels", "keywords", "categories"),
    "notes": ("note", "comments", "comment", "remarks"),
}

_ORG_TABLE = _alias_table(ORG_ALIASES)
_CONTACT_TABLE = _alias_table(CONTACT_ALIASES)


# --- results --------------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    path: str
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    #: Counts per kind of record: {"organizations": {"created": 1, ...}, "contacts": {...}}
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    #: ``(action, kind, description)`` for every record, in file order.
    actions: list[tuple[str, str, str]] = field(default_factory=list)
    #: Problem lines of rejected rows (with *skip_invalid*).
    problems: list[str] = field(default_factory=list)
    rejects_path: str | None = None

    def count(self, action: str, kind: str, description: str, *, keep: bool) -> None:
        setattr(self, action, getattr(self, action) + 1)
        per = self.by_kind.get(kind)
        if per is None:
            per = self.by_kind[kind] = {}
        per[action] = per.get(action, 0) + 1
        if keep:
            self.actions.append((action, kind, description))

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        parts = [
            f"{self.created} {verb}created",
            f"{self.updated} {verb}updated",
            f"{self.unchanged} unchanged",
        ]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (already there)")
        parts.append(f"{self.rejected} rejected")
        return ", ".join(parts)


# --- reading --------------------------------------------------------------------


class Record:
    """One record read from a file: field -> raw value, plus where it came from."""

    __slots__ = ("contacts", "error", "kind", "labels", "line", "source", "values")

    def __init__(
        self,
        kind: str,
        line: int,
        values: dict[str, Any],
        labels: dict[str, str],
        source: Any,
        contacts: list[Record] | None = None,
        error: str | None = None,
    ) -> None:
        self.kind = kind  # "organization" or "contact"
        self.line = line
        self.values = values
        #: field -> the header or key it came from (for messages).
        self.labels = labels
        #: The record as it was in the file (a dict, or ``(headers, cells)`` for
        #: CSV), for the rejects file.
        self.source = source
        #: Contacts nested inside an organization record (JSON).
        self.contacts = contacts if contacts is not None else []
        #: A problem with the row as a whole (too few or too many cells).
        self.error = error


class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: list[str] = []

    def add(self, line: int | None, label: str | None, message: str) -> str:
        where = f"{self.path}:{line}" if line else self.path
        text = f"{where}: {label}: {message}" if label else f"{where}: {message}"
        # A key or cell quoted in a message may hold what no terminal or
        # encoder takes (NUL, lone surrogates): show those as escapes.
        text = _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)
        self.lines.append(text)
        return text


#: NUL, other C0 controls but tab, and lone UTF-16 surrogates (only a JSON
#: ``\ud800`` escape makes one: files are decoded strictly).
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate_problem(text: str) -> str | None:
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return (
        f"holds {ascii(found.group())[1:-1]}, half of a UTF-16 surrogate pair and no "
        "character (a broken \\u escape); correct the text"
    )


def _fatal(message: str, problems: Sequence[str]) -> ValidationError:
    return ValidationError(message, list(problems))


def _decode(data: bytes, problems: _Problems) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex().upper()
        problems.add(
            line,
            None,
            f"the file is not UTF-8 text (byte 0x{byte}); save it as UTF-8 "
            '(in a spreadsheet: "CSV UTF-8") and import again',
        )
        raise _fatal(f"{problems.path}: not UTF-8 text, nothing imported", problems.lines) from None


def _resolve_headers(
    headers: Sequence[str],
    kind: str,
    mapping: Mapping[str, str],
    problems: _Problems,
    *,
    line: int | None = 1,
) -> list[str | None]:
    """Map each header to a field (``None`` = ignored); unknown ones are problems."""
    table = _CONTACT_TABLE if kind == "contact" else _ORG_TABLE
    fields = set(CONTACT_FIELDS) | {"organization_name"} if kind == "contact" else set(ORG_FIELDS)
    user_map = {_norm(k): v.strip() for k, v in mapping.items()}
    out: list[str | None] = []
    seen: dict[str, str] = {}
    for header in headers:
        key = _norm(header)
        if key in user_map:
            target = user_map[key]
            if target in ("", "-"):
                out.append(None)
                continue
            if target not in fields:
                problems.add(
                    line,
                    header,
                    f"--map names unknown field {target!r}; "
                    f"fields are: {', '.join(sorted(fields))}",
                )
                out.append(None)
                continue
        elif not key:
            out.append(None)
            continue
        elif key in table:
            target = table[key]
        elif key in IGNORED_COLUMNS:
            out.append(None)
            continue
        elif kind == "organization" and key in _CONTACT_TABLE:
            problems.add(
                line,
                header,
                "is a contact column: import this file with `outreach contacts import`",
            )
            out.append(None)
            continue
        else:
            problems.add(
                line,
                header,
                f'unknown column; map it with --map "{header}=FIELD" or ignore it with '
                f'--map "{header}=-" (fields: {", ".join(sorted(fields))})',
            )
            out.append(None)
            continue
        if target in seen:
            problems.add(line, header, f"column repeats {seen[target]!r} (both mean {target})")
            out.append(None)
            continue
        seen[target] = header
        out.append(target)
    return out


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
    path: Path, kind: str, mapping: Mapping[str, str], display: str | None = None
) -> list[Record]:
    """Read a CSV file of *kind* ("organization" or "contact") records."""
    problems = _Problems(display or str(path))
    text = _decode(path.read_bytes(), problems)
    first = next((ln for ln in io.StringIO(text) if ln.strip()), "")
    if not first:
        problems.add(None, None, "the file is empty; the first line must name the columns")
        raise _fatal(f"{problems.path}: nothing to import", problems.lines)
    delimiter = _detect_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[Record] = []
    fields: list[str | None] | None = None
    headers: list[str] = []
    last_line = 0
    try:
        for row in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not any(row):
                continue
            if fields is None:
                headers = [h.strip() for h in row]
                fields = _resolve_headers(headers, kind, mapping, problems, line=line)
                if problems.lines:
                    raise _fatal(
                        f"{problems.path}: {len(problems.lines)} column(s) not understood, "
                        "nothing imported",
                        problems.lines,
                    )
                width = len(headers)
                labels = {f: h for f, h in zip(fields, headers, strict=True) if f}
                continue
            source: Any = (headers, row)
            if len(row) != width:
                if len(row) > width and not any(c.strip() for c in row[width:]):
                    row = row[:width]
                else:
                    records.append(
                        Record(
                            kind,
                            line,
                            {},
                            labels,
                            source,
                            error=f"row has {len(row)} cells but the header has {width}"
                            + (" (truncated row?)" if len(row) < width else ""),
                        )
                    )
                    continue
            values = {
                f: (restore_formula(cell) if cell[0] == "'" else cell)
                for f, cell in zip(fields, row, strict=True)
                if cell and f is not None and not cell.isspace()
            }
            if values:  # a row of blank cells is no record
                records.append(Record(kind, line, values, labels, source))
    except csv.Error as exc:
        if "field limit" in str(exc):
            why = (
                f"a cell is longer than {csv.field_size_limit()} characters: a quoted cell "
                "is probably not closed (truncated file?), or the cell is not directory data"
            )
        else:
            why = f"{exc}; a quoted cell is probably not closed (truncated file?)"
        problems.add(reader.line_num or last_line + 1, None, f"cannot read CSV ({why})")
        raise _fatal(f"{problems.path}: not valid CSV, nothing imported", problems.lines) from None
    if fields is None:
        problems.add(None, None, "the file is empty; the first line must name the columns")
        raise _fatal(f"{problems.path}: nothing to import", problems.lines)
    return records


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
            problem = _surrogate_problem(item)
            if problem is not None:
                return problem
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def read_json(
    path: Path, kind: str, mapping: Mapping[str, str], display: str | None = None
) -> list[Record]:
    """Read a JSON list of *kind* records, or ``{"organizations": [...], "contacts": [...]}``."""
    problems = _Problems(display or str(path))
    text = _decode(path.read_bytes(), problems)
    deep = _json_too_deep(text)
    if deep is not None:
        problems.add(
            text.count("\n", 0, deep) + 1,
            None,
            f"nested more than {MAX_JSON_DEPTH} levels deep; records are objects of "
            "fields, lists of them in at most an object",
        )
        raise _fatal(f"{problems.path}: not a directory file, nothing imported", problems.lines)
    try:
        doc = json.loads(
            text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
        )
    except json.JSONDecodeError as exc:
        problems.add(exc.lineno, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
        raise _fatal(f"{problems.path}: not valid JSON, nothing imported", problems.lines) from None
    except RecursionError:  # not expected after the depth check; never a traceback
        problems.add(None, None, f"nested more than {MAX_JSON_DEPTH} levels deep")
        raise _fatal(
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
        raise _fatal(f"{problems.path}: nothing imported", problems.lines)
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
    if problems.lines:
        raise _fatal(
            f"{problems.path}: {len(problems.lines)} problem(s) with keys or values, "
            "nothing imported",
            problems.lines,
        )
    return records


def _json_record(
    item: Any, kind: str, line: int | None, mapping: Mapping[str, str], problems: _Problems
) -> Record:
    if not isinstance(item, dict):
        found = "a number" if isinstance(item, _BadNumber) else type(item).__name__
        problems.add(line, None, f"each {kind} must be an object, found {found}")
        return Record(kind, line or 0, {}, {}, {"value": item})
    keys = [k for k in item if not (kind == "organization" and k == "contacts")]
    fields = _resolve_headers(keys, kind, mapping, problems, line=line)
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for key, target in zip(keys, fields, strict=True):
        value = item[key]
        problem = _surrogate_problem(key) or (
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


def read_vcard(path: Path, display: str | None = None) -> list[Record]:
    """Read contacts from a vCard 3.0 or 4.0 file (one or many cards)."""
    import vobject

    problems = _Problems(display or str(path))
    text = _decode(path.read_bytes(), problems)
    lines = text.splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.strip().upper() == "BEGIN:VCARD"]
    if not starts:
        problems.add(1, None, "no BEGIN:VCARD found: this is not a vCard file")
        raise _fatal(f"{problems.path}: nothing imported", problems.lines)
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
        raise _fatal(
            f"{problems.path}: {len(problems.lines)} problem(s) reading the cards, "
            "nothing imported",
            problems.lines,
        )
    return records


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


def _vcard_record(card: Any, line: int, block: str, problems: _Problems) -> Record:
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
            problem = _surrogate_problem(value)
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
        put("tags", _vcard_parts(categories) if isinstance(categories, list) else categories,
            "CATEGORIES")
    put("notes", _first(card, "note"), "NOTE")
    source = {"vcard": block.strip()}
    return Record("contact", line, values, labels, source)


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
    raise ConfigurationError(
        f"{path}: cannot tell the format from the name; add --from csv, json or vcard"
    )


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``["E-mail address=email", "Ref=-"]`` -> ``{"E-mail address": "email", "Ref": "-"}``."""
    out = {}
    for item in items:
        header, eq, target = item.partition("=")
        if not eq or not header.strip():
            raise ConfigurationError(f'--map {item!r}: write it as "Header=field" (or "Header=-")')
        out[header.strip()] = target.strip()
    return out


def read_records(
    path: Path,
    *,
    kind: str,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    display: str | None = None,
) -> list[Record]:
    """Read *path* into :class:`Record` objects (raising :class:`ValidationError`
    for problems with the file as a whole)."""
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such file")
    fmt = detect_format(path, fmt)
    mapping = mapping or {}
    if fmt == "csv":
        return read_csv(path, kind, mapping, display)
    if fmt == "json":
        return read_json(path, kind, mapping, display)
    return read_vcard(path, display)


# --- planning -------------------------------------------------------------------

_ORG_COLUMNS = ("id", "acronym", "acronym_key", *ORG_FIELDS[1:])
_CONTACT_COLUMNS = (
    "id",
    "organization_id",
    "kind",
    "name",
    "position",
    "salutation",
    "email",
    "email_key",
    "phone",
    "postal_address",
    "language",
    "is_primary",
    "do_not_contact",
    "do_not_contact_reason",
    "tags",
    "notes",
    "forgotten_at",
)


@dataclass
class _Org:
    id: int | None
    values: dict[str, Any]
    line: int | None = None
    rejected: bool = False


class _Planner:
    def __init__(
        self,
        session: Session,
        path: str,
        on_match: str,
        result: ImportResult,
        keep_actions: bool,
    ) -> None:
        self.session = session
        self.path = path
        self.on_match = on_match
        self.result = result
        self.keep_actions = keep_actions
        self.problems: list[str] = []
        self.cache: dict[str, dict[str, Any]] = {}
        self.rejects: list[tuple[Record, list[str]]] = []
        self._load_existing()
        # plans
        self.new_orgs: dict[str, _Org] = {}  # acronym_key -> org to create
        self.org_updates: list[tuple[_Org, dict[str, Any], dict[str, list[Any]]]] = []
        self.new_contacts: list[dict[str, Any]] = []
        self.contact_updates: list[tuple[dict[str, Any], dict[str, Any], dict[str, list[Any]]]] = []
        # duplicates inside the file
        self.seen_org_keys: dict[str, int] = {}
        self.seen_org_names: dict[str, int] = {}
        self.seen_emails: dict[str, int] = {}
        self.seen_names: dict[tuple[Any, str], int] = {}
        self.rejected_orgs: set[str] = set()
        self.quiet_created = 0

    def finish(self) -> None:
        """Add the contacts created without a line in ``actions`` to the counts."""
        if self.quiet_created:
            result = self.result
            result.created += self.quiet_created
            per = result.by_kind.setdefault("contact", {})
            per["created"] = per.get("created", 0) + self.quiet_created
            self.quiet_created = 0

    def _load_existing(self) -> None:
        session = self.session
        self.orgs_by_key: dict[str, _Org] = {}
        self.orgs_by_name: dict[str, _Org] = {}
        self.orgs_by_id: dict[int, _Org] = {}
        org_table = Organization.__table__
        for row in session.execute(sa.select(*[org_table.c[c] for c in _ORG_COLUMNS])):
            values = row._asdict()
            org = _Org(values["id"], values)
            self.orgs_by_key[values["acronym_key"]] = org
            self.orgs_by_name.setdefault(values["name"].casefold(), org)
            self.orgs_by_id[values["id"]] = org
        self.contacts_by_email: dict[str, dict[str, Any]] = {}
        self.contacts_by_name: dict[tuple[Any, str], dict[str, Any]] = {}
        table = Contact.__table__
        for row in session.execute(sa.select(*[table.c[c] for c in _CONTACT_COLUMNS])):
            values = row._asdict()
            if values["forgotten_at"] is not None:
                continue
            if values["email_key"]:
                self.contacts_by_email[values["email_key"]] = values
            self.contacts_by_name.setdefault(
                (values["organization_id"], values["name"].casefold()), values
            )

    # -- problems --

    def _reject(self, record: Record, issues: list[tuple[str, str]]) -> None:
        lines = []
        for fld, message in issues:
            label = record.labels.get(fld, fld) if fld else None
            where = f"{self.path}:{record.line}" if record.line else self.path
            lines.append(f"{where}: {label}: {message}" if label else f"{where}: {message}")
        self.problems.extend(lines)
        self.rejects.append((record, lines))
        self.result.count("rejected", record.kind, "", keep=False)

    # -- organizations --

    def org(self, record: Record) -> None:
        if record.error is not None:
            self._reject(record, [("", record.error)])
            self._reject_children(record, "its organization row was rejected")
            return
        values, issues = clean_organization(record.values, self.cache)
        for req in ("acronym", "name"):
            if req not in record.values and not any(f == req for f, _ in issues):
                issues.append((req, "is required (the cell is empty)"))
        acronym_key = values["acronym"].casefold() if values.get("acronym") else None
        name_key = values["name"].casefold() if values.get("name") else None
        if acronym_key and acronym_key in self.seen_org_keys:
            issues.append(("acronym", f"repeats line {self.seen_org_keys[acronym_key]}"))
        elif name_key and name_key in self.seen_org_names:
            issues.append(("name", f"repeats line {self.seen_org_names[name_key]}"))
        match = None
        if acronym_key and name_key:
            by_key = self.orgs_by_key.get(acronym_key)
            by_name = self.orgs_by_name.get(name_key)
            if by_key and by_name and by_key is not by_name:
                issues.append(
                    (
                        "name",
                        f"is the name of {by_name.values['acronym']} but the acronym is "
                        f"{by_key.values['acronym']}'s; merge them first",
                    )
                )
            match = by_key or by_name
            if match is not None and match.id is None and not issues:  # planned earlier
                issues.append(("acronym", f"repeats line {match.line}"))
        if not issues and match is not None and self.on_match == "error":
            issues.append(
                ("acronym", f"{match.values['acronym']} already exists (--on-match error)")
            )
        if acronym_key:
            self.seen_org_keys.setdefault(acronym_key, record.line)
        if name_key:
            self.seen_org_names.setdefault(name_key, record.line)
        if issues:
            self._reject(record, issues)
            if acronym_key:
                self.rejected_orgs.add(acronym_key)
            self._reject_children(record, "its organization was rejected")
            return
        label = f"{values['acronym']} ({values['name']})"
        if match is None:
            values["kind"] = values.get("kind") or OrgKind.OTHER
            org = _Org(None, values, record.line)
            self.new_orgs[acronym_key] = org
            self.orgs_by_key[acronym_key] = org
            self.orgs_by_name.setdefault(name_key, org)
            self.result.count("created", "organization", label, keep=self.keep_actions)
        else:
            org = match
            self.orgs_by_key[acronym_key] = org
            changes = _diff(match.values, values)
            if not changes:
                self.result.count("unchanged", "organization", label, keep=self.keep_actions)
            elif self.on_match == "skip":
                self.result.count("skipped", "organization", label, keep=self.keep_actions)
            else:
                self.org_updates.append((match, values, changes))
                self.result.count(
                    "updated",
                    "organization",
                    f"{label}: {', '.join(changes)}",
                    keep=self.keep_actions,
                )
        for child in record.contacts:
            child.values.setdefault("organization", values["acronym"])
            self.contact(child)

    def _reject_children(self, record: Record, why: str) -> None:
        for child in record.contacts:
            self._reject(child, [("", why)])

    # -- contacts --

    def _resolve_org(self, ref: str, name: str | None) -> tuple[_Org | None, str | None]:
        key = ref.casefold()
        org = self.orgs_by_key.get(key) or self.orgs_by_name.get(key)
        if org is not None:
            if (
                name
                and org.id is None
                and org.values.get("_from_contact")
                and org.values["name"] != name.strip()
            ):
                return None, (
                    f"new organization {ref} is given the name {org.values['name']!r} "
                    f"on line {org.line}; use one name"
                )
            return org, None
        if key in self.rejected_orgs:
            return None, f"organization {ref} was rejected on another line"
        if name:
            org_values, issues = clean_organization({"acronym": ref, "name": name})
            if issues:
                return None, "; ".join(f"{f}: {m}" for f, m in issues)
            org_values["kind"] = OrgKind.OTHER
            org_values["_from_contact"] = True
            org = _Org(None, org_values)
            return org, None
        return None, (
            f"no organization {ref!r}: add it first (`outreach orgs add`), or give its "
            "full name in an organization_name column to create it"
        )

    def contact(self, record: Record) -> None:
        if record.error is not None:
            self._reject(record, [("", record.error)])
            return
        raw = record.values
        org_name = raw.pop("organization_name", None)
        values, issues = clean_contact(raw, self.cache)
        for req in ("organization", "name"):
            if req not in raw and not any(f == req for f, _ in issues):
                issues.append((req, "is required (the cell is empty)"))
        org = None
        ref = values.get("organization")
        if ref:
            org = self.orgs_by_key.get(ref.casefold())
            if org is None or (org.id is None and org_name and org_name != org.values["name"]):
                org, why = self._resolve_org(ref, org_name if isinstance(org_name, str) else None)
                if why:
                    issues.append(("organization", why))
        email_key = values["email"].casefold() if values.get("email") else None
        org_token: Any = (org.id if org.id is not None else id(org)) if org else None
        name_key = (org_token, values["name"].casefold()) if values.get("name") and org else None
        if email_key and email_key in self.seen_emails:
            issues.append(("email", f"repeats line {self.seen_emails[email_key]}"))
        elif name_key and name_key in self.seen_names:
            issues.append(("name", f"repeats line {self.seen_names[name_key]} (same organization)"))
        match = None
        if not issues:
            by_email = self.contacts_by_email.get(email_key) if email_key else None
            by_name = (
                self.contacts_by_name.get((org.id, name_key[1]))
                if org is not None and org.id is not None and name_key
                else None
            )
            if by_email and by_name and by_email is not by_name:
                issues.append(
                    (
                        "email",
                        f"belongs to contact #{by_email['id']} but the name matches "
                        f"#{by_name['id']}; merge them first (`outreach contacts merge`)",
                    )
                )
            match = by_email or by_name
            if match is not None and self.on_match == "error" and not issues:
                issues.append(
                    (
                        "email" if by_email else "name",
                        f"contact #{match['id']} already exists (--on-match error)",
                    )
                )
        if email_key:
            self.seen_emails.setdefault(email_key, record.line)
        if name_key:
            self.seen_names.setdefault(name_key, record.line)
        if issues:
            self._reject(record, issues)
            return
        assert org is not None
        if org.id is None and org.values["acronym"].casefold() not in self.new_orgs:
            org.line = record.line
            key = org.values["acronym"].casefold()
            self.new_orgs[key] = org
            self.orgs_by_key[key] = org
            self.orgs_by_name.setdefault(org.values["name"].casefold(), org)
            self.result.count(
                "created",
                "organization",
                f"{org.values['acronym']} ({org.values['name']})",
                keep=self.keep_actions,
            )
        values["_org"] = org
        if match is None:
            self.new_contacts.append(values)
            if self.keep_actions:
                label = f"{values['name']} ({org.values['acronym']})"
                self.result.count("created", "contact", label, keep=True)
            else:
                self.quiet_created += 1  # counted in finish(): this is the hot path
            return
        if match["organization_id"] != org.id:
            # The address is already a contact at another organization: moving
            # the contact (with its letters and replies) is not for an import
            # to decide quietly.
            other = self.orgs_by_id[match["organization_id"]].values["acronym"]
            self._reject(
                record,
                [
                    (
                        "email",
                        f"{values.get('email')} belongs to {match['name']} at {other}; "
                        f"fix the row, or move the contact first with "
                        f"`outreach contacts edit {values.get('email')} --org "
                        f"{org.values['acronym']}`",
                    )
                ],
            )
            return
        label = f"{values['name']} ({org.values['acronym']})"
        del values["organization"]
        changes = _diff(match, values, skip=("_org",))
        if not changes:
            self.result.count("unchanged", "contact", label, keep=self.keep_actions)
        elif self.on_match == "skip":
            self.result.count("skipped", "contact", label, keep=self.keep_actions)
        else:
            self.contact_updates.append((match, values, changes))
            self.result.count(
                "updated", "contact", f"{label}: {', '.join(changes)}", keep=self.keep_actions
            )


def _plain(value: Any) -> Any:
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value
    return value


def _diff(
    current: Mapping[str, Any], values: Mapping[str, Any], skip: Sequence[str] = ()
) -> dict[str, list[Any]]:
    """Fields of *values* that hold something and differ from *current*."""
    changes: dict[str, list[Any]] = {}
    for fld, new in values.items():
        if fld in skip or fld.startswith("_") or new is None or new == []:
            continue
        old = current.get(fld)
        if fld in LIST_FIELDS:
            old = list(old or [])
        elif fld in BOOL_FIELDS:
            old = bool(old)
        elif fld in ("email", "acronym") and old and old.casefold() == new.casefold():
            continue  # the same address or acronym; keep it as it was first written
        if _plain(old) != _plain(new):
            changes[fld] = [_plain(old), _plain(new)]
    return changes


# --- writing --------------------------------------------------------------------


def _bulk_insert(
    session: Session, table: sa.Table, columns: Sequence[str], rows: list[list[Any]]
) -> None:
    """Insert *rows* (lists of values in *columns* order) as fast as the backend allows.

    PostgreSQL gets ``COPY ... FROM STDIN``; SQLite one ``executemany`` on the
    driver. JSON and timestamp values go through the column types' own bind
    processors, so what is stored is exactly what an ORM insert would store.
    Enum values must be given as their text values (they were validated).
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    postgres = dialect.name == "postgresql"
    for i, name in enumerate(columns):
        col_type = table.c[name].type
        if isinstance(col_type, sa.JSON):
            proc = _pg_json if postgres else col_type._cached_bind_processor(dialect)
        elif isinstance(col_type, sa.TypeDecorator) and not postgres:
            proc = col_type._cached_bind_processor(dialect)
        else:
            proc = None
        if proc is not None:
            run = _cached(proc)
            for row in rows:
                row[i] = run(row[i])
    quote = dialect.identifier_preparer.quote
    name = dialect.identifier_preparer.format_table(table)
    if postgres:
        # Leave out nullable columns that are empty in every row (NULL either way).
        keep = [
            i
            for i, col in enumerate(columns)
            if not table.c[col].nullable
            or isinstance(table.c[col].type, sa.JSON)
            or any(row[i] is not None for row in rows)
        ]
        if len(keep) < len(columns):
            pick = operator.itemgetter(*keep)
            rows = [pick(row) for row in rows]  # type: ignore[misc]
            columns = [columns[i] for i in keep]
        quoted = ", ".join(quote(c) for c in columns)
        driver = conn.connection.driver_connection
        with driver.cursor() as cur, cur.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    # SQLite: a value that is the same in every row (a timestamp, a default
    # flag, an empty column) is written once into the statement as a literal
    # instead of being bound 100,000 times.
    first = rows[0]
    slots = []
    varying = []
    for i in range(len(columns)):
        literal = _sql_literal(first[i])
        if literal is not None and all(row[i] == first[i] for row in rows):
            slots.append(literal)
        else:
            slots.append("?")
            varying.append(i)
    if len(varying) < len(columns):
        if varying:
            pick = operator.itemgetter(*varying)
            rows = [pick(row) for row in rows]  # type: ignore[misc]
            if len(varying) == 1:
                rows = [(value,) for value in rows]  # type: ignore[misc]
        else:
            rows = [()] * len(rows)  # type: ignore[list-item]
    quoted = ", ".join(quote(c) for c in columns)
    driver = conn.connection.driver_connection
    driver.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({', '.join(slots)})", rows)


def _sql_literal(value: Any) -> str | None:
    """*value* as an SQLite literal, or ``None`` if it should stay a parameter."""
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "1" if value else "0"
    if type(value) is int:
        return str(value)
    if type(value) is str and "\x00" not in value and len(value) < 200:
        return "'" + value.replace("'", "''") + "'"
    return None


def _pg_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _cached(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Memoise a bind processor (timestamps and tag lists repeat a lot)."""
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        try:
            key = tuple(value) if value.__class__ is list else value
            return cache[key]
        except KeyError:
            out = cache[key] = fn(value)
            return out
        except TypeError:  # unhashable (a dict of changes, a list of lists)
            return fn(value)

    return run


def _ev(value: Any) -> Any:
    return value.value if value is not None and hasattr(value, "value") else value


#: Columns of the bulk inserts, in the order the rows are built: the columns
#: read for matching, less the id (and forgotten_at), plus the timestamps.
_NEW_ORG_COLUMNS = (*_ORG_COLUMNS[1:], "created_at", "updated_at")
_NEW_CONTACT_COLUMNS = (*_CONTACT_COLUMNS[1:-1], "created_at", "updated_at")
_ACTIVITY_COLUMNS = (
    "at",
    "actor",
    "action",
    "entity",
    "entity_id",
    "organization_id",
    "summary",
    "changes",
)


def _apply_plan(planner: _Planner, source: str) -> None:
    session = planner.session
    now = utcnow()
    actor = actor_of(session)
    activity: list[list[Any]] = []

    def log(action: str, entity: str, entity_id: Any, org_id: Any, summary: str, changes=None):
        activity.append([now, actor, action, entity, entity_id, org_id, summary, changes])

    org_table = Organization.__table__
    acronyms: dict[int, str] = {o.id: o.values["acronym"] for o in planner.orgs_by_id.values()}
    if planner.new_orgs:
        rows = []
        for key, org in planner.new_orgs.items():
            v = org.values
            rows.append(
                [
                    v["acronym"],
                    key,
                    v["name"],
                    _ev(v.get("kind") or OrgKind.OTHER),
                    _ev(v.get("region")),
                    v.get("hq_city"),
                    v.get("hq_country"),
                    v.get("languages") or [],
                    v.get("website"),
                    v.get("tags") or [],
                    v.get("notes"),
                    now,
                    now,
                ]
            )
        _bulk_insert(session, org_table, _NEW_ORG_COLUMNS, rows)
        # All keys, not an IN list: thousands of new organizations would pass
        # SQLite's limit on bound parameters.
        ids = dict(session.execute(sa.select(org_table.c.acronym_key, org_table.c.id)).all())
        for key, org in planner.new_orgs.items():
            org.id = ids[key]
            acronyms[org.id] = org.values["acronym"]
            log(
                "create",
                "organization",
                org.id,
                org.id,
                f"imported organization {org.values['acronym']} from {source}",
            )
    for org, values, changes in planner.org_updates:
        update = {k: v for k, v in values.items() if k in changes}
        if "acronym" in update:
            update["acronym_key"] = update["acronym"].casefold()
        update["updated_at"] = now
        session.execute(sa.update(org_table).where(org_table.c.id == org.id).values(update))
        log(
            "update",
            "organization",
            org.id,
            org.id,
            f"updated organization {values['acronym']} from {source}: {', '.join(changes)}",
            changes,
        )
    contact_table = Contact.__table__
    if planner.new_contacts:
        rows = []
        per_org: dict[int, int] = {}
        person = ContactKind.PERSON.value
        for v in planner.new_contacts:
            org_id = v["_org"].id
            per_org[org_id] = per_org.get(org_id, 0) + 1
            email = v.get("email")
            kind = v.get("kind")
            rows.append(
                [
                    org_id,
                    kind.value if kind else person,
                    v["name"],
                    v.get("position"),
                    v.get("salutation"),
                    email,
                    email.casefold() if email else None,
                    v.get("phone"),
                    v.get("postal_address"),
                    v.get("language"),
                    bool(v.get("is_primary")),
                    bool(v.get("do_not_contact")),
                    v.get("do_not_contact_reason"),
                    v.get("tags") or [],
                    v.get("notes"),
                    now,
                    now,
                ]
            )
        _bulk_insert(session, contact_table, _NEW_CONTACT_COLUMNS, rows)
        for org_id, n in per_org.items():
            log(
                "import",
                "contact",
                None,
                org_id,
                f"imported {n} contact(s) at {acronyms[org_id]} from {source}",
            )
    # Updates: grouped by the set of columns they change, one executemany each.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for match, values, changes in planner.contact_updates:
        update = {k: values[k] for k in changes if k != "organization"}
        if "organization" in changes:
            update["organization_id"] = values["_org"].id
        if "email" in update:
            update["email_key"] = update["email"].casefold()
        update["updated_at"] = now
        cols = tuple(sorted(update))
        groups.setdefault(cols, []).append({"_id": match["id"], **update})
        log(
            "update",
            "contact",
            match["id"],
            values["_org"].id,
            f"updated contact {values.get('name') or match['name']} from {source}: "
            + ", ".join(changes),
            changes,
        )
    for cols, params in groups.items():
        stmt = (
            sa.update(contact_table)
            .where(contact_table.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in cols})
        )
        session.connection().execute(stmt, params)
    _one_primary(planner, now, log)
    _bulk_insert(session, Activity.__table__, _ACTIVITY_COLUMNS, activity)


def _one_primary(planner: _Planner, now: dt.datetime, log: Callable[..., None]) -> None:
    """An organization has one primary contact: one made primary by the import
    replaces the one it had (as `contacts edit --primary` does)."""
    orgs = {v["_org"].id for v in planner.new_contacts if v.get("is_primary")}
    for match, values, changes in planner.contact_updates:
        primary = values.get("is_primary")
        if primary is None:
            primary = bool(match.get("is_primary"))
        if primary and ("is_primary" in changes or "organization" in changes):
            orgs.add(values["_org"].id)
    if not orgs:
        return
    table = Contact.__table__
    primaries: dict[int, list[tuple[Any, ...]]] = {}
    for row in planner.session.connection().execute(
        sa.select(table.c.id, table.c.organization_id, table.c.name, table.c.updated_at).where(
            table.c.is_primary.is_(True)
        )
    ):
        if row.organization_id in orgs:
            primaries.setdefault(row.organization_id, []).append(row)
    demote = []
    for org_id, rows in primaries.items():
        if len(rows) < 2:
            continue
        # The one this import touched (the newest if several), then the others.
        rows.sort(key=lambda r: (r.updated_at == now, r.id), reverse=True)
        chosen = rows[0]
        for other in rows[1:]:
            demote.append({"_id": other.id})
            log(
                "update",
                "contact",
                other.id,
                org_id,
                f"{other.name} is no longer the primary contact ({chosen.name} is)",
                {"is_primary": [True, False]},
            )
    if demote:
        planner.session.connection().execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("_id"))
            .values(is_primary=False, updated_at=now),
            demote,
        )


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
    what would happen. *keep_actions* (default: on for a dry run) records one
    line per record in :attr:`ImportResult.actions`. *progress*, if given, is
    called as ``progress(done, total)`` while the records are checked.
    """
    if kind in ("organizations", "orgs", "org"):
        kind = "organization"
    if kind in ("contacts",):
        kind = "contact"
    if kind not in ("organization", "contact"):
        raise ConfigurationError(f"cannot import {kind!r}: organizations or contacts")
    if on_match not in ON_MATCH:
        raise ConfigurationError(f"--on-match {on_match!r}: use update, skip or error")
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
    planner = _Planner(
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
            f"{display}: {n} row(s) with problems, nothing imported (fix them, or use "
            "--skip-invalid to import the good rows)",
            planner.problems,
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
                    f"({exc.strerror or exc}); nothing imported: give --rejects FILE",
                    planner.problems,
                ) from None
            result.rejects_path = str(target)
    if not dry_run and (
        planner.new_orgs or planner.org_updates or planner.new_contacts or planner.contact_updates
    ):
        _apply_plan(planner, path.name)
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
    (and their office contacts). Loading it again changes nothing."""
    from outreach.resources import contacts_path

    path = contacts_path() / SHIPPED_DIRECTORY
    return import_file(
        path, session=session, kind="organization", on_match="skip", display=path.name
    )
