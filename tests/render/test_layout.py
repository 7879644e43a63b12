"""The printed letter's parts (outreach.render.layout and the Typst layout):
marked parts, reference and date, cc and enclosures, the first page's footer,
window envelopes, US Letter, duplex blanks, logos and signature images, and
page settings refused in one line."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from outreach.errors import ValidationError
from outreach.render.doc import LetterDoc
from outreach.render.layout import (
    MAX_IMAGE_BYTES,
    PageSettings,
    page_settings,
    read_image,
    roles,
    with_overrides,
)
from outreach.render.markdown import blocks, to_text
from outreach.render.pdf import to_pdf

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff"
    b"\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
    b'<rect width="40" height="20" fill="#246"/></svg>'
)

BODY = """::: letterhead
**Coalition Secretariat**
708 Third Avenue
:::

::: date
New York, 12 July 2012
:::

::: reference
Ref.: tp/2012/007
:::

::: addressee
H.E. Amina Diallo
Secretary-General
Regional Organization
:::

::: subject
**Subject: The dialogue**
:::

::: salutation
Your Excellency,
:::

{body}

::: closing
Please accept, Excellency, the assurances of my highest consideration.
:::

::: signature
Ana Ribeiro
Coordinator
:::

::: cc
cc: Joseph Mensah (Director of Political Affairs)
:::

::: enclosures
Enclosures: Concept note; Report of the Secretary-General
:::
"""


def letter(body: str = "A paragraph of running text.", **fields: object) -> LetterDoc:
    values: dict = {
        "acronym": "ORG", "organization": "Regional Organization", "contact": "Amina Diallo",
        "contact_email": None, "language": "en", "subject": "The dialogue",
        "body": BODY.format(body=body), "channel": "post", "to_address": None,
        "message_id": "<1@x>", "sender": {"organization": "Coalition Secretariat"},
        "round": 0, "campaign": "tp", "reference": "tp/2012/007",
    }  # fmt: skip
    values.update(fields)
    return LetterDoc(**values)


def pages(doc: LetterDoc | list[LetterDoc], **options: object) -> list[str]:
    docs = doc if isinstance(doc, list) else [doc]
    reader = PdfReader(io.BytesIO(to_pdf(docs, **options)))  # type: ignore[arg-type]
    return [page.extract_text() for page in reader.pages]


def positions(data: bytes, page: int = 0) -> dict[str, tuple[float, float]]:
    """Where each line of text starts on *page*, from the top left corner (points)."""
    reader = PdfReader(io.BytesIO(data))
    height = float(reader.pages[page].mediabox.height)
    found: dict[str, tuple[float, float]] = {}

    def visit(text: str, cm: list[float], tm: list[float], _font: object, _size: float) -> None:
        if text.strip():
            x = tm[4] * cm[0] + cm[4]
            y = tm[5] * cm[3] + cm[5]
            found.setdefault(text.strip(), (x, height - y))

    reader.pages[page].extract_text(visitor_text=visit)
    return found


def test_marked_parts_are_named_and_their_markers_are_not_text() -> None:
    parts = blocks(BODY.format(body="Text."))
    assert roles(parts) == [
        "letterhead", "date", "reference", "addressee", "subject", "salutation", "text",
        "closing", "signature", "cc", "enclosures",
    ]  # fmt: skip
    text = to_text(BODY.format(body="Text."))
    assert ":::" not in text and "Ref.: tp/2012/007" in text


def test_unknown_markers_and_stray_fences_are_dropped_not_printed() -> None:
    parts = blocks("::: evil\nline one\n:::\n\n:::\n\n::: Letterhead\nstill text")
    assert [b.role for b in parts] == [None, None]
    assert to_text("::: evil\nline one\n:::") == "line one\n"
    # a marker is only a marker on a block's first line
    assert "::: cc" in to_text("Dear friend,\n::: cc")


def test_the_letter_prints_every_part_once_in_order() -> None:
    (text,) = pages(letter())
    order = [
        "Coalition Secretariat", "Ref.: tp/2012/007", "New York, 12 July 2012",
        "H.E. Amina Diallo", "Subject: The dialogue", "Your Excellency,",
        "A paragraph of running text.", "Please accept, Excellency", "Ana Ribeiro",
        "cc: Joseph Mensah", "Enclosures: Concept note; Report of the Secretary-General",
    ]  # fmt: skip
    where = [text.index(part) for part in order]
    assert where == sorted(where)
    assert text.count("Regional Organization") == 1
    assert ":::" not in text


def test_reference_and_date_share_a_line_reference_at_the_start() -> None:
    found = positions(to_pdf([letter()]))
    ref_x, ref_y = found["Ref.: tp/2012/007"]
    date_x, date_y = found["New York, 12 July 2012"]
    assert abs(ref_y - date_y) < 2 and ref_x < date_x


def test_the_first_page_footer_and_page_numbers_of_a_long_letter() -> None:
    settings = PageSettings(footers={"": "Coalition · 708 Third Avenue · New York"})
    long = letter("\n\n".join(["Running text that goes on. " * 30] * 12), page=settings)
    texts = pages(long)
    assert len(texts) >= 2
    assert "Coalition · 708 Third Avenue · New York" in texts[0]
    assert "Coalition · 708 Third Avenue · New York" not in texts[1]
    assert f"1/{len(texts)}" in texts[0] and f"2/{len(texts)}" in texts[1]
    # the continuation header: the addressee as the letter names them, and the reference
    assert "H.E. Amina Diallo · tp/2012/007" in texts[1]


def test_the_footer_line_in_the_letter_s_language() -> None:
    settings = PageSettings(footers={"": "Any", "fr": "Secrétariat de la coalition"})
    (fr,) = pages(letter(language="fr", page=settings))
    (es,) = pages(letter(language="es", page=settings))
    assert "Secrétariat de la coalition" in fr and "Any" not in fr
    assert "Any" in es


def test_window_envelope_puts_the_address_in_the_window(tmp_path: Path) -> None:
    # DIN 5008 form B on A4: the window from 20 mm left and 45 mm down, 85 x 45 mm
    mm = 72 / 25.4
    found = positions(to_pdf([letter(page=PageSettings(window_envelope=True))]))
    x, y = found["H.E. Amina Diallo"]
    assert 20 * mm - 1 <= x <= 25 * mm and 45 * mm <= y <= 90 * mm
    # the body starts below the window
    assert found["Your Excellency,"][1] > 90 * mm
    # US Letter: a No. 10 window envelope
    us = positions(to_pdf([letter(page=PageSettings(paper="letter", window_envelope=True))]))
    x, y = us["H.E. Amina Diallo"]
    assert 22 * mm - 1 <= x <= 26 * mm and 48 * mm <= y <= 84 * mm


def test_us_letter_by_setting_and_by_override() -> None:
    reader = PdfReader(io.BytesIO(to_pdf([letter(page=PageSettings(paper="letter"))])))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    assert with_overrides(PageSettings(), paper="LETTER").paper == "letter"
    with pytest.raises(ValidationError, match="--paper"):
        with_overrides(PageSettings(), paper="legal")


def test_duplex_starts_every_letter_on_a_front_side_blank_backs_carry_nothing() -> None:
    duplex = PageSettings(duplex=True)
    docs = [letter(page=duplex), letter(page=duplex, contact="Second"), letter(page=duplex)]
    texts = pages(docs)
    # three one-page letters, a blank back after each but the last
    assert [bool(t.strip()) for t in texts] == [True, False, True, False, True]
    assert len(pages(docs, duplex=False)) == 3


def test_a_logo_and_a_signature_image_are_embedded(tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_bytes(SVG)
    (tmp_path / "signed.png").write_bytes(PNG)
    settings = page_settings(
        {
            "letter_logo": str(tmp_path / "logo.svg"),
            "letter_signature": str(tmp_path / "signed.png"),
        }
    )
    assert settings.logo and settings.logo.kind == "svg"
    assert settings.signature and settings.signature.kind == "png"
    data = to_pdf([letter(page=settings)])
    reader = PdfReader(io.BytesIO(data))
    plain = PdfReader(io.BytesIO(to_pdf([letter()]))).pages[0]
    assert "/XObject" in reader.pages[0]["/Resources"]
    assert "/XObject" not in plain["/Resources"]
    assert len(data) > len(to_pdf([letter(page=dataclasses.replace(settings, logo=None))]))
    # the letter's text is unchanged by its images
    assert "Ana Ribeiro" in reader.pages[0].extract_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not an image at all", "not a PNG, JPEG or SVG"),
        (b"<html><script>alert(1)</script></html>", "not a PNG, JPEG or SVG"),
        (b"GIF89a\x01\x00", "not a PNG, JPEG or SVG"),
        (b"", "not a PNG, JPEG or SVG"),
    ],
)
def test_an_image_that_is_not_one_is_refused_in_one_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "logo.png"
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=message) as caught:
        page_settings({"letter_logo": str(path)})
    assert "letter_logo" in str(caught.value) and "\n" not in str(caught.value)


def test_missing_folder_and_huge_images_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read"):
        read_image(tmp_path / "missing.png", "letter_logo")
    with pytest.raises(ValidationError, match="cannot read"):
        read_image(tmp_path, "letter_logo")
    big = tmp_path / "big.png"
    big.write_bytes(PNG[:8] + b"\0" * (MAX_IMAGE_BYTES + 1))
    with pytest.raises(ValidationError, match="MiB"):
        read_image(big, "letter_logo")


@pytest.mark.parametrize(
    "variables",
    [
        {"letter_paper": "folio"},
        {"letter_paper": 4},
        {"letter_window_envelope": "perhaps"},
        {"letter_duplex": 2},
        {"letter_footer": "x" * 301},
        {"letter_footer": {"fr": 3}},
        {"letter_logo": ["a.png"]},
    ],
)
def test_bad_page_settings_are_refused_naming_the_variable(variables: dict) -> None:
    with pytest.raises(ValidationError) as caught:
        page_settings(variables)
    (key,) = variables
    assert key in str(caught.value) or "paper" in str(caught.value)


HOSTILE = [
    '#set page(fill: red) #panic("x") $x^2$ <label> @ref',
    "::: signature",
    "{{ 7*7 }} {% raw %}",
    "\u202eevil\u202c \u0000\u0007 line",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_footer_and_names_print_as_typed(text: str) -> None:
    settings = PageSettings(footers={"": text}, window_envelope=True)
    doc = letter(page=settings, contact=text, organization=text)
    long = dataclasses.replace(doc, body=doc.body.replace("A paragraph", "Long. " * 900))
    texts = pages(long)
    joined = " ".join(texts)
    # control characters and bidi overrides (which would show "evil" as "live") are dropped
    visible = "".join(ch for ch in text if ch not in "\u0000\u0007\u202e\u202c")
    assert visible.split()[0] in joined
    assert "\u202e" not in joined
