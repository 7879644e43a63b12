"""Letters as PDF through Typst (the ``typst`` wheel), laid out by
``outreach/render/typst/letter.typ`` with the Noto fonts shipped in
``outreach/fonts`` embedded as subsets.

Typst shapes Arabic and Chinese itself, applies the Unicode bidirectional
algorithm, hyphenates in the letter's language and writes tagged PDF/A-2a
and PDF/UA-1: the text stored is the text typed, in logical order, so
searching and copying work in every language.

The letters reach Typst only as data: :func:`letter_data` turns them into a
JSON document that the layout reads from ``sys.inputs``. No text of a letter
is ever written into Typst markup, so nothing in a name or an address can act
as markup or code.

Measured on the development machine (issue 14): one Typst run of a two-page
letter takes a few milliseconds once the fonts are loaded, and the text it
stores extracts as typed; ReportLab with arabic-reshaper and python-bidi
stored Arabic as presentation forms and had no Chinese.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach.errors import ValidationError
from outreach.render.layout import (
    FSI,
    LINE_PARTS,
    PAPER_NAMES,
    PDI,
    needs_isolate,
    paper_of,
    roles,
    settings_of,
)
from outreach.render.markdown import Block, Span, blocks
from outreach.templating import is_rtl

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc

FONTS_DIR = Path(__file__).resolve().parent.parent / "fonts"
LAYOUT = Path(__file__).resolve().parent / "typst" / "letter.typ"

#: Font families, in the order Typst tries them for each character.
LATIN, ARABIC, CHINESE = "Noto Sans", "Noto Naskh Arabic", "Noto Sans CJK SC"
#: The first family sets the letter's look; the others draw what it lacks.
_FONT_ORDER = {
    "ar": [ARABIC, LATIN, CHINESE],
    "zh": [LATIN, CHINESE, ARABIC],
}
_DEFAULT_FONTS = [LATIN, ARABIC, CHINESE]

#: Paper names a letter may ask for -> Typst's paper names.
PAPERS = PAPER_NAMES
#: Written into every PDF: archival PDF/A-2 (level a: tagged, text as Unicode)
#: and accessible PDF/UA-1.
PDF_STANDARDS = ["a-2a", "ua-1"]

#: The file, beside the layout in the compiler's own folder, that the layout
#: reads the letters from.
DATA_FILE = "letters.json"

_local = threading.local()


class _Engine:
    """One Typst compiler and its folder, per thread.

    The compiler loads the fonts and the layout once. The letters reach it as
    a JSON file in its folder rather than through ``sys.inputs``: Typst keeps
    the layout of what did not change from one compilation to the next (the
    paragraphs that letters in one language share), where a changed input
    would make it lay out every letter from nothing (about four times slower,
    measured for issue 14)."""

    def __init__(self) -> None:
        import multiprocessing.util
        import shutil
        import tempfile

        import typst

        self.folder = Path(tempfile.mkdtemp(prefix="outreach-typst-"))
        # removed when the process ends, a worker of a pool included
        multiprocessing.util.Finalize(
            self, shutil.rmtree, args=(str(self.folder), True), exitpriority=1
        )
        main = self.folder / LAYOUT.name
        main.write_bytes(LAYOUT.read_bytes())
        self.data = self.folder / DATA_FILE
        self.data.write_bytes(b"{}")
        self.compiler = typst.Compiler(
            input=str(main),
            root=str(self.folder),
            font_paths=[str(FONTS_DIR)],
            ignore_system_fonts=True,
        )

    def compile(self, data: bytes, images: dict[str, bytes], **options: Any) -> bytes:
        for name, content in images.items():
            image = self.folder / name  # named by its content's hash: written once
            if not image.exists():
                image.write_bytes(content)
        self.data.write_bytes(data)
        return self.compiler.compile(format="pdf", **options)


def _engine() -> _Engine:
    engine = getattr(_local, "engine", None)
    if engine is None:
        engine = _local.engine = _Engine()
    return engine


#: Control characters a page cannot show (tabs become spaces; the rest go),
#: and the bidi embeddings and overrides that would show a name's letters in
#: another order than they are stored ("evil" as "live"); isolates and marks stay.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def printable(text: str) -> str:
    """*text* without the control characters no font draws and without bidi
    overrides; everything else, markup-like or not, is kept as typed (it
    reaches Typst as a string)."""
    return _CONTROLS.sub("", text.replace("\t", " "))


def _span(span: Span, bold: bool = False) -> dict[str, Any]:
    return {"t": printable(span.text), "b": span.bold or bold, "i": span.italic}


def _lines(block: Block, role: str = "text", rtl: bool = False) -> list[list[dict[str, Any]]]:
    out = []
    for line in block.lines:
        spans = [_span(s, block.kind == "h") for s in line]
        if spans and role in LINE_PARTS and needs_isolate("".join(s.text for s in line), rtl):
            # the line keeps its own direction inside the letter's
            spans[0]["t"] = FSI + spans[0]["t"]
            spans[-1]["t"] += PDI
        out.append(spans)
    return out


def _plain(block: Block) -> str:
    return " ".join("".join(s.text for s in line) for line in block.lines)


def _mixed_line(pieces: list[str]) -> str:
    """*pieces* joined with " · ", each keeping its own direction: in an Arabic
    letter "أمانة التحالف · 708 Third Avenue, New York" stays in that order."""
    return " · ".join(FSI + piece + PDI for piece in pieces if piece)


def _date_text(doc: LetterDoc) -> str:
    if doc.date is None:
        return ""
    from outreach.templating.filters import format_date

    try:
        return format_date(doc.date, doc.language)
    except Exception:  # an unknown locale: the date as ISO rather than no header
        return doc.date.isoformat()


def _parts(parts: list[Block], kinds: list[str], rtl: bool = False) -> list[dict[str, Any]]:
    """The letter's parts as the layout reads them: the date and reference
    as one line of the page, the closing kept with the signature."""
    out: list[dict[str, Any]] = []
    for block, role in zip(parts, kinds, strict=True):
        lines = _lines(block, role, rtl)
        last = out[-1] if out else None
        if role in ("date", "reference"):
            key = "date" if role == "date" else "ref"
            if last is not None and last["role"] == "dateline" and last[key] is None:
                last[key] = lines
            else:
                out.append({"role": "dateline", "date": None, "ref": None, key: lines})
        elif role == "signature":
            closing = None
            if last is not None and last["role"] == "closing":
                closing = out.pop()["lines"]
            out.append({"role": "sign", "closing": closing, "lines": lines})
        else:
            out.append({"role": role, "lines": lines})
    return out


def letter_data(
    doc: LetterDoc, index: int = 0, images: dict[str, bytes] | None = None
) -> dict[str, Any]:
    """One letter as the layout reads it: plain strings, booleans and lists.
    Its images go into *images* (file name -> bytes)."""
    parts = blocks(doc.body)
    kinds = roles(parts)
    settings = settings_of(doc)
    language = (doc.language or "en").split("-")[0].lower()
    date = _date_text(doc)
    reference = getattr(doc, "reference", None) or ""
    # later pages name the addressee as the letter does, in its language
    addressee = [b for b, k in zip(parts, kinds, strict=True) if k == "addressee"]
    whom = (
        ["".join(s.text for s in addressee[0].lines[0])]
        if addressee and addressee[0].lines
        else [doc.organization, doc.contact]
    )
    header = _mixed_line([printable(x) for x in (*whom, date, reference) if x])
    letterhead = [b for b, k in zip(parts, kinds, strict=True) if k == "letterhead"]
    return_line = printable(" · ".join(_plain(b) for b in letterhead[:1]))[:160]
    sender = _author(doc)
    out = {
        "lang": language,
        "dir": "rtl" if is_rtl(doc.language) else "ltr",
        "font": _FONT_ORDER.get(language, _DEFAULT_FONTS),
        "bookmark": printable(" — ".join(x for x in (doc.acronym, doc.contact) if x))
        or f"{index + 1}",
        "header": header,
        "footer": _mixed_line(
            printable(settings.footer(language, doc.default_language or "en")).split(" · ")
        ),
        "logo": None,
        "logo_alt": printable(sender or "logo"),
        "signature_image": None,
        "signature_alt": printable(str((doc.sender or {}).get("signatory") or "signature")),
        "window": settings.window_envelope,
        "return_line": return_line,
        "parts": _parts(parts, kinds, is_rtl(doc.language)),
    }
    for key, image in (("logo", settings.logo), ("signature_image", settings.signature)):
        if image is not None:
            out[key] = image.name
            if images is not None:
                images[image.name] = image.data
    return out


def _author(doc: LetterDoc) -> str:
    sender = doc.sender or {}
    for key in ("organization", "name", "signatory"):
        value = sender.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def document_data(
    docs: Sequence[LetterDoc],
    title: str | None = None,
    *,
    duplex: bool = False,
    images: dict[str, bytes] | None = None,
) -> dict[str, Any]:
    """The JSON document for one PDF of *docs* (their images go into *images*)."""
    if not docs:
        raise ValidationError("a PDF needs at least one letter", field="docs")
    first = docs[0]
    if title is None:
        title = first.subject if len(docs) == 1 else f"{first.campaign}: {len(docs)} letters"
    papers = {paper_of(doc) for doc in docs}
    return {
        "title": printable(title or first.campaign or "letter"),
        "author": printable(_author(first)),
        "lang": (first.language or "en").split("-")[0].lower(),
        "paper": papers.pop() if len(papers) == 1 else "a4",
        "duplex": duplex,
        "letters": [letter_data(doc, i, images) for i, doc in enumerate(docs)],
    }


def to_pdf(
    docs: Sequence[LetterDoc],
    *,
    title: str | None = None,
    timestamp: dt.datetime | None = None,
    duplex: bool | None = None,
) -> bytes:
    """One PDF/A-2a holding *docs*, each letter starting on a new page with its
    own page numbers, and one bookmark per letter.

    The document's creation date is *timestamp*, else the letters' own date
    (midnight UTC) when they all carry one: the same letters make the same
    bytes, so a ``.eml`` file holds exactly the PDF a send attaches."""
    import typst

    if timestamp is None:
        dates = {doc.date for doc in docs}
        if len(dates) == 1 and None not in dates:
            (day,) = dates
            timestamp = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)  # type: ignore[arg-type]
    if duplex is None:
        duplex = len(docs) > 1 and all(settings_of(doc).duplex for doc in docs)
    images: dict[str, bytes] = {}
    document = document_data(docs, title, duplex=duplex, images=images)
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    try:
        return _engine().compile(
            data.encode("utf-8"),
            images,
            pdf_standards=PDF_STANDARDS,
            timestamp=timestamp,
        )
    except typst.TypstError as error:
        raise _drawing_error(docs, str(error)) from None


#: Typst's words when no embedded font has a character (PDF/A forbids blank gaps).
_MISSING = re.compile(r"the text `\"(?P<text>.+?)\"` could not be displayed")


def _drawing_error(docs: Sequence[LetterDoc], message: str) -> ValidationError:
    """The letter(s) Typst could not draw, named, with what it could not draw."""
    found = _MISSING.search(message)
    if found is None:
        return ValidationError(f"the PDF could not be made: {message}", field="format")
    text = found.group("text")
    names = [doc.acronym for doc in docs if text in doc.body or text in doc.subject]
    who = ", ".join(names[:5]) or "a letter"
    return ValidationError(
        f"{who}: the PDF fonts cannot draw {text!r} in the letter's text "
        "(a PDF with blank gaps is never written): write it as HTML or DOCX",
        field="format",
    )
