"""``outreach letters copy-to-sent``: the campaign's sent e-mail letters filed
in the mailbox's Sent folder over IMAP, as a mail client files what it sends."""

from __future__ import annotations

import click

from outreach.cli.mailbox import imap_login, imap_server_options
from outreach.cli.output import echo
from outreach.cli.state import AppState, db_option, pass_state


@click.command("copy-to-sent")
@click.option("--campaign", "campaign_slug", required=True, metavar="SLUG")
@imap_server_options
@click.option("--folder", default="Sent", show_default=True, metavar="FOLDER")
@db_option
@pass_state
def copy_to_sent_cmd(
    state: AppState,
    campaign_slug: str,
    host: str | None,
    port: int | None,
    security: str | None,
    user: str | None,
    password_command: str | None,
    folder: str,
) -> None:
    """File the campaign's sent e-mail letters in the mailbox's Sent folder.

    Each message is rebuilt as it went (cover note, attached letter), dated
    when it went and marked read; a message the folder holds already (same
    Message-ID) is left alone, so running it again adds nothing.
    """
    from outreach.responses.imap import append_sent
    from outreach.sending.eml import sent_copies

    with state.session() as session:
        messages = sent_copies(session, campaign_slug)
    account, password = imap_login(
        host, port, security, user, folder, password_command, default_folder=folder
    )
    done = append_sent(account, messages, password=password)
    echo(
        f"{campaign_slug}: {len(done.appended)} letter(s) filed in {account.key} {done.folder}, "
        f"{len(done.already)} there already."
    )
