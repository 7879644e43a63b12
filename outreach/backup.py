"""Backup and restore: a complete, versioned, portable archive of a database.

An archive is a zip file::

    manifest.json                 what is inside, with a SHA-256 per member
    tables/<table>.jsonl          one JSON object per row, in primary-key order
    attachments/<path>            the attachment store's files, byte for byte

``manifest.json`` holds ``format`` ("outreach-backup"), ``format_version``,
the outreach version and schema revision that wrote it, ``created_at``,
``created_by``, the source backend, per-table ``rows`` and ``columns``, and
``members``: the size and SHA-256 of every other member.

Values are written so that any backend (and any other program) reads them
back the same way: timestamps as ISO 8601 in UTC (``2012-07-12T14:00:00Z``),
dates as ``YYYY-MM-DD``, booleans as ``true``/``false``, enumerations as
their values, binary data as base64, and JSON columns as JSON. A JSON column
that is SQL ``NULL`` is left out of its row's object, so that it stays
distinct from a stored JSON ``null``.

Restoring loads an archive into an empty database of either backend, in one
transaction: rows keep their primary keys, PostgreSQL sequences are moved
past them, and anything that fails leaves the database as it was. An archive
written at an older schema revision is loaded into the tables of that
revision and then upgraded with the normal migrations, still in the same
transaction; an archive from a newer outreach is refused.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.sqltypes import _Binary
from sqlalchemy.types import TypeDecorator

from outreach import __version__
from outreach.activity import ACTOR_KEY, record_activity
from outreach.db import Database, head_revision, known_revisions
from outreach.errors import ConfigurationError, ConflictError, OutreachError, SchemaError
from outreach.files import PRIVATE_FILE, PRIVATE_READ_ONLY, keep_mode_of, make_dirs
from outreach.models import Base
from outreach.types import utcnow

FORMAT = "outreach-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TABLES_DIR = "tables/"
ATTACHMENTS_DIR = "attachments/"
BATCH_SIZE = 1000
_CHUNK = 1 << 20

#: Reports progress: called with how many more rows or files are done.
Progress = Callable[[int], None]


class ArchiveError(OutreachError):
    """The file is not a usable outreach backup (corrupt, truncated, foreign, too new)."""


@dataclasses.dataclass(frozen=True)
class BackupResult:
    path: Path
    schema_revision: str
    rows: dict[str, int]
    attachments: int
    attachment_bytes: int
    #: SHA-256 values named in the database (attachments, raw messages) whose
    #: file was not found in the store.
    missing_attachments: list[str]
    size: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


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


# --- the attachment store -----------------------------------------------------------


def attachments_folder(db: Database) -> Path | None:
    """The folder holding *db*'s attachment files (which may not exist yet).

    Asks ``outreach.attachments`` (``AttachmentStore.for_database``). Without
    that module, follows its convention: ``$OUTREACH_ATTACHMENTS_DIR``, else
    ``<db file stem>-attachments/`` beside a SQLite file; ``None`` when no
    folder is known.
    """
    try:
        from outreach.attachments import AttachmentStore
    except ImportError:
        AttachmentStore = None  # type: ignore[assignment,misc]
    if AttachmentStore is not None:
        return Path(AttachmentStore.for_database(db).root)
    env = os.environ.get("OUTREACH_ATTACHMENTS_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    path = db.path
    return path.parent / f"{path.stem}-attachments" if path is not None else None


def _is_stray(name: str) -> bool:
    return name.startswith(".") or name.endswith(
        (".tmp", ".part", ".restore-tmp", ".before-restore")
    )


def _attachment_files(folder: Path | None) -> Iterator[tuple[str, Path]]:
    """(relative posix path, file) for every stored file, in a stable order."""
    if folder is None or not folder.is_dir():
        return
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            full = Path(root) / name
            if _is_stray(name) or not full.is_file() or full.is_symlink():
                continue
            yield full.relative_to(folder).as_posix(), full


# --- portable values ------------------------------------------------------------------


def _base_type(col: sa.Column[Any]) -> sa.types.TypeEngine[Any]:
    t = col.type
    while isinstance(t, TypeDecorator):
        t = t.impl_instance
    return t


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot store a {type(value).__name__} in a backup")


def _encode_datetime(value: dt.datetime) -> str:
    if value.tzinfo is dt.UTC:
        return value.isoformat().replace("+00:00", "Z")
    return _encode(value)


def _encode_plain(value: Any) -> Any:
    if type(value) in (str, int, bool, float):
        return value
    return _encode(value)


class _Column:
    """How one column's values go into and come out of the archive."""

    def __init__(self, col: sa.Column[Any]) -> None:
        self.name = col.name
        base = _base_type(col)
        self.is_json = isinstance(base, sa.JSON)
        self.is_enum = isinstance(base, sa.Enum)
        self.kind = (
            "json"
            if self.is_json
            else "datetime"
            if isinstance(base, sa.DateTime)
            else "date"
            if isinstance(base, sa.Date)
            else "time"
            if isinstance(base, sa.Time)
            else "binary"
            if isinstance(base, _Binary)
            else "numeric"
            if isinstance(base, sa.Numeric) and not isinstance(base, sa.Float)
            else "interval"
            if isinstance(base, sa.Interval)
            else "plain"
        )
        #: The JSON types a plain column accepts from an archive.
        self.accepts: tuple[type, ...] | None = (
            (bool,)
            if isinstance(base, sa.Boolean)
            else (int,)
            if isinstance(base, sa.Integer)
            else (str,)
            if isinstance(base, sa.String)
            else (int, float)
            if isinstance(base, sa.Float)
            else None
        )
        self.decode = self._fast_decoder()

    @property
    def encoder(self) -> Callable[[Any], Any] | None:
        """How to write a (non-None) value; ``None`` when JSON takes it as it is."""
        if self.kind == "datetime":
            return _encode_datetime
        if self.kind == "plain" and not self.is_enum:
            return _encode_plain
        return _encode

    def _fast_decoder(self) -> Callable[[dict[str, Any]], Any]:
        """``decode`` specialised for the common cases (it runs once per cell)."""
        name, slow = self.name, self._decode
        if self.kind == "plain" and self.accepts is not None:
            exact = set(self.accepts)

            def plain(row: dict[str, Any]) -> Any:
                value = row.get(name)
                if value is None or type(value) in exact:
                    return value
                return slow(row)

            return plain
        if self.kind == "datetime":
            parse = dt.datetime.fromisoformat

            def timestamp(row: dict[str, Any]) -> Any:
                value = row.get(name)
                if value is None:
                    return None
                try:
                    return parse(value)
                except (TypeError, ValueError):
                    return slow(row)

            return timestamp
        return slow

    def _decode(self, row: dict[str, Any]) -> Any:
        if self.is_json:
            if self.name not in row:
                return None  # SQL NULL (the insert binds JSON columns with none_as_null)
            value = row[self.name]
            return sa.JSON.NULL if value is None else value
        value = row.get(self.name)
        if value is None:
            return None
        try:
            if self.kind == "datetime":
                return dt.datetime.fromisoformat(value)
            if self.kind == "date":
                return dt.date.fromisoformat(value)
            if self.kind == "time":
                return dt.time.fromisoformat(value)
            if self.kind == "binary":
                return base64.b64decode(value, validate=True)
            if self.kind == "numeric":
                return decimal.Decimal(value)
            if self.kind == "interval":
                return dt.timedelta(seconds=value)
        except (TypeError, ValueError) as exc:
            raise ArchiveError(f"column {self.name}: bad value {value!r} ({exc})") from None
        if self.accepts is not None and (
            not isinstance(value, self.accepts)
            or (isinstance(value, bool) and bool not in self.accepts)
        ):
            raise ArchiveError(
                f"column {self.name}: {type(value).__name__} value {str(value)[:40]!r} where "
                f"{self.accepts[0].__name__} is expected"
            )
        return value


# --- writing -----------------------------------------------------------------------------


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


def _snapshot(conn: Connection) -> None:
    """Make every read below see one consistent state of the database."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    # SQLite in WAL mode: one read transaction is a snapshot from its first read.


def _default_name() -> str:
    return f"outreach-backup-{utcnow().strftime('%Y%m%dT%H%M%SZ')}.zip"


def backup(
    db: Database,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> BackupResult:
    """Write every row of every table, and the attachment files, to the zip *path*.

    *path* may be a folder: the archive is then named after the current time.
    An existing file is refused unless *overwrite*. The archive is written to a
    temporary file and renamed into place, so a failure leaves no half-written
    archive. Records a ``backup`` activity.
    """
    target = Path(path).expanduser()
    if target.is_dir():
        target = target / _default_name()
    if target.exists() and not overwrite:
        raise ConflictError(f"{target} already exists: choose another name or use --overwrite")
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
        result = _write_archive(db, tmp, target, folder, progress)
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
    # Not db.session(): that insists on the newest schema, and a backup taken
    # before an upgrade is exactly when an older one is met.
    with Session(db.engine) as session, session.begin():
        session.info[ACTOR_KEY] = db.actor
        summary = (
            f"Backup written to {target.name}: {result.total_rows} rows in "
            f"{len(result.rows)} tables, {result.attachments} attachment files"
        )
        record_activity(session, action="backup", entity="database", summary=summary)
    return dataclasses.replace(result, size=target.stat().st_size)


def _write_archive(
    db: Database, tmp: Path, target: Path, folder: Path | None, progress: Progress | None
) -> BackupResult:
    members: dict[str, dict[str, Any]] = {}
    tables: dict[str, dict[str, Any]] = {}
    rows: dict[str, int] = {}
    referenced: set[str] = set()
    with (
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf,
        db.connect() as conn,
        conn.begin(),
    ):
        _snapshot(conn)
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        for table in _tables_at_current_revision(conn):
            columns = [_Column(c) for c in table.columns]
            name = f"{TABLES_DIR}{table.name}.jsonl"
            null_flags = [table.c[c.name].is_(None) for c in columns if c.is_json]
            query = sa.select(table, *null_flags).order_by(*table.primary_key.columns)
            result = conn.execution_options(stream_results=True, yield_per=BATCH_SIZE).execute(
                query
            )
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
                            obj[col_name] = (
                                value if encoder is None or value is None else encoder(value)
                            )
                        for i in sha_cols:
                            if row[i]:
                                referenced.add(row[i])
                        lines.append(dumps(obj))
                    lines.append("")
                    count += len(partition)
                    out.write("\n".join(lines).encode("utf-8"))
                    if progress:
                        progress(len(partition))
            members[name] = {"size": out.size, "sha256": out.sha.hexdigest()}
            tables[table.name] = {
                "file": name,
                "rows": count,
                "columns": [c.name for c in columns],
            }
            rows[table.name] = count

        n_files = 0
        n_bytes = 0
        stored: set[str] = set()
        for rel, full in _attachment_files(folder):
            name = ATTACHMENTS_DIR + rel
            with full.open("rb") as src, zf.open(_member(name), "w", force_zip64=True) as raw:
                out = _HashingWriter(raw)
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
            digest = out.sha.hexdigest()
            members[name] = {"size": out.size, "sha256": digest}
            stored.add(digest)
            n_files += 1
            n_bytes += out.size
            if progress:
                progress(1)

        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "outreach_version": __version__,
            "schema_revision": revision,
            "created_at": _encode(utcnow()),
            "created_by": db.actor,
            "source_backend": db.backend,
            "tables": tables,
            "attachments": {"files": n_files, "bytes": n_bytes},
            "members": members,
        }
        zf.writestr(_member(MANIFEST), json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return BackupResult(
        path=target,
        schema_revision=revision,
        rows=rows,
        attachments=n_files,
        attachment_bytes=n_bytes,
        missing_attachments=sorted(referenced - stored),
        size=0,
    )


# --- reading ----------------------------------------------------------------------------


_SAFE_PART = re.compile(r"^[^/\\\x00]+$")


def _safe_relpath(rel: str) -> str:
    """*rel* if it is a plain relative path that stays inside its folder."""
    parts = PurePosixPath(rel).parts
    if (
        not rel
        or rel.startswith("/")
        or "\\" in rel
        or any(p in ("", ".", "..") or not _SAFE_PART.match(p) for p in parts)
        or ":" in parts[0]
    ):
        raise ArchiveError(f"attachment path {rel!r} in the archive is unsafe; refusing it")
    return "/".join(parts)


class Archive:
    """An opened backup: the manifest, checked members, and row readers."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise ArchiveError(f"{self.path}: no such file")
        try:
            self.zf = zipfile.ZipFile(self.path)
            raw = self.zf.read(MANIFEST)
        except KeyError:
            self._close()
            raise ArchiveError(
                f"{self.path} is not an outreach backup (no {MANIFEST} inside)"
            ) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            self._close()
            raise ArchiveError(
                f"{self.path} is not a readable outreach backup (truncated or not a zip "
                f"file: {exc})"
            ) from None
        try:
            manifest = json.loads(raw.decode("utf-8"))
            if not isinstance(manifest, dict):
                raise ValueError("not an object")
        except RecursionError:
            self._close()
            raise ArchiveError(f"{self.path}: {MANIFEST} is damaged (nested too deep)") from None
        except ValueError as exc:
            self._close()
            raise ArchiveError(f"{self.path}: {MANIFEST} is damaged ({exc})") from None
        self.manifest = manifest
        try:
            self._check_manifest()
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        zf = getattr(self, "zf", None)
        if zf is not None:
            zf.close()

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_manifest(self) -> None:
        m = self.manifest
        if m.get("format") != FORMAT:
            raise ArchiveError(
                f"{self.path} is not an outreach backup (format {m.get('format')!r})"
            )
        version = m.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ArchiveError(f"{self.path}: the manifest has no valid format_version")
        if version > FORMAT_VERSION:
            raise ArchiveError(
                f"{self.path} uses backup format {version}, newer than this outreach reads "
                f"({FORMAT_VERSION}): upgrade outreach (pip install -U outreach)"
            )
        if version < 1:
            raise ArchiveError(f"{self.path}: unknown backup format version {version}")
        if not isinstance(m.get("schema_revision"), str):
            raise ArchiveError(f"{self.path}: the manifest names no schema revision")
        if not isinstance(m.get("tables"), dict) or not isinstance(m.get("members"), dict):
            raise ArchiveError(f"{self.path}: the manifest lists no tables or members")
        names = set(self.zf.namelist())
        for name, info in m["members"].items():
            if name not in names:
                raise ArchiveError(f"{self.path}: member {name} is missing (truncated archive?)")
            if not isinstance(info, dict) or not isinstance(info.get("sha256"), str):
                raise ArchiveError(f"{self.path}: the manifest entry for {name} is damaged")
            if name.startswith(ATTACHMENTS_DIR):
                _safe_relpath(name[len(ATTACHMENTS_DIR) :])
        for table, info in m["tables"].items():
            if not isinstance(info, dict) or info.get("file") not in m["members"]:
                raise ArchiveError(f"{self.path}: table {table} has no data file in the archive")
            if not isinstance(info.get("rows"), int) or not isinstance(info.get("columns"), list):
                raise ArchiveError(f"{self.path}: the manifest entry for table {table} is damaged")
        extra = {
            n for n in names if n != MANIFEST and not n.endswith("/") and n not in m["members"]
        }
        if extra:
            raise ArchiveError(
                f"{self.path}: holds files the manifest does not list ({sorted(extra)[0]}, ...)"
            )

    @property
    def schema_revision(self) -> str:
        return self.manifest["schema_revision"]

    @property
    def table_rows(self) -> dict[str, int]:
        return {t: info["rows"] for t, info in self.manifest["tables"].items()}

    @property
    def attachment_members(self) -> list[str]:
        return sorted(n for n in self.manifest["members"] if n.startswith(ATTACHMENTS_DIR))

    def _open(self, name: str) -> IO[bytes]:
        try:
            return self.zf.open(name)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise ArchiveError(f"{self.path}: member {name} cannot be read ({exc})") from None

    @contextlib.contextmanager
    def _reading(self, name: str) -> Iterator[None]:
        try:
            yield
        except UnicodeDecodeError:
            raise ArchiveError(f"{self.path}: member {name} is not UTF-8 text") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ArchiveError(
                f"{self.path}: member {name} is damaged ({exc}); the archive is corrupt"
            ) from None

    def verify(self) -> None:
        """Check every member's size and SHA-256 against the manifest."""
        for name, info in self.manifest["members"].items():
            sha = hashlib.sha256()
            size = 0
            with self._reading(name), self._open(name) as fh:
                while chunk := fh.read(_CHUNK):
                    sha.update(chunk)
                    size += len(chunk)
            if sha.hexdigest() != info["sha256"] or size != info.get("size", size):
                raise ArchiveError(
                    f"{self.path}: checksum mismatch in {name}; the archive is corrupt or "
                    "was altered, so nothing was restored"
                )

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        name = self.manifest["tables"][table]["file"]
        with self._reading(name), self._open(name) as fh:
            for lineno, line in enumerate(io.TextIOWrapper(fh, encoding="utf-8", newline="\n"), 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
                    raise ArchiveError(f"{name} line {lineno}: not valid JSON ({exc})") from None
                if not isinstance(obj, dict):
                    raise ArchiveError(f"{name} line {lineno}: expected a JSON object")
                yield obj

    def copy_member(self, name: str, dest: IO[bytes]) -> str:
        sha = hashlib.sha256()
        with self._reading(name), self._open(name) as fh:
            while chunk := fh.read(_CHUNK):
                dest.write(chunk)
                sha.update(chunk)
        return sha.hexdigest()


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the backup at *path* (checked, but members not verified)."""
    with Archive(path) as archive:
        return archive.manifest


# --- restoring ----------------------------------------------------------------------------


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
        if len(pk) != 1 or not isinstance(_base_type(pk[0]), sa.Integer):
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


def _insert_statement(table: sa.Table, names: list[str]) -> Any:
    values = {}
    for name in names:
        col = table.c[name]
        type_ = col.type
        if isinstance(_base_type(col), sa.JSON):
            type_ = sa.JSON(none_as_null=True)
        values[name] = sa.bindparam(name, type_=type_)
    return table.insert().values(values)


def _load_table(
    conn: Connection,
    archive: Archive,
    table: sa.Table,
    progress: Progress | None,
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
    columns = [_Column(table.c[n]) for n in names]
    pk = [c.name for c in table.primary_key.columns]
    # Self-references (a follow-up letter pointing at its letter) are filled in
    # afterwards, so row order never trips the foreign key.
    deferred = {
        fk.parent.name
        for fk in table.foreign_keys
        if fk.column.table.name == table.name and fk.parent.nullable and fk.parent.name in names
    }
    stmt = _insert_statement(table, names)
    later: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    count = 0

    def flush() -> None:
        if batch:
            try:
                conn.execute(stmt, batch)
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
                raise ArchiveError(
                    f"table {table.name}: a row cannot be stored ({detail[:200]})"
                ) from None
            if progress:
                progress(len(batch))
            batch.clear()

    # The second pass must not touch "updated_at"-style columns: set them back.
    kept = [c.name for c in table.columns if c.onupdate is not None and c.name in names]

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
        batch.append(params)
        count += 1
        if len(batch) >= BATCH_SIZE:
            flush()
    flush()
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


def _tables_at_current_revision(conn: Connection) -> list[sa.Table]:
    """The database's own tables (reflected), typed like the models where they agree."""
    meta = sa.MetaData()
    meta.reflect(conn)
    model_tables = Base.metadata.tables
    out = []
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        model = model_tables.get(table.name)
        if model is not None:
            for col in table.columns:
                if col.name in model.c:
                    col.type = model.c[col.name].type
        out.append(table)
    return out


def _run_migration(conn: Connection, fn_name: str, revision: str) -> None:
    from alembic import command
    from alembic.util.exc import CommandError

    from outreach.db import _alembic_config

    try:
        getattr(command, fn_name)(_alembic_config(connection=conn), revision)
    except CommandError as exc:
        raise ArchiveError(f"cannot move the schema to revision {revision}: {exc}") from None


class _FileWriter:
    """Puts attachment files in place and takes them back out if the restore fails."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created: list[Path] = []
        self.replaced: list[tuple[Path, Path]] = []
        self.made_dirs: list[Path] = []

    def write(self, archive: Archive, member: str) -> None:
        rel = _safe_relpath(member[len(ATTACHMENTS_DIR) :])
        dest = self.folder / rel
        expected = archive.manifest["members"][member]["sha256"]
        if dest.is_file() and _file_sha256(dest) == expected:
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


def _file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


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
    """
    with Archive(path) as archive:
        archive.verify()
        rev = archive.schema_revision
        head = head_revision()
        if rev != head and rev not in known_revisions():
            raise ArchiveError(
                f"{archive.path} was written at schema revision {rev}, which this outreach "
                f"does not know (it is at {head}): restore it with a newer outreach"
            )
        new_file = db.path if db.path is not None and not db.path.exists() else None
        try:
            if db.current_revision() is None:
                db.init()
            result = _restore_checked(db, archive, force=force, progress=progress)
        except BaseException:
            if new_file is not None:  # a SQLite file made for this restore goes again
                db.dispose()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{new_file}{suffix}").unlink(missing_ok=True)
            raise
        return result


def _restore_checked(
    db: Database, archive: Archive, *, force: bool, progress: Progress | None
) -> RestoreResult:
    db.check_schema()

    folder = attachments_folder(db)
    members = archive.attachment_members
    if members and folder is None:
        raise ConfigurationError(
            f"the archive holds {len(members)} attachment files but {db.safe_url} has "
            "no attachments folder: set OUTREACH_ATTACHMENTS_DIR"
        )
    files = _FileWriter(folder) if folder is not None else None
    try:
        with db.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.execution_options(outreach_begin="IMMEDIATE")
            with conn.begin():
                result = _restore_rows(db, conn, archive, force=force, progress=progress)
                if files is not None:
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
        if files is not None:
            files.undo()
        raise
    if files is not None:
        files.done()
    return dataclasses.replace(result, attachments=len(members))


def _restore_rows(
    db: Database,
    conn: Connection,
    archive: Archive,
    *,
    force: bool,
    progress: Progress | None,
) -> RestoreResult:
    head_tables = list(Base.metadata.sorted_tables)
    counts = _count_rows(conn, head_tables)
    present = {t: n for t, n in counts.items() if n}
    if present and not force:
        total = sum(present.values())
        listing = ", ".join(f"{n} {t}" for t, n in present.items())
        raise ConflictError(
            f"{db.safe_url} is not empty ({total} rows: {listing}); restore into a new "
            "database, or use --force to delete everything in it first"
        )
    if present:
        _empty_tables(conn, head_tables)

    rev = archive.schema_revision
    head = head_revision()
    upgraded_from = None
    if rev != head:
        _run_migration(conn, "downgrade", rev)
        tables = _tables_at_current_revision(conn)
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
    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    session.info[ACTOR_KEY] = db.actor
    summary = (
        f"Restored {sum(rows.values())} rows from {archive.path.name} "
        f"(written {manifest.get('created_at')} by {manifest.get('created_by') or 'unknown'}"
        f", schema {rev})"
    )
    if present:
        summary += f"; first deleted {sum(present.values())} rows already there"
    record_activity(session, action="restore", entity="database", summary=summary)
    session.commit()  # releases the savepoint; the caller's transaction commits the lot
    session.close()
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
