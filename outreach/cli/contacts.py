"""``outreach contacts ...``: the people and offices letters are addressed to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from outreach.cli.directory import (
    CONTACT_COLUMNS,
    contact_row,
    i18n_options,
    i18n_values,
    import_options,
    run_edit,
    run_import,
    run_merge,
    run_remove,
    tag_edit_options,
    tag_option,
)
from outreach.cli.options import (
    export_format,
    export_options,
    filter_options,
    force_option,
    given,
    option_group,
    org_argument,
    output_file_option,
    output_options,
    split_values,
    write_export,
    yes_option,
)
from outreach.cli.output import echo, emit, emit_record, safe
from outreach.cli.state import AppState, db_option, pass_state

contact_field_options = option_group(
    click.option("--kind", help="person or office."),
    click.option("--position", help='e.g. "Secretary-General".'),
    click.option("--salutation", help='How the letter opens, e.g. "Your Excellency".'),
    click.option("--email", help="E-mail address."),
    click.option("--phone", help="Telephone number."),
    click.option("--postal-address", help="Postal address (use \\n for new lines)."),
    click.option("--language", help="Preferred language, ISO 639-1 (en, fr, ar...)."),
    click.option(
        "--primary/--not-primary",
        "is_primary",
        default=None,
        help="The organization's main contact.",
    ),
    click.option(
        "--do-not-contact/--may-contact",
        "do_not_contact",
        default=None,
        help="Never make letters for this contact.",
    ),
    click.option("--reason", "do_not_contact_reason", help="Why not to contact."),
    click.option("--notes", help="Free notes."),
    click.option(
        "--honorific",
        help="How the contact is addressed in every language: excellency, honourable, "
        'ambassador, dr, professor, mr, ms ("" clears it).',
    ),
    click.option(
        "--channel",
        "preferred_channel",
        help='The channel letters take: email, post, fax, hand, phone, other ("" clears it).',
    ),
    i18n_options("contact"),
)


def _values(fields: dict[str, Any]) -> dict[str, Any]:
    i18n = i18n_values(fields, "contact")
    values = given(fields)
    if i18n:
        values["i18n"] = i18n
    if "postal_address" in values:
        values["postal_address"] = values["postal_address"].replace("\\n", "\n")
    return values


def _label(contact: Any) -> str:
    return safe(f"#{contact.id} {contact.name} ({contact.organization.acronym})")


@click.group("contacts")
def contacts_group() -> None:
    """Contacts: add, list, show, edit, remove, merge, import, export, forget."""


@contacts_group.command("add")
@db_option
@org_argument("organization", before="name")
@contact_field_options
@tag_option
@pass_state
def contacts_add(
    state: AppState, organization: str, name: str, tags: tuple[str, ...], **fields: Any
) -> None:
    """Add a contact NAME (a person, or an office such as "Office of the
    Secretary-General") at the organization ORGANIZATION (its acronym, also
    accepted as --org)."""
    from outreach.directory import add_contact, get_organization

    values = _values(fields)
    if tags:
        values["tags"] = split_values(tags)
    with state.session(immediate=True) as session:
        org = get_organization(session, organization)
        contact = add_contact(session=session, organization=org, name=name, **values)
        echo(f"Added contact #{contact.id}: {contact.name} ({org.acronym})")


@contacts_group.command("list")
@db_option
@click.option("--org", "organization", help="Only contacts at this organization.")
@filter_options
@output_options
@pass_state
def contacts_list(state: AppState, fmt: str, **filters: Any) -> None:
    """List contacts, filtered by organization, region, kind, tag, language or text."""
    from outreach.directory.contacts import list_contacts

    with state.session() as session:
        rows = [contact_row(c) for c in list_contacts(session=session, **filters)]
    emit(rows, CONTACT_COLUMNS, fmt)


@contacts_group.command("show")
@db_option
@click.argument("contact")
@output_options
@pass_state
def contacts_show(state: AppState, contact: str, fmt: str) -> None:
    """Show a contact, given by e-mail address or id."""
    from outreach.directory import contact_references, get_contact

    with state.session() as session:
        found = get_contact(session, contact)
        record = contact_row(found)
        record.pop("flags")
        record.update(contact_references(session, found))
    if fmt != "json":
        from outreach.directory.i18n import flatten

        record.update(flatten(record.pop("i18n") or {}))
    emit_record(record, fmt)


@contacts_group.command("edit")
@db_option
@click.argument("contact")
@click.option("--org", "organization", help="Move the contact to this organization.")
@click.option("--name", help="New name.")
@contact_field_options
@tag_edit_options("focal-point,2012")
@pass_state
def contacts_edit(
    state: AppState,
    contact: str,
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
    **fields: Any,
) -> None:
    """Change fields of a contact (given by e-mail or id). "" clears a field."""
    from outreach.directory import get_contact, update_contact

    run_edit(
        state,
        contact,
        _values(fields),
        add_tag,
        remove_tag,
        find=get_contact,
        update=update_contact,
        label=lambda found: f"#{found.id} {found.name}",
    )


@contacts_group.command("remove")
@db_option
@click.argument("contact")
@force_option
@yes_option
@pass_state
def contacts_remove(state: AppState, contact: str, force: bool, yes: bool) -> None:
    """Remove a contact (by e-mail or id).

    Refused while letters or responses point at it, unless --force, which
    archives it instead (`contacts list --archived` shows it).
    """
    from outreach.directory import get_contact, remove_contact

    run_remove(
        state,
        contact,
        force,
        yes,
        find=get_contact,
        remove=remove_contact,
        label=lambda found: f"Contact {_label(found)}",
        question=lambda found: f"Remove contact {_label(found)}?",
    )


@contacts_group.command("merge")
@db_option
@click.argument("keep")
@click.argument("duplicate")
@yes_option
@pass_state
def contacts_merge(state: AppState, keep: str, duplicate: str, yes: bool) -> None:
    """Merge the contact DUPLICATE into KEEP (each an e-mail or id): letters,
    responses and activity move to KEEP, which takes any fields it lacks."""
    from outreach.directory import get_contact, merge_contacts

    run_merge(
        state,
        keep,
        duplicate,
        yes,
        find=get_contact,
        merge=merge_contacts,
        label=lambda kept, dup: f"#{dup.id} {dup.name} into #{kept.id} {kept.name}",
    )


@contacts_group.command("import")
@import_options
@pass_state
def contacts_import(state: AppState, file: Path, **options: Any) -> None:
    """Import contacts from FILE (CSV, XLSX, JSON or vCard).

    Each row names its organization by acronym (column "organization", also
    "Organisation" or "org"). An organization not yet in the directory is an
    error, unless the row also has an "organization_name" column: then it is
    created. Contacts match existing ones on e-mail (any case) or on
    organization plus name; empty cells never erase stored values. Any bad row
    stops the whole import, unless --skip-invalid.

    Headers may be English, Spanish, French or Portuguese ("Correo
    electrónico", "Courriel"; case and accents do not matter). A workbook's
    first sheet is read, a text file's encoding detected (see --encoding).
    """
    run_import(state, "contact", file, **options)


@contacts_group.command("export")
@export_options
@click.option("--org", "organization", help="Only contacts at this organization.")
@filter_options
@pass_state
def contacts_export(state: AppState, fmt: str | None, output: Path | None, **filters: Any) -> None:
    """Export contacts to CSV, XLSX, JSON or vCard. Importing the file again
    changes nothing."""
    from outreach.directory.contacts import list_contacts
    from outreach.directory.exporting import export_data

    fmt = export_format(fmt, output)
    with state.session() as session:
        contacts = [c for c in list_contacts(session=session, **filters) if c.forgotten_at is None]
        text = export_data(contacts, "contacts", fmt)
    write_export(text, output, f"{len(contacts)} contact(s)")


@contacts_group.command("forget")
@db_option
@click.argument("contact")
@yes_option
@pass_state
def contacts_forget(state: AppState, contact: str, yes: bool) -> None:
    """Erase a person's personal data (by e-mail or id), keeping anonymous
    counts of the letters and responses."""
    from outreach.directory import forget_contact, get_contact

    with state.session(immediate=True) as session:
        found = get_contact(session, contact)
        if not yes:
            click.confirm(
                f"Erase the personal data of {safe(found.name)} "
                f"({safe(found.organization.acronym)})? "
                "This cannot be undone.",
                abort=True,
                err=True,
            )
        contact_id = found.id
        touched = forget_contact(found, session=session)
    click.echo(
        f"Contact #{contact_id} forgotten; its {touched['letters']} letter(s) and "
        f"{touched['responses']} response(s) are kept without personal data."
    )


@contacts_group.command("export-person")
@db_option
@click.argument("contact")
@output_file_option
@pass_state
def contacts_export_person(state: AppState, contact: str, output: Path | None) -> None:
    """Everything held about one person (by e-mail or id), as JSON."""
    from outreach.directory import export_person, get_contact

    with state.session() as session:
        data = export_person(get_contact(session, contact), session=session)
    write_export(json.dumps(data, ensure_ascii=False, indent=2) + "\n", output, "the record")
