"""Writing a backup: every row of every table and the attachment store's
files, into one zip archive (see :mod:`outreach.backup.archive`), read from
one consistent snapshot of the database."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from outreach import __version__
from outreach.attachments import ERASED_SHA256, legacy_folder
from outreach.backup.archive import (
    ATTACHMENTS_DIR,
    BATCH_SIZE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    TABLES_DIR,
    Progress,
    Step,
    counter,
    hash_stream,
)
from outreach.backup.codec import ColumnCodec, encode, tables_at_current_revision
from outreach.db import Database
from outreach.db.activity import record_activity
from outreach.db.migrations import known_revisions
from outreach.errors import ConfigurationError, ConflictError, SchemaError, ValidationError
from outreach.files import keep_mode_of
from outreach.schema.types import utcnow


@dataclasses.dataclass(frozen=True)
class BackupResult:
    path: Path
    schema_revision: str
    rows: dict[str, int]
    attachments: int
    attachment_bytes: int
    #: SHA-256 values named in the database (attachments, raw messages) whose
    #: file is neither in the database nor in the attachments folder.
    missing_attachments: list[str]
    size: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def attachments_folder(db: Database) -> Path:
    """The folder where older versions kept *db*'s attachment files (which may
    not exist): files still there go into the archive beside the rows of
    ``stored_files``."""
    return legacy_folder(db)


#: How many missing files an error names one by one.
_MISSING_SHOWN = 20


def _is_stray(name: str) -> bool:
    return name.startswith(".") or name.endswith(
        (".tmp", ".part", ".restore-tmp", ".before-restore")
    )


def _attachment_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix path, file) for every stored file, in a stable order."""
    if not folder.is_dir():
        return
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            full = Path(root) / name
            if _is_stray(name) or not full.is_file() or full.is_symlink():
                continue
            yield full.relative_to(folder).as_posix(), full


class _HashingWriter:
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.raw.write(data)
        self.sha.update(data)
        self.size += len(data)


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=utcnow().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _default_name() -> str:
    return f"outreach-backup-{utcnow().strftime('%Y%m%dT%H%M%SZ')}.zip"


def backup(
    db: Database,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    allow_missing: bool = False,
) -> BackupResult:
    """Write every row of every table, and the attachment files, to the zip *path*.

    *path* may be a folder: the archive is then named after the current time.
    An existing file is refused unless *overwrite*. The archive is written to a
    temporary file and renamed into place, so a failure leaves no half-written
    archive. Records a ``backup`` activity. *progress*, if given, is called
    as ``progress(done, total)`` with the rows and files written so far, out
    of all there are.

    A file that a record names (an attachment, a raw mail) but that is
    neither in the database nor in the attachments folder makes the backup
    fail, naming the records, unless *allow_missing* (the archive then holds
    the records without their files; :attr:`BackupResult.missing_attachments`).
    """
    target = Path(path).expanduser()
    if target.is_dir():
        target = target / _default_name()
    if target.exists() and not overwrite:
        raise ConflictError(
            f"{target} already exists: choose another name or replace it", field="overwrite"
        )
    if not target.parent.is_dir():
        raise ConfigurationError(f"{target}: folder {target.parent} does not exist")
    revision = db.current_revision()
    if revision is None:
        raise SchemaError(f"{db.safe_url} has no outreach schema: nothing to back up")
    if revision not in known_revisions():
        raise SchemaError(
            f"the database schema ({revision}) is newer than this outreach knows: "
            "upgrade outreach (pip install -U outreach) to back it up"
        )
    folder = attachments_folder(db)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        result, named_by = _write_archive(db, tmp, target, folder, progress)
        if result.missing_attachments and not allow_missing:
            tmp.unlink(missing_ok=True)
            raise _missing_files_error(result.missing_attachments, named_by)
        keep_mode_of(target, tmp)  # a new backup stays 0600, as mkstemp made it
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        where = exc.filename or target
        raise ConfigurationError(
            f"cannot write the backup {target} ({where}: {exc.strerror or exc}); nothing was "
            "written"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # check_schema=False: a backup taken before an upgrade is exactly when an
    # older schema is met.
    with db.write(check_schema=False) as conn:
        summary = (
            f"Backup written to {target.name}: {result.total_rows} rows in "
            f"{len(result.rows)} tables, {result.attachments} attachment files"
        )
        record_activity(conn, action="backup", entity="database", summary=summary)
    return dataclasses.replace(result, size=target.stat().st_size)


def _missing_files_error(missing: list[str], named_by: dict[str, str]) -> ValidationError:
    problems = [f"{sha}: named by {named_by.get(sha, 'a record')}" for sha in missing]
    if len(problems) > _MISSING_SHOWN:
        problems = [*problems[:_MISSING_SHOWN], f"... and {len(missing) - _MISSING_SHOWN} more"]
    return ValidationError(
        f"{len(missing)} file(s) named in the database are neither in the database nor in "
        "the attachments folder; no backup was written",
        problems,
        option="allow_missing",
    )


def _write_archive(
    db: Database, tmp: Path, target: Path, folder: Path, progress: Progress | None
) -> tuple[BackupResult, dict[str, str]]:
    members: dict[str, dict[str, Any]] = {}
    tables: dict[str, dict[str, Any]] = {}
    # SHA-256 named by a record -> the first record naming it ("attachments #3")
    referenced: dict[str, str] = {}
    in_database: dict[str, str] = {}
    with (
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf,
        db.snapshot() as conn,
    ):
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        at_revision = tables_at_current_revision(conn)
        files = list(_attachment_files(folder))
        step = None
        if progress is not None:  # counted in the snapshot the backup reads
            rows = sum(
                conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in at_revision
            )
            step = counter(progress, rows + len(files))
        for table in at_revision:
            name = f"{TABLES_DIR}{table.name}.jsonl"
            sink = in_database if table.name == "stored_files" else referenced
            members[name], tables[table.name] = _write_table(zf, conn, table, name, sink, step)
        stored, n_files, n_bytes = _write_attachments(zf, files, members, step)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "outreach_version": __version__,
            "schema_revision": revision,
            "created_at": encode(utcnow()),
            "created_by": db.actor,
            "source_backend": db.backend,
            "tables": tables,
            "attachments": {"files": n_files, "bytes": n_bytes},
            "members": members,
        }
        zf.writestr(_member(MANIFEST), json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    missing = set(referenced) - stored - set(in_database) - {ERASED_SHA256}
    result = BackupResult(
        path=target,
        schema_revision=revision,
        rows={t: info["rows"] for t, info in tables.items()},
        attachments=n_files + len(in_database),
        attachment_bytes=n_bytes + sum(int(v) for v in in_database.values()),
        missing_attachments=sorted(missing),
        size=0,
    )
    return result, referenced


def _write_table(
    zf: zipfile.ZipFile,
    conn: Connection,
    table: sa.Table,
    name: str,
    referenced: dict[str, str],
    progress: Step | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write *table*'s rows to the member *name*, entering the SHA-256 values
    its rows name in *referenced* (with the row naming them; for
    ``stored_files``, with the file's size); ``(member entry, table entry)``
    of the manifest."""
    columns = [ColumnCodec(c) for c in table.columns]
    null_flags = [table.c[c.name].is_(None) for c in columns if c.is_json]
    query = sa.select(table, *null_flags).order_by(*table.primary_key.columns)
    result = conn.execution_options(stream_results=True, yield_per=BATCH_SIZE).execute(query)
    # (name, index in the row, index of its IS NULL flag or -1, encoder or None)
    plan: list[tuple[str, int, int, Callable[[Any], Any] | None]] = []
    flag = len(columns)
    for i, col in enumerate(columns):
        if col.is_json:
            plan.append((col.name, i, flag, None))
            flag += 1
        else:
            plan.append((col.name, i, -1, col.encoder))
    # Columns naming a file in the attachment store by its SHA-256.
    sha_cols = [
        i for i, c in enumerate(columns) if c.name == "sha256" or c.name.endswith("_sha256")
    ]
    names = [c.name for c in columns]
    id_at = names.index("id") if "id" in names else None
    size_at = names.index("size") if table.name == "stored_files" else None
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    count = 0
    with zf.open(_member(name), "w", force_zip64=True) as raw:
        out = _HashingWriter(raw)
        for partition in result.partitions():
            lines = []
            for row in partition:
                obj: dict[str, Any] = {}
                for col_name, i, null_at, encoder in plan:
                    if null_at >= 0:
                        if not row[null_at]:
                            obj[col_name] = row[i]
                        continue
                    value = row[i]
                    obj[col_name] = value if encoder is None or value is None else encoder(value)
                for i in sha_cols:
                    if row[i] and row[i] not in referenced:
                        if size_at is not None:
                            referenced[row[i]] = str(row[size_at])
                        else:
                            ref = f" #{row[id_at]}" if id_at is not None else ""
                            referenced[row[i]] = f"{table.name}{ref}"
                lines.append(dumps(obj))
            lines.append("")
            count += len(partition)
            out.write("\n".join(lines).encode("utf-8"))
            if progress:
                progress(len(partition))
    member = {"size": out.size, "sha256": out.sha.hexdigest()}
    return member, {"file": name, "rows": count, "columns": [c.name for c in columns]}


def _write_attachments(
    zf: zipfile.ZipFile,
    files: list[tuple[str, Path]],
    members: dict[str, dict[str, Any]],
    progress: Step | None,
) -> tuple[set[str], int, int]:
    """Copy the store's files into the archive, entering them in *members*;
    ``(their SHA-256 values, how many files, how many bytes)``."""
    n_files = 0
    n_bytes = 0
    stored: set[str] = set()
    for rel, full in files:
        name = ATTACHMENTS_DIR + rel
        with full.open("rb") as src, zf.open(_member(name), "w", force_zip64=True) as raw:
            digest, size = hash_stream(src, raw)
        members[name] = {"size": size, "sha256": digest}
        stored.add(digest)
        n_files += 1
        n_bytes += size
        if progress:
            progress(1)
    return stored, n_files, n_bytes
