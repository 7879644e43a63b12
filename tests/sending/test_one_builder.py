"""One message builder and one right-to-left table.

An ``.eml`` file is the message ``letters send --html`` hands to the SMTP
server for the same letter, byte for byte but for its Date line (when the
message was made); and a letter in a right-to-left language is right to left
in the e-mail, in the ``.eml`` file and in the PDF alike (a Sindhi letter was
right to left by e-mail and left to right in the PDF).
"""

from __future__ import annotations

import email
import email.policy
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from outreach.render.doc import LetterDoc
from outreach.render.pdf import to_pdf
from outreach.schema.models import Letter
from outreach.sending import LetterMail, MailIdentity, build_message
from outreach.sending.eml import to_eml
from outreach.templating import is_rtl

from ..mailfixtures import SENDER, seed_campaign, smtp_server
from .test_cover_note import _masked
from .test_send import letters_cmd

DATE_LINE = re.compile(rb"^Date: [^\r\n]*\r\n", re.MULTILINE)


def _to(raw: bytes) -> str:
    return email.message_from_bytes(raw, policy=email.policy.default)["To"].addresses[0].addr_spec


@pytest.fixture
def smtp():
    yield from smtp_server()


@pytest.fixture
def no_mail_env(monkeypatch):
    for name in ("OUTREACH_MAIL_FROM", "OUTREACH_MAIL_REPLY_TO", "OUTREACH_MAIL_BCC"):
        monkeypatch.delenv(name, raising=False)


def test_the_eml_file_is_the_message_that_is_sent(db, db_url, smtp, tmp_path, no_mail_env):
    ids = seed_campaign(db, letters=4)["letters"]
    with db.session() as session:
        for letter_id in ids:
            session.get(Letter, letter_id).message_id = f"<letter-{letter_id}@coalition.example>"
    out = tmp_path / "eml"
    letters_cmd(db_url, "write", *ids, "--out", out, "--format", "eml")
    files = {}
    for path in out.glob("*.eml"):
        raw = path.read_bytes()
        files[_to(raw)] = raw
    assert len(files) == 4
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", "--html", *smtp.argv())
    received = smtp.recorder.received
    assert len(received) == 4
    for got in received:
        sent = got.data
        eml = files[_to(sent)]
        assert len(DATE_LINE.findall(eml)) == 1 and len(DATE_LINE.findall(sent)) == 1
        # but for the Date and the attached PDF's time of making (see test_cover_note)
        assert _masked(eml) == _masked(sent)


def _mail(language: str, body: str) -> LetterMail:
    return LetterMail(
        letter_id=1,
        organization_id=1,
        acronym="SD",
        contact_name="Jane Doe",
        to_address="jane@sd.example",
        subject="سنڌي",
        body=body,
        language=language,
    )


def _doc(language: str, body: str) -> LetterDoc:
    return LetterDoc(
        acronym="SD",
        organization="Org",
        contact="Jane Doe",
        contact_email="jane@sd.example",
        language=language,
        subject="سنڌي",
        body=body,
        channel="email",
        to_address="jane@sd.example",
        message_id="<1@coalition.example>",
        sender={"email": SENDER, "name": "Coalition"},
        round=0,
        campaign="c",
    )


def _pdf_text_x(language: str, body: str) -> list[float]:
    """Where the body's line starts on the page (points from the left): the
    leftmost of the pieces of text that are the body's (not the page number)."""
    xs: list[float] = []
    letters = {ch for ch in body if ch.isalpha()}

    def visit(text, cm, tm, _font, _size):
        if letters & set(text):
            # the text matrix within the current transformation: x on the page
            xs.append(tm[4] * cm[0] + tm[5] * cm[2] + cm[4])

    PdfReader(io.BytesIO(to_pdf([_doc(language, body)]))).pages[0].extract_text(visitor_text=visit)
    return [min(xs)] if xs else []


def _html_dir(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()
    return re.search(r'<html[^>]* dir="(\w+)"', html).group(1)


@pytest.mark.parametrize(
    ("language", "rtl"),
    [
        ("sd", True),  # Sindhi: Arabic script
        ("ar", True),
        ("ckb", True),  # Central Kurdish (Sorani): Arabic script
        ("ug", True),
        ("ku", False),  # Kurdish without a script: Kurmanji, Latin letters
        ("ku-Arab", True),  # ... unless the tag names the Arabic script
        ("sd-Deva", False),  # Sindhi in Devanagari
        ("fr", False),
    ],
)
def test_a_right_to_left_letter_is_so_by_email_eml_and_pdf(language, rtl):
    body = "سنڌي ٻولي"
    assert is_rtl(language) is rtl
    want = "rtl" if rtl else "ltr"
    identity = MailIdentity(from_address=SENDER, from_name="Coalition")
    sent = build_message(_mail(language, body), identity, message_id="<1@x.example>", html=True)
    assert _html_dir(sent.as_bytes()) == want
    assert _html_dir(to_eml(_doc(language, body))) == want
    # In the PDF, a right-to-left paragraph is set against the right margin.
    (x,) = _pdf_text_x(language, body)
    (left,) = _pdf_text_x("en", body)
    (right,) = _pdf_text_x("ar", body)
    # (a point or so apart: the same words shaped under another language tag)
    assert abs(x - (right if rtl else left)) < 3 and right > left + 100


def test_sindhi_html_file_says_right_to_left(tmp_path: Path):
    from outreach.render.html import to_html

    assert 'dir="rtl"' in to_html(_doc("sd", "سنڌي ٻولي"))
