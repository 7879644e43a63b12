"""Letters as Word documents (python-docx), laid out as the PDF is.

The parts and their measures follow ``outreach/render/typst/letter.typ``, so
that a letter of one page in PDF is one page in Word:

* the campaign's paper (A4, or US Letter for ``page.paper == "letter"``) and
  the PDF's margins: 22 mm at the sides, 20 mm at the top, 24 mm at the foot;
* the letterhead: the sender's name in 13 pt bold, its other lines in 8.5 pt
  grey, a rule below; a PNG or JPEG logo 16 mm high beside it. python-docx
  cannot embed an SVG image (Word wants a PNG copy beside every SVG), so an
  SVG logo or signature is left out of the DOCX; the PDF prints it;
* the reference at the start and the date at the end of one line (a
  borderless table of two cells; a date alone is a paragraph at the end);
* the addressee block, its lines as written. With ``page.window_envelope``
  the top of the first page is one table whose first row is exactly as high
  as the space above the window: the letterhead, then the address (9.5 pt)
  in a cell that sits where the envelope's window is (DIN 5008 on A4, a
  No. 10 envelope on US Letter; at least as high as the window, so a long
  address shows its end), the date and reference beside it, and the subject
  8 mm below. python-docx makes no text boxes, and a frame (``w:framePr``)
  keeps the text that follows only from beside it, not from above it: the
  subject could stand above the window. A table's rows are where Word and
  LibreOffice both put them;
* the subject in bold, the salutation, the body justified (hyphenated where
  Word hyphenates the language), the closing kept on the page of the
  signature, room to sign (or the signature image), the signatory's lines,
  and the cc and enclosure lines in 9 pt;
* a footer line on the first page, and on later pages a continuation header
  (organization · contact · date · reference) and the page number "n/N"
  (Word's PAGE and NUMPAGES fields). The first page has its own header and
  footer (a field cannot know in advance whether the letter runs on), so
  page 1 of a long letter shows the footer line but not "1/N".

Every part has its own paragraph style ("Letter Subject", "Addressee",
"Letter Body"...), so a secretariat restyles a part once. Fonts are named,
not embedded: the Noto fonts (``outreach/fonts``) where they are installed,
else the closest font Word finds from the font table's description. Line
and paragraph spacing are the PDF's (14 pt lines for 10.5 pt Latin text);
laid out by LibreOffice, the shipped letter is one page in every language,
as its PDF (``tests/render/test_docx.py``). Word and LibreOffice widen the
spaces of a justified line but never narrow them as Typst does, so a line
of the DOCX holds a word less now and then: a letter that fills its PDF page
to the last line may need a second page in Word.

Right-to-left letters (Arabic) have every paragraph, the document default
and the section right to left (``w:sectPr/w:bidi`` only orders columns and
the gutter; the paragraphs' ``w:bidi`` sets their direction); the runs of
right-to-left text carry ``w:rtl``, the complex-script font and their
language, and every size is given for complex scripts too (``w:szCs``).
In a right-to-left paragraph Word reads ``w:jc`` "left" and "right" as the
start and the end of the line: the date, at the end, is on the left.
Chinese runs name the East Asian font and ``zh-CN``, paragraphs of the body
open with an indent of two characters and no space is added between Chinese
and Latin letters (as in the PDF); Latin words in a Chinese letter are
English to Word, which would otherwise break them anywhere, and are not
hyphenated. (LibreOffice still puts a little space between Chinese and
Latin letters; Word does not.)

The rooms: this module makes the document (defaults, styles, properties,
bytes); :mod:`outreach.render.docx_layout` places the parts;
:mod:`outreach.render.wordml` builds Word's XML and the runs of text;
:mod:`outreach.render.docx_template` fills a letterhead designed in Word.

The document's properties are the letter's (title and subject, author = the
signatory, language, the campaign as keywords and category, the reference
as comments), and its dates and the ZIP entries' times are the letter's date
(midnight UTC): the same letter gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import zipfile
from typing import TYPE_CHECKING, Any

from outreach.render.layout import Image, paper_of, roles
from outreach.render.markdown import Block, blocks
from outreach.render.wordml import (
    ARABIC,
    BODY_SIZE,
    CHINESE,
    LATIN,
    PPR,
    RPR,
    SETTINGS,
    el,
    ppr_of,
    put,
    set_ppr,
    w,
)
from outreach.safetext import for_xml
from outreach.templating import is_rtl

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc


# Measures in twentieths of a point (twips) and half points, as Word stores them.
#: Paper sizes (width, height).
PAPER_TWIPS = {"a4": (11906, 16838), "us-letter": (12240, 15840)}
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 1247, 1134, 1361  # 22 mm, 20 mm, 24 mm
HEADER_DISTANCE, FOOTER_DISTANCE = 510, 680  # 9 mm, 12 mm from the paper's edge
#: Where a window envelope shows the address (x, y, width, height from the
#: paper's top left corner), as in the PDF layout.
WINDOW_TWIPS = {"a4": (1134, 2551, 4819, 2551), "us-letter": (1247, 2721, 5783, 2041)}
#: Line spacing, in 240ths of the font's own line: the PDF's line pitch
#: (14 pt for Noto Sans at 10.5 pt, 17.7 pt for Noto Naskh Arabic).
LINE = {"ar": 237, "zh": 224}
LINE_DEFAULT = 235
PARAGRAPH_AFTER = 56  # 2.8 pt between paragraphs
GREY, RULE = "464646", "828282"
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"

#: The paragraph styles of the parts: id, name, paragraph properties
#: (space before/after in twips, alignment: "left" is the start of the line and
#: "right" its end in either direction), run properties (bold, size, colour).
STYLES: tuple[tuple[str, str, dict[str, Any], dict[str, Any]], ...] = (
    ("LetterHead", "Letterhead", {"after": 0, "keep_next": True, "jc": "left"},
     {"bold": True, "size": 26}),
    ("LetterHeadDetails", "Letterhead Details", {"after": 0, "keep_next": True, "jc": "left"},
     {"size": 17, "color": GREY}),
    ("LetterDate", "Letter Date", {"after": 228, "jc": "right"}, {}),
    ("LetterReference", "Letter Reference", {"after": 228, "jc": "left"}, {}),
    ("Addressee", "Addressee", {"after": 226, "jc": "left"}, {}),
    ("LetterSubject", "Letter Subject", {"after": 88, "keep_next": True, "jc": "left"},
     {"bold": True}),
    ("Salutation", "Salutation", {"keep_next": True, "jc": "left"}, {}),
    ("LetterBody", "Letter Body", {"jc": "both"}, {}),
    ("LetterLines", "Letter Lines", {"jc": "left"}, {}),
    ("LetterHeading", "Letter Heading", {"keep_next": True, "jc": "left"}, {"bold": True}),
    ("Closing", "Closing", {"before": 60, "keep_next": True, "keep_lines": True, "jc": "left"},
     {}),
    ("Signature", "Signature", {"before": 730, "keep_lines": True, "jc": "left"}, {}),
    ("LetterCopies", "Letter Copies", {"before": 160, "after": 0, "jc": "left"}, {"size": 18}),
    ("LetterEnclosures", "Letter Enclosures", {"before": 160, "after": 0, "jc": "left"},
     {"size": 18}),
    ("Postscript", "Postscript", {"before": 220, "after": 0, "jc": "left"}, {"size": 18}),
)  # fmt: skip
#: The style of each part of the letter (``outreach.render.layout.roles``).
ROLE_STYLES = {
    "date": "LetterDate",
    "reference": "LetterReference",
    "addressee": "Addressee",
    "subject": "LetterSubject",
    "salutation": "Salutation",
    "text": "LetterBody",
    "lines": "LetterLines",
    "heading": "LetterHeading",
    "closing": "Closing",
    "signature": "Signature",
    "cc": "LetterCopies",
    "enclosures": "LetterEnclosures",
    "postscript": "Postscript",
}

#: What Word needs to find a substitute for a font it does not have.
#: (name, PANOSE, character set, family, Unicode and code page ranges).
_FONT_TABLE = (
    (LATIN, "020B0502040504020204", "00", "swiss",
     "E00002FF 4000201F 08000029 00100000 0000019F 00000000"),
    (ARABIC, "020B0502040504020204", "B2", "roman",
     "80002003 80002000 00000008 00000000 00000040 00000000"),
    (CHINESE, "020B0500000000000000", "86", "swiss",
     "00000083 084F2C10 00000010 00000000 20060004 00000000"),
)  # fmt: skip


# -- the document ------------------------------------------------------------------


def language_tag(language: str) -> str:
    base = (language or "en").split("-")[0].lower()
    return "zh-CN" if base == "zh" and "-" not in language else for_xml(language or "en")


@functools.lru_cache(maxsize=16)
def base_document(language: str) -> bytes:
    """An empty document for letters in *language*: the letter's styles,
    fonts and defaults, python-docx's thumbnail and Word 2010 style copy
    left out. Made once per language and process."""
    from docx import Document
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    document = Document()
    package = document.part.package
    for rels, kind in ((package.rels, RT.THUMBNAIL), (document.part.rels, STYLES_WITH_EFFECTS)):
        for rid in [rid for rid, rel in rels.items() if rel.reltype == kind]:
            del rels[rid]
    styles = document.styles.element
    _drop_unused_styles(styles)
    _defaults(styles, language)
    for style in STYLES:
        styles.append(_style(*style, rtl=is_rtl(language)))
    if language.split("-")[0].lower() == "zh":
        # Chinese paragraphs open with an indent of two characters, as in the PDF
        body = styles.find(f"{w('style')}[@{w('styleId')}='LetterBody']/{w('pPr')}")
        put(body, el("ind", firstLine=str(BODY_SIZE * 20), firstLineChars="200"), PPR)
    _font_table(document)
    settings = document.settings.element
    if language.split("-")[0].lower() != "zh":
        # as the PDF: hyphenated in the letter's language; a Chinese letter's
        # Latin words (an e-mail address) are not
        put(settings, el("autoHyphenation"), SETTINGS)
    fonts_lang = settings.find(w("themeFontLang"))
    if fonts_lang is not None:
        fonts_lang.set(w("val"), language_tag(language))
        fonts_lang.set(w("eastAsia"), "zh-CN")
        fonts_lang.set(w("bidi"), "ar-SA")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _drop_unused_styles(styles: Any) -> None:
    """python-docx's template carries a hundred table styles and their look:
    a letter uses none of them (Word offers its built-in styles anyway)."""
    keep = {"TableNormal", "TableGrid"}
    for style in styles.findall(w("style")):
        if style.get(w("type")) == "table" and style.get(w("styleId")) not in keep:
            styles.remove(style)


def _defaults(styles: Any, language: str) -> None:
    """The document's default run and paragraph: the Noto fonts, 10.5 pt in
    every script, the letter's language, the PDF's line and paragraph
    spacing; right to left for a right-to-left language."""
    base = (language or "en").split("-")[0].lower()
    defaults = styles.find(w("docDefaults"))
    rpr = defaults.find(f"{w('rPrDefault')}/{w('rPr')}")
    put(rpr, el("rFonts", ascii=LATIN, hAnsi=LATIN, eastAsia=CHINESE, cs=ARABIC), RPR)
    put(rpr, el("sz", val=str(BODY_SIZE)), RPR)
    put(rpr, el("szCs", val=str(BODY_SIZE)), RPR)
    # Latin words in a Chinese letter are English to Word (as Word writes it)
    latin = "en-US" if base == "zh" else language_tag(language)
    lang = {"val": latin, "eastAsia": "zh-CN"}
    lang["bidi"] = base if is_rtl(language) else "ar-SA"
    put(rpr, el("lang", **lang), RPR)
    p_default = defaults.find(w("pPrDefault"))
    ppr = p_default.find(w("pPr"))
    for child in list(ppr):
        ppr.remove(child)
    put(ppr, el("widowControl"), PPR)
    if base == "zh":
        # no extra space between Chinese and Latin letters or digits (the PDF has none)
        put(ppr, el("autoSpaceDE", val="0"), PPR)
        put(ppr, el("autoSpaceDN", val="0"), PPR)
    if is_rtl(language):
        put(ppr, el("bidi"), PPR)
    line = LINE.get(base, LINE_DEFAULT)
    put(ppr, el("spacing", after=str(PARAGRAPH_AFTER), line=str(line), lineRule="auto"), PPR)


def _style(style_id: str, name: str, ppr: dict[str, Any], rpr: dict[str, Any], *, rtl: bool) -> Any:
    style = el("style", type="paragraph", customStyle="1", styleId=style_id)
    style.append(el("name", val=name))
    style.append(el("basedOn", val="Normal"))
    style.append(el("qFormat"))
    p = el("p")  # a scratch paragraph whose properties the style takes
    set_ppr(p, bidi=rtl, **ppr)
    style.append(ppr_of(p))
    run_props = el("rPr")
    if rpr.get("bold"):
        put(run_props, el("b"), RPR)
        put(run_props, el("bCs"), RPR)
    if rpr.get("color"):
        put(run_props, el("color", val=rpr["color"]), RPR)
    if rpr.get("size"):
        put(run_props, el("sz", val=str(rpr["size"])), RPR)
        put(run_props, el("szCs", val=str(rpr["size"])), RPR)
    if len(run_props):
        style.append(run_props)
    return style


def _font_table(document: Any) -> None:
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import parse_xml

    part = document.part.part_related_by(RT.FONT_TABLE)
    fonts = parse_xml(part.blob)
    for name, panose, charset, family, sig in _FONT_TABLE:
        font = el("font", name=name)
        font.append(el("panose1", val=panose))
        font.append(el("charset", val=charset))
        font.append(el("family", val=family))
        font.append(el("pitch", val="variable"))
        keys = ("usb0", "usb1", "usb2", "usb3", "csb0", "csb1")
        font.append(el("sig", **dict(zip(keys, sig.split(), strict=True))))
        fonts.append(font)
    from lxml import etree

    part._blob = etree.tostring(fonts, xml_declaration=True, encoding="UTF-8", standalone=True)


def to_docx(doc: LetterDoc) -> bytes:
    """The letter as a Word document laid out as its PDF."""
    from docx import Document

    from outreach.render.docx_layout import Layout

    paper = paper_of(doc)
    document = Document(io.BytesIO(base_document(doc.language or "en")))
    Layout(document, doc, paper).write(_parts(doc))
    set_properties(document, doc)
    buf = io.BytesIO()
    document.save(buf)
    return fixed_zip(buf.getvalue(), doc.date)


def _parts(doc: LetterDoc) -> list[tuple[str, list[Block]]]:
    """The letter's parts in order, as the PDF layout groups them: the date
    and the reference as one ``dateline`` (date block, reference block), the
    closing with the signature as one ``sign`` (closing block, signature)."""
    parts = blocks(doc.body)
    out: list[tuple[str, list[Any]]] = []
    for block, role in zip(parts, roles(parts), strict=True):
        last = out[-1] if out else None
        if role in ("date", "reference"):
            slot = 0 if role == "date" else 1
            if last is not None and last[0] == "dateline" and last[1][slot] is None:
                last[1][slot] = block
            else:
                pair: list[Any] = [None, None]
                pair[slot] = block
                out.append(("dateline", pair))
        elif role == "signature":
            closing = out.pop()[1][0] if last is not None and last[0] == "closing" else None
            out.append(("sign", [closing, block]))
        else:
            out.append((role, [block]))
    return out


def author_of(doc: LetterDoc) -> str:
    """Who the document is by: the signatory, else the sending organization."""
    sender = doc.sender or {}
    for key in ("signatory", "organization", "name"):
        value = sender.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return ""


def midnight(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).replace(tzinfo=None)


def set_properties(document: Any, doc: LetterDoc, *, application: bool = True) -> None:
    """The letter's document properties (and, with *application*, outreach
    as the program that made the file). XML 1.0 has no place for most
    control characters (lxml refuses them): any that reached a letter are
    written as U+FFFD."""
    props = document.core_properties
    author = for_xml(author_of(doc))
    props.title = for_xml(doc.subject)
    props.subject = for_xml(doc.subject)
    props.author = author
    props.last_modified_by = author
    props.language = language_tag(doc.language or "en")
    props.keywords = for_xml(doc.campaign or "")
    props.category = for_xml(doc.campaign or "")
    props.comments = for_xml(doc.reference or "")
    props.identifier = for_xml(doc.reference or "")
    props.revision = 1
    when = midnight(doc.date)
    element = props._element
    for tag, name in (("created", "created"), ("modified", "modified")):
        if when is not None:
            setattr(props, name, when)
        else:
            for old in element.findall(f"{{http://purl.org/dc/terms/}}{tag}"):
                element.remove(old)
    if application:
        _app_properties(document)


_APP_XML = (
    b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"'
    b' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    b"<Application>outreach</Application><DocSecurity>0</DocSecurity>"
    b"<ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate>"
    b"<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged></Properties>"
)


def _app_properties(document: Any) -> None:
    """The application properties say outreach made the file (python-docx's
    template says "Microsoft Macintosh Word", with its page and word counts)."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    for rel in document.part.package.rels.values():
        if rel.reltype == RT.EXTENDED_PROPERTIES and not rel.is_external:
            rel.target_part._blob = _APP_XML


def fixed_zip(data: bytes, day: dt.date | None) -> bytes:
    """*data* (a ZIP file) with every entry dated *day* (else 1 January 1980)
    and no system-dependent attributes: python-docx dates each entry with the
    time it was written, so the same letter would not give the same bytes."""
    stamp = (
        (day.year, day.month, day.day, 0, 0, 0)
        if day and day.year >= 1980
        else (1980, 1, 1, 0, 0, 0)
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            target.writestr(info, source.read(item.filename))
    return out.getvalue()


def image_usable(image: Image | None) -> bool:
    """Whether Word can show *image* (PNG or JPEG; an SVG is left out)."""
    return image is not None and image.kind in ("png", "jpg")


def to_docx_from_template(doc: LetterDoc, template: Any) -> bytes:
    """The letter in a letterhead designed in Word (a ``.docx`` with docxtpl's
    Jinja tags): see :mod:`outreach.render.docx_template`."""
    from outreach.render.docx_template import render_template

    return render_template(doc, template)
