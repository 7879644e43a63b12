"""The attachments store: files kept by their SHA-256, beside the database.

For a SQLite database ``campaign.db`` the store is the folder
``campaign-attachments/`` next to it; for PostgreSQL it is
``$OUTREACH_ATTACHMENTS_DIR`` or ``~/.local/share/outreach/attachments``
(``OUTREACH_ATTACHMENTS_DIR`` also overrides the SQLite default). Files are
named by their content hash (``ab/abcdef...``), so the same file attached twice
is stored once. The folders are made ``0700`` and the files ``0400`` (see
:mod:`outreach.files`): they hold other people's correspondence.
``Attachment`` rows in the database say which response a file belongs to and
what it was called.

Files are written before the database transaction commits; if it then rolls
back, the file stays in the store unused, which is harmless.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from outreach.errors import ConfigurationError, NotFoundError
from outreach.files import PRIVATE_READ_ONLY, make_dirs, portable_filename

if TYPE_CHECKING:  # pragma: no cover
    from outreach.db import Database

ENV_ATTACHMENTS_DIR = "OUTREACH_ATTACHMENTS_DIR"
DEFAULT_SERVER_STORE = Path("~/.local/share/outreach/attachments")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    path: Path
    #: False when the same content was already in the store.
    new: bool


class AttachmentStore:
    """A content-addressed folder of files."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    def __repr__(self) -> str:
        return f"AttachmentStore({str(self.root)!r})"

    @classmethod
    def for_database(cls, db: Database) -> AttachmentStore:
        """The store that belongs to *db* (see the module documentation)."""
        env = os.environ.get(ENV_ATTACHMENTS_DIR, "").strip()
        if env:
            return cls(env)
        path = db.path
        if path is not None:
            return cls(path.parent / f"{path.stem}-attachments")
        return cls(DEFAULT_SERVER_STORE)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

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

    def put_bytes(self, data: bytes) -> StoredFile:
        """Store *data*; returns where it is (stored once per content)."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha)
        if target.is_file():
            return StoredFile(sha, len(data), target, new=False)
        import io

        return self._put_stream(io.BytesIO(data))

    def put_file(self, path: str | os.PathLike[str]) -> StoredFile:
        """Copy the file at *path* into the store."""
        with open(path, "rb") as fh:
            return self._put_stream(fh)

    def read(self, sha256: str) -> bytes:
        path = self.path_for(sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"file {sha256[:12]}… is missing from the attachments store {self.root}"
            ) from None


def safe_filename(name: str | None, fallback: str = "attachment") -> str:
    """A file name to show and save under: no folders, no control characters,
    nothing Windows, macOS or Linux would refuse (see
    :func:`outreach.files.portable_filename`)."""
    return portable_filename(name, fallback)
