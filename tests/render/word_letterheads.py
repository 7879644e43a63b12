"""Word letterheads for ``--docx-template``, built with python-docx as a
secretariat would design them in Word: the example shipped as
``letters/letterhead-example.docx`` and the small ones the tests need.

Rebuild the shipped example with::

    .venv/bin/python -m tests.render.word_letterheads letters/letterhead-example.docx
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from pathlib import Path

NAVY = (0x1F, 0x3A, 0x5F)
GREY = (0x55, 0x55, 0x55)


def _document():  # type: ignore[no-untyped-def]
    """An empty Word document (the letters' own base: small, no sample styles)."""
    from docx import Document

    from outreach.render.docx import base_document

    document = Document(io.BytesIO(base_document("en")))
    props = document.core_properties
    props.title, props.author, props.comments = "Letterhead", "Coalition Secretariat", ""
    return document


def example_letterhead() -> bytes:
    """The example letterhead: the sender in the page header, the letter's
    parts in the body, a footer line; every tag docxtpl reads."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    document = _document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin, section.bottom_margin = Mm(42), Mm(25)
    section.header_distance, section.footer_distance = Mm(12), Mm(10)

    header = section.header.paragraphs[0]
    name = header.add_run("COALITION SECRETARIAT")
    name.bold, name.font.size, name.font.color.rgb = True, Pt(15), RGBColor(*NAVY)
    line = section.header.add_paragraph()
    details = line.add_run("708 Third Avenue · New York, NY 10017 · info@coalition.example")
    details.font.size, details.font.color.rgb = Pt(8.5), RGBColor(*GREY)
    _rule(line)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    foot = footer.add_run("Coalition Secretariat · coalition.example")
    foot.font.size, foot.font.color.rgb = Pt(8), RGBColor(*GREY)

    def par(text: str = "", *, bold: bool = False, align=None, after: float = 0):  # type: ignore[no-untyped-def]
        p = document.add_paragraph()
        if text:
            run = p.add_run(text)
            run.bold = bold
        p.paragraph_format.space_after = Pt(after)
        if align is not None:
            p.alignment = align
        return p

    par("{{ place_and_date }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    par("{%p if reference %}")
    par("Our reference: {{ reference }}", after=10)
    par("{%p endif %}")
    par("{%p for line in addressee %}")
    par("{{ line }}")
    par("{%p endfor %}")
    par("", after=8)
    par("{{ subject_line }}", bold=True, after=6)
    par("{{ salutation }}", after=4)
    body = par("{{p body }}", align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=4)
    body.paragraph_format.first_line_indent = Mm(0)
    par("{{ closing }}", after=30)
    par("{{ signatory }}", bold=True)
    par("{{ signatory_title }}")
    par("{{ sender_organization }}", after=8)
    par("{%p if cc %}")
    par("{{ cc }}")
    par("{%p endif %}")
    par("{%p if enclosures %}")
    par("{{ enclosures }}")
    par("{%p endif %}")
    return _saved(document)


def letterhead(paragraphs: Sequence[str]) -> bytes:
    """A plain letterhead whose body holds *paragraphs* (tags and text)."""
    document = _document()
    for text in paragraphs:
        document.add_paragraph(text)
    return _saved(document)


def _rule(paragraph) -> None:  # type: ignore[no-untyped-def]
    from outreach.render.wordml import set_ppr

    set_ppr(paragraph._p, border=(6, 4, "1F3A5F"), after=0)


def _saved(document) -> bytes:  # type: ignore[no-untyped-def]
    from outreach.render.docx import fixed_zip

    buf = io.BytesIO()
    document.save(buf)
    return fixed_zip(buf.getvalue(), None)


if __name__ == "__main__":  # pragma: no cover - the shipped example's builder
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "letters/letterhead-example.docx")
    target.write_bytes(example_letterhead())
    print(f"{target}: {target.stat().st_size} bytes")
