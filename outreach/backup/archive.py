"""The archive file: its layout, its manifest, and reading it back safely.

An archive is a zip file::

    manifest.json                 what is inside, with a SHA-256 per member
    tables/<table>.jsonl          one JSON object per row, in primary-key order
    attachments/<path>            the attachment store's files, byte for byte

``manifest.json`` holds ``format`` ("outreach-backup"), ``format_version``,
the outreach version and schema revision that wrote it, ``created_at``,
``created_by``, the source backend, per-table ``rows`` and ``columns``, and
``members``: the size and SHA-256 of every other member.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from outreach.errors import OutreachError

FORMAT = "outreach-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TABLES_DIR = "tables/"
ATTACHMENTS_DIR = "attachments/"
#: Rows per batch, when writing a table out and when loading it back.
BATCH_SIZE = 1000
_CHUNK = 1 << 20

#: ``progress(done, total)``: *done* of the *total* rows and files of a
#: backup or restore are finished.
Progress = Callable[[int, int | None], None]
#: How backup and restore count inside: called with how many more are done.
Step = Callable[[int], None]


def counter(progress: Progress | None, total: int) -> Step | None:
    """A :data:`Step` that reports ``progress(done, total)`` as steps add up."""
    if progress is None:
        return None
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    return step


def hash_stream(src: IO[bytes], dest: IO[bytes] | None = None) -> tuple[str, int]:
    """``(SHA-256, size)`` of what is left in *src*, read in chunks (and
    copied to *dest* on the way, when given)."""
    sha = hashlib.sha256()
    size = 0
    while chunk := src.read(_CHUNK):
        if dest is not None:
            dest.write(chunk)
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hash_stream(fh)[0]


class ArchiveError(OutreachError):
    """The file is not a usable outreach backup (corrupt, truncated, foreign, too new)."""


_SAFE_PART = re.compile(r"^[^/\\\x00]+$")


def safe_relpath(rel: str) -> str:
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
                safe_relpath(name[len(ATTACHMENTS_DIR) :])
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
            with self._reading(name), self._open(name) as fh:
                digest, size = hash_stream(fh)
            if digest != info["sha256"] or size != info.get("size", size):
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
        """Copy member *name* into *dest*; its SHA-256."""
        with self._reading(name), self._open(name) as fh:
            return hash_stream(fh, dest)[0]


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the backup at *path* (checked, but members not verified)."""
    with Archive(path) as archive:
        return archive.manifest
