"""Letters as Word documents: the campaign's paper, the letter's parts in
the PDF's order and look, right-to-left Arabic and Chinese fonts, document
properties and the same bytes for the same letter, page numbers, and Word
letterheads (``--docx-template``) filled with hostile data as typed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from outreach.errors import ValidationError
from outreach.render.docx import to_docx, to_docx_from_template
from outreach.render.docx_template import WordTemplate, load_template
from outreach.render.layout import Image, PageSettings
from outreach.render.pdf import printable, to_pdf
from outreach.render.wordml import W_NS

from .test_layout import PNG, SVG, letter
from .test_pdf import LANGUAGES, shipped_letter
from .word_letterheads import example_letterhead, letterhead

W = f"{{{W_NS}}}"
NS = {"w": W_NS}


def read(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def body_parts(document: docx.document.Document) -> list[tuple[str, str]]:
    """(style id, text) of every paragraph with text, in reading order, table
    cells included."""
    out = []
    for p in document.element.body.iter(f"{W}p"):
        text = "".join(t.text or "" for t in p.iter(f"{W}t")).replace("\u200e", "")
        if text.strip():
            style = p.find(f"{W}pPr/{W}pStyle")
            out.append((style.get(f"{W}val") if style is not None else "", text))
    return out


def run_text(run) -> str:  # type: ignore[no-untyped-def]
    return "".join(t.text or "" for t in run.iter(f"{W}t"))


def style_of(parts: list[tuple[str, str]], style: str) -> list[str]:
    return [text for found, text in parts if found == style]


# -- the page -------------------------------------------------------------------------


def test_a4_by_default_us_letter_when_asked_with_the_pdf_s_margins() -> None:
    a4 = read(to_docx(letter())).element.body.sectPr
    size = a4.find(f"{W}pgSz")
    assert (size.get(f"{W}w"), size.get(f"{W}h")) == ("11906", "16838")
    margins = a4.find(f"{W}pgMar")
    assert [margins.get(f"{W}{side}") for side in ("left", "right", "top", "bottom")] == [
        "1247", "1247", "1134", "1361",
    ]  # fmt: skip
    us = read(to_docx(letter(page=PageSettings(paper="letter")))).element.body.sectPr
    assert (us.find(f"{W}pgSz").get(f"{W}w"), us.find(f"{W}pgSz").get(f"{W}h")) == (
        "12240",
        "15840",
    )
    # the old LetterDoc.paper still says it when there are no page settings
    old = read(to_docx(letter(paper="letter"))).element.body.sectPr
    assert old.find(f"{W}pgSz").get(f"{W}w") == "12240"
    with pytest.raises(ValidationError, match="paper"):
        to_docx(letter(page=PageSettings(paper="folio")))


def test_the_parts_come_in_order_each_once_in_its_style() -> None:
    document = read(to_docx(letter()))
    parts = body_parts(document)
    order = [style for style, _text in parts]
    assert order == [
        "LetterHead", "LetterHeadDetails", "LetterReference", "LetterDate", "Addressee",
        "LetterSubject", "Salutation", "LetterBody", "Closing", "Signature", "LetterCopies",
        "LetterEnclosures",
    ]  # fmt: skip
    assert style_of(parts, "LetterReference") == ["Ref.: tp/2012/007"]
    assert style_of(parts, "LetterDate") == ["New York, 12 July 2012"]
    # the addressee's lines as written, the organization once
    (address,) = style_of(parts, "Addressee")
    assert address == "H.E. Amina DialloSecretary-GeneralRegional Organization"
    assert sum(text.count("Regional Organization") for _s, text in parts) == 1
    # reference and date share a line: the two cells of one borderless table
    (table,) = document.tables
    assert [c.text for c in table.rows[0].cells] == ["Ref.: tp/2012/007", "New York, 12 July 2012"]
    assert table._tbl.find(f"{W}tblPr/{W}tblBorders") is None


def test_the_layout_s_look_body_justified_closing_kept_with_the_signature() -> None:
    data = to_docx(letter())
    styles = read(data).styles.element

    def style(name: str):  # type: ignore[no-untyped-def]
        return styles.find(f"{W}style[@{W}styleId='{name}']")

    assert style("LetterBody").find(f"{W}pPr/{W}jc").get(f"{W}val") == "both"
    assert style("Addressee").find(f"{W}pPr/{W}jc").get(f"{W}val") == "left"
    assert style("LetterDate").find(f"{W}pPr/{W}jc").get(f"{W}val") == "right"
    assert style("Closing").find(f"{W}pPr/{W}keepNext") is not None
    assert style("Signature").find(f"{W}pPr/{W}keepLines") is not None
    assert style("LetterSubject").find(f"{W}rPr/{W}b") is not None
    head = style("LetterHead").find(f"{W}rPr")
    assert head.find(f"{W}sz").get(f"{W}val") == "26" and head.find(f"{W}b") is not None
    details = style("LetterHeadDetails").find(f"{W}rPr")
    assert details.find(f"{W}sz").get(f"{W}val") == "17"
    assert details.find(f"{W}color").get(f"{W}val") == "464646"
    for name in ("LetterCopies", "LetterEnclosures"):
        sizes = style(name).find(f"{W}rPr")
        assert sizes.find(f"{W}sz").get(f"{W}val") == sizes.find(f"{W}szCs").get(f"{W}val") == "18"
    defaults = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")
    fonts = defaults.find(f"{W}rFonts")
    assert fonts.get(f"{W}ascii") == "Noto Sans" and fonts.get(f"{W}cs") == "Noto Naskh Arabic"
    assert defaults.find(f"{W}sz").get(f"{W}val") == "21"  # 10.5 pt
    assert fonts.get(f"{W}asciiTheme") is None  # a theme font would win over Noto Sans
    # the letterhead's last line carries the rule below it
    head_p = next(p for p in read(data).paragraphs if p.style.name == "Letterhead Details")
    assert head_p._p.find(f"{W}pPr/{W}pBdr/{W}bottom") is not None


def test_letters_without_part_markers_have_their_parts_guessed_as_in_the_pdf() -> None:
    old = (
        "**Coalition Secretariat**\ninfo@coalition.example\n\n12 July 2012\n\n"
        "Amina Diallo\nSecretary-General\n\n**Subject: The dialogue**\n\nDear Amina,\n\n"
        "A paragraph of running text.\n\nYours sincerely,\n\nAna Ribeiro\nCoordinator\n"
    )
    parts = body_parts(read(to_docx(dataclasses.replace(letter(), body=old))))
    assert [style for style, _t in parts] == [
        "LetterHead", "LetterHeadDetails", "LetterDate", "LetterLines", "LetterSubject",
        "LetterBody", "LetterBody", "LetterBody", "Signature",
    ]  # fmt: skip


def test_the_page_footer_numbers_and_continuation_header() -> None:
    settings = PageSettings(footers={"": "Coalition Secretariat · 708 Third Avenue"})
    document = read(
        to_docx(letter(page=settings, date=dt.date(2012, 7, 12), contact="Amina Diallo"))
    )
    section = document.sections[0]
    assert section.different_first_page_header_footer
    assert (
        section.first_page_footer.paragraphs[0].text == "Coalition Secretariat · 708 Third Avenue"
    )
    assert section.first_page_header.paragraphs[0].text == ""
    later = section.footer._element
    codes = [t.text.strip() for t in later.iter(f"{W}instrText")]
    assert codes == ["PAGE", "NUMPAGES"]
    assert [f.get(f"{W}fldCharType") for f in later.iter(f"{W}fldChar")] == [
        "begin", "separate", "end", "begin", "separate", "end",
    ]  # fmt: skip
    assert "/" in section.footer.paragraphs[0].text
    # the PDF's continuation header: the addressee as the letter names it
    assert section.header.paragraphs[0].text == "H.E. Amina Diallo · 12 July 2012 · tp/2012/007"
    # each piece of a footer keeps its own direction: in an Arabic letter the
    # street number stays with its street
    footer = PageSettings(footers={"": "أمانة التحالف · 708 Third Avenue"})
    arabic = read(to_docx(letter(page=footer, language="ar")))
    runs = [run_text(r) for r in arabic.sections[0].first_page_footer._element.iter(f"{W}r")]
    assert runs[runs.index("\u200e") + 1] == "708 Third Avenue"
    assert "\u2068" not in "".join(runs) and "\u2069" not in "".join(runs)


def test_a_png_logo_and_signature_are_embedded_an_svg_left_out() -> None:
    png = Image(PNG, "png")
    data = to_docx(letter(page=PageSettings(logo=png, signature=png)))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
    assert len(media) == 1  # one image, used twice
    document = read(data)
    shapes = document.inline_shapes
    assert len(shapes) == 2
    assert round(shapes[0].height.mm) == 16 and round(shapes[1].height.mm) == 14
    assert shapes[0]._inline.docPr.get("descr") == "Coalition Secretariat"
    # the signature image stands between the closing and the signatory
    order = [p.style.name if p.text.strip() else "image" for p in document.paragraphs
             if p.text.strip() or p._p.findall(f".//{W}drawing")]  # fmt: skip
    assert order[order.index("Closing") + 1] == "image"
    assert order[order.index("Closing") + 2] == "Signature"
    svg = read(to_docx(letter(page=PageSettings(logo=Image(SVG, "svg")))))
    assert len(svg.inline_shapes) == 0
    assert "Coalition Secretariat" in [p.text for p in svg.paragraphs]


def test_window_envelope_puts_the_address_where_the_window_is() -> None:
    page = PageSettings(window_envelope=True)
    document = read(to_docx(letter(page=page)))
    (table,) = document.tables
    rows = table._tbl.findall(f"{W}tr")
    heights = [row.find(f"{W}trPr/{W}trHeight") for row in rows]
    # A4, DIN 5008: the letterhead above 45 mm from the top, the window 45 mm high
    assert [(h.get(f"{W}val"), h.get(f"{W}hRule")) for h in heights] == [
        ("1417", "exact"), ("2551", "atLeast"),
    ]  # fmt: skip
    indent = table._tbl.find(f"{W}tblPr/{W}tblInd").get(f"{W}w")
    assert int(indent) == 1134 - 1247  # the window's left edge, 20 mm from the paper's
    address, beside = table.rows[1].cells
    assert "Amina Diallo" in address.text and "Regional Organization" in address.text
    assert "New York, 12 July 2012" in beside.text and "tp/2012/007" in beside.text
    # the subject starts 8 mm below the window
    subject = next(p for p in document.paragraphs if p.style.name == "Letter Subject")
    assert subject.paragraph_format.space_before.twips == 454
    # with a logo: still one table and no table inside it (LibreOffice would
    # then show the later pages' header and numbers on page 1)
    for language in ("en", "ar"):
        logo = PageSettings(window_envelope=True, logo=Image(PNG, "png"))
        with_logo = read(to_docx(letter(page=logo, language=language)))
        (table,) = with_logo.tables
        assert table._tbl.find(f".//{W}tbl") is None
        assert len(with_logo.inline_shapes) == 1
        address = next(c for c in table.rows[1].cells if "Amina Diallo" in c.text)
        assert address._tc.getparent().index(address._tc) == 1  # the first cell, at the left
    us = read(to_docx(letter(page=PageSettings(paper="letter", window_envelope=True))))
    assert us.tables[0]._tbl.find(f"{W}tr/{W}trPr/{W}trHeight").get(f"{W}val") == "1587"


# -- right to left, Chinese --------------------------------------------------------


def test_arabic_is_right_to_left_with_complex_script_fonts_and_sizes() -> None:
    doc = shipped_letter("ar")
    data = to_docx(doc)
    document = read(data)
    body = document.element.body
    paragraphs = list(body.iter(f"{W}p"))
    for part in (document.sections[0].header, document.sections[0].footer,
                 document.sections[0].first_page_footer):  # fmt: skip
        paragraphs += list(part._element.iter(f"{W}p"))
    assert paragraphs and all(p.find(f"{W}pPr/{W}bidi") is not None for p in paragraphs)
    assert body.sectPr.find(f"{W}bidi") is not None
    styles = document.styles.element
    assert styles.find(f"{W}docDefaults/{W}pPrDefault/{W}pPr/{W}bidi") is not None
    lang = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    assert lang.get(f"{W}bidi") == "ar" and lang.get(f"{W}val") == "ar"
    arabic_runs = [r for r in body.iter(f"{W}r") if re.search("[\u0600-\u06ff]", run_text(r))]
    assert len(arabic_runs) > 5
    for run in arabic_runs:
        rpr = run.find(f"{W}rPr")
        assert rpr.find(f"{W}rtl") is not None
        assert rpr.find(f"{W}rFonts").get(f"{W}cs") == "Noto Naskh Arabic"
        assert rpr.find(f"{W}lang").get(f"{W}bidi") == "ar"
        sizes = rpr.find(f"{W}sz"), rpr.find(f"{W}szCs")
        assert (sizes[0] is None) == (sizes[1] is None)
        if sizes[0] is not None:
            assert sizes[0].get(f"{W}val") == sizes[1].get(f"{W}val")
    # a Latin name inside Arabic text is a left-to-right run of its own
    latin = [r for r in body.iter(f"{W}r") if run_text(r) == "Regional Organization"]
    assert latin and all(r.find(f"{W}rPr/{W}rtl") is None for r in latin)
    # start-aligned parts are at the right, the date at the left: in a
    # right-to-left paragraph Word reads "left" as the start, "right" as the end
    style = {s.get(f"{W}styleId"): s for s in styles.iter(f"{W}style")}
    assert style["Addressee"].find(f"{W}pPr/{W}jc").get(f"{W}val") == "left"
    assert style["LetterDate"].find(f"{W}pPr/{W}jc").get(f"{W}val") == "right"
    assert style["LetterBody"].find(f"{W}pPr/{W}jc").get(f"{W}val") == "both"
    assert document.core_properties.language == "ar"


def test_a_latin_line_in_an_arabic_letter_keeps_its_order() -> None:
    """An address line in Latin letters in an Arabic letter ("708 Third
    Avenue") opens with a left-to-right mark: without it, it would read
    "Third Avenue 708"."""
    body = "::: addressee\nأمينة ديالو\n708 Third Avenue\n:::\n\nنص الرسالة."
    document = read(to_docx(dataclasses.replace(letter(), body=body, language="ar")))
    (address,) = [p for p in document.paragraphs if p.style.name == "Addressee"]
    texts = ["".join(t.text for t in r.iter(f"{W}t")) for r in address._p.iter(f"{W}r")]
    assert "\u200e" in texts
    after = texts[texts.index("\u200e") + 1 :]
    assert "".join(after) == "708 Third Avenue"


def test_chinese_names_its_east_asian_font_and_language() -> None:
    document = read(to_docx(shipped_letter("zh")))
    styles = document.styles.element
    defaults = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")
    assert defaults.find(f"{W}rFonts").get(f"{W}eastAsia") == "Noto Sans CJK SC"
    assert defaults.find(f"{W}lang").get(f"{W}eastAsia") == "zh-CN"
    runs = [
        r for r in document.element.body.iter(f"{W}r") if re.search("[\u4e00-\u9fff]", run_text(r))
    ]
    assert len(runs) > 5
    for run in runs:
        rpr = run.find(f"{W}rPr")
        assert rpr.find(f"{W}rFonts").get(f"{W}eastAsia") == "Noto Sans CJK SC"
        assert rpr.find(f"{W}lang").get(f"{W}eastAsia") == "zh-CN"
    body = styles.find(f"{W}style[@{W}styleId='LetterBody']/{W}pPr/{W}ind")
    assert body.get(f"{W}firstLineChars") == "200"  # two characters, as the PDF


# -- properties and bytes -----------------------------------------------------------


def test_document_properties_are_the_letter_s() -> None:
    doc = letter(
        date=dt.date(2012, 7, 12),
        sender={"signatory": "Ana Ribeiro", "organization": "Coalition Secretariat"},
        language="fr",
    )
    props = read(to_docx(doc)).core_properties
    assert props.title == props.subject == "The dialogue"
    assert props.author == props.last_modified_by == "Ana Ribeiro"
    assert props.language == "fr"
    assert props.keywords == props.category == "tp"
    assert props.comments == "tp/2012/007"
    assert props.created == props.modified == dt.datetime(2012, 7, 12, tzinfo=dt.UTC)
    no_signatory = read(to_docx(letter(sender={"organization": "Coalition Secretariat"})))
    assert no_signatory.core_properties.author == "Coalition Secretariat"


def test_the_same_letter_gives_the_same_bytes() -> None:
    doc = letter(date=dt.date(2012, 7, 12), page=PageSettings(logo=Image(PNG, "png")))
    first = to_docx(doc)
    assert to_docx(dataclasses.replace(doc)) == first
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {info.date_time for info in z.infolist()} == {(2012, 7, 12, 0, 0, 0)}
        app = z.read("docProps/app.xml").decode()
        assert "<Application>outreach</Application>" in app
        assert "docProps/thumbnail.jpeg" not in z.namelist()


HOSTILE = [
    "{{ 7*7 }} {%p if x %} {% endif %}",
    "</w:t></w:r><w:r><w:t>injected & <b>bold</b>",
    "Name \"quoted\" 'single' ; & &amp; &#60;",
    "RTL mark \u200f here \u200e and \u202eevil\u202c",
    "Tab\tand bell\x07 and escape\x1b",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_written_as_typed(hostile: str) -> None:
    doc = letter(
        body=f"{hostile}\n\n**{hostile}**",
        subject=hostile,
        contact=hostile,
        organization=hostile,
        reference=hostile,
        page=PageSettings(footers={"": hostile}),
        sender={"signatory": hostile},
    )
    document = read(to_docx(doc))
    shown = hostile.replace("\u202e", "").replace("\u202c", "")
    shown = re.sub("[\x07\x1b]", "\ufffd", shown)
    texts = [p.text for p in document.paragraphs]
    assert texts.count(shown) >= 2
    assert document.core_properties.title == re.sub("[\x07\x1b]", "\ufffd", hostile)
    # the continuation header is the PDF's (which leaves control characters out)
    assert printable(hostile) in document.sections[0].header.paragraphs[0].text


# -- one page, as the PDF ------------------------------------------------------------


def _pages_of_docx(files: list[Path], tmp_path: Path) -> dict[str, int]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    fonts = Path(__file__).resolve().parents[2] / "outreach" / "fonts"
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf'
        f"</include><dir>{fonts}</dir><cachedir>{tmp_path / 'fc'}</cachedir></fontconfig>"
    )
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "out"), *map(str, files)],
        check=True, capture_output=True, timeout=300,
        env={"FONTCONFIG_FILE": str(config), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return {f.stem: len(PdfReader(tmp_path / "out" / f"{f.stem}.pdf").pages) for f in files}


@pytest.mark.slow
@pytest.mark.no_database
def test_a_letter_of_one_page_in_pdf_is_one_page_in_word(tmp_path: Path) -> None:
    """The shipped letter in every shipped language, laid out by LibreOffice."""
    files = []
    for language in LANGUAGES:
        doc = shipped_letter(language)
        assert len(PdfReader(io.BytesIO(to_pdf([doc]))).pages) == 1
        path = tmp_path / f"{language}.docx"
        path.write_bytes(to_docx(doc))
        files.append(path)
    assert _pages_of_docx(files, tmp_path) == dict.fromkeys(LANGUAGES, 1)


# -- Word letterheads (docxtpl) ------------------------------------------------------


def template_file(tmp_path: Path, paragraphs: list[str], name: str = "letterhead.docx") -> Path:
    path = tmp_path / name
    path.write_bytes(letterhead(paragraphs))
    return path


PLAIN = [
    "{{ place_and_date }}|{{ reference }}",
    "{%p for line in addressee %}",
    "{{ line }}",
    "{%p endfor %}",
    "{{ subject }}",
    "{{ salutation }}",
    "{{p body }}",
    "{{ closing }}",
    "{{ signatory }}|{{ signatory_title }}|{{ sender_organization }}",
    "{{ cc }}",
    "{{ enclosures }}",
]


def test_a_word_letterhead_gets_the_letter_s_parts(tmp_path: Path) -> None:
    doc = letter(
        body="First paragraph **in bold**.\n\nSecond paragraph.",
        sender={"signatory": "Ana Ribeiro", "signatory_title": "Coordinator",
                "organization": "Coalition Secretariat"},
    )  # fmt: skip
    data = to_docx_from_template(doc, template_file(tmp_path, PLAIN))
    texts = [p.text for p in read(data).paragraphs]
    assert texts == [
        "New York, 12 July 2012|tp/2012/007",
        "H.E. Amina Diallo", "Secretary-General", "Regional Organization",
        "The dialogue",
        "Your Excellency,",
        "First paragraph in bold.", "Second paragraph.",
        "Please accept, Excellency, the assurances of my highest consideration.",
        "Ana Ribeiro|Coordinator|Coalition Secretariat",
        "cc: Joseph Mensah (Director of Political Affairs)",
        "Enclosures: Concept note; Report of the Secretary-General",
    ]  # fmt: skip
    # each body paragraph is a Word paragraph, justified, its bold kept
    document = read(data)
    first = document.paragraphs[6]
    assert first.paragraph_format.alignment is not None and first.alignment == 3  # JUSTIFY
    assert [r.text for r in first.runs if r.bold] == ["in bold"]
    assert document.core_properties.title == "The dialogue"


def test_the_shipped_example_letterhead_renders_every_language(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "letters" / "letterhead-example.docx"
    assert shipped.read_bytes() == example_letterhead()  # the builder made it as it is
    assert len(shipped.read_bytes()) < 30_000
    template = load_template(shipped)
    for language in LANGUAGES:
        doc = shipped_letter(language)
        document = read(to_docx_from_template(doc, template))
        text = "\n".join(p.text for p in document.paragraphs)
        assert doc.subject in text
        assert "COALITION SECRETARIAT" in document.sections[0].header.paragraphs[0].text
        if language == "ar":
            body = [p for p in document.paragraphs if "تحالفنا" in p.text]
            assert body and all(p._p.find(f"{W}pPr/{W}bidi") is not None for p in body)
            runs = [r for p in body for r in p.runs if re.search("[\u0600-\u06ff]", r.text)]
            assert runs and all(r._r.find(f"{W}rPr/{W}rtl") is not None for r in runs)


TEMPLATE_HOSTILE = [
    "{{ 7*7 }}",
    "{%p if true %}shown{%p endif %}",
    "{_{ x }_} {_% y %_}",
    "</w:t></w:r></w:p><w:p><w:r><w:t>new paragraph",
    "a & b < c > d",
    "control \x07\x1b\x0c characters",
    "RTL mark \u200f and \u200e LTR mark",
    "{{p body }}",
]


@pytest.mark.parametrize("hostile", TEMPLATE_HOSTILE)
def test_recipient_data_in_a_word_letterhead_is_text_never_template_code(
    hostile: str, tmp_path: Path
) -> None:
    body = (
        f"::: addressee\n{hostile}\n:::\n\n::: salutation\n{hostile}\n:::\n\n"
        f"{hostile} in the body **{hostile}**\n\n::: closing\n{hostile}\n:::"
    )
    doc = dataclasses.replace(letter(), body=body, subject=hostile, contact=hostile,
                              organization=hostile, reference=hostile,
                              sender={"signatory": hostile})  # fmt: skip
    template = template_file(tmp_path, [
        "{{ subject }}|{{ contact }}|{{ organization }}|{{ reference }}",
        "{%p for line in addressee %}", "{{ line }}", "{%p endfor %}",
        "{{ salutation }}", "{{p body }}", "{{ closing }}", "{{ signatory }}",
    ])  # fmt: skip
    data = to_docx_from_template(doc, template)
    texts = [p.text for p in read(data).paragraphs]
    # one-line values: a line break or form feed as a space, what XML forbids as U+FFFD
    typed = re.sub("[\x07\x1b]", "\ufffd", hostile.replace("\x0c", " "))
    in_body = re.sub("[\x07\x1b\x0c]", "\ufffd", hostile)
    assert texts == [
        "|".join([typed] * 4), typed, typed, f"{in_body} in the body {in_body}", typed, typed,
    ]  # fmt: skip
    assert "49" not in "".join(texts)


def test_the_template_runs_in_the_sandbox(tmp_path: Path) -> None:
    template = template_file(tmp_path, ["{{ subject.__class__.__mro__ }}", "{{p body }}"])
    with pytest.raises(ValidationError) as refused:
        to_docx_from_template(letter(), template)
    assert "letterhead.docx" in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("paragraphs", "expected"),
    [
        (["Dear {{ salutaton }}", "{{p body }}"], r"unknown variable salutaton \(it can use: date"),
        (
            ["{% if subject %}never closed", "{{p body }}"],
            r"Jinja syntax error near “.*never closed",
        ),
        (["{{ subject | }}", "{{p body }}"], r"Jinja syntax error"),
        (["{{ subject }}"], r"never prints the letter's text: put \{\{p body \}\}"),
        (["Text {{ body }} inline"], r"write \{\{p body \}\} \(with p\)"),
    ],
)
def test_a_bad_word_letterhead_is_refused_in_one_line(
    paragraphs: list[str], expected: str, tmp_path: Path
) -> None:
    path = template_file(tmp_path, paragraphs)
    with pytest.raises(ValidationError) as refused:
        to_docx_from_template(letter(), load_template(path))
    message = str(refused.value)
    assert message.startswith("letterhead.docx: ") and "\n" not in message
    assert re.search(expected, message), message
    assert refused.value.field == "docx_template"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not a zip file at all", "not a Word document"),
        (b"PK\x03\x04broken", "not a Word document"),
        (None, "not a Word document"),  # a ZIP file without Word's parts
    ],
)
def test_a_file_that_is_not_a_word_document_is_refused(
    content: bytes | None, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "letterhead.docx"
    if content is None:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "hello")
    else:
        path.write_bytes(content)
    with pytest.raises(ValidationError, match=f"^letterhead.docx: {expected}"):
        load_template(path)
    with pytest.raises(ValidationError, match="cannot read"):
        load_template(tmp_path / "missing.docx")
    with pytest.raises(ValidationError, match="cannot read"):
        load_template(tmp_path)


def test_a_loaded_letterhead_is_a_value_that_workers_can_take(tmp_path: Path) -> None:
    import pickle

    template = load_template(template_file(tmp_path, PLAIN))
    assert isinstance(template, WordTemplate)
    assert pickle.loads(pickle.dumps(template)) == template


# -- the command line -----------------------------------------------------------------


def test_generate_and_preview_take_a_word_letterhead(db, run, tmp_path: Path) -> None:
    from tests._letters_fixtures import seed

    seed(db)
    template = template_file(tmp_path, PLAIN, "ours.docx")
    out = tmp_path / "out"
    result = run("letters", "generate", "--campaign", "tp", "--out", out, "--format", "docx,md",
                 "--docx-template", template)  # fmt: skip
    assert "Wrote" in result.output
    au = read((out / "AU.docx").read_bytes())
    texts = [p.text for p in au.paragraphs]
    assert re.fullmatch(r".+ \d{4}\|tp/\d{4}/\d{3}", texts[0]), texts[0]  # date|reference
    assert texts[1:3] == ["Secretary-General of AU", "African Union"]  # the addressee's lines
    assert texts[3].startswith("The General Assembly dialogue")  # the subject
    assert len([t for t in texts if len(t) > 200]) >= 3  # the body, a paragraph each
    assert au.core_properties.author == "Jane Coordinator"
    assert (out / "AU.md").exists()
    preview = tmp_path / "preview.docx"
    run("letters", "preview", "--campaign", "tp", "--org", "LAS", "--format", "docx",
        "--out", preview, "--docx-template", template)  # fmt: skip
    las = read(preview.read_bytes())
    assert any("الموضوع" in p.text or "حوار" in p.text for p in las.paragraphs)


def test_a_bad_word_letterhead_stops_generate_before_anything_is_recorded(
    db, run, tmp_path: Path
) -> None:
    from tests._letters_fixtures import seed

    seed(db)
    bad = template_file(tmp_path, ["Dear {{ nobody }}", "{{p body }}"], "bad.docx")
    out = tmp_path / "out"
    refused = run("letters", "generate", "--campaign", "tp", "--out", out, "--format", "docx",
                  "--docx-template", bad, expect=1)  # fmt: skip
    assert "--docx-template: bad.docx: unknown variable nobody" in refused.stderr
    assert "Traceback" not in refused.output and len(refused.stderr.strip().splitlines()) == 1
    listed = run("letters", "list", "--campaign", "tp", "--format", "json")
    assert listed.stdout.strip() in ("[]", "")
    usage = run("letters", "generate", "--campaign", "tp", "--out", out, "--format", "md",
                "--docx-template", bad, expect=2)  # fmt: skip
    assert "--docx-template needs --format docx" in usage.stderr
