"""The PDF engine (Typst): text that extracts as typed in every shipped
language, PDF/A and PDF/UA identification, metadata, one bookmark per letter,
page numbers and continuation headers, and hostile text kept as text."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import unicodedata
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfReader

from outreach.errors import ValidationError
from outreach.render.doc import LetterDoc
from outreach.render.markdown import blocks
from outreach.render.pdf import to_pdf

LANGUAGES = ["en", "fr", "es", "ar", "ru", "zh", "pt"]
PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")


@cache
def shipped_letter(language: str) -> LetterDoc:
    """The shipped third-pillar letter in *language*, rendered as generation does."""
    from outreach.letters.jobs import Job
    from outreach.letters.renderer import Renderer
    from outreach.schema.models import Campaign, Dialogue, UNBody
    from outreach.templating import Record

    dialogue = Dialogue(
        slug="ga", body=UNBody.GENERAL_ASSEMBLY, title="Dialogue on the responsibility to protect",
        date=dt.date(2012, 9, 5), report_symbol="A/66/874-S/2012/578",
    )  # fmt: skip
    campaign = Campaign(
        slug="tp", title="Third pillar", template="third-pillar", default_language="en",
        signatory="Ana Ribeiro", variables={"reply_by": {"$date": "2012-06-15"}},
        sender={"organization": "Coalition Secretariat", "email": "info@coalition.example"},
    )  # fmt: skip
    campaign.dialogue = dialogue
    renderer = Renderer(
        campaign, "third-pillar", dialogue=dialogue, templates=None, today=dt.date(2012, 3, 20)
    )
    org = Record(
        id=1, acronym="ORG", name="Regional Organization", kind="regional", region="africa",
        region_label="Africa", hq_city=None, hq_country=None, languages=[language],
        website=None, tags=[],
    )  # fmt: skip
    contact = Record(
        id=1, kind="person", name="Amina Diallo", position="Secretary-General", salutation=None,
        email="sg@org.example", postal_address=None, phone=None, language=language,
    )  # fmt: skip
    compiled, text = renderer.render(Job(org=org, contact=contact))
    assert compiled.language == language
    return LetterDoc(
        acronym=f"ORG-{language}", organization=org["name"], contact=contact["name"],
        contact_email=contact["email"], language=language, subject=text.subject,
        body=text.body, channel="post", to_address=None, message_id="<1@x>",
        sender=renderer.base["sender"], round=0, campaign="tp", date=dt.date(2012, 3, 20),
    )  # fmt: skip


def letter(body: str, language: str = "en", **fields: object) -> LetterDoc:
    values: dict = {
        "acronym": "X", "organization": "Org", "contact": "C", "contact_email": None,
        "language": language, "subject": "S", "body": body, "channel": "post",
        "to_address": None, "message_id": "<1@x>", "sender": {}, "round": 0, "campaign": "c",
    }  # fmt: skip
    values.update(fields)
    return LetterDoc(**values)


def comparable(text: str, punctuation: bool = True) -> str:
    """Text with what extraction may change taken out: line breaks, spaces,
    hyphenation hyphens, the bidi marks pdftotext wraps right-to-left lines
    in, and Arabic vowel marks (pdftotext files them beside their letter).
    Without *punctuation*, punctuation too: pdftotext may move a colon or a
    comma that stands between an Arabic word and a number."""
    text = unicodedata.normalize("NFC", text)
    dropped = ("Mn", "Cf") if punctuation else ("Mn", "Cf", "Po", "Ps", "Pe", "Pd")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in dropped)
    return re.sub(r"[\s\-‐­]+", "", text)


def typed_paragraphs(doc: LetterDoc) -> list[str]:
    return [
        "".join(span.text for span in line)
        for block in blocks(doc.body)
        for line in block.lines
        if sum(len(span.text) for span in line) > 20
    ]


def pdftotext(data: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


@pytest.mark.parametrize("language", LANGUAGES)
def test_pdftotext_reads_every_line_as_typed_in_logical_order(
    language: str, tmp_path: Path
) -> None:
    doc = shipped_letter(language)
    text = pdftotext(to_pdf([doc]), tmp_path)
    assert not PRESENTATION_FORMS.search(text)
    punctuation = language != "ar"
    extracted = comparable(text, punctuation)
    lines = typed_paragraphs(doc)
    if language == "ar":
        # pdftotext moves a Latin name or a number inside an Arabic line to
        # the line's end (its own bidi rebuild): those lines are read by pypdf
        lines = [line for line in lines if not re.search(r"[A-Za-z0-9]", line)]
        assert len(lines) >= 4
    position = 0
    for line in lines:
        # each line found after the one before: the order they were written in
        found = extracted.find(comparable(line, punctuation), position)
        assert found >= 0, line
        position = found + 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_pypdf_reads_the_words_as_typed(language: str) -> None:
    """pypdf keeps each word's letters in logical order; it lays right-to-left
    words out left to right (it has no bidi reordering of its own), so Arabic
    is compared word by word."""
    doc = shipped_letter(language)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf([doc]))).pages)
    assert not PRESENTATION_FORMS.search(text)
    if language == "ar":
        # words written without vowel marks must all come out as typed
        glued = comparable(text)
        typed = {
            word.strip("،.:()")
            for line in typed_paragraphs(doc)
            for word in line.split()
            if re.fullmatch(r"[\u0621-\u064a]+[،.:]?", word)
        }
        assert len(typed) > 50
        missing = {word for word in typed if word not in glued}
        # pypdf misplaces a letter next to a vowel mark in a few words
        assert len(missing) <= len(typed) // 50, missing
    else:
        extracted = comparable(text)
        for line in typed_paragraphs(doc):
            assert comparable(line) in extracted, line


def test_chinese_is_stored_as_typed() -> None:
    doc = shipped_letter("zh")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf([doc]))).pages)
    assert doc.subject in text.replace("\n", "")
    assert "保护责任" in text and "2012年3月20日" in text


def test_pdfa_and_pdfua_are_declared_with_title_author_and_language() -> None:
    doc = shipped_letter("fr")
    reader = PdfReader(io.BytesIO(to_pdf([doc])))
    xmp = reader.xmp_metadata.stream.get_data().decode("utf-8")
    assert re.search(r"pdfaid:part[^0-9]*2", xmp) and re.search(r"pdfaid:conformance\W*A", xmp)
    assert re.search(r"pdfuaid:part[^0-9]*1", xmp)
    assert "<rdf:li>fr</rdf:li>" in xmp
    assert reader.metadata.title == doc.subject
    assert reader.metadata.author == "Coalition Secretariat"
    assert reader.trailer["/Root"]["/Lang"] == "fr"
    assert reader.trailer["/Root"]["/MarkInfo"]["/Marked"]


def test_fonts_are_embedded_as_subsets() -> None:
    reader = PdfReader(io.BytesIO(to_pdf([shipped_letter("ar"), shipped_letter("zh")])))
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(key in descriptor for key in ("/FontFile2", "/FontFile3"))
            fonts.add(str(font["/BaseFont"]))
    assert all(re.match(r"/[A-Z]{6}\+", name) for name in fonts)
    names = " ".join(fonts)
    assert "NotoNaskhArabic" in names and "NotoSans" in names and "CJK" in names


def test_a_combined_pdf_has_a_title_and_one_bookmark_per_letter() -> None:
    docs = [shipped_letter(lang) for lang in LANGUAGES]
    reader = PdfReader(io.BytesIO(to_pdf(docs)))
    assert [item.title for item in reader.outline] == [
        f"{doc.acronym} — {doc.contact}" for doc in docs
    ]
    assert reader.metadata.title == "tp: 7 letters"
    pages = [reader.get_destination_page_number(item) for item in reader.outline]
    assert pages == sorted(pages) and pages[0] == 0


def test_later_pages_carry_page_numbers_and_a_continuation_header() -> None:
    long = letter(
        "\n\n".join(["A paragraph of the letter that runs on for a while. " * 8] * 14),
        contact="Amina Diallo",
        organization="African Union",
        date=dt.date(2012, 7, 12),
    )
    reader = PdfReader(io.BytesIO(to_pdf([long, letter("Short.")])))
    texts = [page.extract_text() for page in reader.pages]
    assert len(texts) == 3
    assert "1/2" in texts[0] and "2/2" in texts[1]
    assert "1/1" not in texts[2]  # a one-page letter needs no page number
    assert "African Union · Amina Diallo · 12 July 2012" in texts[1]
    assert "Amina Diallo" not in texts[0]


def test_paper_is_a4_unless_the_letter_asks_for_us_letter() -> None:
    a4 = PdfReader(io.BytesIO(to_pdf([letter("Text.")]))).pages[0].mediabox
    us = PdfReader(io.BytesIO(to_pdf([letter("Text.", paper="letter")]))).pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)
    assert (round(float(us.width)), round(float(us.height))) == (612, 792)
    with pytest.raises(ValidationError, match="paper"):
        to_pdf([letter("Text.", paper="folio")])


HOSTILE = [
    '#set page(fill: red) #panic("x") $x^2$ *bold* _it_ `raw` <label> @ref',
    "\\ // not a comment /* nor this */ [brackets] = Heading {code}",
    'Name "quoted" ; #import "/etc/passwd" #read("/etc/passwd")',
    "emoji-free symbols ≠ → ½ and RTL mark \u200f here \u202b embed \u202c end",
    "Tab\tseparated and a form feed\x0c and a bell\x07 in text",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_printed_as_typed(text: str, tmp_path: Path) -> None:
    doc = letter(f"**{text}**\n\n{text}\n\n{text}", contact=text, organization=text, acronym=text)
    data = to_pdf([doc])
    extracted = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    visible = re.sub(r"[\x00-\x1f\u200f\u202b\u202c]", "", text.replace("\t", " "))
    for word in visible.split():
        assert word.replace("*", "").replace("_", "").replace("`", "") in extracted.replace(
            "*", ""
        ).replace("_", "").replace("`", "")
    assert b"/etc/passwd" not in data or "passwd" in text


def test_letters_no_font_can_draw_are_refused_by_name() -> None:
    """Korean has no shipped font: the letter is refused, never drawn with blank gaps."""
    with pytest.raises(ValidationError, match=r"KR: the PDF fonts cannot draw"):
        to_pdf([letter("안녕하세요", "ko", acronym="KR")])
