"""``outreach backup FILE`` and ``outreach restore FILE [--force]``."""

from __future__ import annotations

import click

from outreach.cli.options import renamed
from outreach.cli.output import echo
from outreach.cli.progress import progress_bar
from outreach.cli.state import AppState, db_option, pass_state


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


@click.command("backup")
@db_option
@click.argument("file", type=click.Path(dir_okay=True, writable=True))
@click.option("--force", "overwrite", is_flag=True, help="Replace FILE if it already exists.")
@renamed("--overwrite", to="overwrite", new="--force", is_flag=True)
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Write the backup even when files that records name (attachments, raw mails) are "
    "missing; without it such a backup fails, naming them.",
)
@pass_state
def backup_cmd(state: AppState, file: str, overwrite: bool, allow_missing: bool) -> None:
    """Write every record and attachment file to the zip archive FILE.

    FILE may be a folder: the archive is then named after the current time.
    The archive is portable: `outreach restore` loads it into an empty
    SQLite or PostgreSQL database.
    """
    from outreach.backup.write import backup

    db = state.database(check_schema=False)
    with progress_bar("Backing up") as progress:
        result = backup(
            db, file, overwrite=overwrite, progress=progress, allow_missing=allow_missing
        )
    echo(
        f"Backup written to {result.path} ({_size(result.size)}): {result.total_rows} rows "
        f"in {len(result.rows)} tables, {result.attachments} attachment files "
        f"({_size(result.attachment_bytes)}), schema {result.schema_revision}."
    )
    if result.missing_attachments:
        echo(
            f"Warning: {len(result.missing_attachments)} file(s) named by records are "
            f"missing (first: {result.missing_attachments[0]}); the archive holds the "
            "record(s) without the file.",
            err=True,
        )


@click.command("restore")
@db_option
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--force",
    is_flag=True,
    help="Delete everything already in the database before restoring (in the same "
    "transaction: a failed restore keeps it).",
)
@pass_state
def restore_cmd(state: AppState, file: str, force: bool) -> None:
    """Load the backup FILE into an empty database (SQLite or PostgreSQL).

    The archive is checked (format, checksums, schema revision) before
    anything changes, and loaded in one transaction: if anything fails, the
    database is left as it was. A database that is not empty is refused
    unless --force, which deletes its rows first. An archive from an older
    schema is loaded at that schema and upgraded. A new SQLite file is
    created; attachment files go into the database's attachments folder.
    """
    from outreach.backup.restore import restore

    db = state.database(check_schema=False)
    with progress_bar("Restoring") as progress:
        result = restore(db, file, force=force, progress=progress)
    if result.emptied:
        echo(
            f"Emptied {db.safe_url} first: deleted {sum(result.emptied.values())} rows "
            f"from {len(result.emptied)} tables (--force).",
            err=True,
        )
    upgraded = f", upgraded from schema {result.upgraded_from}" if result.upgraded_from else ""
    echo(
        f"Restored {result.total_rows} rows in {len(result.rows)} tables and "
        f"{result.attachments} attachment files from {result.path} "
        f"(written {result.created_at} by {result.created_by or 'unknown'}, schema "
        f"{result.schema_revision}{upgraded}) into {db.safe_url}."
    )
