"""Files and folders outreach writes: names that are safe on every system, and
one permission policy.

**Permissions.** Almost everything outreach writes holds personal data or
correspondence: the database, the attachments store (raw mails and what came
with them), backups, exports, letters (names and postal addresses), reports
(who answered what) and the CSV files of failed sends or rejected import rows.
So every file outreach *creates* is readable and writable by its owner only
(``0600``; files in the attachments store are read-only, ``0400``) and every
folder it creates is ``0700``, whatever the umask. Files are written through a
temporary file in the same folder and renamed, so a reader never sees half a
file. A file or folder that already exists keeps its permissions: when outreach
replaces a file you have (``backup --force``, a report written again), the new
file gets that file's permission bits, so a ``chmod`` you chose stays.

**Names.** :func:`portable_filename` makes a file name from untrusted text
(an attachment's name) that Windows, macOS and Linux all accept;
:func:`is_windows_reserved` tells a Windows device name (``CON``, ``nul.txt``,
``COM¹``...) in any case, with or without extension.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

#: Mode of every file outreach creates.
PRIVATE_FILE = 0o600
#: Mode of a file kept in the attachments store (never changed once written).
PRIVATE_READ_ONLY = 0o400
#: Mode of every folder outreach creates.
PRIVATE_DIR = 0o700

_DIGITS = "0123456789\u00b9\u00b2\u00b3"  # Windows reserves COM¹ COM² COM³ LPT¹... too
WINDOWS_RESERVED = frozenset(
    {
        "con",
        "prn",
        "aux",
        "nul",
        "conin$",
        "conout$",
        "clock$",
        *(f"com{d}" for d in _DIGITS),
        *(f"lpt{d}" for d in _DIGITS),
    }
)
#: Characters Windows refuses in a file name (and the path separators).
_INVALID = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
#: Longest file name (in UTF-8 bytes) that ext4, APFS and NTFS all take.
MAX_NAME_BYTES = 255


def is_windows_reserved(name: str) -> bool:
    """True if Windows takes *name* for a device: ``CON``, ``con.txt``,
    ``Nul.tar.gz``, ``con .txt``, ``COM¹``, ``CONIN$``... (any case, with or
    without extension; Windows ignores trailing spaces and dots)."""
    return name.split(".", 1)[0].rstrip(" ").casefold() in WINDOWS_RESERVED


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def portable_filename(name: str | None, fallback: str = "attachment") -> str:
    """A file name made from *name* that every system takes: no folders, no
    control characters or ``<>:"/\\|?*``, no leading or trailing dots and
    spaces, not a Windows device name, at most 255 bytes in UTF-8 (the
    extension is kept when the name is shortened). *fallback* when nothing
    usable is left."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if c.isprintable() or c == " ")
    name = _INVALID.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name:
        name = fallback
    if is_windows_reserved(name):
        name = f"_{name}"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext.encode("utf-8")) <= 16:
            room = MAX_NAME_BYTES - len(ext.encode("utf-8")) - 1
            name = f"{_truncate_utf8(stem, room).rstrip(' .')}.{ext}"
        else:
            name = _truncate_utf8(name, MAX_NAME_BYTES)
        name = name.rstrip(" .") or fallback
    return name


# -- permissions --------------------------------------------------------------


def make_dirs(path: str | os.PathLike[str]) -> Path:
    """Create the folder *path* and any missing parents, each ``0700``;
    folders that exist are left as they are."""
    path = Path(path)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR)
    if not path.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(path))
    return path


def create_private_file(path: str | os.PathLike[str]) -> bool:
    """Create *path* as an empty ``0600`` file if it does not exist (before a
    library such as SQLite creates it with the umask); True if it was made."""
    try:
        fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return PRIVATE_FILE


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike[str], mode: str = "wb", **open_kwargs: Any
) -> Iterator[IO[Any]]:
    """A file object whose content becomes *path* when the block ends without
    error (through a temporary file in the same folder, then a rename);
    nothing is left behind on error. A new file is ``0600``; a file that
    existed keeps its permission bits. A target that is not a regular file
    (``/dev/stdout``, a named pipe) is written directly."""
    target = Path(path)
    if target.exists() and not target.is_file():
        with open(target, mode, **open_kwargs) as fh:
            yield fh
        return
    folder = target.parent if str(target.parent) else Path(".")
    keep = _mode_for(target)
    prefix = f".{_truncate_utf8(target.name, 200)}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if keep != PRIVATE_FILE:
            os.chmod(tmp, keep)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_leftovers(folder: str | os.PathLike[str], names: Iterable[str]) -> int:
    """Remove the temporary files that :func:`atomic_output` left in *folder*
    for the files *names* when a process writing them was killed half-way;
    how many. Only for a caller that knows no one else is writing them."""
    prefixes = {f".{_truncate_utf8(name, 200)}." for name in names}
    removed = 0
    for entry in os.scandir(folder):
        name = entry.name
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        head, dot, _random = name[: -len(".tmp")].rpartition(".")
        if dot and f"{head}." in prefixes and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed


def write_file(path: str | os.PathLike[str], data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write *data* to *path* all or nothing, with the permissions above
    (text is written as it is: no newline translation)."""
    blob = data.encode(encoding) if isinstance(data, str) else data
    with atomic_output(path, "wb") as fh:
        fh.write(blob)
    return Path(path)


def write_files_together(
    folder: str | os.PathLike[str], files: Iterable[tuple[str, bytes]]
) -> list[Path]:
    """Write many files into *folder*, all or nothing as a batch: every one
    goes to a temporary file first, all of them are put on disk (``fsync``,
    eight at a time; one flush of the whole file system, tried instead,
    waited on everything the machine had to write), then each is renamed
    into place. A run killed
    before the renames leaves only temporary files, which
    :func:`remove_leftovers` takes away."""
    base = Path(folder)
    made: list[tuple[str, Path, int]] = []
    written: list[Path] = []
    try:
        for name, data in files:
            target = base / name
            written.append(target)
            if target.exists() and not target.is_file():
                write_file(target, data)  # /dev/stdout and the like: as they are
                continue
            prefix = f".{_truncate_utf8(target.name, 200)}."
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=base)
            made.append((tmp, target, _mode_for(target)))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        _on_disk([tmp for tmp, _target, _keep in made])
        for tmp, target, keep in made:
            if keep != PRIVATE_FILE:
                os.chmod(tmp, keep)
            os.replace(tmp, target)
    except BaseException:
        for tmp, _target, _keep in made:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    return written


def _on_disk(paths: list[str]) -> None:
    """Wait until each of *paths* is on disk (``fsync``), several at a time:
    the file system then commits them in a few journal writes rather than
    one each (a thousand letters: 0.4 s one by one, 0.1 s eight at a time)."""

    def sync(path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    if len(paths) < 8:
        for path in paths:
            sync(path)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="fsync") as pool:
        for _done in pool.map(sync, paths):
            pass


def keep_mode_of(target: str | os.PathLike[str], tmp: str | os.PathLike[str]) -> None:
    """Give *tmp* (made ``0600`` by :func:`tempfile.mkstemp`) the permissions of
    *target* if that exists, before *tmp* is renamed over it."""
    keep = _mode_for(Path(target))
    if keep != PRIVATE_FILE:
        os.chmod(tmp, keep)
