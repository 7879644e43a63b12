"""``outreach init``, ``outreach info`` and ``outreach db ...``."""

from __future__ import annotations

import click

from outreach.cli.options import output_options, yes_option
from outreach.cli.output import echo, emit, emit_record
from outreach.cli.state import AppState, db_option, pass_state


@click.command("init")
@db_option
@click.option(
    "--with-directory",
    is_flag=True,
    help="Also load the shipped directory of regional organizations (safe to repeat).",
)
@pass_state
def init_cmd(state: AppState, with_directory: bool = False) -> None:
    """Create the database, or upgrade it to the newest schema.

    Safe to run again: an up-to-date database is left as it is.
    """
    db = state.database(check_schema=False)
    changed = db.init()
    revision = db.current_revision()
    if changed:
        echo(f"Database ready at schema {revision}: {db.safe_url}")
    else:
        echo(f"Database already at schema {revision}, nothing to do: {db.safe_url}")
    if with_directory:
        from outreach.cli.directory import print_import_result
        from outreach.directory.importing import load_shipped_directory

        with db.session(immediate=True) as session:
            result = load_shipped_directory(session=session)
        print_import_result(result)


@click.command("info")
@db_option
@output_options
@pass_state
def info_cmd(state: AppState, fmt: str) -> None:
    """Show the database in use, its schema revision and row counts."""
    db = state.database(check_schema=False)
    info = db.info()
    if info.revision is None:
        status = "not initialised: run `outreach init`"
    elif info.revision == info.head:
        status = "up to date"
    else:
        status = f"needs `outreach db upgrade` (code is at {info.head})"
    record = {
        "database": info.url,
        "backend": info.backend,
        "schema": info.revision or "-",
        "status": status,
    }
    if fmt == "table":
        emit_record(record, fmt)
        if info.counts:
            click.echo()
            emit([{"table": t, "rows": n} for t, n in info.counts.items()], ["table", "rows"], fmt)
    elif fmt == "json":
        emit_record({**record, "rows": info.counts}, fmt)
    else:
        emit_record({**record, **{f"rows_{t}": n for t, n in info.counts.items()}}, fmt)


@click.group("db")
def db_group() -> None:
    """Schema migrations (upgrade, downgrade, current, history) and roles (grant).

    Commands that write queue for one write lock. When another command holds
    it, a command says so at once on stderr and waits up to 30 s (set
    OUTREACH_LOCK_TIMEOUT, or --wait SECONDS on any command); if the lock is
    still held it gives up with exit status 75. Ctrl-C stops a command with
    exit status 130, keeping only what was already committed.
    """


@db_group.command("grant")
@db_option
@click.argument("role")
@click.option(
    "--read-only",
    is_flag=True,
    required=True,
    help="Let ROLE read every table (reports, lists) and nothing else.",
)
@pass_state
def db_grant(state: AppState, role: str, read_only: bool) -> None:
    """Create the PostgreSQL role ROLE if needed and let it only read.

    For members who read reports but change nothing: their writes are
    refused. The role can log in once it has a password (ALTER ROLE ... PASSWORD).
    """
    from outreach.db.roles import grant_read_only

    created = grant_read_only(state.database(), role)
    echo(
        f"Role {role} {'created; it ' if created else ''}may read every table of "
        f"{state.database().safe_url} and write none."
    )


@db_group.command("upgrade")
@db_option
@click.argument("revision", default="head")
@pass_state
def db_upgrade(state: AppState, revision: str) -> None:
    """Upgrade the schema to REVISION (default: the newest)."""
    db = state.database(check_schema=False)
    before = db.current_revision()
    db.upgrade(revision)
    after = db.current_revision()
    if before == after:
        echo(f"Schema already at {after}.")
    else:
        echo(f"Schema upgraded from {before or 'empty'} to {after}.")


@db_group.command("downgrade")
@db_option
@click.argument("revision")
@yes_option
@pass_state
def db_downgrade(state: AppState, revision: str, yes: bool) -> None:
    """Downgrade the schema to REVISION (`base` removes every table and its data)."""
    db = state.database(check_schema=False)
    if not yes:
        click.confirm(
            f"Downgrading {db.safe_url} to {revision} can drop data. Continue?",
            abort=True,
        )
    before = db.current_revision()
    db.downgrade(revision)
    echo(f"Schema downgraded from {before} to {db.current_revision() or 'empty'}.")


@db_group.command("current")
@db_option
@pass_state
def db_current(state: AppState) -> None:
    """Print the database's schema revision."""
    from outreach.db import head_revision

    db = state.database(check_schema=False)
    revision = db.current_revision()
    head = head_revision()
    if revision is None:
        click.echo("none (run `outreach init`)")
    elif revision == head:
        echo(f"{revision} (head)")
    else:
        echo(f"{revision} (code is at {head}: run `outreach db upgrade`)")


@db_group.command("history")
@db_option
@output_options
@pass_state
def db_history(state: AppState, fmt: str) -> None:
    """List the schema migrations, newest first."""
    db = state.database(check_schema=False)
    rows = [
        {
            "revision": r.revision,
            "down": r.down_revision or "-",
            "mark": ("head " if r.is_head else "") + ("current" if r.is_current else ""),
            "description": r.doc,
        }
        for r in db.history()
    ]
    emit(rows, ["revision", "down", "mark", "description"], fmt)
