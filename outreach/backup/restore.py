"""Restoring a backup: an archive loaded into an empty database of either
backend, in one transaction.

Rows keep their primary keys, PostgreSQL sequences are moved past them, and
anything that fails leaves the database (and the attachment store) as it
was. An archive written at an older schema revision is loaded into the
tables of that revision and then upgraded with the normal migrations, still
in the same transaction; an archive from a newer outreach is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from outreach.backup.archive import (
    ATTACHMENTS_DIR,
    BATCH_SIZE,
    Archive,
    ArchiveError,
    Progress,
    Step,
    counter,
    file_sha256,
    safe_relpath,
)
from outreach.backup.codec import ColumnCodec, base_type, tables_at_current_revision
from outreach.backup.write import attachments_folder
from outreach.db import Database, bulk, migrations
from outreach.db.activity import record_activity
from outreach.errors import ConfigurationError, ConflictError, SchemaError
from outreach.files import PRIVATE_FILE, PRIVATE_READ_ONLY, make_dirs
from outreach.schema.models import Base


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    path: Path
    schema_revision: str
    rows: dict[str, int]
    attachments: int
    #: Rows removed (table -> count) because ``force`` emptied the database first.
    emptied: dict[str, int]
    #: True when the archive came from an older schema and was upgraded.
    upgraded_from: str | None
    created_at: str
    created_by: str | None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _count_rows(conn: Connection, tables: Iterable[sa.Table]) -> dict[str, int]:
    return {
        t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables
    }


def _empty_tables(conn: Connection, tables: list[sa.Table]) -> None:
    if conn.dialect.name == "postgresql":
        prep = conn.dialect.identifier_preparer
        conn.exec_driver_sql("TRUNCATE " + ", ".join(prep.format_table(t) for t in tables))
        return
    for table in reversed(tables):
        for fk in table.foreign_keys:
            if fk.column.table is table and fk.parent.nullable:
                conn.execute(sa.update(table).values({fk.parent.name: None}))
        conn.execute(sa.delete(table))


def _reset_sequences(conn: Connection, tables: Iterable[sa.Table]) -> None:
    if conn.dialect.name != "postgresql":
        return  # SQLite picks max(rowid) + 1 by itself
    prep = conn.dialect.identifier_preparer
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(base_type(pk[0]), sa.Integer):
            continue
        seq = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
            {"t": prep.format_table(table), "c": pk[0].name},
        ).scalar()
        if seq is None:
            continue
        col = prep.quote(pk[0].name)
        conn.execute(
            sa.text(
                f"SELECT setval(:seq, COALESCE((SELECT MAX({col}) FROM {prep.format_table(table)}),"
                f" 1), (SELECT MAX({col}) FROM {prep.format_table(table)}) IS NOT NULL)"
            ),
            {"seq": seq},
        )


@contextlib.contextmanager
def _refusals(table: sa.Table) -> Iterator[None]:
    """A row the database refuses is the archive's fault: an :class:`ArchiveError`
    naming *table*."""
    try:
        yield
    except UnicodeEncodeError as exc:  # a lone surrogate ("\\ud800" in the JSON)
        raise ArchiveError(
            f"table {table.name}: a row holds text no database can store "
            f"({exc.reason}: {exc.object[exc.start : exc.end]!a})"
        ) from None
    except sa.exc.StatementError as exc:
        # A value the database refuses (NUL in PostgreSQL text, a repeated
        # key) is the archive's fault; a lock or a lost connection is not.
        if isinstance(exc, sa.exc.DBAPIError) and not isinstance(
            exc, sa.exc.DataError | sa.exc.IntegrityError
        ):
            raise
        detail = (str(exc.orig or exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ArchiveError(f"table {table.name}: a row cannot be stored ({detail[:200]})") from None


def _load_table(
    conn: Connection,
    archive: Archive,
    table: sa.Table,
    progress: Step | None,
) -> int:
    info = archive.manifest["tables"][table.name]
    names = list(info["columns"])
    have = {c.name for c in table.columns}
    unknown = [n for n in names if n not in have]
    missing = [c.name for c in table.columns if c.name not in names]
    if unknown or missing:
        raise ArchiveError(
            f"table {table.name}: the archive's columns do not match the database "
            f"(unknown {unknown or '-'}, missing {missing or '-'})"
        )
    columns = [ColumnCodec(table.c[n]) for n in names]
    pk = [c.name for c in table.primary_key.columns]
    # Self-references (a follow-up letter pointing at its letter) are filled in
    # afterwards, so row order never trips the foreign key.
    deferred = {
        fk.parent.name
        for fk in table.foreign_keys
        if fk.column.table.name == table.name and fk.parent.nullable and fk.parent.name in names
    }
    later: list[dict[str, Any]] = []
    count = 0
    # The second pass must not touch "updated_at"-style columns: set them back.
    kept = [c.name for c in table.columns if c.onupdate is not None and c.name in names]

    # A JSON column's NULL stays NULL (not JSON null): none_as_null.
    with (
        _refusals(table),
        bulk.row_writer(conn, table, names, none_as_null=True, progress=progress) as write,
    ):
        for obj in archive.rows(table.name):
            try:
                params = {c.name: c.decode(obj) for c in columns}
            except ArchiveError as exc:
                raise ArchiveError(
                    f"{archive.path}: table {table.name}, row {count + 1}: {exc}"
                ) from None
            if any(params[name] is not None for name in deferred):
                later.append(
                    {f"_v_{k}": params[k] for k in (*deferred, *kept)}
                    | {f"_pk_{k}": params[k] for k in pk}
                )
                for name in deferred:
                    params[name] = None
            write([params[n] for n in names])
            count += 1
    if later:
        where = sa.and_(*(table.c[k] == sa.bindparam(f"_pk_{k}") for k in pk))
        values = {k: sa.bindparam(f"_v_{k}", type_=table.c[k].type) for k in (*deferred, *kept)}
        for start in range(0, len(later), BATCH_SIZE):
            conn.execute(
                sa.update(table).where(where).values(values), later[start : start + BATCH_SIZE]
            )
    if count != info["rows"]:
        raise ArchiveError(
            f"table {table.name}: the archive holds {count} rows but its manifest says "
            f"{info['rows']}; the archive is corrupt"
        )
    return count


def _run_migration(conn: Connection, fn_name: str, revision: str) -> None:
    try:
        migrations.run(conn, fn_name, revision)
    except SchemaError as exc:
        raise ArchiveError(f"cannot move the schema to revision {revision}: {exc}") from None


class _FileWriter:
    """Puts attachment files in place and takes them back out if the restore fails."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created: list[Path] = []
        self.replaced: list[tuple[Path, Path]] = []
        self.made_dirs: list[Path] = []

    def write(self, archive: Archive, member: str) -> None:
        rel = safe_relpath(member[len(ATTACHMENTS_DIR) :])
        dest = self.folder / rel
        expected = archive.manifest["members"][member]["sha256"]
        if dest.is_file() and file_sha256(dest) == expected:
            return
        missing = []
        parent = dest.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        self.made_dirs.extend(reversed(missing))
        make_dirs(dest.parent)
        tmp = dest.with_name(dest.name + ".restore-tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            with open(fd, "wb") as fh:
                digest = archive.copy_member(member, fh)
                fh.flush()
                os.fsync(fh.fileno())
            if digest != expected:
                raise ArchiveError(f"{archive.path}: checksum mismatch in {member}")
            os.chmod(tmp, PRIVATE_READ_ONLY)  # as the store keeps its files
            if dest.exists():
                keep = dest.with_name(dest.name + ".before-restore")
                os.replace(dest, keep)
                self.replaced.append((dest, keep))
            else:
                self.created.append(dest)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def undo(self) -> None:
        for path in self.created:
            path.unlink(missing_ok=True)
        for dest, keep in self.replaced:
            os.replace(keep, dest)
        for folder in reversed(self.made_dirs):
            with contextlib.suppress(OSError):
                folder.rmdir()

    def done(self) -> None:
        for _dest, keep in self.replaced:
            keep.unlink(missing_ok=True)


def restore(
    db: Database,
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> RestoreResult:
    """Load the backup at *path* into *db*, which must be empty unless *force*.

    With *force*, every row already in *db* is deleted first (in the same
    transaction, so a failed restore still leaves them in place). A database
    with no schema at all is initialised first. The archive is verified
    (format, checksums, schema revision) before anything is changed.
    *progress*, if given, is called as ``progress(done, total)`` with the
    rows and files loaded so far, out of all the archive holds.
    """
    with Archive(path) as archive:
        archive.verify()
        rev = archive.schema_revision
        head = migrations.head_revision()
        if rev != head and rev not in migrations.known_revisions():
            raise ArchiveError(
                f"{archive.path} was written at schema revision {rev}, which this outreach "
                f"does not know (it is at {head}): restore it with a newer outreach"
            )
        new_file = db.path if db.path is not None and not db.path.exists() else None
        try:
            if db.current_revision() is None:
                db.init()
            total = sum(archive.table_rows.values()) + len(archive.attachment_members)
            step = counter(progress, total)
            result = _restore_checked(db, archive, force=force, progress=step)
        except BaseException:
            if new_file is not None:  # a SQLite file made for this restore goes again
                db.dispose()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{new_file}{suffix}").unlink(missing_ok=True)
            raise
        return result


def _restore_checked(
    db: Database, archive: Archive, *, force: bool, progress: Step | None
) -> RestoreResult:
    db.check_schema()

    members = archive.attachment_members
    files = _FileWriter(attachments_folder(db))
    try:
        with db.write() as conn:
            result = _restore_rows(db, conn, archive, force=force, progress=progress)
            for member in members:
                try:
                    files.write(archive, member)
                except OSError as exc:
                    raise ConfigurationError(
                        f"cannot write attachment files into {files.folder}: "
                        f"{exc.strerror or exc}; check that folder (or set "
                        "OUTREACH_ATTACHMENTS_DIR)"
                    ) from None
                if progress:
                    progress(1)
    except BaseException:
        files.undo()
        raise
    files.done()
    return dataclasses.replace(result, attachments=len(members))


def _restore_rows(
    db: Database,
    conn: Connection,
    archive: Archive,
    *,
    force: bool,
    progress: Step | None,
) -> RestoreResult:
    head_tables = list(Base.metadata.sorted_tables)
    counts = _count_rows(conn, head_tables)
    present = {t: n for t, n in counts.items() if n}
    if present and not force:
        total = sum(present.values())
        listing = ", ".join(f"{n} {t}" for t, n in present.items())
        raise ConflictError(
            f"{db.safe_url} is not empty ({total} rows: {listing}); restore into a new "
            "database, or force the restore to delete everything in it first",
            field="force",
        )
    if present:
        _empty_tables(conn, head_tables)

    rev = archive.schema_revision
    head = migrations.head_revision()
    upgraded_from = None
    if rev != head:
        _run_migration(conn, "downgrade", rev)
        tables = tables_at_current_revision(conn)
        upgraded_from = rev
    else:
        tables = head_tables

    wanted = {t.name for t in tables}
    archived = set(archive.manifest["tables"])
    if archived != wanted:
        extra = sorted(archived - wanted)
        lacking = sorted(wanted - archived)
        raise ArchiveError(
            f"{archive.path}: its tables do not match schema {rev} "
            f"(unexpected: {extra or '-'}; missing: {lacking or '-'})"
        )
    rows = {t.name: _load_table(conn, archive, t, progress) for t in tables}
    if upgraded_from is not None:
        _run_migration(conn, "upgrade", head)
    _reset_sequences(conn, head_tables)

    manifest = archive.manifest
    summary = (
        f"Restored {sum(rows.values())} rows from {archive.path.name} "
        f"(written {manifest.get('created_at')} by {manifest.get('created_by') or 'unknown'}"
        f", schema {rev})"
    )
    if present:
        summary += f"; first deleted {sum(present.values())} rows already there"
    record_activity(conn, action="restore", entity="database", summary=summary)
    return RestoreResult(
        path=archive.path,
        schema_revision=rev,
        rows=rows,
        attachments=0,
        emptied=present,
        upgraded_from=upgraded_from,
        created_at=str(manifest.get("created_at")),
        created_by=manifest.get("created_by"),
    )
