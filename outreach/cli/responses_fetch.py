"""``outreach responses fetch``: replies read from a mailbox folder over IMAP."""

from __future__ import annotations

import datetime as dt
import os

import click

from outreach.cli.options import output_options
from outreach.cli.output import echo, emit, safe
from outreach.cli.progress import progress_bar
from outreach.cli.responses_common import MESSAGE_COLUMNS, _message_rows, _store, own_option
from outreach.cli.state import AppState, db_option, pass_state


@click.command("fetch")
@click.option("--host", metavar="HOST", help="The IMAP server.  [default: imap.host setting]")
@click.option("--port", type=click.IntRange(1, 65535), help="[default: 993 with --ssl, else 143]")
@click.option(
    "--ssl", "security", flag_value="ssl", help="TLS from the start (the default)."
)
@click.option("--starttls", "security", flag_value="starttls", help="Plain, then STARTTLS.")
@click.option(
    "--no-tls",
    "security",
    flag_value="none",
    help="No encryption at all: only for a server on this machine or a trusted network.",
)
@click.option("--user", metavar="USER", help="The login.  [default: imap.user setting]")
@click.option("--folder", metavar="FOLDER", help="[default: imap.folder setting, else INBOX]")
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

    from outreach import configfile
    from outreach.errors import ConfigurationError
    from outreach.responses.imap import (
        ENV_IMAP_PASSWORD,
        ImapAccount,
        fetch_folder,
        find_password,
    )

    # the options, else the settings (files and environment: `outreach config show`)
    settings = configfile.load()
    host = host or settings.get("imap.host")
    user = user or settings.get("imap.user")
    for value, name in ((host, "host"), (user, "user")):
        if not value:
            raise ConfigurationError(
                f"no IMAP {name}: give --{name}, or set it once", hint=f"config set imap.{name} X"
            )
    port = port or settings.get("imap.port")
    security = security or settings.get("imap.security", "ssl")
    folder = folder or settings.get("imap.folder", "INBOX")
    # OAuth2 (Microsoft 365, Gmail) when a token command is set and no password is given
    token = None
    if not password_command and not os.environ.get(ENV_IMAP_PASSWORD):
        token = configfile.oauth_token("imap", settings)
    account = ImapAccount(
        host=host, user=user, port=port, security=security, folder=folder, oauth=bool(token)
    )
    if security == "none" and host not in ("127.0.0.1", "::1", "localhost"):
        echo(
            f"Warning: --no-tls: the password for {user} goes to {account.key} in clear text.",
            err=True,
        )
    prompt = None
    if sys.stdin.isatty():

        def prompt(text: str) -> str:
            return click.prompt(safe(text), hide_input=True, err=True)

    password = token or find_password(account, command=password_command, prompt=prompt)
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
