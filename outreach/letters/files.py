"""Letters as files: the output folder checked before any work, and the
files written from :class:`LetterDoc` objects (freshly generated or stored), after
the database work: making PDF and DOCX files takes no lock."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from outreach import render
from outreach.errors import ValidationError
from outreach.files import make_dirs, remove_leftovers, write_file
from outreach.render.doc import LetterDoc
from outreach.render.layout import with_overrides

#: The formats a letter can be written in: the render engines' and the e-mail
#: message (``.eml``, made by the one message builder in ``outreach.sending``).
FORMATS = (*render.FORMATS, "eml")


def _eml(doc: LetterDoc) -> bytes:
    from outreach.sending.eml import to_eml  # the e-mail machinery only when asked for

    return to_eml(doc)


_WRITERS: dict[str, render.Writer] = {"eml": _eml}


def with_page(docs: Sequence[LetterDoc], page: Mapping[str, Any] | None) -> list[LetterDoc]:
    """*docs* printed with one run's page choices (``paper``, ``window_envelope``,
    ``duplex``; None leaves the campaign's)."""
    if not page or all(value is None for value in page.values()):
        return list(docs)
    return [dataclasses.replace(doc, page=with_overrides(doc.page, **page)) for doc in docs]


def letter_bytes(doc: LetterDoc, fmt: str, page: Mapping[str, Any] | None = None) -> bytes:
    """One letter in the format *fmt* (one of :data:`FORMATS`)."""
    (doc,) = with_page([doc], page)
    write = _WRITERS.get(fmt)
    return write(doc) if write is not None else render.render_one(doc, fmt)


def check_out(out: str | os.PathLike[str], formats: Sequence[str], combined: bool) -> Path:
    """*out* as a folder to write *formats* to, or :class:`ValidationError`."""
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ValidationError(f"{path}: is a file; give a folder", field="out")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValidationError(f"{', '.join(bad)}: use {', '.join(FORMATS)}", field="format")
    if combined and "pdf" not in formats:
        raise ValidationError("one PDF of all the letters needs the pdf format", field="combined")
    return path


def write_files(
    docs: Sequence[LetterDoc],
    out: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("md",),
    combined: bool = False,
    name: str = "letters",
    page: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write *docs* to the folder *out* in *formats* (with *combined*, one
    PDF of them all, named after *name*); returns the files written. All are
    rendered in memory first: a bad header or font problem writes nothing.
    *page* holds one run's page choices (:func:`with_page`)."""
    outputs = []
    docs = with_page(docs, page)
    if docs:
        outputs = render.render_outputs(
            docs, formats=formats, combined=combined, name=name, writers=_WRITERS
        )
    folder = Path(out)
    make_dirs(folder)
    with _folder_locked(folder) as alone:
        if alone:
            # what a run killed while writing these files left behind
            remove_leftovers(folder, [filename for filename, _data in outputs])
        return [write_file(folder / filename, data) for filename, data in outputs]


@contextlib.contextmanager
def _folder_locked(folder: Path) -> Iterator[bool]:
    """Hold an exclusive lock on *folder* itself (``flock``, POSIX), so that
    two commands writing letters there take turns; whether it is held."""
    try:
        import fcntl

        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):  # pragma: no cover - Windows, or no read access
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # pragma: no cover - a file system without locks
            yield False
            return
        yield True
    finally:
        os.close(fd)
