"""``outreach dialogues``: the UN meetings campaigns work toward."""

from __future__ import annotations

import click

from outreach.cli.options import Day, given, option_group, output_options, renamed
from outreach.cli.output import echo, emit, emit_record
from outreach.cli.state import AppState, db_option, pass_state

BODIES = ("general-assembly", "security-council", "human-rights-council", "other")


@click.group("dialogues")
def dialogues_group() -> None:
    """UN dialogues: add, list, show, edit."""


_fields = option_group(
    click.option("--un-body", "body", type=click.Choice(BODIES), help="The UN body holding it."),
    renamed("--body", to="body", new="--un-body", type=click.Choice(BODIES)),
    click.option("--theme", help="The theme of the dialogue."),
    click.option("--date", type=Day("tba"), help='Its day, or "tba" while it is not announced.'),
    click.option("--report-symbol", help="The Secretary-General's report, e.g. A/66/874."),
    click.option("--states-spoke", type=click.IntRange(min=0)),
    click.option("--regional-orgs-spoke", type=click.IntRange(min=0)),
    click.option("--civil-society-spoke", type=click.IntRange(min=0)),
    click.option("--outcome-notes", help="What happened: who spoke, what they said."),
)


def _record(d: object) -> dict[str, object]:
    return {
        "id": d.id,  # type: ignore[attr-defined]
        "slug": d.slug,  # type: ignore[attr-defined]
        "body": d.body,  # type: ignore[attr-defined]
        "title": d.title,  # type: ignore[attr-defined]
        "theme": d.theme,  # type: ignore[attr-defined]
        "date": d.date or "to be announced",  # type: ignore[attr-defined]
        "report_symbol": d.report_symbol,  # type: ignore[attr-defined]
        "states_spoke": d.states_spoke,  # type: ignore[attr-defined]
        "regional_orgs_spoke": d.regional_orgs_spoke,  # type: ignore[attr-defined]
        "civil_society_spoke": d.civil_society_spoke,  # type: ignore[attr-defined]
        "outcome_notes": d.outcome_notes,  # type: ignore[attr-defined]
    }


@dialogues_group.command("add")
@click.argument("slug")
@click.option("--title", required=True, help="The dialogue's title.")
@_fields
@db_option
@pass_state
def add_cmd(state: AppState, slug: str, title: str, **values: object) -> None:
    """Add a dialogue called SLUG (e.g. ga-2012)."""
    from outreach.campaigns import add_dialogue

    with state.session(immediate=True) as session:
        d = add_dialogue(session, slug=slug, title=title, **given(values))
        echo(f"Added dialogue {d.slug}: {d.title}")


@dialogues_group.command("list")
@output_options
@db_option
@pass_state
def list_cmd(state: AppState, fmt: str) -> None:
    """List dialogues, newest first (undated ones at the end)."""
    from outreach.campaigns import list_dialogues

    with state.session() as session:
        rows = [_record(d) for d in list_dialogues(session)]
    emit(rows, ["slug", "body", "date", "title", "report_symbol"], fmt)


@dialogues_group.command("show")
@click.argument("dialogue")
@output_options
@db_option
@pass_state
def show_cmd(state: AppState, dialogue: str, fmt: str) -> None:
    """Show one dialogue."""
    from outreach.campaigns import get_dialogue

    with state.session() as session:
        emit_record(_record(get_dialogue(session, dialogue)), fmt)


@dialogues_group.command("edit")
@click.argument("dialogue")
@click.option("--title", help="The dialogue's title.")
@_fields
@db_option
@pass_state
def edit_cmd(state: AppState, dialogue: str, **values: object) -> None:
    """Change a dialogue's details (only the options given)."""
    from outreach.campaigns import edit_dialogue

    with state.session(immediate=True) as session:
        changes = edit_dialogue(session, dialogue, **given(values))
    if changes:
        echo(f"Changed {', '.join(changes)}")
    else:
        click.echo("Nothing to change")
