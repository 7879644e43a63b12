"""``outreach responses``: log, list, show, edit, import, unmatched, assign, ignore."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from outreach.cli.options import Moment, output_options, renamed
from outreach.cli.output import echo, emit, emit_record, safe
from outreach.cli.progress import progress_bar
from outreach.cli.responses_common import (
    _message_rows,
    _show,
    _store,
    messages_result,
    own_option,
)
from outreach.cli.responses_fetch import fetch_cmd
from outreach.cli.state import AppState, db_option, pass_state

CHANNELS = ("email", "post", "fax", "hand", "phone", "other")
STANCES = ("commitment", "supportive", "acknowledgement", "neutral", "decline", "other")


@click.group("responses")
def responses_group() -> None:
    """Log what came back, import replies from a mailbox, match them.

    Imported messages that match no letter, contact or organization wait in
    `responses unmatched` until assigned (`responses assign`) or set aside
    (`responses ignore`).
    """


@responses_group.command("log")
@click.option("--org", "acronym", required=True, metavar="ACRONYM", help="Who answered.")
@click.option("--campaign", "campaign_slug", metavar="SLUG", help="[default: the latest letter's]")
@click.option(
    "--received",
    type=Moment(bare_day="noon"),
    help="When it arrived: a day, or a day and a time (your local time).  [default: now]",
)
@click.option("--channel", type=click.Choice(CHANNELS), default="email", show_default=True)
@click.option("--from", "sender", metavar="WHO", help="Who signed or sent it.")
@click.option("--stance", type=click.Choice(STANCES), help="[default: other]")
@click.option("--summary", metavar="TEXT", help="What it says, in a line or two.")
@click.option(
    "--message-id",
    metavar="ID",
    help="The e-mail's Message-ID: importing that e-mail later adds nothing new.",
)
@click.option(
    "--subject",
    metavar="TEXT",
    help="The e-mail's subject: without --message-id, the same reply imported later "
    "(same organization, letter, day and subject) completes this response.",
)
@click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="A file that came with it (a scanned letter); repeatable.",
)
@click.option("--letter", "letter_id", type=int, metavar="ID", help="The letter it answers.")
@output_options
@db_option
@pass_state
def log_cmd(
    state: AppState,
    acronym: str,
    campaign_slug: str | None,
    received: dt.datetime | None,
    channel: str,
    sender: str | None,
    stance: str | None,
    summary: str | None,
    message_id: str | None,
    subject: str | None,
    attach: tuple[str, ...],
    letter_id: int | None,
    fmt: str,
) -> None:
    """Log a response: a reply by post, an e-mail, a phone call.

    An e-mail reply recorded already (imported, or logged before: the same
    Message-ID, or the same organization, letter, day and subject) is
    completed rather than recorded twice.
    """
    from outreach.campaigns import get_campaign
    from outreach.directory.records import get_organization
    from outreach.responses.records import log_or_complete_response, response_record

    store = _store(state)
    with state.session(immediate=True) as session:
        org = get_organization(session, acronym)
        campaign = get_campaign(session, campaign_slug) if campaign_slug else None
        response, new = log_or_complete_response(
            session,
            store=store,
            organization_id=org.id,
            campaign_id=campaign.id if campaign else None,
            received_at=received,
            channel=channel,
            sender=sender,
            stance=stance,
            summary=summary,
            attachments=attach,
            letter_id=letter_id,
            message_id=message_id,
            subject=subject,
        )
        record = response_record(session, response.id, store=store)
    if fmt == "table" and new:
        echo(f"Logged response {record['id']} from {org.acronym}.")
    elif fmt == "table":
        echo(
            f"Response {record['id']} from {org.acronym} is this reply already; "
            "completed it with what was given."
        )
    if record["campaign"] is None:
        # Follow-ups count answers per campaign: say so rather than let a
        # reminder go to an organization that has answered.
        echo(
            f"Warning: no letter went to {org.acronym} before it was received, so the "
            "response belongs to no campaign and follow-ups will not count it; give "
            f"--campaign (`outreach responses edit {record['id']} --campaign SLUG`).",
            err=True,
        )
    _show(record, fmt)


@responses_group.command("list")
@click.option("--campaign", "campaign_slug", metavar="SLUG")
@click.option("--org", "acronym", metavar="ACRONYM")
@click.option("--stance", type=click.Choice(STANCES))
@click.option("--since", type=Moment(), help="Only responses received at or after WHEN.")
@output_options
@db_option
@pass_state
def list_cmd(
    state: AppState,
    campaign_slug: str | None,
    acronym: str | None,
    stance: str | None,
    since: dt.datetime | None,
    fmt: str,
) -> None:
    """List responses, newest first."""
    from dataclasses import asdict

    from outreach.campaigns import get_campaign
    from outreach.directory.records import get_organization
    from outreach.responses.records import list_responses

    with state.session() as session:
        rows = list_responses(
            session,
            campaign_id=get_campaign(session, campaign_slug).id if campaign_slug else None,
            organization_id=get_organization(session, acronym).id if acronym else None,
            stance=stance,
            since=since,
        )
    emit(
        [asdict(r) for r in rows],
        ["id", "received_at", "acronym", "campaign", "channel", "stance", "summary", "attachments"],
        fmt,
    )


@responses_group.command("show")
@click.argument("response_id", type=int)
@click.option(
    "--out",
    "save_to",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write the response's attachments into DIR (the scans, wherever they are kept).",
)
@renamed("--save", to="save_to", new="--out", type=click.Path(file_okay=False))
@output_options
@db_option
@pass_state
def show_cmd(state: AppState, response_id: int, save_to: str | None, fmt: str) -> None:
    """Show one response with its attachments (and where they are stored)."""
    from outreach.attachments import IN_DATABASE
    from outreach.responses.records import response_record, save_attachments

    store = _store(state)
    with state.session() as session:
        record = response_record(session, response_id, store=store)
        found = store.locate([a["sha256"] for a in record["attachments"]], session=session)
        saved = save_attachments(record, save_to, store=store, session=session) if save_to else []
    for a in record["attachments"]:
        where = found.get(a["sha256"])
        a["missing"] = where is None
        a["path"] = "(in the database)" if where == IN_DATABASE else where or "MISSING: no file"
    _show(record, fmt)
    for path in saved:
        echo(f"Saved {path}", err=True)


@responses_group.command("edit")
@click.argument("response_id", type=int)
@click.option("--received", type=Moment(bare_day="noon"), help="When it arrived.")
@click.option("--channel", type=click.Choice(CHANNELS))
@click.option("--from", "sender", metavar="WHO")
@click.option("--stance", type=click.Choice(STANCES))
@click.option("--summary", metavar="TEXT")
@click.option("--org", "acronym", metavar="ACRONYM", help="It came from another organization.")
@click.option("--campaign", "campaign_slug", metavar="SLUG")
@click.option("--letter", "letter_id", type=int, metavar="ID")
@click.option("--attach", multiple=True, type=click.Path(dir_okay=False), metavar="FILE")
@output_options
@db_option
@pass_state
def edit_cmd(
    state: AppState,
    response_id: int,
    received: dt.datetime | None,
    channel: str | None,
    sender: str | None,
    stance: str | None,
    summary: str | None,
    acronym: str | None,
    campaign_slug: str | None,
    letter_id: int | None,
    attach: tuple[str, ...],
    fmt: str,
) -> None:
    """Change a response: who it came from, stance, summary, dates; attach files."""
    from outreach.campaigns import get_campaign
    from outreach.directory.records import get_organization
    from outreach.errors import ValidationError
    from outreach.responses.records import edit_response, response_record

    changes: dict[str, Any] = {}
    if received is not None:
        changes["received_at"] = received
    for key, value in (
        ("channel", channel),
        ("sender", sender),
        ("stance", stance),
        ("summary", summary),
        ("letter_id", letter_id),
    ):
        if value is not None:
            changes[key] = value
    store = _store(state)
    with state.session(immediate=True) as session:
        if acronym is not None:
            changes["organization_id"] = get_organization(session, acronym).id
        if campaign_slug is not None:
            changes["campaign_id"] = get_campaign(session, campaign_slug).id
        if not changes and not attach:
            raise ValidationError("nothing to change: give at least one option")
        edit_response(session, response_id, store=store, attach=attach, **changes)
        record = response_record(session, response_id, store=store)
    _show(record, fmt)


@responses_group.command("import")
@click.argument("path", type=click.Path(exists=True))
@own_option
@output_options
@db_option
@pass_state
def import_cmd(state: AppState, path: str, own_addresses: tuple[str, ...], fmt: str) -> None:
    """Import replies from an mbox file, a Maildir, or .eml files.

    Each message is matched to a letter (In-Reply-To/References), a contact
    (sender address) or an organization (sender domain) and becomes a
    response; the rest wait in `responses unmatched`. Importing the same
    mailbox again adds nothing.
    """
    from outreach.responses.inbox import import_messages

    store = _store(state)
    with progress_bar("Importing") as progress, state.session(immediate=True) as session:
        report = import_messages(
            session, path, store=store, own_addresses=own_addresses, progress=progress
        )
    rows = _message_rows(report.messages)
    if fmt == "table":
        click.echo(
            f"Read {report.read} message(s): {len(report.matched)} matched, "
            f"{len(report.unmatched)} unmatched, {len(report.ignored)} ignored, "
            f"{len(report.bounces)} bounce(s), {len(report.auto_replies)} automatic "
            f"reply(ies), {report.duplicates} already imported."
        )
        if rows:
            emit(rows, ["msg", "status", "org", "response", "from", "subject", "reason"], fmt)
        for m in report.problems:
            echo(f"Warning: {m.source}: {m.reason} (message {m.inbound_id})", err=True)
        if report.unmatched:
            click.echo(
                "See `outreach responses unmatched`; `outreach responses assign MSG --org X`.",
                err=True,
            )
    elif fmt == "json":
        emit_record(messages_result(report), "json")
    else:
        emit(rows, ["msg", "status", "org", "response", "from", "subject", "reason"], fmt)


@responses_group.group("unmatched", invoke_without_command=True)
@click.option("--ignored", "include_ignored", is_flag=True, help="Include messages set aside.")
@renamed("--all", to="include_ignored", new="--ignored", is_flag=True)
@output_options
@db_option
@pass_state
@click.pass_context
def unmatched_cmd(ctx: click.Context, state: AppState, include_ignored: bool, fmt: str) -> None:
    """Imported messages that no letter, contact or organization matched.

    `responses unmatched show MSG` prints one of them: its text and the
    files it carries.
    """
    if ctx.invoked_subcommand is not None:
        return
    from outreach.responses.inbox import unmatched_messages

    with state.session() as session:
        rows = [
            {
                "msg": m.id,
                "date": m.date,
                "from": m.from_address,
                "subject": m.subject,
                "status": m.status,
                "reason": m.reason,
                "message_id": m.message_id,
            }
            for m in unmatched_messages(session, include_ignored=include_ignored)
        ]
    columns = ["msg", "date", "from", "subject", "reason"]
    if include_ignored:
        # Which of them were set aside, and which still wait.
        columns.insert(4, "status")
    emit(rows, columns, fmt)


@unmatched_cmd.command("show")
@click.argument("msg")
@output_options
@db_option
@pass_state
def unmatched_show_cmd(state: AppState, msg: str, fmt: str) -> None:
    """Show an imported message (MSG: its number or Message-ID): its headers,
    its text and the files attached to it."""
    from outreach.responses.queue import message_record

    store = _store(state)
    with state.session() as session:
        record = message_record(session, msg, store=store)
    if fmt != "table":
        emit_record(record, fmt)
        return
    text, attachments = record.pop("text"), record.pop("attachments")
    if record["problem"] is None:
        record.pop("problem")
    emit_record(record, fmt)
    for a in attachments:
        click.echo(
            f"attachment  {safe(a['filename'])} ({safe(a['content_type'])}, {a['size']} bytes)"
        )
    click.echo("")
    echo(text.rstrip() or "(no text)", multiline=True)


@responses_group.command("assign")
@click.argument("msg")
@click.option("--org", "acronym", required=True, metavar="ACRONYM")
@click.option("--campaign", "campaign_slug", metavar="SLUG")
@click.option("--stance", type=click.Choice(STANCES))
@click.option(
    "--new-contact",
    is_flag=True,
    help="Add the sender to the organization as a new contact first.",
)
@click.option(
    "--name",
    "contact_name",
    metavar="NAME",
    help="The new contact's name.  [default: as the message gives it]",
)
@output_options
@db_option
@pass_state
def assign_cmd(
    state: AppState,
    msg: str,
    acronym: str,
    campaign_slug: str | None,
    stance: str | None,
    new_contact: bool,
    contact_name: str | None,
    fmt: str,
) -> None:
    """Make a response of an unmatched message (MSG: its number or Message-ID)."""
    from outreach.campaigns import get_campaign
    from outreach.directory.records import get_organization
    from outreach.errors import ValidationError
    from outreach.responses.inbox import assign_message
    from outreach.responses.queue import assign_to_new_contact
    from outreach.responses.records import response_record

    if contact_name and not new_contact:
        raise ValidationError("a name is for a new contact", field="name", option="new_contact")
    store = _store(state)
    contact_id = None
    with state.session(immediate=True) as session:
        org = get_organization(session, acronym)
        options = {
            "store": store,
            "organization_id": org.id,
            "campaign_id": get_campaign(session, campaign_slug).id if campaign_slug else None,
            "stance": stance,
        }
        if new_contact:
            response, contact_id = assign_to_new_contact(
                session, msg, name=contact_name, **options
            )
        else:
            response = assign_message(session, msg, **options)
        record = response_record(session, response.id, store=store)
    if fmt == "table":
        echo(f"Message {msg} is now response {record['id']} from {org.acronym}.")
        if contact_id is not None:
            echo(f"Added {record['contact']} as contact #{contact_id} of {org.acronym}.")
    _show(record, fmt)


@responses_group.command("ignore")
@click.argument("msgs", nargs=-1, required=True, metavar="MSG...")
@db_option
@pass_state
def ignore_cmd(state: AppState, msgs: tuple[str, ...]) -> None:
    """Set unmatched messages aside (spam, noise). They stay recorded."""
    from outreach.responses.inbox import ignore_message

    with state.session(immediate=True) as session:
        for msg in msgs:
            ignore_message(session, msg)
    click.echo(f"Set aside {len(msgs)} message(s).")


responses_group.add_command(fetch_cmd)
