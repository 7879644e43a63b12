"""``outreach log``: the activity log, newest first."""

from __future__ import annotations

from typing import Any

import click

from outreach.cli.options import Moment, output_options
from outreach.cli.output import emit
from outreach.cli.state import AppState, db_option, pass_state
from outreach.cli.when import MOMENT_FORMS

DEFAULT_LIMIT = 50


@click.command("log")
@db_option
@click.option("--org", metavar="ACRONYM", help="Only changes concerning this organization.")
@click.option(
    "--since",
    type=Moment(),
    help=f"Only changes at or after WHEN: {MOMENT_FORMS}.",
)
@click.option("--until", type=Moment(), help="Only changes before WHEN (same forms as --since).")
@click.option(
    "--entity",
    metavar="ENTITY[:ID]",
    help="Only this kind of record (organization, contact, letter, ...), or one record: letter:42.",
)
@click.option("--actor", metavar="NAME", help="Only changes made by NAME (see --as).")
@click.option("--action", metavar="ACTION", help="Only this action: create, update, send, ...")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    metavar="N",
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Show at most N entries (0 for all).",
)
@output_options
@pass_state
def log_cmd(
    state: AppState,
    org: str | None,
    since: Any,
    until: Any,
    entity: str | None,
    actor: str | None,
    action: str | None,
    limit: int,
    fmt: str,
) -> None:
    """Show the activity log, newest first: who changed what, when, and for
    edits the value before and after.

    \b
    Examples:
      outreach log --org AU --since 2024-03-01
      outreach log --entity letter:42
      outreach log --actor amina --since 7d --format csv > changes.csv
    """
    from outreach.auditlog import activity_log

    since_at, until_at = since, until
    with state.session() as session:
        entries = activity_log(
            session,
            org=org,
            since=since_at,
            until=until_at,
            entity=entity,
            actor=actor,
            action=action,
            limit=limit + 1 if limit else None,
        )
    more = bool(limit) and len(entries) > limit
    if more:
        entries = entries[:limit]
    if fmt == "json":
        emit([e.as_dict() for e in entries], [], fmt)
    elif fmt == "csv":
        rows = [
            {
                "at": e.as_dict()["at"],
                "actor": e.actor,
                "action": e.action,
                "record": e.what,
                "org": e.organization,
                "summary": e.summary,
                "changes": e.change_text,
            }
            for e in entries
        ]
        emit(rows, ["at", "actor", "action", "record", "org", "summary", "changes"], fmt)
    else:
        # One line per entry, then one line per changed field ("before -> after").
        rows: list[dict[str, object]] = []
        for e in entries:
            details = [e.summary] if e.summary else []
            details += [change.strip() for change in e.change_text.split("; ") if change]
            first = {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "record": e.what,
                "org": e.organization,
            }
            for i, line in enumerate(details or [""]):
                rows.append({**(first if i == 0 else {}), "details": line})
        emit(rows, ["at", "actor", "action", "record", "org", "details"], fmt)
    if more and fmt == "table":
        click.echo(
            f"(the {limit} newest entries; use --limit 0 for all, or narrow with --since)",
            err=True,
        )
