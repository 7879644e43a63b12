"""What every reader shares: the header aliases and their resolution to
fields, :class:`Record` (one record as read), and the problem lines a reader
collects (``file:line: column: what is wrong``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from outreach.directory.fields import (
    CONTACT_EXTRA_FIELDS,
    CONTACT_FIELDS,
    ORG_EXTRA_FIELDS,
    ORG_FIELDS,
)
from outreach.directory.i18n import flat_field
from outreach.errors import ValidationError

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
    "parent": ("parent organization", "parent organisation", "organ of", "parent acronym"),
    "i18n": ("translations", "names by language"),
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
    "honorific": ("honorific title", "style", "courtesy title"),
    "preferred_channel": ("channel", "preferred channel", "send by"),
    "i18n": ("translations",),
}

_ORG_TABLE = _alias_table(ORG_ALIASES)
_CONTACT_TABLE = _alias_table(CONTACT_ALIASES)


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


class Problems:
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


def surrogate_problem(text: str) -> str | None:
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return (
        f"holds {ascii(found.group())[1:-1]}, half of a UTF-16 surrogate pair and no "
        "character (a broken \\u escape); correct the text"
    )


def fatal(message: str, problems: Sequence[str]) -> ValidationError:
    return ValidationError(message, list(problems))


def decode_text(data: bytes, problems: Problems) -> str:
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
        raise fatal(f"{problems.path}: not UTF-8 text, nothing imported", problems.lines) from None


def resolve_headers(
    headers: Sequence[str],
    kind: str,
    mapping: Mapping[str, str],
    problems: Problems,
    *,
    line: int | None = 1,
) -> list[str | None]:
    """Map each header to a field (``None`` = ignored); unknown ones are problems."""
    table = _CONTACT_TABLE if kind == "contact" else _ORG_TABLE
    fields = (
        set(CONTACT_FIELDS) | set(CONTACT_EXTRA_FIELDS) | {"organization_name"}
        if kind == "contact"
        else set(ORG_FIELDS) | set(ORG_EXTRA_FIELDS)
    )
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
            if target not in fields and flat_field(target, kind) is not None:
                lang, sub = flat_field(target, kind)  # type: ignore[misc]
                target = f"i18n.{lang}.{sub}"
            elif target not in fields:
                problems.add(
                    line,
                    header,
                    f"the mapping names unknown field {target!r}; "
                    f"fields are: {', '.join(sorted(fields))}",
                )
                out.append(None)
                continue
        elif not key:
            out.append(None)
            continue
        elif (flat := flat_field(header, kind)) is not None:
            target = f"i18n.{flat[0]}.{flat[1]}"
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
                f'unknown column; map it ("{header}=FIELD") or ignore it ("{header}=-"); '
                f'fields: {", ".join(sorted(fields))}; text per language: '
                + ("name_fr, acronym_fr, definite_fr" if kind == "organization" else
                   "position_fr, salutation_fr")
                + " (any ISO 639-1 code)",
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
