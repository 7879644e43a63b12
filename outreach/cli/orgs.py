"""``outreach orgs ...``: the organizations in the directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from outreach.cli.directory import (
    CONTACT_COLUMNS,
    ORG_COLUMNS,
    contact_row,
    i18n_options,
    i18n_values,
    import_options,
    org_row,
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
    output_options,
    split_values,
    write_export,
    yes_option,
)
from outreach.cli.output import echo, emit, emit_record, safe
from outreach.cli.state import AppState, db_option, pass_state

org_field_options = option_group(
    click.option(
        "--kind",
        help="regional, sub-regional, un-body, member-state, civil-society, other.",
    ),
    click.option("--region", help="africa, americas, asia-pacific, europe, mena, global."),
    click.option("--hq-city", help="City of the headquarters."),
    click.option("--hq-country", help="Country of the headquarters (name or ISO code)."),
    click.option(
        "--languages",
        help='Working languages in the organization\'s order, e.g. "en,fr,ar,pt".',
    ),
    click.option("--website", help="Web address."),
    click.option("--notes", help="Free notes."),
    click.option(
        "--parent",
        help='The organization this one is an organ of (its acronym, e.g. "OAS"); "" clears it.',
    ),
    i18n_options("organization"),
)


@click.group("orgs")
def orgs_group() -> None:
    """Organizations: add, list, show, edit, remove, merge, import, export."""


@orgs_group.command("add")
@db_option
@click.argument("acronym")
@click.argument("name")
@org_field_options
@tag_option
@pass_state
def orgs_add(
    state: AppState, acronym: str, name: str, tags: tuple[str, ...], **fields: Any
) -> None:
    """Add an organization called NAME with the short name ACRONYM."""
    from outreach.directory.organizations import add_organization

    i18n = i18n_values(fields, "organization")
    values = given(fields)
    if i18n:
        values["i18n"] = i18n
    if tags:
        values["tags"] = split_values(tags)
    with state.session(immediate=True) as session:
        org = add_organization(session=session, acronym=acronym, name=name, **values)
        echo(f"Added {org.acronym}: {org.name}")


@orgs_group.command("list")
@db_option
@filter_options
@click.option("--parent", help="Only the organs of this organization (its acronym).")
@output_options
@pass_state
def orgs_list(state: AppState, fmt: str, **filters: Any) -> None:
    """List organizations, filtered by region, kind, tag, language, parent or text."""
    from outreach.directory.organizations import contact_counts, list_organizations

    with state.session() as session:
        orgs = list_organizations(session=session, **filters)
        counts = contact_counts(session)
        rows = [org_row(o, counts) for o in orgs]
    emit(rows, ORG_COLUMNS, fmt)


@orgs_group.command("show")
@db_option
@org_argument()
@output_options
@pass_state
def orgs_show(state: AppState, acronym: str, fmt: str) -> None:
    """Show an organization, its contacts and its history of letters and responses."""
    from outreach.directory import get_organization, organization_history
    from outreach.directory.i18n import organization_names
    from outreach.directory.organizations import organs_of

    with state.session() as session:
        org = get_organization(session, acronym)
        record = org_row(org)
        record.pop("hq")
        record["organs"] = [o.acronym for o in organs_of(session, org)]
        names = organization_names({"name": org.name, "acronym": org.acronym}, org.i18n)
        names_rows = [{"language": lang, **texts} for lang, texts in names.items()]
        contacts = [contact_row(c) for c in org.contacts if c.forgotten_at is None]
        history = organization_history(org, session=session)
    history_columns = ["when", "campaign", "what", "who", "channel", "status", "summary"]
    if fmt == "json":
        emit_record(
            {**record, "i18n": dict(org.i18n or {}), "contacts": contacts, "history": history},
            fmt,
        )
        return
    emit_record(record, fmt)
    click.echo()
    if fmt == "table":
        click.echo("Names by language:")
    emit(names_rows, ["language", "name", "acronym", "definite"], fmt)
    click.echo()
    if fmt == "table":
        click.echo("Contacts:")
    emit(contacts, [c for c in CONTACT_COLUMNS if c != "organization"], fmt)
    if history:
        click.echo()
        if fmt == "table":
            click.echo("History (newest first):")
        emit(history, history_columns, fmt)


@orgs_group.command("edit")
@db_option
@org_argument()
@click.option("--acronym", "new_acronym", help="New acronym.")
@click.option("--name", help="New full name.")
@org_field_options
@tag_edit_options("partner,2012")
@pass_state
def orgs_edit(
    state: AppState,
    acronym: str,
    new_acronym: str | None,
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
    **fields: Any,
) -> None:
    """Change fields of an organization. An empty value ("") clears a field."""
    from outreach.directory import get_organization, update_organization

    i18n = i18n_values(fields, "organization")
    values = given(fields)
    if i18n:
        values["i18n"] = i18n
    if new_acronym is not None:
        values["acronym"] = new_acronym
    run_edit(
        state,
        acronym,
        values,
        add_tag,
        remove_tag,
        find=get_organization,
        update=update_organization,
        label=lambda org: org.acronym,
    )


@orgs_group.command("remove")
@db_option
@org_argument()
@force_option
@yes_option
@pass_state
def orgs_remove(state: AppState, acronym: str, force: bool, yes: bool) -> None:
    """Remove an organization and its contacts.

    Refused while letters or responses point at it, or while it is a
    campaign's recipient, unless --force, which archives it instead (hidden
    from lists; `orgs list --archived` shows it).
    """
    from outreach.directory import get_organization, remove_organization

    run_remove(
        state,
        acronym,
        force,
        yes,
        find=get_organization,
        remove=remove_organization,
        label=lambda org: safe(org.acronym),
        question=lambda org: (
            f"Remove {safe(org.acronym)} ({safe(org.name)}) and its "
            f"{len(org.contacts)} contact(s)?"
        ),
    )


@orgs_group.command("merge")
@db_option
@click.argument("keep")
@click.argument("duplicate")
@yes_option
@pass_state
def orgs_merge(state: AppState, keep: str, duplicate: str, yes: bool) -> None:
    """Merge the organization DUPLICATE into KEEP.

    Its contacts, letters, responses and activity move to KEEP; fields KEEP
    lacks are taken from DUPLICATE, which is then deleted.
    """
    from outreach.directory import get_organization, merge_organizations

    run_merge(
        state,
        keep,
        duplicate,
        yes,
        find=get_organization,
        merge=merge_organizations,
        label=lambda kept, dup: f"{dup.acronym} into {kept.acronym}",
    )


@orgs_group.command("import")
@import_options
@pass_state
def orgs_import(state: AppState, file: Path, **options: Any) -> None:
    """Import organizations from FILE (CSV, XLSX, JSON, vCard).

    A JSON file may give each organization its own "contacts" list (as
    `orgs export --format json` and the shipped contacts/directory.json do).
    Organizations match existing ones on acronym (any case) or exact name.
    Any bad row stops the whole import, unless --skip-invalid.

    Headers may be English, Spanish, French or Portuguese ("Sigla", "Nom
    complet", "País"; case and accents do not matter). A workbook's
    first sheet is read, a text file's encoding detected (see --encoding).
    """
    run_import(state, "organization", file, **options)


@orgs_group.command("export")
@export_options
@filter_options
@pass_state
def orgs_export(state: AppState, fmt: str | None, output: Path | None, **filters: Any) -> None:
    """Export organizations: CSV or XLSX (one row each), JSON (with contacts)
    or vCard (their contacts). Importing the file again changes nothing."""
    from outreach.directory.exporting import export_data
    from outreach.directory.organizations import list_organizations

    fmt = export_format(fmt, output)
    with state.session() as session:
        orgs = list_organizations(session=session, load_contacts=True, **filters)
        text = export_data(orgs, "organizations", fmt)
    write_export(text, output, f"{len(orgs)} organization(s)")
