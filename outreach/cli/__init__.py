"""The ``outreach`` command line: a thin skin over the library.

Command groups live in their own modules and are imported only when invoked,
so ``outreach --help`` and ``outreach --version`` never load SQLAlchemy,
Alembic or Jinja2.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from outreach import __version__
from outreach.cli.state import AppState, handle_errors

#: name -> (module, attribute, one-line help shown by ``outreach --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "outreach.cli.database",
        "init_cmd",
        "Create the database, or upgrade it to the newest schema.",
    ),
    "info": (
        "outreach.cli.database",
        "info_cmd",
        "Show the database in use, its schema revision and row counts.",
    ),
    "config": (
        "outreach.cli.config",
        "config_group",
        "Settings files: show what is in effect, set, unset; passwords in the keyring.",
    ),
    "db": (
        "outreach.cli.database",
        "db_group",
        "Schema migrations: upgrade, downgrade, current, history.",
    ),
    "dialogues": (
        "outreach.cli.dialogues",
        "dialogues_group",
        "UN dialogues that campaigns work toward.",
    ),
    "campaigns": (
        "outreach.cli.campaigns",
        "campaigns_group",
        "Campaigns: create, edit, close, clone; choose recipients.",
    ),
    "letters": (
        "outreach.cli.letters",
        "letters_group",
        "Generate, preview, review and send campaign letters.",
    ),
    "responses": (
        "outreach.cli.responses",
        "responses_group",
        "Log, import and match responses; the unmatched queue.",
    ),
    "followups": (
        "outreach.cli.followups",
        "followups_cmd",
        "Recipients who have not answered, oldest first.",
    ),
    "orgs": (
        "outreach.cli.orgs",
        "orgs_group",
        "Organizations: add, list, show, edit, remove, merge, import, export.",
    ),
    "contacts": (
        "outreach.cli.contacts",
        "contacts_group",
        "Contacts: add, list, show, edit, remove, merge, import, export, forget.",
    ),
    "backup": (
        "outreach.cli.backup",
        "backup_cmd",
        "Write every record and attachment to a portable zip archive.",
    ),
    "restore": (
        "outreach.cli.backup",
        "restore_cmd",
        "Load a backup archive into an empty database (SQLite or PostgreSQL).",
    ),
    "log": (
        "outreach.cli.log",
        "log_cmd",
        "Show the activity log: who changed what, when, before and after.",
    ),
    "report": (
        "outreach.cli.report",
        "report_group",
        "Status reports: a campaign, a dialogue, an organization's history.",
    ),
    "demo": (
        "outreach.cli.demo",
        "demo_cmd",
        "Build a complete sample campaign on a fresh database and show its report.",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module_name, attr, _help = self.lazy[cmd_name]
            command = getattr(importlib.import_module(module_name), attr)
            from outreach.cli.completion import attach

            attach(command)  # shell completion of slugs, acronyms and template names
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Use the short help recorded above so that --help imports nothing.
        rows = [(name, self.lazy[name][2]) for name in self.list_commands(ctx) if name in self.lazy]
        rows += [
            (name, cmd.get_short_help_str(formatter.width))
            for name, cmd in sorted(self.commands.items())
            if name not in self.lazy and not cmd.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))

    def invoke(self, ctx: click.Context) -> Any:
        with handle_errors(ctx):
            return super().invoke(ctx)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="outreach")
@click.option(
    "--db",
    "db_url",
    metavar="PATH|URL",
    envvar="OUTREACH_DATABASE_URL",
    show_envvar=True,
    help="Database: a SQLite file path or a postgresql:// URL.  [default: ./outreach.db]",
)
@click.option(
    "--as",
    "actor",
    metavar="NAME",
    envvar="OUTREACH_USER",
    show_envvar=True,
    help="Who is acting, for the activity log.  [default: your login name]",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Say more on stderr: -v what the command is doing, -vv every step.",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print no summary and no warnings: only errors (and --format json data).",
)
@click.pass_context
def cli(
    ctx: click.Context, db_url: str | None, actor: str | None, verbose: int, quiet: bool
) -> None:
    """Directory, campaign letters, responses and status reports for
    advocacy coalitions working ahead of UN dialogues.

    Start with `outreach init`, then see `outreach COMMAND --help`. Exit
    status: 0 done, 1 a user error, 2 a usage error, 3 a partial send, 75 a
    lock timeout, 130 Ctrl-C (see the README's "Exit codes").
    """
    from outreach.cli.verbosity import configure

    configure(verbose, quiet)
    ctx.obj = AppState(db_url=db_url, actor=actor, quiet=quiet)


def main() -> None:
    # Start-up imports (SQLAlchemy, the models, Jinja2) make a few hundred
    # thousand long-lived objects and no garbage: collecting while they load
    # costs a tenth of a short command. The collector comes back, with those
    # objects frozen out of its way, when the command opens the database
    # (outreach.cli.state.resume_gc).
    from outreach.cli.state import pause_gc

    pause_gc()
    cli.main(prog_name="outreach")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
