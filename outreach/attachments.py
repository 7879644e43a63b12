"""The attachments store: files kept by their SHA-256, in the database itself.

Attachment and raw-mail contents go to the ``stored_files`` table of the
database (SQLite or PostgreSQL), addressed by their SHA-256, so that every
coordinator who opens the database opens the same files: a scan added by
one is there for all. The same content attached twice is stored once.
``Attachment`` rows say which response a file belongs to and what it was
called; ``inbound_messages.raw_sha256`` names an imported mail's raw bytes.

Databases written by older versions kept the files in a folder instead: for
a SQLite database ``campaign.db`` the folder ``campaign-attachments/`` next
to it; for PostgreSQL ``$OUTREACH_ATTACHMENTS_DIR`` or
``~/.local/share/outreach/attachments`` (``OUTREACH_ATTACHMENTS_DIR`` also
overrides the SQLite default). A file not in the database yet is still read
from there (``ab/abcdef...``); the folders are ``0700`` and the files
``0400`` (see :mod:`outreach.files`). A store made without a database
(``AttachmentStore(folder)``) keeps its files in that folder only.

A file is written in the caller's unit of work (the session or connection
given, else the one the database has open in this context, else a short
write of its own), so it commits or rolls back with the rows naming it.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from outreach.errors import ConfigurationError, NotFoundError
from outreach.files import PRIVATE_READ_ONLY, make_dirs, portable_filename

if TYPE_CHECKING:  # pragma: no cover
    from outreach.db import Database

ENV_ATTACHMENTS_DIR = "OUTREACH_ATTACHMENTS_DIR"
DEFAULT_SERVER_STORE = Path("~/.local/share/outreach/attachments")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20

#: Where a file was found (:meth:`AttachmentStore.where`).
IN_DATABASE = "database"
#: What names a file erased on request (a raw mail of a forgotten person): no content.
ERASED_SHA256 = "0" * 64


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    #: Where an older version would have kept it (see :meth:`AttachmentStore.path_for`).
    path: Path
    #: False when the same content was already in the store.
    new: bool


def legacy_folder(db: Database) -> Path:
    """The folder where older versions kept *db*'s files."""
    env = os.environ.get(ENV_ATTACHMENTS_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    path = db.path
    if path is not None:
        return path.parent / f"{path.stem}-attachments"
    return DEFAULT_SERVER_STORE.expanduser()


class AttachmentStore:
    """Files by content: in *db*'s ``stored_files``, else in the folder *root*."""

    def __init__(self, root: str | os.PathLike[str], db: Database | None = None) -> None:
        self.root = Path(root).expanduser()
        self.db = db

    def __repr__(self) -> str:
        return f"AttachmentStore({str(self.root)!r}, db={self.db!r})"

    @classmethod
    def for_database(cls, db: Database) -> AttachmentStore:
        """The store that belongs to *db* (see the module documentation)."""
        return cls(legacy_folder(db), db=db)

    def path_for(self, sha256: str) -> Path:
        """The file's place in the folder (where older versions kept it)."""
        if not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    # -- the database side ---------------------------------------------------

    def _run(self, unit: Any, fn: Any, *, write: bool) -> Any:
        """``fn(unit)`` in *unit*, else the database's open unit, else one of its own."""
        assert self.db is not None
        unit = unit if unit is not None else self.db.current_unit()
        if unit is not None:
            return fn(unit)
        with self.db.write() if write else self.db.read() as conn:
            return fn(conn)

    def _db_put(self, data: bytes, sha: str, unit: Any) -> bool:
        import sqlalchemy as sa

        from outreach.schema.tables import stored_files
        from outreach.schema.types import utcnow

        def put(u: Any) -> bool:
            if u.execute(
                sa.select(stored_files.c.id).where(stored_files.c.sha256 == sha)
            ).first():
                return False
            u.execute(
                stored_files.insert().values(
                    sha256=sha, size=len(data), data=data, created_at=utcnow()
                )
            )
            return True

        return bool(self._run(unit, put, write=True))

    def _db_get(self, sha: str, unit: Any) -> bytes | None:
        import sqlalchemy as sa

        from outreach.schema.tables import stored_files

        def get(u: Any) -> bytes | None:
            data = u.execute(
                sa.select(stored_files.c.data).where(stored_files.c.sha256 == sha)
            ).scalar()
            return bytes(data) if data is not None else None

        return self._run(unit, get, write=False)  # type: ignore[no-any-return]

    def _db_has(self, shas: Iterable[str], unit: Any) -> set[str]:
        import sqlalchemy as sa

        from outreach.schema.tables import stored_files

        wanted = sorted(set(shas))

        def has(u: Any) -> set[str]:
            found: set[str] = set()
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                found.update(
                    u.execute(
                        sa.select(stored_files.c.sha256).where(stored_files.c.sha256.in_(chunk))
                    ).scalars()
                )
            return found

        return self._run(unit, has, write=False) if wanted else set()  # type: ignore[no-any-return]

    # -- the folder side -----------------------------------------------------

    def _prepare(self) -> None:
        try:
            make_dirs(self.root)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the attachments store {self.root}: {exc.strerror}; "
                f"set {ENV_ATTACHMENTS_DIR} to a folder you can write"
            ) from None

    def _put_stream(self, stream: BinaryIO) -> StoredFile:
        self._prepare()
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self.path_for(sha)
            if target.is_file():
                os.unlink(tmp)
                return StoredFile(sha, size, target, new=False)
            make_dirs(target.parent)
            os.chmod(tmp, PRIVATE_READ_ONLY)
            os.replace(tmp, target)
            return StoredFile(sha, size, target, new=True)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # -- the store's API -----------------------------------------------------

    def put_bytes(self, data: bytes, *, session: Any = None) -> StoredFile:
        """Store *data* (in *session*'s unit of work when given); stored once per content."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha)
        if self.db is not None:
            return StoredFile(sha, len(data), target, new=self._db_put(data, sha, session))
        if target.is_file():
            return StoredFile(sha, len(data), target, new=False)
        return self._put_stream(io.BytesIO(data))

    def put_file(self, path: str | os.PathLike[str], *, session: Any = None) -> StoredFile:
        """Copy the file at *path* into the store."""
        if self.db is not None:
            return self.put_bytes(Path(path).read_bytes(), session=session)
        with open(path, "rb") as fh:
            return self._put_stream(fh)

    def read(self, sha256: str, *, session: Any = None) -> bytes:
        """The file's bytes; :class:`NotFoundError` when neither the database nor
        the folder has it."""
        if sha256 == ERASED_SHA256:
            raise NotFoundError("this file was erased on request (a forgotten contact's)")
        path = self.path_for(sha256)
        if self.db is not None:
            data = self._db_get(sha256, session)
            if data is not None:
                return data
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"file {sha256[:12]}… is missing: not in the database nor in the attachments "
                f"folder {self.root}"
            ) from None

    def where(self, sha256: str, *, session: Any = None) -> str | None:
        """:data:`IN_DATABASE`, the folder path holding the file, or ``None`` when missing."""
        return self.locate([sha256], session=session).get(sha256)

    def locate(self, shas: Iterable[str], *, session: Any = None) -> dict[str, str | None]:
        """:meth:`where` for many files at once."""
        shas = list(dict.fromkeys(s for s in shas if s))
        in_db = self._db_has(shas, session) if self.db is not None else set()
        found: dict[str, str | None] = {}
        for sha in shas:
            if sha in in_db:
                found[sha] = IN_DATABASE
            else:
                path = self.path_for(sha)
                found[sha] = str(path) if path.is_file() else None
        return found

    def exists(self, sha256: str, *, session: Any = None) -> bool:
        return self.where(sha256, session=session) is not None

    def erase(self, shas: Iterable[str], *, session: Any) -> int:
        """Delete the files *shas* from the database (in *session*'s unit of
        work) and from the folder; returns how many were found."""
        import sqlalchemy as sa

        from outreach.schema.tables import stored_files

        shas = sorted({s for s in shas if s and _SHA256.match(s) and s != ERASED_SHA256})
        erased: set[str] = set()
        if self.db is not None:
            for i in range(0, len(shas), 500):
                chunk = shas[i : i + 500]
                erased.update(
                    session.execute(
                        sa.delete(stored_files)
                        .where(stored_files.c.sha256.in_(chunk))
                        .returning(stored_files.c.sha256)
                    ).scalars()
                )
        for sha in shas:
            path = self.path_for(sha)
            if path.is_file():
                try:
                    path.unlink()
                    erased.add(sha)
                except OSError:
                    pass
        return len(erased)


def safe_filename(name: str | None, fallback: str = "attachment") -> str:
    """A file name to show and save under: no folders, no control characters,
    nothing Windows, macOS or Linux would refuse (see
    :func:`outreach.files.portable_filename`)."""
    return portable_filename(name, fallback)
