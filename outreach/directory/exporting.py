"""Export organizations and contacts to CSV, JSON and vCard.

Every export can be imported again unchanged: the columns are the importer's
field names, lists are written comma-separated, yes/no for flags, and CSV
cells that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) get a leading apostrophe, which the
importer removes again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from outreach.csvcells import neutralise_formula
from outreach.directory.fields import (
    CONTACT_EXTRA_FIELDS,
    CONTACT_FIELDS,
    ORG_EXTRA_FIELDS,
    ORG_FIELDS,
)
from outreach.directory.i18n import flat_columns, flatten
from outreach.directory.records import contact_record, org_record
from outreach.schema.models import Contact, Organization

FORMATS = ("csv", "json", "vcard")

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
        columns = [*ORG_COLUMNS, *flat_columns("organization", (o.i18n for o in orgs))]
        return _csv(columns, (_flat(org_record(o)) for o in orgs))
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
        columns = [*CONTACT_COLUMNS, *flat_columns("contact", (c.i18n for c in contacts))]
        return _csv(columns, (_flat(_contact_row(c)) for c in contacts))
    if fmt == "json":
        data = [_compact(_contact_row(c)) for c in contacts]
        return json.dumps({"contacts": data}, ensure_ascii=False, indent=2) + "\n"
    if fmt == "vcard":
        return "".join(contact_to_vcard(c) for c in contacts)
    raise ValueError(f"unknown export format {fmt!r}")


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
