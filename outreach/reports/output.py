"""Writing a report file: all or nothing."""

from __future__ import annotations

from pathlib import Path

from outreach.errors import ConfigurationError
from outreach.files import write_file


def write_text_atomic(path: Path, text: str) -> None:
    """Write *text* (UTF-8) to *path* through a temporary file in the same
    folder, so a reader never sees half a report; a new file is ``0600``
    (see :mod:`outreach.files`)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigurationError(f"{path}: folder {folder} does not exist; create it first")
    write_file(path, text)
