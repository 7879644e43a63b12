"""Letters as Word documents, through python-docx (right to left for Arabic)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from outreach.render.markdown import blocks
from outreach.safetext import for_xml
from outreach.templating import is_rtl

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc


def to_docx(doc: LetterDoc) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    rtl = is_rtl(doc.language)
    document = Document()
    # XML 1.0 has no place for most control characters (lxml refuses them):
    # any that reached a letter are written as U+FFFD.
    document.core_properties.title = for_xml(doc.subject)
    document.core_properties.language = for_xml(doc.language)
    style = document.styles["Normal"]
    style.font.name = "Noto Naskh Arabic" if rtl else "Noto Sans"
    style.font.size = Pt(11)
    for block in blocks(doc.body):
        para = document.add_paragraph()
        if rtl:
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            ppr = para._p.get_or_add_pPr()
            ppr.append(OxmlElement("w:bidi"))
        for i, line in enumerate(block.lines):
            for span in line:
                run = para.add_run(for_xml(span.text))
                run.bold = span.bold or block.kind == "h"
                run.italic = span.italic
                if rtl:
                    rpr = run._r.get_or_add_rPr()
                    rpr.append(OxmlElement("w:rtl"))
                    lang = OxmlElement("w:lang")
                    lang.set(qn("w:bidi"), for_xml(doc.language))
                    rpr.append(lang)
            if i < len(block.lines) - 1:
                para.add_run().add_break()
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()
