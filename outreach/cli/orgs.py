"""``outreach orgs ...``: the organizations in the directory.

The import and export commands here are shared with ``outreach contacts``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from outreach.cli.output import echo, emit, emit_record, output_options, safe
from outreach.cli.state import AppState, db_option, pass_state

ORG_COLUMNS = ["acronym", "name", "kind", "region", "hq", "languages", "contacts"]


def org_row(org: Any, counts: dict[int, int] | None = None) -> dict[str, Any]:
    hq = ", ".join(p for p in (org.hq_city, org.hq_country) if p)
    return {
        "id": org.id,
        "acronym": org.acronym,
        "name": org.name,
        "kind": org.kind,
        "region": org.region,
        "hq": hq,
        "hq_city": org.hq_city,
        "hq_country": org.hq_country,
        "languages": list(org.languages or []),
        "website": org.website,
        "tags": list(org.tags or []),
        "notes": org.notes,
        "contacts": (
            counts.get(org.id, 0)
            if counts is not None
            else sum(1 for c in org.contacts if c.archived_at is None and c.forgotten_at is None)
        ),
        "archived_at": org.archived_at,
    }


def _split(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.replace(";", ",").split(",") if v.strip())
    return out


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--region --kind --tag --language --search --archived`` for lists and exports."""
    for option in reversed(
        [
            click.option("--region", help="africa, americas, asia-pacific, europe, mena, global."),
            click.option("--kind", help="Kind of organization (or of contact, for contacts)."),
            click.option("--tag", help="Only records with this tag."),
            click.option("--language", help="Only records working in this language (ISO 639-1)."),
            click.option(
                "--search",
                "-s",
                help="Text to look for in names, acronyms, positions and e-mail addresses.",
            ),
            click.option("--archived", is_flag=True, help="Include archived records."),
        ]
    ):
        fn = option(fn)
    return fn


def org_field_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
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
        ]
    ):
        fn = option(fn)
    return fn


@click.group("orgs")
def orgs_group() -> None:
    """Organizations: add, list, show, edit, remove, merge, import, export."""


@orgs_group.command("add")
@db_option
@click.argument("acronym")
@click.argument("name")
@org_field_options
@click.option("--tag", "tags", multiple=True, help="A tag (repeat for several).")
@pass_state
def orgs_add(
    state: AppState, acronym: str, name: str, tags: tuple[str, ...], **fields: Any
) -> None:
    """Add an organization called NAME with the short name ACRONYM."""
    from outreach.directory import add_organization

    values = {k: v for k, v in fields.items() if v is not None}
    if tags:
        values["tags"] = _split(tags)
    with state.session(immediate=True) as session:
        org = add_organization(session=session, acronym=acronym, name=name, **values)
        echo(f"Added {org.acronym}: {org.name}")


@orgs_group.command("list")
@db_option
@filter_options
@output_options
@pass_state
def orgs_list(state: AppState, fmt: str, **filters: Any) -> None:
    """List organizations, filtered by region, kind, tag, language or text."""
    from outreach.directory import contact_counts, list_organizations

    with state.session() as session:
        orgs = list_organizations(session=session, **filters)
        counts = contact_counts(session)
        rows = [org_row(o, counts) for o in orgs]
    emit(rows, ORG_COLUMNS, fmt)


@orgs_group.command("show")
@db_option
@click.argument("acronym")
@output_options
@pass_state
def orgs_show(state: AppState, acronym: str, fmt: str) -> None:
    """Show an organization, its contacts and its history of letters and responses."""
    from outreach.cli.contacts import CONTACT_COLUMNS, contact_row
    from outreach.directory import get_organization, organization_history

    with state.session() as session:
        org = get_organization(session, acronym)
        record = org_row(org)
        record.pop("hq")
        contacts = [contact_row(c) for c in org.contacts if c.forgotten_at is None]
        history = organization_history(org, session=session)
    history_columns = ["when", "campaign", "what", "who", "channel", "status", "summary"]
    if fmt == "json":
        emit_record({**record, "contacts": contacts, "history": history}, fmt)
        return
    emit_record(record, fmt)
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
@click.argument("acronym")
@click.option("--acronym", "new_acronym", help="New acronym.")
@click.option("--name", help="New full name.")
@org_field_options
@click.option("--tags", help='Replace the tags, e.g. "partner,2012".')
@click.option("--add-tag", multiple=True, help="Add a tag (repeatable).")
@click.option("--remove-tag", multiple=True, help="Remove a tag (repeatable).")
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

    values = {k: v for k, v in fields.items() if v is not None}
    if new_acronym is not None:
        values["acronym"] = new_acronym
    with state.session(immediate=True) as session:
        org = get_organization(session, acronym)
        if add_tag or remove_tag:
            tags = _split((values["tags"],)) if "tags" in values else list(org.tags or [])
            tags += [t for t in _split(add_tag) if t not in tags]
            drop = {t.casefold() for t in _split(remove_tag)}
            values["tags"] = [t for t in tags if t.casefold() not in drop]
        if not values:
            raise click.UsageError("nothing to change: give at least one option")
        changes = update_organization(org, session=session, **values)
        _report_changes(org.acronym, changes)


def _report_changes(label: str, changes: dict[str, list[Any]]) -> None:
    from outreach.cli.output import to_text

    if not changes:
        echo(f"{label}: nothing changed.")
        return
    for field, (before, after) in changes.items():
        echo(f"{label}: {field}: {to_text(before) or '-'} -> {to_text(after) or '-'}")


@orgs_group.command("remove")
@db_option
@click.argument("acronym")
@click.option("--force", is_flag=True, help="Archive it if letters or responses point at it.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def orgs_remove(state: AppState, acronym: str, force: bool, yes: bool) -> None:
    """Remove an organization and its contacts.

    Refused while letters or responses point at it, or while it is a
    campaign's recipient, unless --force, which archives it instead (hidden
    from lists; `orgs list --archived` shows it).
    """
    from outreach.directory import get_organization, remove_organization

    with state.session(immediate=True) as session:
        org = get_organization(session, acronym)
        if not yes:
            click.confirm(
                f"Remove {safe(org.acronym)} ({safe(org.name)}) and its "
                f"{len(org.contacts)} contact(s)?",
                abort=True,
                err=True,
            )
        label = org.acronym
        outcome = remove_organization(org, session=session, force=force)
    echo(f"{label}: {outcome}.")


@orgs_group.command("merge")
@db_option
@click.argument("keep")
@click.argument("duplicate")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def orgs_merge(state: AppState, keep: str, duplicate: str, yes: bool) -> None:
    """Merge the organization DUPLICATE into KEEP.

    Its contacts, letters, responses and activity move to KEEP; fields KEEP
    lacks are taken from DUPLICATE, which is then deleted.
    """
    from outreach.directory import get_organization, merge_organizations

    with state.session(immediate=True) as session:
        kept = get_organization(session, keep)
        dup = get_organization(session, duplicate)
        label = safe(f"{dup.acronym} into {kept.acronym}")
        if not yes:
            click.confirm(f"Merge {label}?", abort=True, err=True)
        moved = merge_organizations(kept, dup, session=session)
    click.echo(f"Merged {label}: " + ", ".join(f"{n} {k} moved" for k, n in moved.items()))


# --- import and export, shared with `outreach contacts` ----------------------------


def import_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
            db_option,
            click.option(
                "--from",
                "fmt",
                type=click.Choice(["csv", "json", "vcard"]),
                help="File format  [default: from the file name]",
            ),
            click.option(
                "--map",
                "mapping",
                multiple=True,
                metavar="HEADER=FIELD",
                help='Read column HEADER as FIELD ("HEADER=-" ignores it). Repeatable.',
            ),
            click.option(
                "--on-match",
                type=click.Choice(["update", "skip", "error"]),
                default="update",
                show_default=True,
                help="What to do with a row that matches an existing record.",
            ),
            click.option("--dry-run", is_flag=True, help="Show what would change; write nothing."),
            click.option(
                "--skip-invalid",
                is_flag=True,
                help="Import the good rows and save the bad ones to a rejects file.",
            ),
            click.option(
                "--rejects",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Where --skip-invalid saves bad rows  [default: FILE.rejects.csv]",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def run_import(state: AppState, kind: str, file: Path, **options: Any) -> None:
    """Run an import and print its outcome (used by both groups and by init)."""
    from outreach.importing import import_file, parse_mapping

    mapping = parse_mapping(options.pop("mapping", ()) or ())
    rejects = options.pop("rejects", None)
    dry_run = options.get("dry_run", False)
    with contextlib.ExitStack() as stack:
        progress = None
        if sys.stderr.isatty():
            bars: list[Any] = []

            def progress(done: int, total: int) -> None:
                if not bars:
                    bars.append(
                        stack.enter_context(
                            click.progressbar(length=total, label="Checking", file=sys.stderr)
                        )
                    )
                bar = bars[0]
                bar.update(done - bar.pos)

        with state.session(immediate=not dry_run) as session:
            result = import_file(
                file,
                session=session,
                kind=kind,
                mapping=mapping,
                rejects_path=rejects,
                display=str(file),
                progress=progress,
                **options,
            )
    print_import_result(result)


def print_import_result(result: Any) -> None:
    for line in result.problems:
        echo(line, err=True)
    if result.dry_run:
        for action, kind, description in result.actions:
            echo(f"{action:<9} {kind:<12} {description}")
    if len(result.by_kind) > 1:
        for kind, counts in result.by_kind.items():
            parts = ", ".join(f"{n} {a}" for a, n in counts.items())
            click.echo(f"  {kind}s: {parts}")
    prefix = "Dry run of" if result.dry_run else "Imported"
    echo(f"{prefix} {result.path}: {result.summary()}.")
    if result.rejects_path:
        echo(f"Rejected rows saved to {result.rejects_path}.", err=True)
    if result.dry_run:
        click.echo("Nothing was written (dry run).")


def export_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            db_option,
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["csv", "json", "vcard"]),
                help="File format  [default: from --output's name, else csv]",
            ),
            click.option(
                "--output",
                "-o",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write to this file instead of standard output.",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def export_format(fmt: str | None, output: Path | None) -> str:
    if fmt:
        return fmt
    if output is not None:
        suffix = output.suffix.lower()
        if suffix == ".json":
            return "json"
        if suffix in (".vcf", ".vcard"):
            return "vcard"
    return "csv"


def write_export(text: str, output: Path | None, what: str) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from outreach.files import write_file

    try:
        write_file(output, text)
    except OSError as exc:
        from outreach.errors import ValidationError

        raise ValidationError(
            f"{output}: cannot write it ({exc.strerror or exc}); choose another file with -o"
        ) from None
    echo(f"Exported {what} to {output}.", err=True)


@orgs_group.command("import")
@import_options
@pass_state
def orgs_import(state: AppState, file: Path, **options: Any) -> None:
    """Import organizations from FILE (CSV, JSON, vCard).

    A JSON file may give each organization its own "contacts" list (as
    `orgs export --format json` and the shipped contacts/directory.json do).
    Organizations match existing ones on acronym (any case) or exact name.
    Any bad row stops the whole import, unless --skip-invalid.
    """
    run_import(state, "organization", file, **options)


@orgs_group.command("export")
@export_options
@filter_options
@pass_state
def orgs_export(state: AppState, fmt: str | None, output: Path | None, **filters: Any) -> None:
    """Export organizations: CSV (one row each), JSON (with contacts) or vCard
    (their contacts). Importing the file again changes nothing."""
    from outreach.directory import list_organizations
    from outreach.exporting import organizations_to_text

    fmt = export_format(fmt, output)
    with state.session() as session:
        orgs = list_organizations(session=session, load_contacts=True, **filters)
        text = organizations_to_text(orgs, fmt)
    write_export(text, output, f"{len(orgs)} organization(s)")
