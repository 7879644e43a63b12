"""``outreach campaigns``: outreach efforts ahead of a dialogue, and their recipients."""

from __future__ import annotations

from typing import Any

import click

from outreach.cli.options import Day, given, option_group, output_options, templates_option
from outreach.cli.output import echo, emit, emit_record
from outreach.cli.state import AppState, db_option, pass_state

_SENDER_OPTIONS = {
    "sender_name": "name",
    "sender_organization": "organization",
    "sender_email": "email",
    "sender_address": "address",
    "sender_phone": "phone",
    "sender_website": "website",
    "signatory_title": "signatory_title",
    "sender_place": "place",
}
#: Sender details per language: option -> key of sender["i18n"][LANG].
_SENDER_TEXT_OPTIONS = {
    "sender_organization_in": "organization",
    "signatory_title_in": "signatory_title",
    "sender_address_in": "address",
    "sender_place_in": "place",
}


def _in_language(option: str, what: str) -> Any:
    return click.option(
        option,
        type=(str, str),
        multiple=True,
        metavar="LANG TEXT",
        help=f"{what} in language LANG (repeatable; an empty TEXT removes it).",
    )


@click.group("campaigns")
def campaigns_group() -> None:
    """Campaigns: create, list, show, edit, close, clone; choose recipients."""


_details = option_group(
    click.option("--dialogue", help="The dialogue it works toward (its name)."),
    click.option("--template", help="Letter template name, e.g. third-pillar."),
    click.option("--followup-template", help="Reminder template, e.g. third-pillar-reminder."),
    click.option(
        "--language",
        "default_language",
        help="Language of the template without a language suffix (default en).",
    ),
    click.option("--signatory", help="Who signs the letters."),
    click.option("--signatory-title", help="The signatory's title."),
    click.option("--sender-name", help="Sender name for the e-mail From header."),
    click.option("--sender-organization", help="Sender organization, for the letterhead."),
    click.option("--sender-email", help="Sender e-mail address."),
    click.option("--sender-address", help="Sender postal address (use \\n for new lines)."),
    click.option("--sender-phone"),
    click.option("--sender-website"),
    click.option("--sender-place", help="The city letters are written from (New York)."),
    _in_language("--sender-organization-in", "The sender organization"),
    _in_language("--signatory-title-in", "The signatory's title"),
    _in_language("--sender-address-in", "The sender's postal address"),
    _in_language("--sender-place-in", "The city letters are written from"),
    click.option(
        "--vars",
        "vars_file",
        type=click.Path(dir_okay=False),
        help="Template variables from a TOML or YAML file.",
    ),
    click.option(
        "--set",
        "set_items",
        multiple=True,
        metavar="NAME=VALUE",
        help="A template variable (repeatable).",
    ),
    click.option("--starts-on", type=Day(), help="The campaign's first day."),
    click.option("--ends-on", type=Day(), help="Its last day."),
    click.option(
        "--reference-pattern",
        metavar="PATTERN",
        help="How the letters' reference numbers are made (default {campaign}/{year}/{seq:03}): "
        "{campaign}, {CAMPAIGN}, {year}, {seq} (required; {seq:04} pads), {acronym}, {round}, "
        "{lang}.",
    ),
)


def _split(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(campaign fields, sender fields, variables) from the command's options."""
    from outreach.campaigns import load_variables, parse_set

    sender: dict[str, Any] = {}
    for option, key in _SENDER_OPTIONS.items():
        value = values.pop(option, None)
        if value is not None:
            sender[key] = value.replace("\\n", "\n") if key == "address" else value
    texts: dict[str, dict[str, str]] = {}
    for option, key in _SENDER_TEXT_OPTIONS.items():
        for lang, text in values.pop(option, ()) or ():
            text = text.replace("\\n", "\n") if key == "address" else text
            texts.setdefault(lang.strip().lower(), {})[key] = text
    if texts:
        sender["i18n"] = texts
    variables: dict[str, Any] = {}
    vars_file = values.pop("vars_file", None)
    if vars_file:
        variables.update(load_variables(vars_file))
    variables.update(parse_set(values.pop("set_items", ()) or ()))
    fields = given(values)
    return fields, sender, variables


_recipient_filters = option_group(
    click.option("--kind", "kinds", multiple=True, help="Organizations of this kind (repeatable)."),
    click.option(
        "--region", "regions", multiple=True, help="Organizations in this region (repeatable)."
    ),
    click.option("--tag", "tags", multiple=True, help="Organizations with this tag (repeatable)."),
)


@campaigns_group.command("create")
@click.argument("slug")
@click.option("--title", required=True, help="The campaign's title.")
@_details
@_recipient_filters
@click.option("--org", "acronyms", multiple=True, help="A recipient by acronym (repeatable).")
@templates_option("Your template folder (searched before the shipped letters/).")
@db_option
@pass_state
def create_cmd(
    state: AppState,
    slug: str,
    title: str,
    kinds: tuple[str, ...],
    regions: tuple[str, ...],
    tags: tuple[str, ...],
    acronyms: tuple[str, ...],
    templates: str | None,
    **values: Any,
) -> None:
    """Create a campaign called SLUG, optionally with its first recipients."""
    from outreach.campaigns import add_recipients, create_campaign

    fields, sender, variables = _split(values)
    with state.session(immediate=True) as session:
        campaign = create_campaign(
            session,
            slug=slug,
            title=title,
            sender=sender,
            variables=variables,
            templates=templates,
            **fields,
        )
        added: list[str] = []
        if kinds or regions or tags or acronyms:
            added = add_recipients(
                session, campaign.id, kinds=kinds, regions=regions, tags=tags, acronyms=acronyms
            ).added
    echo(f"Created campaign {slug} with {len(added)} recipients")


@campaigns_group.command("list")
@click.option("--status", type=click.Choice(["draft", "active", "closed"]))
@output_options
@db_option
@pass_state
def list_cmd(state: AppState, status: str | None, fmt: str) -> None:
    """List campaigns with their recipient and letter counts."""
    from outreach.campaigns import list_campaigns

    with state.session() as session:
        rows = list_campaigns(session, status=status)
    emit(rows, ["slug", "status", "dialogue", "template", "recipients", "letters", "title"], fmt)


@campaigns_group.command("show")
@click.argument("campaign")
@output_options
@db_option
@pass_state
def show_cmd(state: AppState, campaign: str, fmt: str) -> None:
    """Show a campaign: templates, sender, variables, recipients, letters."""
    from outreach.campaigns import campaign_summary, get_campaign

    with state.session() as session:
        record = campaign_summary(
            session, get_campaign(session, campaign), structured=fmt == "json"
        )
    emit_record(record, fmt)


@campaigns_group.command("edit")
@click.argument("campaign")
@click.option("--title", help="The campaign's title.")
@_details
@click.option(
    "--unset",
    "unset_variables",
    multiple=True,
    metavar="NAME",
    help="Remove a template variable (repeatable).",
)
@templates_option("Your template folder.")
@db_option
@pass_state
def edit_cmd(
    state: AppState,
    campaign: str,
    unset_variables: tuple[str, ...],
    templates: str | None,
    **values: Any,
) -> None:
    """Change a campaign (only the options given; sender and variables merge)."""
    from outreach.campaigns import edit_campaign

    fields, sender, variables = _split(values)
    with state.session(immediate=True) as session:
        changes = edit_campaign(
            session,
            campaign,
            sender_updates=sender,
            variable_updates=variables,
            unset_variables=unset_variables,
            templates=templates,
            **fields,
        )
    echo(f"Changed {', '.join(changes)}" if changes else "Nothing to change")


@campaigns_group.command("close")
@click.argument("campaign")
@db_option
@pass_state
def close_cmd(state: AppState, campaign: str) -> None:
    """Close a campaign: no more letters are generated for it."""
    from outreach.campaigns import close_campaign

    with state.session(immediate=True) as session:
        c = close_campaign(session, campaign)
    echo(f"Closed campaign {c.slug}")


@campaigns_group.command("clone")
@click.argument("campaign")
@click.argument("new_slug")
@click.option("--title", help="Title of the new campaign (default: the same).")
@click.option("--dialogue", help="The dialogue the new campaign works toward.")
@db_option
@pass_state
def clone_cmd(
    state: AppState, campaign: str, new_slug: str, title: str | None, dialogue: str | None
) -> None:
    """Start NEW_SLUG from CAMPAIGN: same template, sender, variables and recipients."""
    from outreach.campaigns import clone_campaign

    with state.session(immediate=True) as session:
        c = clone_campaign(session, campaign, slug=new_slug, title=title, dialogue=dialogue)
    echo(f"Created campaign {c.slug} from {campaign}")


@campaigns_group.command("recipients")
@click.argument("campaign")
@output_options
@db_option
@pass_state
def recipients_cmd(state: AppState, campaign: str, fmt: str) -> None:
    """List a campaign's recipients: organization, role (to or cc) and contact."""
    from outreach.campaigns import list_recipients

    with state.session() as session:
        rows = list_recipients(session, campaign)
    columns = ["acronym", "parent", "role", "contact_id", "contact", "kind", "region", "name"]
    emit(rows, columns, fmt)


#: ``--org ACRONYM`` beside the ACRONYMS argument of the recipients commands.
_org_option = click.option(
    "--org",
    "org_options",
    multiple=True,
    metavar="ACRONYM",
    help="Also this organization (repeatable).",
)


@campaigns_group.command("add-recipients")
@click.argument("campaign")
@click.argument("acronyms", nargs=-1)
@_org_option
@_recipient_filters
@click.option(
    "--parent",
    "parents",
    multiple=True,
    metavar="ACRONYM",
    help="The organs of this organization (repeatable; with other filters, all must match).",
)
@click.option("--with-organs", is_flag=True, help="Also the organs of every organization chosen.")
@click.option(
    "--contact",
    "contacts",
    multiple=True,
    help="Also write to this contact (id or e-mail): a letter of their own (repeatable).",
)
@click.option(
    "--cc", multiple=True, help="Copy this contact (id or e-mail) on the letters (repeatable)."
)
@click.option(
    "--replace",
    is_flag=True,
    help="The organizations' addressees and copies become exactly the ones given.",
)
@db_option
@pass_state
def add_recipients_cmd(
    state: AppState,
    campaign: str,
    acronyms: tuple[str, ...],
    org_options: tuple[str, ...],
    kinds: tuple[str, ...],
    regions: tuple[str, ...],
    tags: tuple[str, ...],
    parents: tuple[str, ...],
    with_organs: bool,
    contacts: tuple[str, ...],
    cc: tuple[str, ...],
    replace: bool,
) -> None:
    """Add recipients by ACRONYMS (or --org) and/or filters (all filters must match)."""
    from outreach.campaigns import add_recipients

    acronyms = (*acronyms, *org_options)

    with state.session(immediate=True) as session:
        change = add_recipients(
            session,
            campaign,
            kinds=kinds,
            regions=regions,
            tags=tags,
            acronyms=acronyms,
            parents=parents,
            with_organs=with_organs,
            contacts=contacts,
            cc=cc,
            replace=replace,
        )
    echo(f"Added {len(change.added)}: {', '.join(change.added) or '-'}")
    if change.already:
        echo(f"Already recipients: {', '.join(change.already)} (nothing changed)")
    if change.removed:
        echo(f"Replaced (removed): {', '.join(change.removed)}")


@campaigns_group.command("remove-recipients")
@click.argument("campaign")
@click.argument("acronyms", nargs=-1)
@_org_option
@click.option(
    "--contact",
    "contacts",
    multiple=True,
    help="Remove only this contact (id or e-mail), addressed or copied (repeatable).",
)
@db_option
@pass_state
def remove_recipients_cmd(
    state: AppState,
    campaign: str,
    acronyms: tuple[str, ...],
    org_options: tuple[str, ...],
    contacts: tuple[str, ...],
) -> None:
    """Remove recipients by acronym (or --org), or single contacts (letters
    already made are kept)."""
    from outreach.campaigns import remove_recipients

    acronyms = (*acronyms, *org_options)

    if not (acronyms or contacts):
        raise click.UsageError("give acronyms or --contact ID")
    with state.session(immediate=True) as session:
        change = remove_recipients(session, campaign, acronyms=acronyms, contacts=contacts)
    echo(f"Removed {len(change.removed)}: {', '.join(change.removed)}")
