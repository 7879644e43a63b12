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

The steps live in their own modules: :mod:`.columns` (aliases, headers,
:class:`Record`), :mod:`.readers` (CSV, JSON, vCard), :mod:`.planner` (check,
match, count), :mod:`.apply` (write the plan) and :mod:`.service` (the entry
points). A new file format is a new reader that returns :class:`Record`
objects, and a branch in :func:`~.readers.read_records`.
"""

from outreach.directory.importing.columns import (
    CONTACT_ALIASES,
    IGNORED_COLUMNS,
    ORG_ALIASES,
    Record,
)
from outreach.directory.importing.planner import ImportResult
from outreach.directory.importing.readers import (
    FORMATS,
    MAX_JSON_DEPTH,
    MAX_JSON_DIGITS,
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
    "SHIPPED_DIRECTORY",
    "ImportResult",
    "ProgressFn",
    "Record",
    "detect_format",
    "import_file",
    "load_shipped_directory",
    "parse_mapping",
    "read_csv",
    "read_json",
    "read_records",
    "read_vcard",
    "write_rejects",
]
