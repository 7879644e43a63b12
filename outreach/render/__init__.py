"""Output formats for letters: Markdown, plain text, HTML, PDF and DOCX.

Each format turns a :class:`~outreach.render.doc.LetterDoc` into bytes; heavy
libraries (Typst, python-docx) are imported only when their format is
asked for. Formats made above the engines (the ``.eml`` message, built by
``outreach.sending``) come in as *writers*: a format name and a function of
one letter.
"""

from __future__ import annotations

import functools
import gc
import os
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from outreach.files import is_windows_reserved

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc

FORMATS = ("md", "txt", "html", "pdf", "docx")

#: Turns one letter into the bytes of one file.
Writer = Callable[["LetterDoc"], bytes]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(text: str, fallback: str) -> str:
    """A file-name stem from *text*: ASCII letters, digits, '-', '_' and '.' only;
    never empty, never a path, never a hidden name, never a Windows device name
    (``CON``, ``con.txt``, ``COM¹``...) whatever extension follows."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("-", ascii_text).strip(".-_")
    stem = re.sub(r"\.{2,}", ".", stem)[:60].strip(".-_")
    if not stem or is_windows_reserved(stem):
        stem = fallback
    return stem


def letter_stems(docs: Sequence[LetterDoc]) -> list[str]:
    """One unique stem per letter: ``AU``, ``AU-reminder1``, then ``AU-2`` on a clash
    (compared case-insensitively, as macOS and Windows do)."""
    used: set[str] = set()
    out = []
    for doc in docs:
        stem = safe_stem(doc.acronym, f"org{doc.organization_id or ''}")
        if doc.round:
            stem += f"-reminder{doc.round}"
        candidate, n = stem, 2
        while candidate.casefold() in used:
            candidate = f"{stem}-{n}"
            n += 1
        used.add(candidate.casefold())
        out.append(candidate)
    return out


def render_one(doc: LetterDoc, fmt: str) -> bytes:
    if fmt == "md":
        return doc.body.encode("utf-8")
    if fmt == "txt":
        from outreach.render.markdown import to_text

        return to_text(doc.body).encode("utf-8")
    if fmt == "html":
        from outreach.render.html import to_html

        return to_html(doc).encode("utf-8")
    if fmt == "pdf":
        from outreach.render.pdf import to_pdf

        return to_pdf([doc])
    if fmt == "docx":
        from outreach.render.docx import to_docx

        return to_docx(doc)
    raise ValueError(f"unknown format {fmt!r}")


#: Formats slow enough per letter (milliseconds) to spread over CPU cores.
PARALLEL_FORMATS = frozenset({"pdf", "docx"})
#: Below this many letters a worker pool costs more than it saves.
PARALLEL_MIN = 200
#: Formats whose engine cannot be forked once it has run (Typst's thread pool
#: does not survive a fork: the child waits for threads it does not have).
#: Their workers start from a fresh process (a fork server) instead.
FRESH_PROCESS_FORMATS = frozenset({"pdf"})


def _render_chunk(args: tuple[list[LetterDoc], Writer]) -> list[bytes]:
    docs, write = args
    return [write(doc) for doc in docs]


def _render_many(docs: Sequence[LetterDoc], fmt: str, write: Writer) -> list[bytes]:
    """Every letter in *fmt*; PDF and DOCX of many letters use every core."""
    workers = min(os.cpu_count() or 1, 8)
    if fmt not in PARALLEL_FORMATS or len(docs) < PARALLEL_MIN or workers < 2:
        return [write(doc) for doc in docs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    forking = "fork" in methods and fmt not in FRESH_PROCESS_FORMATS
    if forking:
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
        if "forkserver" in methods:
            context.set_forkserver_preload(["outreach.render", f"outreach.render.{fmt}"])
    # The first letter in each language is made here, before the workers are
    # forked: they then start with the fonts loaded and the text layout of each
    # language cached instead of each building them again.
    first: dict[int, bytes] = {}
    if forking:
        languages: dict[str, int] = {}
        for i, doc in enumerate(docs):
            languages.setdefault(doc.language, i)
            if len(languages) >= 8:
                break
        first = {i: write(docs[i]) for i in sorted(languages.values())}
    rest = [doc for i, doc in enumerate(docs) if i not in first]
    size = -(-len(rest) // (workers * 4))
    chunks = [(rest[i : i + size], write) for i in range(0, len(rest), size)]
    made: list[bytes] = []
    # Objects made so far are moved out of the garbage collector's sight before
    # the fork: a collection in a worker would otherwise touch (and so copy)
    # every page of the parent's heap it inherited.
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for part in pool.map(_render_chunk, chunks):
                made.extend(part)
    finally:
        gc.unfreeze()
    others = iter(made)
    return [first[i] if i in first else next(others) for i in range(len(docs))]


def render_outputs(
    docs: Sequence[LetterDoc],
    *,
    formats: Sequence[str],
    combined: bool = False,
    name: str = "letters",
    writers: Mapping[str, Writer] | None = None,
) -> list[tuple[str, bytes]]:
    """(file name, bytes) for every letter in every format; with *combined*,
    one PDF holding all the letters instead of one PDF each. *writers* adds
    formats made above the engines (name -> writer; the name is also the
    file extension)."""
    writers = writers or {}
    stems = letter_stems(docs)
    out: list[tuple[str, bytes]] = []
    for fmt in dict.fromkeys(formats):
        if fmt == "pdf" and combined:
            from outreach.render.pdf import to_pdf

            out.append((f"{safe_stem(name, 'letters')}-all.pdf", to_pdf(list(docs))))
            continue
        write = writers.get(fmt) or functools.partial(render_one, fmt=fmt)
        data = _render_many(docs, fmt, write)
        out.extend((f"{stem}.{fmt}", blob) for stem, blob in zip(stems, data, strict=True))
    return out
