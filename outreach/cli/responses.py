"""``outreach responses``: log, list, show, edit, import, unmatched, assign, ignore."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from outreach.cli.options import output_options
from outreach.cli.output import echo, emit, emit_record, safe
from outreach.cli.progress import progress_bar
from outreach.cli.state import AppState, db_option, pass_state

CHANNELS = ("email", "post", "fax", "hand", "phone", "other")
STANCES = ("commitment", "supportive", "acknowledgement", "neutral", "decline", "other")
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A date typed by the user, taken as UTC (noon for a bare date)."""
    if value is None:
        return None
    if value.hour == value.minute == value.second == 0:
        value = value.replace(hour=12)
    return value.replace(tzinfo=dt.UTC)


def _store(state: AppState) -> Any:
    from outreach.attachments import AttachmentStore

    return AttachmentStore.for_database(state.database())


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
    type=click.DateTime(DATE_FORMATS),
    metavar="DATE",
    help="When it arrived, YYYY-MM-DD [HH:MM] UTC.  [default: now]",
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
            received_at=_utc(received),
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


def _show(record: dict[str, Any], fmt: str) -> None:
    if fmt == "table":
        attachments = record.pop("attachments")
        emit_record(record, fmt)
        for a in attachments:
            click.echo(
                f"attachment   {safe(a['filename'])} ({safe(a['content_type'])}, "
                f"{a['size']} bytes)" + (f"\n             {safe(a['path'])}" if a["path"] else "")
            )
    else:
        emit_record(record, fmt)


@responses_group.command("list")
@click.option("--campaign", "campaign_slug", metavar="SLUG")
@click.option("--org", "acronym", metavar="ACRONYM")
@click.option("--stance", type=click.Choice(STANCES))
@click.option("--since", type=click.DateTime(DATE_FORMATS), metavar="DATE")
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
            since=since.replace(tzinfo=dt.UTC) if since else None,
        )
    emit(
        [asdict(r) for r in rows],
        ["id", "received_at", "acronym", "campaign", "channel", "stance", "summary", "attachments"],
        fmt,
    )


@responses_group.command("show")
@click.argument("response_id", type=int)
@output_options
@db_option
@pass_state
def show_cmd(state: AppState, response_id: int, fmt: str) -> None:
    """Show one response with its attachments (and where they are stored)."""
    from outreach.attachments import IN_DATABASE
    from outreach.responses.records import response_record

    store = _store(state)
    with state.session() as session:
        record = response_record(session, response_id, store=store)
        found = store.locate([a["sha256"] for a in record["attachments"]], session=session)
    for a in record["attachments"]:
        where = found.get(a["sha256"])
        a["missing"] = where is None
        a["path"] = "(in the database)" if where == IN_DATABASE else where or "MISSING: no file"
    _show(record, fmt)


@responses_group.command("edit")
@click.argument("response_id", type=int)
@click.option("--received", type=click.DateTime(DATE_FORMATS), metavar="DATE")
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
        changes["received_at"] = _utc(received)
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


MESSAGE_COLUMNS = ["msg", "status", "org", "response", "from", "subject", "reason"]


def _message_rows(messages: Any) -> list[dict[str, Any]]:
    """The rows `import` and `fetch` print for the messages they read."""
    keys = {"msg": "inbound_id", "org": "acronym", "response": "response_id"}
    keys |= {"from": "from_address", "status": "status", "subject": "subject"}
    return [
        {c: getattr(m, keys.get(c, c)) for c in MESSAGE_COLUMNS} for m in messages
    ]


@responses_group.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option(
    "--own",
    "own_addresses",
    multiple=True,
    metavar="ADDRESS",
    help="An address of the secretariat (besides the campaigns' senders): its mail is "
    "not a response.",
)
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
            f"{report.duplicates} already imported."
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
    else:
        emit(rows, ["msg", "status", "org", "response", "from", "subject", "reason"], fmt)


@responses_group.command("fetch")
@click.option("--host", required=True, metavar="HOST", help="The IMAP server.")
@click.option("--port", type=click.IntRange(1, 65535), help="[default: 993 with --ssl, else 143]")
@click.option(
    "--ssl", "security", flag_value="ssl", default=True, help="TLS from the start (the default)."
)
@click.option("--starttls", "security", flag_value="starttls", help="Plain, then STARTTLS.")
@click.option(
    "--no-tls",
    "security",
    flag_value="none",
    help="No encryption at all: only for a server on this machine or a trusted network.",
)
@click.option("--user", required=True, metavar="USER", help="The login.")
@click.option("--folder", default="INBOX", show_default=True, metavar="FOLDER")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="DATE",
    help="Only messages from this day on, YYYY-MM-DD (older new ones are passed over for good).",
)
@click.option(
    "--move-to",
    metavar="FOLDER",
    help="Move each message read to this folder once imported.  [default: leave it]",
)
@click.option(
    "--password-command",
    metavar="CMD",
    help="A shell command printing the password.  [default: $OUTREACH_IMAP_PASSWORD, "
    "else asked]",
)
@click.option(
    "--own",
    "own_addresses",
    multiple=True,
    metavar="ADDRESS",
    help="An address of the secretariat (besides the campaigns' senders): its mail is "
    "not a response.",
)
@output_options
@db_option
@pass_state
def fetch_cmd(
    state: AppState,
    host: str,
    port: int | None,
    security: str,
    user: str,
    folder: str,
    since: dt.datetime | None,
    move_to: str | None,
    password_command: str | None,
    own_addresses: tuple[str, ...],
    fmt: str,
) -> None:
    """Fetch replies from a mailbox folder over IMAP and import them.

    Only messages not read before are fetched (the folder's UIDVALIDITY and
    last UID are remembered per account and folder); they are imported as
    `responses import` does. The mailbox is left as it was (nothing marked
    read) unless --move-to is given.
    """
    import sys
    from collections import Counter

    from outreach.responses.imap import ImapAccount, fetch_folder, find_password

    account = ImapAccount(host=host, user=user, port=port, security=security, folder=folder)
    if security == "none" and host not in ("127.0.0.1", "::1", "localhost"):
        echo(
            f"Warning: --no-tls: the password for {user} goes to {account.key} in clear text.",
            err=True,
        )
    prompt = None
    if sys.stdin.isatty():

        def prompt(text: str) -> str:
            return click.prompt(safe(text), hide_input=True, err=True)

    password = find_password(account, command=password_command, prompt=prompt)
    store = _store(state)
    with progress_bar("Fetching") as progress:
        report = fetch_folder(
            state.database(),
            account,
            password=password,
            store=store,
            since=since.date() if since else None,
            move_to=move_to,
            own_addresses=own_addresses,
            progress=progress,
        )
    rows = _message_rows(report.messages)
    columns = MESSAGE_COLUMNS
    if fmt != "table":
        emit(rows, columns, fmt)
        return
    counts = Counter(m.status for m in report.messages)
    parts = [f"{counts.pop(k, 0)} {k}" for k in ("matched", "unmatched", "ignored")]
    parts += [f"{n} {k}" for k, n in sorted(counts.items())]
    echo(
        f"Fetched {report.read} new message(s) from {account.key} {folder}: "
        + ", ".join(parts)
        + f", {report.duplicates} already imported"
        + (f"; moved {report.moved} to {move_to}" if move_to else "")
        + "."
        + (" (The folder was read from the start.)" if report.rescanned and report.read else "")
    )
    if rows:
        emit(rows, columns, fmt)
    for m in report.problems:
        echo(f"Warning: {m.source}: {m.reason} (message {m.inbound_id})", err=True)
    if report.unmatched:
        click.echo(
            "See `outreach responses unmatched`; `outreach responses assign MSG --org X`.",
            err=True,
        )


@responses_group.group("unmatched", invoke_without_command=True)
@click.option("--all", "include_ignored", is_flag=True, help="Include messages set aside.")
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
