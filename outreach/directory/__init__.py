"""The directory: organizations and the contacts letters are addressed to.

Service functions take ``session`` as a keyword argument, ``flush()`` when
they need ids and never commit: the caller owns the transaction. Every change
records an activity row (edits with ``[before, after]`` for each field).

    with db.session() as session:
        au = add_organization(session=session, acronym="AU", name="African Union",
                              kind="regional", region="africa", languages="en,fr,ar,pt")
        add_contact(session=session, organization=au, kind="office",
                    name="Office of the Chairperson of the Commission")

The rooms:

- :mod:`.fields`: field names and the parsers of one value (text, yes/no,
  lists, tags, web and e-mail addresses, kinds);
- :mod:`.codes`: languages, countries and regions;
- :mod:`.cleaning`: :func:`clean_organization` and :func:`clean_contact`,
  which the importer uses too, so a value accepted on the command line is
  accepted in a file and stored the same way;
- :mod:`.lookup`: an organization by its acronym through Core, without the ORM;
- :mod:`.records`: the one lookup of an organization or a contact, their plain
  records, and the one-primary-contact rule;
- :mod:`.organizations`, :mod:`.contacts`: add, edit, list, remove, merge;
- :mod:`.privacy`: forget a person, export what is held about them;
- :mod:`.history`: an organization's timeline and notes;
- :mod:`.exporting` and :mod:`.importing`: files out and in.

The names below are re-exported lazily (PEP 562), so that importing one room
(say :mod:`.codes`) does not load the ORM.
"""

from __future__ import annotations

from outreach.lazy import lazy_exports

_EXPORTS = {
    "ORG_FIELDS": "fields",
    "ORG_REQUIRED": "fields",
    "CONTACT_FIELDS": "fields",
    "CONTACT_REQUIRED": "fields",
    "LIST_FIELDS": "fields",
    "BOOL_FIELDS": "fields",
    "FieldError": "fields",
    "parse_bool": "fields",
    "parse_tags": "fields",
    "parse_website": "fields",
    "parse_email": "fields",
    "ISO_639_1": "codes",
    "parse_region": "codes",
    "parse_language": "codes",
    "parse_languages": "codes",
    "parse_country": "codes",
    "clean_organization": "cleaning",
    "clean_contact": "cleaning",
    "find_organization": "records",
    "get_organization": "records",
    "find_contact": "records",
    "get_contact": "records",
    "org_record": "records",
    "contact_record": "records",
    "only_primary": "records",
    "one_primary_each": "records",
    "primary_demotions": "records",
    "add_organization": "organizations",
    "update_organization": "organizations",
    "list_organizations": "organizations",
    "contact_counts": "organizations",
    "org_references": "organizations",
    "remove_organization": "organizations",
    "merge_organizations": "organizations",
    "add_contact": "contacts",
    "update_contact": "contacts",
    "list_contacts": "contacts",
    "contact_references": "contacts",
    "remove_contact": "contacts",
    "merge_contacts": "contacts",
    "FORGOTTEN_NAME": "privacy",
    "forget_contact": "privacy",
    "export_person": "privacy",
    "TimelineEntry": "history",
    "NOTE_ACTIONS": "history",
    "org_timeline": "history",
    "add_note": "history",
    "organization_history": "history",
    "organizations_to_text": "exporting",
    "contacts_to_text": "exporting",
    "organizations_to_xlsx": "exporting",
    "contacts_to_xlsx": "exporting",
    "export_data": "exporting",
    "contact_to_vcard": "exporting",
    "import_file": "importing",
    "load_shipped_directory": "importing",
    "ImportResult": "importing",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
