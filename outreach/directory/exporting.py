"""Export organizations and contacts to CSV, XLSX, JSON and vCard.

Every export can be imported again unchanged: the columns are the importer's
field names, lists are written comma-separated, yes/no for flags. Cells that
a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return: :func:`outreach.csvcells.starts_formula`) are
defused: in CSV with a leading apostrophe, which the importer removes again;
in XLSX by writing every cell as text (never a formula) marked "quote
prefix". An XLSX export has the CSV's columns on one sheet, the header row in
bold and frozen, and columns as wide as their text (up to
:data:`XLSX_MAX_WIDTH`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from outreach.csvcells import neutralise_formula, starts_formula
from outreach.directory.fields import (
    CONTACT_EXTRA_FIELDS,
    CONTACT_FIELDS,
    ORG_EXTRA_FIELDS,
    ORG_FIELDS,
)
from outreach.directory.i18n import flat_columns, flatten
from outreach.directory.records import contact_record, org_record
from outreach.errors import ValidationError
from outreach.schema.models import Contact, Organization

FORMATS = ("csv", "json", "vcard", "xlsx")
#: The widest an XLSX column is made, in characters.
XLSX_MAX_WIDTH = 60
#: The most characters an Excel cell holds.
XLSX_MAX_CELL = 32_767

#: Contact CSV columns: the contact fields plus the organization's full name,
#: so that an import into an empty database can create the organization.
CONTACT_COLUMNS = (
    *CONTACT_FIELDS[:1],
    "organization_name",
    *CONTACT_FIELDS[1:],
    *CONTACT_EXTRA_FIELDS[:-1],
)
#: Organization CSV columns; the text per language follows as ``name_fr``, ``acronym_fr``, ...
ORG_COLUMNS = (*ORG_FIELDS, *ORG_EXTRA_FIELDS[:-1])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise_formula(_cell(row.get(c))) for c in columns])
    return buf.getvalue()


def _xlsx(columns: Sequence[str], rows: Iterable[dict[str, Any]], title: str) -> bytes:
    """One sheet named *title*: a bold, frozen header, then every cell as text."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    table = []
    for row in rows:
        cells = [_cell(row.get(c)) for c in columns]
        for col, text in zip(columns, cells, strict=True):
            problem = _xlsx_problem(text)
            if problem is not None:
                who = row.get("acronym") or row.get("email") or row.get("name")
                raise ValidationError(
                    f"{safe_name(who)}: {col}: {problem}; export as CSV or JSON instead"
                )
        table.append(cells)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    for n, col in enumerate(columns):
        width = max([_width(col), *(_width(cells[n]) for cells in table)])
        ws.column_dimensions[get_column_letter(n + 1)].width = min(width + 2, XLSX_MAX_WIDTH)
    bold = Font(bold=True)

    def text_cell(text: str, font: Font | None = None) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"  # text, even "=cmd|...": openpyxl makes "=..." a formula
        if starts_formula(text):
            cell.quotePrefix = True  # and the spreadsheet keeps it text when edited
        if font is not None:
            cell.font = font
        return cell

    ws.append([text_cell(col, bold) for col in columns])
    for cells in table:
        ws.append([text_cell(text) if text else None for text in cells])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def safe_name(value: Any) -> str:
    return ascii(str(value))[1:-1] if value is not None else "a record"


def _width(text: str) -> int:
    """How many columns the longest line of *text* takes (wide characters two)."""
    return max(
        (
            sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
            for line in text.split("\n")
        ),
        default=0,
    )


#: What an XLSX cell cannot hold: XML 1.0 leaves these out.
_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xlsx_problem(text: str) -> str | None:
    if len(text) > XLSX_MAX_CELL:
        return f"{len(text):,} characters, more than a spreadsheet cell holds ({XLSX_MAX_CELL:,})"
    found = _XLSX_ILLEGAL.search(text)
    if found is not None:
        return f"holds the control character {found.group()!a}, which XLSX cannot store"
    return None


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v not in (None, [], "", {})}


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """A record for CSV: its ``i18n`` dict as flat columns (``name_fr``, ...)."""
    return {**record, **flatten(record.pop("i18n", None) or {})}


def _contact_row(contact: Contact) -> dict[str, Any]:
    record = contact_record(contact)
    record["organization_name"] = contact.organization.name
    return record


def organizations_to_text(
    orgs: Sequence[Organization], fmt: str, *, with_contacts: bool = True
) -> str:
    """Organizations as CSV (one row each), JSON (with their contacts) or vCard
    (their contacts)."""
    if fmt == "csv":
        return _csv(*_org_table(orgs))
    if fmt == "json":
        data = []
        for org in orgs:
            record = _compact(org_record(org))
            if with_contacts:
                contacts = [
                    _compact({k: v for k, v in contact_record(c).items() if k != "organization"})
                    for c in org.contacts
                    if c.forgotten_at is None and c.archived_at is None
                ]
                if contacts:
                    record["contacts"] = contacts
            data.append(record)
        return json.dumps({"organizations": data}, ensure_ascii=False, indent=2) + "\n"
    if fmt == "vcard":
        contacts = [
            c for o in orgs for c in o.contacts if c.forgotten_at is None and c.archived_at is None
        ]
        return contacts_to_text(contacts, "vcard")
    raise ValueError(f"unknown export format {fmt!r}")


def contacts_to_text(contacts: Sequence[Contact], fmt: str) -> str:
    """Contacts as CSV, JSON or vCard 3.0."""
    if fmt == "csv":
        return _csv(*_contact_table(contacts))
    if fmt == "json":
        data = [_compact(_contact_row(c)) for c in contacts]
        return json.dumps({"contacts": data}, ensure_ascii=False, indent=2) + "\n"
    if fmt == "vcard":
        return "".join(contact_to_vcard(c) for c in contacts)
    raise ValueError(f"unknown export format {fmt!r}")


def _org_table(orgs: Sequence[Organization]) -> tuple[list[str], list[dict[str, Any]]]:
    columns = [*ORG_COLUMNS, *flat_columns("organization", (o.i18n for o in orgs))]
    return columns, [_flat(org_record(o)) for o in orgs]


def _contact_table(contacts: Sequence[Contact]) -> tuple[list[str], list[dict[str, Any]]]:
    columns = [*CONTACT_COLUMNS, *flat_columns("contact", (c.i18n for c in contacts))]
    return columns, [_flat(_contact_row(c)) for c in contacts]


def organizations_to_xlsx(orgs: Sequence[Organization]) -> bytes:
    """Organizations as an XLSX workbook: the CSV export's columns, one sheet."""
    return _xlsx(*_org_table(orgs), "Organizations")


def contacts_to_xlsx(contacts: Sequence[Contact]) -> bytes:
    """Contacts as an XLSX workbook: the CSV export's columns, one sheet."""
    return _xlsx(*_contact_table(contacts), "Contacts")


def export_data(records: Sequence[Any], what: str, fmt: str) -> str | bytes:
    """*records* (organizations when *what* is ``"organizations"``, else
    contacts) in *fmt*: text, or bytes for ``"xlsx"``."""
    if what == "organizations":
        return (
            organizations_to_xlsx(records) if fmt == "xlsx" else organizations_to_text(records, fmt)
        )
    return contacts_to_xlsx(records) if fmt == "xlsx" else contacts_to_text(records, fmt)


def contact_to_vcard(contact: Contact) -> str:
    """One contact as a vCard 3.0 card (outreach's own fields as X-OUTREACH-*)."""
    import vobject

    card = vobject.vCard()
    card.add("fn").value = contact.name
    n = card.add("n")
    if contact.kind.value == "person":
        parts = contact.name.rsplit(" ", 1)
        n.value = vobject.vcard.Name(family=parts[-1], given=parts[0] if len(parts) > 1 else "")
    else:
        n.value = vobject.vcard.Name(family=contact.name)
    org = contact.organization
    card.add("org").value = [org.name]
    card.add("x-outreach-organization").value = org.acronym
    card.add("x-outreach-kind").value = contact.kind.value
    if contact.position:
        card.add("title").value = contact.position
    if contact.salutation:
        card.add("x-outreach-salutation").value = contact.salutation
    if contact.honorific:
        card.add("x-outreach-honorific").value = contact.honorific
    if contact.email:
        email = card.add("email")
        email.value = contact.email
        email.type_param = "INTERNET"
    if contact.phone:
        card.add("tel").value = contact.phone
    if contact.postal_address:
        card.add("adr").value = vobject.vcard.Address(street=contact.postal_address)
    if contact.language:
        card.add("x-outreach-language").value = contact.language
    if contact.is_primary:
        card.add("x-outreach-primary").value = "yes"
    if contact.do_not_contact:
        card.add("x-outreach-do-not-contact").value = "yes"
        if contact.do_not_contact_reason:
            card.add("x-outreach-do-not-contact-reason").value = contact.do_not_contact_reason
    if contact.tags:
        card.add("categories").value = list(contact.tags)
    if contact.notes:
        card.add("note").value = contact.notes
    return card.serialize()
