"""Every output format, opened and read back."""

from __future__ import annotations

import email
import email.policy
import io
from pathlib import Path

import pytest

from outreach.db import Database
from outreach.errors import ValidationError
from outreach.render import letter_stems, safe_stem

from ._letters_fixtures import seed


@pytest.fixture
def written(db: Database, run, tmp_path: Path) -> Path:
    seed(db)
    out = tmp_path / "out"
    run(
        "letters",
        "generate",
        "--campaign",
        "tp",
        "--out",
        out,
        "--format",
        "md,txt,html,eml,docx",
        "--format",
        "pdf",
    )
    return out


def test_files_are_named_safely(written: Path) -> None:
    names = sorted(p.name for p in written.iterdir())
    assert "AU.md" in names and "ECOWAS.pdf" in names and "LAS.eml" in names
    assert len(names) == 5 * 6


def test_markdown_text_html(written: Path) -> None:
    md = (written / "ECOWAS.md").read_text(encoding="utf-8")
    # ECOWAS writes Portuguese first, and there is a Portuguese letter
    assert "**Assunto: O diálogo da Assembleia Geral" in md
    txt = (written / "ECOWAS.txt").read_text(encoding="utf-8")
    assert "**" not in txt and "Assunto: O diálogo" in txt
    html = (written / "LAS.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    assert "<strong>الموضوع:" in html


def test_eml_parses_back(written: Path) -> None:
    msg = email.message_from_bytes(
        (written / "ECOWAS.eml").read_bytes(), policy=email.policy.default
    )
    assert msg["To"].addresses[0].addr_spec == "sg@ecowas.example"
    assert msg["From"].addresses[0].addr_spec == "info@coalition.example"
    assert msg["Subject"].startswith("O diálogo da Assembleia Geral")
    assert msg["Message-ID"].endswith("@coalition.example>")
    assert msg["Content-Language"] == "pt"
    plain = msg.get_body(("plain",)).get_content()
    assert "Segue em anexo uma carta" in plain  # the cover note; the letter is the PDF
    (pdf,) = msg.iter_attachments()
    assert pdf.get_content_type() == "application/pdf"
    html = msg.get_body(("html",)).get_content()
    assert "<p class=\"text\">" in html  # running text, each part with its class


def test_eml_refuses_header_injection() -> None:
    from outreach.render.doc import LetterDoc
    from outreach.sending.eml import to_eml

    doc = LetterDoc(
        acronym="X",
        organization="X",
        contact="Evil\r\nBcc: all@example.org",
        contact_email="x@example.org",
        language="en",
        subject="Hi",
        body="Hello",
        channel="email",
        to_address="x@example.org",
        message_id="<a@b>",
        sender={"email": "me@example.org"},
        round=0,
        campaign="c",
    )
    with pytest.raises(ValidationError, match="line break"):
        to_eml(doc)


def test_pdf_text_with_accents_and_arabic(written: Path) -> None:
    from pypdf import PdfReader

    pt = "".join(p.extract_text() for p in PdfReader(written / "ECOWAS.pdf").pages)
    assert "Assembleia Geral" in pt and "Estados-Membros" in pt
    assert "diálogo" in pt and "pilar" in pt
    ar = "".join(p.extract_text() for p in PdfReader(written / "LAS.pdf").pages)
    assert "LAS" in ar and "A/66/874" in ar
    # Arabic text comes out as the Arabic letters typed, not presentation forms
    arabic = [ch for ch in ar if "\u0600" <= ch <= "\u06ff"]
    assert len(arabic) > 200
    assert not any("\ufb50" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufeff" for ch in ar)
    fonts = set()
    for page in PdfReader(written / "LAS.pdf").pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("NotoNaskhArabic" in f for f in fonts)


def test_combined_pdf(db: Database, run, tmp_path: Path) -> None:
    from pypdf import PdfReader

    seed(db)
    out = tmp_path / "print"
    run("letters", "generate", "--campaign", "tp", "--out", out, "--format", "pdf", "--combined")
    files = list(out.iterdir())
    assert [f.name for f in files] == ["tp-all.pdf"]
    reader = PdfReader(files[0])
    assert len(reader.pages) >= 5
    text = "".join(p.extract_text() for p in reader.pages)
    assert "African Union" in text and "Organization of American States" in text
    letters = len(reader.outline)  # one bookmark per letter, each on its first page
    assert letters >= 5 and reader.metadata.title == f"tp: {letters} letters"
    assert reader.get_destination_page_number(reader.outline[0]) == 0


def test_docx_reads_back(written: Path) -> None:
    import docx

    document = docx.Document(io.BytesIO((written / "OAS.docx").read_bytes()))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Asunto: El diálogo de la Asamblea General" in text
    ar = docx.Document(io.BytesIO((written / "LAS.docx").read_bytes()))
    assert any("الموضوع" in p.text for p in ar.paragraphs)
    assert (
        ar.paragraphs[0]._p.pPr.find(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}bidi"
        )
        is not None
    )


def test_safe_stems() -> None:
    assert safe_stem("../../etc/passwd", "x") == "etc-passwd"
    assert safe_stem("CON", "org1") == "org1"
    assert safe_stem("Côte", "x") == "Cote"
    assert safe_stem("الجامعة", "org7") == "org7"

    class D:
        def __init__(self, acronym: str, round: int = 0) -> None:
            self.acronym, self.round, self.organization_id = acronym, round, 1

    assert letter_stems([D("AU"), D("au"), D("AU", 1), D("A/U")]) == [
        "AU",
        "au-2",
        "AU-reminder1",
        "A-U",
    ]


def test_many_pdfs_use_a_worker_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfReader

    import outreach.render as render
    from outreach.render.doc import LetterDoc

    monkeypatch.setattr(render, "PARALLEL_MIN", 2)
    docs = [
        LetterDoc(
            acronym=f"ORG{i}",
            organization="Org",
            contact="C",
            contact_email=None,
            language="ar" if i % 2 else "fr",
            subject="S",
            body="**Objet : réunion**\n\nلجمعية العامة" if i % 2 else "Société générale",
            channel="post",
            to_address=None,
            message_id=f"<{i}@x>",
            sender={},
            round=0,
            campaign="c",
            organization_id=i,
        )
        for i in range(5)
    ]
    outputs = render.render_outputs(docs, formats=["pdf"])
    assert [name for name, _data in outputs] == [f"ORG{i}.pdf" for i in range(5)]
    first = PdfReader(io.BytesIO(outputs[0][1])).pages[0].extract_text()
    assert "Société générale" in first


def test_pdf_letters_one_after_another_stay_correct() -> None:
    """Letters made one after another by the same engine read back each with
    its own text, a new character included."""
    from pypdf import PdfReader

    from outreach.render.doc import LetterDoc
    from outreach.render.pdf import to_pdf

    def doc(body: str, language: str = "fr") -> LetterDoc:
        return LetterDoc(
            acronym="X",
            organization="Org",
            contact="C",
            contact_email=None,
            language=language,
            subject="S",
            body=body,
            channel="post",
            to_address=None,
            message_id="<1@x>",
            sender={},
            round=0,
            campaign="c",
        )

    texts = []
    for body in ("Société générale", "Société générale", "Société générale ŒUVRE ß"):
        pdf = to_pdf([doc(body)])
        texts.append(PdfReader(io.BytesIO(pdf)).pages[0].extract_text())
    assert "Société générale" in texts[0] and "Société générale" in texts[1]
    assert "ŒUVRE ß" in texts[2]
    arabic = PdfReader(io.BytesIO(to_pdf([doc("الجمعية العامة", "ar")] * 2))).pages
    for page in arabic:
        text = page.extract_text()
        assert "الجمعية" in text and "العامة" in text
        assert not any("\ufb50" <= ch <= "\ufeff" for ch in text)  # no presentation forms


def test_a_chinese_pdf_is_drawn_and_a_letter_no_font_has_is_refused() -> None:
    """Chinese has its font now; a script no shipped font has (Korean) is
    refused with the letter's name, never written as a page of empty spaces."""
    import pytest
    from pypdf import PdfReader

    from outreach.errors import ValidationError
    from outreach.render.doc import LetterDoc
    from outreach.render.pdf import to_pdf

    def doc(body: str, language: str) -> LetterDoc:
        return LetterDoc(
            acronym="SCO", organization="SCO", contact="x", contact_email=None,
            language=language, subject="事由", body=body, channel="post", to_address=None,
            message_id="", sender={}, round=0, campaign="c",
        )  # fmt: skip

    chinese = PdfReader(io.BytesIO(to_pdf([doc("尊敬的阁下：", "zh")])))
    assert "尊敬的阁下：" in chinese.pages[0].extract_text()
    with pytest.raises(ValidationError, match=r"SCO: the PDF fonts cannot draw"):
        to_pdf([doc("안녕하세요", "ko")])
