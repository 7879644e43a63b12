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
from outreach.files import make_dirs, remove_leftovers, write_files_together
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


def word_template(path: str | os.PathLike[str] | None) -> Any:
    """The Word letterhead at *path* (``--docx-template``), read and checked
    before any letter is made (a bad file is refused in one line); None for none."""
    if path is None:
        return None
    from outreach.render.docx_template import load_template

    return load_template(path)


def _writers(docx_template: Any = None) -> dict[str, render.Writer]:
    """The writers for formats made above the engines, and the DOCX one when
    the letters go into a Word letterhead (a path, or :func:`word_template`'s)."""
    if docx_template is None:
        return _WRITERS
    import functools

    from outreach.render.docx import to_docx_from_template

    if isinstance(docx_template, str | os.PathLike):
        docx_template = word_template(docx_template)
    return {**_WRITERS, "docx": functools.partial(to_docx_from_template, template=docx_template)}


def letter_bytes(
    doc: LetterDoc,
    fmt: str,
    page: Mapping[str, Any] | None = None,
    docx_template: Any = None,
) -> bytes:
    """One letter in the format *fmt* (one of :data:`FORMATS`); DOCX in the
    Word letterhead *docx_template* when one is given."""
    (doc,) = with_page([doc], page)
    write = _writers(docx_template).get(fmt)
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
    docx_template: Any = None,
) -> list[Path]:
    """Write *docs* to the folder *out* in *formats* (with *combined*, one
    PDF of them all, named after *name*); returns the files written. All are
    rendered in memory first: a bad header or font problem writes nothing.
    *page* holds one run's page choices (:func:`with_page`); DOCX files go
    into the Word letterhead *docx_template* when one is given."""
    outputs = []
    docs = with_page(docs, page)
    if docs:
        outputs = render.render_outputs(
            docs,
            formats=formats,
            combined=combined,
            name=name,
            writers=_writers(docx_template),
        )
    folder = Path(out)
    make_dirs(folder)
    with _folder_locked(folder) as alone:
        if alone:
            # what a run killed while writing these files left behind
            remove_leftovers(folder, [filename for filename, _data in outputs])
        return write_files_together(folder, outputs)


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
