"""``outreach responses fetch``: replies read from a mailbox folder over IMAP."""

from __future__ import annotations

import datetime as dt

import click

from outreach.cli.mailbox import imap_login, imap_server_options
from outreach.cli.options import Day, output_options
from outreach.cli.output import echo, emit, emit_record
from outreach.cli.progress import progress_bar
from outreach.cli.responses_common import (
    MESSAGE_COLUMNS,
    _message_rows,
    _store,
    messages_result,
    own_option,
)
from outreach.cli.state import AppState, db_option, pass_state


@click.command("fetch")
@imap_server_options
@click.option("--folder", metavar="FOLDER", help="[default: imap.folder setting, else INBOX]")
@click.option(
    "--since",
    type=Day(),
    help="Only messages from this day on (older new ones are passed over for good).",
)
@click.option(
    "--move-to",
    metavar="FOLDER",
    help="Move each message read to this folder once imported.  [default: leave it]",
)
@own_option
@output_options
@db_option
@pass_state
def fetch_cmd(
    state: AppState,
    host: str | None,
    port: int | None,
    security: str | None,
    user: str | None,
    folder: str | None,
    since: dt.date | None,
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
    from collections import Counter

    from outreach.responses.imap import fetch_folder

    account, password = imap_login(
        host, port, security, user, folder, password_command, default_folder="INBOX"
    )
    store = _store(state)
    with progress_bar("Fetching") as progress:
        report = fetch_folder(
            state.database(),
            account,
            password=password,
            store=store,
            since=since,
            move_to=move_to,
            own_addresses=own_addresses,
            progress=progress,
        )
    rows = _message_rows(report.messages)
    columns = MESSAGE_COLUMNS
    if fmt == "json":
        extra = {"account": account.key, "folder": account.folder, "moved": report.moved}
        emit_record(messages_result(report, **extra), "json")
    if fmt != "table":
        if fmt == "csv":
            emit(rows, columns, fmt)
        for m in report.problems:
            echo(f"Warning: {m.source}: {m.reason} (message {m.inbound_id})", err=True)
        return
    counts = Counter(m.status for m in report.messages)
    parts = [f"{counts.pop(k, 0)} {k}" for k in ("matched", "unmatched", "ignored")]
    parts += [f"{n} {k}" for k, n in sorted(counts.items())]
    echo(
        f"Fetched {report.read} new message(s) from {account.key} {account.folder}: "
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
