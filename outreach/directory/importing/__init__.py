"""Import organizations and contacts from CSV, XLSX, JSON and vCard files.

The rules, in the order they apply:

* **Reading.** CSV has comma, semicolon or tab between cells (detected from
  the header line) and any line endings. Text files (CSV, JSON, vCard) are
  read in the encoding given, else in the one their byte-order mark says
  (UTF-8, UTF-16, UTF-32), else UTF-8, else cp1252 (:mod:`.textfiles`); the
  result's ``notes`` say so when it was not UTF-8. An XLSX workbook's first
  sheet (or the one named) is read with ``openpyxl``: its first row with a
  value names the columns, and problems name the sheet's row numbers
  (:mod:`.xlsx`). JSON is a list of records, or an object with
  ``"organizations"`` and/or ``"contacts"`` lists; an organization may carry
  its own ``"contacts"`` list. vCard 3.0 and 4.0 files are read with
  ``vobject``.
* **Columns.** Headers are matched to fields through known aliases in
  English, Spanish, French and Portuguese, ignoring case and accents
  (``E-mail``, ``Organisation``, ``Correo electrónico``, ``Courriel``,
  ``País``...; see :data:`ORG_ALIASES` and :data:`CONTACT_ALIASES`), a saved
  mapping file (``[columns] "Nombre completo" = "name"``, TOML or YAML:
  :mod:`.mapping`) and ``"Header=field"`` items (``Header=-`` ignores a
  column), which win over the file. An unknown column stops the import:
  nothing is guessed; so does a mapping naming a column the file lacks. A
  last column ``problems`` (or ``error``), as a rejects file has, is ignored.
* **Validation.** Every value is checked as ``outreach orgs/contacts add``
  checks it (e-mail syntax, ISO 639-1 languages, countries, regions, kinds,
  required fields); rows repeating an earlier row of the same file are
  problems too. Every problem is reported, as ``file:line: column: what is
  wrong``.
* **All or nothing.** If any row has a problem nothing is written, unless
  *skip_invalid*: then the good rows are written and the bad ones saved to a
  rejects file, ``NAME.rejects.csv`` beside the file unless named (CSV for
  every format): the file's own columns, then ``problems``. Corrected, it
  imports again as it is.
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

The steps live in their own modules: :mod:`.columns` (aliases, headers,
:class:`Record`, the rows of a table), :mod:`.textfiles` (encodings),
:mod:`.mapping` (``Header=field`` items and mapping files), :mod:`.readers`
(CSV, JSON, vCard, and the format of a file), :mod:`.xlsx` (workbooks),
:mod:`.planner` (check, match, count), :mod:`.apply` (write the plan) and
:mod:`.service` (the entry points). A new file format is a new reader that returns :class:`Record`
objects, and a branch in :func:`~.readers.read_records`.
"""

from outreach.directory.importing.columns import (
    CONTACT_ALIASES,
    IGNORED_COLUMNS,
    ORG_ALIASES,
    REJECTS_COLUMNS,
    Record,
    Records,
)
from outreach.directory.importing.mapping import ColumnMap, load_map_file
from outreach.directory.importing.planner import ImportResult
from outreach.directory.importing.readers import (
    FORMATS,
    MAX_JSON_DEPTH,
    MAX_JSON_DIGITS,
    TEXT_FORMATS,
    detect_format,
    parse_mapping,
    read_csv,
    read_json,
    read_records,
    read_vcard,
)
from outreach.directory.importing.service import (
    ON_MATCH,
    SHIPPED_DIRECTORY,
    ProgressFn,
    default_rejects_path,
    import_file,
    load_shipped_directory,
    write_rejects,
)

__all__ = [
    "CONTACT_ALIASES",
    "FORMATS",
    "IGNORED_COLUMNS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_DIGITS",
    "ON_MATCH",
    "ORG_ALIASES",
    "REJECTS_COLUMNS",
    "SHIPPED_DIRECTORY",
    "TEXT_FORMATS",
    "ColumnMap",
    "ImportResult",
    "ProgressFn",
    "Record",
    "Records",
    "default_rejects_path",
    "detect_format",
    "import_file",
    "load_map_file",
    "load_shipped_directory",
    "parse_mapping",
    "read_csv",
    "read_json",
    "read_records",
    "read_vcard",
    "write_rejects",
]
