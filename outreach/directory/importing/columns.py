"""What every reader shares: the header aliases and their resolution to
fields, :class:`Record` (one record as read), and the problem lines a reader
collects (``file:line: column: what is wrong``)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from outreach.csvcells import restore_formula
from outreach.directory.fields import (
    CONTACT_EXTRA_FIELDS,
    CONTACT_FIELDS,
    ORG_EXTRA_FIELDS,
    ORG_FIELDS,
)
from outreach.directory.i18n import flat_field
from outreach.errors import ConfigurationError, ValidationError

#: Columns that exports of other tools (and our own ``--format json`` lists)
#: carry but an import has no use for: read and ignored.
IGNORED_COLUMNS = frozenset(
    {"id", "created_at", "updated_at", "archived_at", "forgotten_at", "contacts_count"}
)


def _alias_table(aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    table = {}
    for target, names in aliases.items():
        table[header_key(target)] = target
        for name in names:
            table[header_key(name)] = target
    return table


#: Letters that NFKD does not take apart but a header may spell either way.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i"})


@functools.lru_cache(maxsize=4096)
def header_key(header: str) -> str:
    """*header* as aliases are compared: case, accents, spaces and punctuation
    left out (``"Correo electrónico"`` -> ``"correoelectronico"``). Letters of
    every script are kept, so a header in Arabic is an unknown column, not an
    empty one."""
    folded = unicodedata.normalize("NFKD", header.casefold().translate(_LIGATURES))
    return "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))


#: field -> other headers that mean it, in English, Spanish, French and
#: Portuguese (compared ignoring case, accents, spaces and punctuation: see
#: :func:`header_key`; "Correo electrónico" is "correo electronico").
ORG_ALIASES: dict[str, Sequence[str]] = {
    "acronym": (
        "abbreviation", "short name", "code", "organization acronym",
        "sigla", "siglas", "acrónimo", "abreviatura", "nombre corto",  # es
        "sigle", "acronyme", "abréviation", "nom court",  # fr
        "acrônimo", "nome curto",  # pt
    ),
    "name": (
        "full name", "official name", "organization", "organisation", "organization name",
        "organisation name",
        "nombre", "nombre completo", "nombre oficial", "organización",  # es
        "nombre de la organización",  # es
        "nom", "nom complet", "nom officiel", "nom de l'organisation",  # fr
        "nome", "nome completo", "nome oficial", "organização", "nome da organização",  # pt
    ),
    "kind": (
        "type", "organization type", "category",
        "tipo", "tipo de organización", "categoría",  # es
        "type d'organisation", "catégorie",  # fr
        "tipo de organização", "categoria",  # pt
    ),
    "region": ("area", "región", "région", "região", "zona", "zone"),
    "hq_city": (
        "headquarters", "hq", "city", "headquarters city", "seat",
        "sede", "ciudad", "ciudad sede",  # es
        "siège", "ville", "ville du siège",  # fr
        "cidade", "cidade sede",  # pt
    ),
    "hq_country": (
        "country", "headquarters country", "hq country code", "country code",
        "país", "país sede", "código de país",  # es (and pt "país")
        "pays", "pays du siège", "code pays",  # fr
        "código do país",  # pt
    ),
    "languages": (
        "working languages", "official languages", "language", "langs",
        "idioma", "idiomas", "idiomas de trabajo", "lenguas",  # es (and pt "idioma(s)")
        "langue", "langues", "langues de travail", "langues officielles",  # fr
        "língua", "línguas", "idiomas de trabalho",  # pt
    ),
    "website": (
        "url", "web", "web site", "homepage", "site",
        "sitio web", "página web",  # es
        "site web", "site internet",  # fr
        "sítio web",  # pt
    ),
    "tags": ("tag", "labels", "keywords", "etiquetas", "étiquettes", "mots clés", "palavras chave"),
    "notes": (
        "note", "comments", "comment", "remarks",
        "notas", "observaciones", "comentarios",  # es (and pt "notas")
        "remarques", "commentaires", "observations",  # fr
        "observações", "comentários",  # pt
    ),
    "parent": (
        "parent organization", "parent organisation", "organ of", "parent acronym",
        "organización matriz", "organisation mère", "organização mãe",
    ),
    "i18n": ("translations", "names by language"),
}  # fmt: skip

CONTACT_ALIASES: dict[str, Sequence[str]] = {
    "organization": (
        "organisation", "org", "organization acronym", "organisation acronym", "org acronym",
        "acronym",
        "organización", "sigla", "siglas", "entidad",  # es
        "sigle", "organisme",  # fr
        "organização", "entidade",  # pt
    ),
    "organization_name": (
        "organisation name", "org name", "organization full name", "organisation full name",
        "nombre de la organización", "nom de l'organisation", "nome da organização",
    ),
    "kind": ("type", "contact kind", "contact type", "tipo", "tipo de contacto", "type de contact"),
    "name": (
        "full name", "contact", "contact name", "office", "addressee",
        "nombre", "nombre completo", "contacto", "destinatario", "oficina",  # es
        "nom", "nom complet", "destinataire", "bureau",  # fr
        "nome", "nome completo", "contato", "destinatário", "gabinete",  # pt
    ),
    "position": (
        "title", "job title", "role", "function",
        "cargo", "puesto", "función",  # es (and pt "cargo")
        "fonction", "poste", "titre du poste",  # fr
        "função",  # pt
    ),
    "salutation": (
        "greeting", "dear", "form of address",
        "saludo", "encabezamiento",  # es
        "formule d'appel",  # fr
        "saudação", "vocativo",  # pt
    ),
    "email": (
        "e-mail", "email address", "e-mail address", "mail", "emailaddress",
        "correo", "correo electrónico", "dirección de correo",  # es
        "dirección de correo electrónico",  # es
        "courriel", "adresse électronique", "adresse courriel", "adresse e-mail", "mél",  # fr
        "correio eletrônico", "correio electrónico", "endereço de e-mail",  # pt
        "endereço eletrônico",  # pt
    ),
    "phone": (
        "telephone", "tel", "phone number", "telephone number",
        "teléfono", "número de teléfono",  # es
        "téléphone", "numéro de téléphone",  # fr
        "telefone", "número de telefone",  # pt
    ),
    "postal_address": (
        "address", "postal", "mailing address", "post address",
        "dirección", "dirección postal",  # es
        "adresse", "adresse postale",  # fr
        "endereço", "endereço postal", "morada",  # pt
    ),
    "language": (
        "lang", "preferred language", "letter language",
        "idioma", "lengua", "idioma preferido",  # es (and pt "idioma")
        "langue", "langue préférée", "langue de la lettre",  # fr
        "língua", "língua preferida",  # pt
    ),
    "is_primary": (
        "primary", "main contact", "principal", "contacto principal", "contato principal",
    ),
    "do_not_contact": ("dnc", "opt out", "opted out", "do not write"),
    "do_not_contact_reason": ("dnc reason", "opt out reason"),
    "tags": (
        "tag", "labels", "keywords", "categories",
        "etiquetas", "étiquettes", "mots clés", "palavras chave",
    ),
    "notes": (
        "note", "comments", "comment", "remarks",
        "notas", "observaciones", "comentarios",  # es (and pt "notas")
        "remarques", "commentaires", "observations",  # fr
        "observações", "comentários",  # pt
    ),
    "honorific": (
        "honorific title", "style", "courtesy title", "tratamiento", "civilité", "tratamento",
    ),
    "preferred_channel": ("channel", "preferred channel", "send by"),
    "i18n": ("translations",),
}  # fmt: skip


def _check_aliases(aliases: Mapping[str, Sequence[str]]) -> None:
    """No header may mean two fields (a test runs this on both tables)."""
    seen: dict[str, str] = {}
    for target, names in aliases.items():
        for name in (target, *names):
            key = header_key(name)
            if seen.setdefault(key, target) != target:
                raise AssertionError(f"{name!r} means both {seen[key]} and {target}")


_ORG_TABLE = _alias_table(ORG_ALIASES)
_IGNORED_KEYS = frozenset(header_key(name) for name in IGNORED_COLUMNS)
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


class Records(list[Record]):
    """The records a reader read, with *notes* on how it read them (the
    encoding when it was not UTF-8, the sheet of a workbook), and the
    *encoding* used for a text file (``None`` for a workbook)."""

    def __init__(
        self, records: Iterable[Record] = (), *, notes: Sequence[str] = (), encoding: str | None
    ) -> None:
        super().__init__(records)
        self.notes = list(notes)
        self.encoding = encoding


def known_fields(kind: str) -> set[str]:
    """The fields a column of *kind* records may be read as."""
    if kind == "contact":
        return set(CONTACT_FIELDS) | set(CONTACT_EXTRA_FIELDS) | {"organization_name"}
    return set(ORG_FIELDS) | set(ORG_EXTRA_FIELDS)


def mapped_field(target: str, kind: str) -> str | None:
    """The field a mapping's *target* names (``name_fr`` -> ``i18n.fr.name``),
    or ``None`` if it names none."""
    if target in known_fields(kind):
        return target
    flat = flat_field(target, kind)
    return f"i18n.{flat[0]}.{flat[1]}" if flat is not None else None


#: The last column a rejects file adds (the reasons each row was rejected):
#: a file whose last column is one of these reads it as no field, so a
#: corrected rejects file imports as it is.
REJECTS_COLUMNS = ("problems", "problem", "errors", "error")
_REJECTS_KEYS = frozenset(header_key(name) for name in REJECTS_COLUMNS)


def resolve_headers(
    headers: Sequence[str],
    kind: str,
    mapping: Mapping[str, str],
    problems: Problems,
    *,
    line: int | None = 1,
    rejects_column: bool = False,
) -> list[str | None]:
    """Map each header to a field (``None`` = ignored); unknown ones are problems.

    With *rejects_column* (a table: CSV, XLSX), a last column named as in
    :data:`REJECTS_COLUMNS` is ignored, unless the mapping names it."""
    table = _CONTACT_TABLE if kind == "contact" else _ORG_TABLE
    fields = known_fields(kind)
    user_map = {header_key(k): v.strip() for k, v in mapping.items()}
    out: list[str | None] = []
    seen: dict[str, str] = {}
    # the last column with a header (a spreadsheet may end the row with empty ones)
    last = max((n for n, h in enumerate(headers) if header_key(h)), default=-1)
    for n, header in enumerate(headers):
        key = header_key(header)
        if key in user_map:
            target = user_map[key]
            if target in ("", "-"):
                out.append(None)
                continue
            found = mapped_field(target, kind)
            if found is None:
                problems.add(
                    line,
                    header,
                    f"the mapping names unknown field {target!r}; "
                    f"fields are: {', '.join(sorted(fields))}",
                )
                out.append(None)
                continue
            target = found
        elif not key or (rejects_column and n == last and key in _REJECTS_KEYS):
            out.append(None)
            continue
        elif (flat := flat_field(header, kind)) is not None:
            target = f"i18n.{flat[0]}.{flat[1]}"
        elif key in table:
            target = table[key]
        elif key in _IGNORED_KEYS:
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
                f"fields: {', '.join(sorted(fields))}; text per language: "
                + (
                    "name_fr, acronym_fr, definite_fr"
                    if kind == "organization"
                    else "position_fr, salutation_fr"
                )
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


def quoted(text: str, limit: int = 60) -> str:
    """*text* quoted for a message (``repr``: control characters as escapes), cut at *limit*."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def shown_text(text: str, limit: int = 60) -> str:
    """*text* fit to quote in a message: escapes for what no terminal shows, cut at *limit*."""
    text = _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_mapped_columns(mapping: Mapping[str, str], headers: Iterable[str], path: str) -> None:
    """Raise :class:`ConfigurationError` if *mapping* names a column that no
    header of the file at *path* is (a typo would otherwise map nothing).

    The error names the mapping file an entry came from (a
    :class:`~.mapping.ColumnMap`'s ``origins``), else the mapping itself."""
    present = {header_key(h) for h in headers}
    origins: Mapping[str, str | None] = getattr(mapping, "origins", {})
    for header in mapping:
        if header_key(header) in present:
            continue
        named = [h for h in dict.fromkeys(headers) if h.strip()]
        columns = ", ".join(shown_text(h, 30) for h in named[:12])
        origin = origins.get(header)
        if origin is not None:
            raise ConfigurationError(
                f"{origin}: column {quoted(header)} is not in {path} (its columns: "
                f"{columns or 'none'}); correct or remove it in the mapping file",
                field="map_file",
            )
        raise ConfigurationError(
            f"{quoted(header)} is not a column of {path} (its columns: {columns or 'none'})",
            field="map",
        )


def table_records(
    rows: Iterable[tuple[int, list[str]]],
    kind: str,
    mapping: Mapping[str, str],
    problems: Problems,
    *,
    ragged: bool = False,
) -> list[Record] | None:
    """Records from the ``(line, cells)`` rows of a table (CSV, XLSX): the
    first row with a value names the columns; rows of blank cells are skipped;
    ``None`` when there is no such row. Cells are text as the file has it,
    a formula's defusing apostrophe (:func:`~outreach.csvcells.restore_formula`)
    taken off.

    *ragged* (a workbook, whose rows end at their last value): a short row is
    padded with empty cells; a value right of the last header is the row's
    error, said in column letters."""
    records: list[Record] = []
    fields: list[str | None] | None = None
    headers: list[str] = []
    labels: dict[str, str] = {}
    width = 0
    for line, row in rows:
        if not any(row):
            continue
        if fields is None:
            headers = [h.strip() for h in row]
            check_mapped_columns(mapping, headers, problems.path)
            fields = resolve_headers(
                headers, kind, mapping, problems, line=line, rejects_column=True
            )
            if problems.lines:
                raise fatal(
                    f"{problems.path}: {len(problems.lines)} column(s) not understood, "
                    "nothing imported",
                    problems.lines,
                )
            width = len(headers)
            labels = {f: h for f, h in zip(fields, headers, strict=True) if f}
            continue
        source: Any = (headers, row)
        if len(row) < width and ragged:
            row = row + [""] * (width - len(row))
        if len(row) != width:
            if len(row) > width and not any(c.strip() for c in row[width:]):
                row = row[:width]
            else:
                error = _width_error(row, width, ragged)
                records.append(Record(kind, line, {}, labels, source, error=error))
                continue
        values = {
            f: (restore_formula(cell) if cell[0] == "'" else cell)
            for f, cell in zip(fields, row, strict=True)
            if cell and f is not None and not cell.isspace()
        }
        if values:  # a row of blank cells is no record
            records.append(Record(kind, line, values, labels, source))
    return records if fields is not None else None


def _width_error(row: list[str], width: int, ragged: bool) -> str:
    if not ragged:
        return f"row has {len(row)} cells but the header has {width}" + (
            " (truncated row?)" if len(row) < width else ""
        )
    from openpyxl.utils import get_column_letter

    column = next(n for n in range(width, len(row)) if row[n].strip())
    return (
        f"a value in column {get_column_letter(column + 1)}, right of the last named "
        f"column ({get_column_letter(width)}): give the column a header, or clear the cell"
    )
