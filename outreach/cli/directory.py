"""What ``outreach orgs``, ``outreach contacts`` and ``outreach init`` share:
the rows they print, the tag options, and how they edit, remove, merge and
import records.

Both groups import this module and not each other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from outreach.cli.options import edited_values, option_group, renamed, report_changes
from outreach.cli.output import echo, emit_record, safe
from outreach.cli.progress import progress_bar
from outreach.cli.state import AppState, db_option

ORG_COLUMNS = ["acronym", "name", "kind", "region", "hq", "languages", "parent", "contacts"]
CONTACT_COLUMNS = ["id", "organization", "name", "position", "email", "language", "flags"]


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
        "parent": org.parent.acronym if org.parent is not None else None,
        "contacts": (
            counts.get(org.id, 0)
            if counts is not None
            else sum(1 for c in org.contacts if c.archived_at is None and c.forgotten_at is None)
        ),
        "archived_at": org.archived_at,
    }


def contact_row(contact: Any) -> dict[str, Any]:
    # Imported here, like the services in the commands: this module is loaded
    # by the groups' start-up, the ORM only when a command reads records.
    from outreach.directory.records import contact_record

    flags = []
    if contact.is_primary:
        flags.append("primary")
    if contact.do_not_contact:
        flags.append("do-not-contact")
    if contact.archived_at is not None:
        flags.append("archived")
    if contact.forgotten_at is not None:
        flags.append("forgotten")
    return {
        "id": contact.id,
        **contact_record(contact),
        "flags": " ".join(flags),
        "archived_at": contact.archived_at,
        "forgotten_at": contact.forgotten_at,
    }


#: ``--tag`` (repeatable), for ``add``.
tag_option = click.option("--tag", "tags", multiple=True, help="A tag (repeat for several).")


def tag_edit_options(example: str) -> Callable[[Any], Any]:
    """``--tag`` (repeatable: the whole list, replacing the tags; *example*
    shown in its help), ``--add-tag`` and ``--remove-tag``, for ``edit``."""
    first, _, second = example.partition(",")
    return option_group(
        click.option(
            "--tag",
            "tags",
            multiple=True,
            help=f"The tags, replacing them all: --tag {first} --tag {second}; "
            '--tag "" clears them.',
        ),
        renamed("--tags", to="tags", new="--tag", convert=lambda text: (text,)),
        click.option("--add-tag", multiple=True, help="Add a tag (repeatable)."),
        click.option("--remove-tag", multiple=True, help="Remove a tag (repeatable)."),
    )


def i18n_options(kind: str) -> Callable[[Any], Any]:
    """``--name-in LANG TEXT`` and the like (repeatable), one per key *kind*
    has per language (:data:`outreach.directory.i18n.I18N_KEYS`)."""
    from outreach.directory.i18n import I18N_KEYS

    what = {
        "name": "the name in LANG",
        "acronym": "the acronym in LANG",
        "definite": 'the name with its article in LANG, as in a sentence ("l\'Union africaine")',
        "position": "the position in LANG",
        "salutation": "how a letter in LANG opens",
    }
    return option_group(
        *(
            click.option(
                f"--{key}-in",
                f"{key}_in",
                nargs=2,
                multiple=True,
                metavar="LANG TEXT",
                help=f'Set {what[key]}; "" removes it. Repeatable.',
            )
            for key in I18N_KEYS[kind]
        )
    )


def i18n_values(fields: dict[str, Any], kind: str) -> dict[str, Any]:
    """Take the ``--KEY-in`` pairs out of *fields*: ``{lang: {key: text or
    None}}`` (``None``: remove), or ``{}`` when none was given."""
    from outreach.directory.i18n import I18N_KEYS

    out: dict[str, dict[str, Any]] = {}
    for key in I18N_KEYS[kind]:
        for lang, text in fields.pop(f"{key}_in", ()) or ():
            out.setdefault(lang, {})[key] = text if text.strip() else None
    return out


def _i18n_changes(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """An edit's changes with ``i18n`` told per language and key (``name_fr``)."""
    if "i18n" not in changes:
        return changes
    from outreach.directory.i18n import flatten

    before, after = (flatten(side or {}) for side in changes["i18n"])
    out = {k: v for k, v in changes.items() if k != "i18n"}
    for key in [*before, *(k for k in after if k not in before)]:
        if before.get(key) != after.get(key):
            out[key] = [before.get(key), after.get(key)]
    return out


def run_edit(
    state: AppState,
    ref: str,
    values: dict[str, Any],
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
    *,
    find: Callable[[Any, str], Any],
    update: Callable[..., dict[str, list[Any]]],
    label: Callable[[Any], str],
) -> None:
    """``orgs edit`` and ``contacts edit``: *find* REF, *update* it with
    *values* (and the tags added or removed), and print each change under
    *label* (taken after the edit, which may rename it)."""
    with state.session(immediate=True) as session:
        found = find(session, ref)
        values = edited_values(found.tags, values, add_tag, remove_tag)
        changes = update(found, session=session, **values)
        report_changes(label(found), _i18n_changes(changes))


def run_remove(
    state: AppState,
    ref: str,
    force: bool,
    yes: bool,
    *,
    find: Callable[[Any, str], Any],
    remove: Callable[..., str],
    label: Callable[[Any], str],
    question: Callable[[Any], str],
) -> None:
    """``orgs remove`` and ``contacts remove``: *find* REF, ask *question*
    (unless *yes*), *remove* it (or archive it, with *force*) and print
    "<label>: removed." or "<label>: archived."; both texts already safe to print."""
    with state.session(immediate=True) as session:
        found = find(session, ref)
        text = label(found)
        if not yes:
            click.confirm(question(found), abort=True, err=True)
        outcome = remove(found, session=session, force=force)
    click.echo(f"{text}: {outcome}.")


def run_merge(
    state: AppState,
    keep: str,
    duplicate: str,
    yes: bool,
    *,
    find: Callable[[Any, str], Any],
    merge: Callable[..., dict[str, int]],
    label: Callable[[Any, Any], str],
) -> None:
    """``orgs merge`` and ``contacts merge``: *find* each of KEEP and DUPLICATE,
    ask (unless *yes*) about "Merge <label>?", *merge* and say what moved."""
    with state.session(immediate=True) as session:
        kept = find(session, keep)
        dup = find(session, duplicate)
        text = safe(label(kept, dup))
        if not yes:
            click.confirm(f"Merge {text}?", abort=True, err=True)
        moved = merge(kept, dup, session=session)
    click.echo(f"Merged {text}: " + ", ".join(f"{n} {k} moved" for k, n in moved.items()))


import_options = option_group(
    click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
    db_option,
    click.option(
        "--input-format",
        "fmt",
        type=click.Choice(["csv", "json", "vcard", "xlsx"]),
        help="FILE's format  [default: from the file name]",
    ),
    renamed(
        "--from",
        to="fmt",
        new="--input-format",
        type=click.Choice(["csv", "json", "vcard", "xlsx"]),
    ),
    click.option(
        "--sheet",
        metavar="NAME",
        help="The sheet of an .xlsx workbook to read  [default: the first]",
    ),
    click.option(
        "--encoding",
        metavar="NAME",
        help="The text encoding of a CSV, JSON or vCard file (utf-8, utf-16, cp1252, "
        "latin-1, mac-roman...)  [default: from its byte-order mark, else UTF-8, else cp1252]",
    ),
    click.option(
        "--map",
        "mapping",
        multiple=True,
        metavar="HEADER=FIELD",
        help='Read column HEADER as FIELD ("HEADER=-" ignores it). Repeatable; wins over '
        "--map-file.",
    ),
    click.option(
        "--map-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help='A saved mapping of columns, TOML or YAML: a [columns] table of "HEADER" = '
        '"FIELD" lines.',
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
        help="Where --skip-invalid saves the bad rows: CSV with FILE's columns and a last "
        '"problems" column; correct the rows and import it as it is  [default: beside '
        "FILE, NAME.rejects.csv for NAME.csv or NAME.xlsx]",
    ),
    click.option(
        "--format",
        "output_format",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="How to show the outcome: the summary lines, or one JSON object on standard "
        "output (counts, the rejects file, the encoding read).",
    ),
)


def run_import(state: AppState, kind: str, file: Path, **options: Any) -> None:
    """Run an import and print its outcome (used by both groups)."""
    from outreach.directory.importing import import_file, parse_mapping

    mapping = parse_mapping(options.pop("mapping", ()) or ())
    rejects = options.pop("rejects", None)
    output_format = options.pop("output_format", "table")
    dry_run = options.get("dry_run", False)
    with progress_bar("Checking") as progress, state.session(immediate=not dry_run) as session:
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
    if output_format == "json":
        for line in result.problems:
            echo(line, err=True)
        emit_record(import_result_data(result), "json")
        return
    print_import_result(result)


def import_result_data(result: Any) -> dict[str, Any]:
    """What the import's summary says, as one JSON object."""
    return {
        "file": result.path,
        "dry_run": result.dry_run,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
        "rejected": result.rejected,
        "by_kind": result.by_kind,
        "rejects_file": result.rejects_path,
        "encoding": result.encoding,
        "notes": list(result.notes),
        "problems": list(result.problems),
        "actions": [
            {"action": action, "kind": kind, "record": description}
            for action, kind, description in result.actions
        ],
    }


def print_import_result(result: Any) -> None:
    for line in result.problems:
        echo(line, err=True)
    for note in result.notes:
        echo(f"{result.path}: {note}.")
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
