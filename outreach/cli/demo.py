"""``outreach demo``: build a complete sample campaign and show its report."""

from __future__ import annotations

from pathlib import Path

import click

from outreach.cli.options import renamed
from outreach.cli.state import AppState, pass_state


@click.command("demo")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The demo's SQLite file.  [default: outreach-demo/demo.db]",
)
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the letters, mailboxes and HTML report go.  "
    "[default: ./outreach-demo, or NAME-demo beside --db NAME.db]",
)
@renamed("--folder", to="folder", new="--out", type=click.Path(file_okay=False, path_type=Path))
@pass_state
def demo_cmd(state: AppState, db_path: Path | None, folder: Path | None) -> None:
    """Build a complete sample campaign on a fresh SQLite database.

    Uses the shipped directory and letter templates: a dialogue, a campaign
    to fifteen regional organizations, letters in the seven shipped languages,
    e-mail letters "sent" into a local mailbox file (nothing leaves the machine),
    post letters, replies by post and by e-mail, a round of reminders, and
    the status report. Running it again starts the demo afresh.
    """
    from outreach.cli.state import resume_gc
    from outreach.demo import build_demo, default_folder

    resume_gc()  # the demo opens its own database, not the command's
    if db_path is None:
        # `outreach --db PATH demo` as well as `outreach demo --db PATH`; a
        # database named only by OUTREACH_DATABASE_URL is never used.
        root = click.get_current_context().find_root()
        source = root.get_parameter_source("db_url")
        if state.db_url and source == click.core.ParameterSource.COMMANDLINE:
            if "://" in state.db_url:
                raise click.UsageError("the demo makes a SQLite file: give --db a file path")
            db_path = Path(state.db_url)
    if folder is None:
        if db_path is not None:
            folder = db_path.resolve().parent / f"{db_path.stem}-demo"
        else:
            folder = default_folder()

    def say(text: str) -> None:
        click.echo(f"• {text}", err=True)

    result = build_demo(folder, db_path=db_path, say=say)
    click.echo("")
    click.echo(result.status_table, nl=False)
    click.echo("")
    rel = result.database
    if " " in str(rel):
        rel = f'"{rel}"'
    click.echo("Where everything is:")
    for label, path in (
        ("database", result.database),
        ("letters", result.letters_folder),
        ("e-mail sent (mbox)", result.outbox),
        ("e-mail received (mbox)", result.inbox),
        ("attachments", result.attachments),
        ("HTML report", result.html_report),
    ):
        click.echo(f"  {label:<24}{path}")
    click.echo("")
    click.echo("Try next:")
    click.echo(f"  outreach --db {rel} report status --campaign demo-third-pillar")
    click.echo(f"  outreach --db {rel} report history --org AU")
    click.echo(f"  outreach --db {rel} responses list")
