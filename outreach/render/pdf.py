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
PAPERS = {"a4": "a4", "letter": "us-letter", "us-letter": "us-letter"}
#: Written into every PDF: archival PDF/A-2 (level a: tagged, text as Unicode)
#: and accessible PDF/UA-1.
PDF_STANDARDS = ["a-2a", "ua-1"]

_local = threading.local()


def _compiler() -> Any:
    """One Typst compiler per thread: it loads the fonts and the layout once."""
    compiler = getattr(_local, "compiler", None)
    if compiler is None:
        import typst

        compiler = _local.compiler = typst.Compiler(
            input=str(LAYOUT),
            root=str(LAYOUT.parent),
            font_paths=[str(FONTS_DIR)],
            ignore_system_fonts=True,
        )
    return compiler


#: Control characters a page cannot show (tabs become spaces; the rest go).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """*text* without the control characters no font draws; everything else,
    markup-like or not, is kept as typed (it reaches Typst as a string)."""
    return _CONTROLS.sub("", text.replace("\t", " "))


def _span(span: Span, bold: bool = False) -> dict[str, Any]:
    return {"t": printable(span.text), "b": span.bold or bold, "i": span.italic}


def _all_bold(block: Block) -> bool:
    return all(span.bold for line in block.lines for span in line if span.text.strip())


def _roles(parts: list[Block]) -> list[str]:
    """What each block of the letter is, read from its place and shape.

    The templates in ``letters/`` write the letterhead first (its first line
    bold), then the place and date on one line, the addressee block, the
    subject in bold, and the body. Anything else is a paragraph: justified
    when it is one line of running text, line by line when the template broke
    its lines (addresses, signatures).
    """
    roles = []
    for n, block in enumerate(parts):
        first_bold = bool(block.lines) and all(s.bold for s in block.lines[0] if s.text.strip())
        if block.kind == "h":
            role = "heading"
        elif n == 0 and first_bold:
            role = "letterhead"
        elif n == 1 and roles == ["letterhead"] and len(block.lines) == 1:
            role = "date"
        elif len(block.lines) == 1 and _all_bold(block) and "subject" not in roles:
            role = "subject"
        elif len(block.lines) == 1:
            role = "text"
        else:
            role = "lines"
        roles.append(role)
    if len(roles) > 3 and roles[-1] == "lines":
        roles[-1] = "signature"  # the last block: signatory, title, organization
    return roles


def _date_text(doc: LetterDoc, parts: list[Block], roles: list[str]) -> str:
    if doc.date is not None:
        from outreach.templating.filters import format_date

        try:
            return format_date(doc.date, doc.language)
        except Exception:  # an unknown locale: the date as ISO rather than no header
            return doc.date.isoformat()
    for block, role in zip(parts, roles, strict=True):
        if role == "date":
            return "".join(s.text for s in block.lines[0])
    return ""


def _paper(doc: LetterDoc) -> str:
    name = (getattr(doc, "paper", None) or "a4").strip().lower()
    try:
        return PAPERS[name]
    except KeyError:
        raise ValidationError(
            f"{doc.acronym}: unknown paper size {name!r} (use one of: a4, letter)",
            field="paper",
        ) from None


def letter_data(doc: LetterDoc, index: int = 0) -> dict[str, Any]:
    """One letter as the layout reads it: plain strings, booleans and lists."""
    parts = blocks(doc.body)
    roles = _roles(parts)
    language = (doc.language or "en").split("-")[0].lower()
    header = printable(", ".join(x for x in (doc.contact, doc.organization) if x))
    date = _date_text(doc, parts, roles)
    return {
        "lang": language,
        "dir": "rtl" if is_rtl(doc.language) else "ltr",
        "font": _FONT_ORDER.get(language, _DEFAULT_FONTS),
        "bookmark": printable(" — ".join(x for x in (doc.acronym, doc.contact) if x))
        or f"{index + 1}",
        "header": " — ".join(x for x in (header, date) if x),
        "blocks": [
            {
                "kind": block.kind,
                "role": role,
                "lines": [[_span(s, block.kind == "h") for s in line] for line in block.lines],
            }
            for block, role in zip(parts, roles, strict=True)
        ],
    }


def _author(doc: LetterDoc) -> str:
    sender = doc.sender or {}
    for key in ("organization", "name", "signatory"):
        value = sender.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def document_data(docs: Sequence[LetterDoc], title: str | None = None) -> dict[str, Any]:
    """The JSON document for one PDF of *docs*."""
    if not docs:
        raise ValidationError("a PDF needs at least one letter", field="docs")
    first = docs[0]
    if title is None:
        title = first.subject if len(docs) == 1 else f"{first.campaign}: {len(docs)} letters"
    papers = {_paper(doc) for doc in docs}
    return {
        "title": printable(title or first.campaign or "letter"),
        "author": printable(_author(first)),
        "lang": (first.language or "en").split("-")[0].lower(),
        "paper": papers.pop() if len(papers) == 1 else "a4",
        "letters": [letter_data(doc, i) for i, doc in enumerate(docs)],
    }


def to_pdf(
    docs: Sequence[LetterDoc],
    *,
    title: str | None = None,
    timestamp: dt.datetime | None = None,
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
    data = json.dumps(document_data(docs, title), ensure_ascii=False, separators=(",", ":"))
    try:
        return _compiler().compile(
            format="pdf",
            sys_inputs={"data": data},
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
