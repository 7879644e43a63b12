"""E-mail as diplomats send it: a short cover note in the letter's language
(text and HTML), the letter itself attached as a PDF whose text is the
letter, the campaign's and the recipient's own attachments, the letter's cc
recipients, reminders threaded to the letter they follow up, a size check
before anything is handed over, and ``.eml`` files that are the sent bytes."""

from __future__ import annotations

import email
import email.policy
import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from outreach.schema.models import Campaign, Letter, LetterStatus
from outreach.sending import MailIdentity, build_message
from outreach.sending.message import Attachment, LetterMail, MessageError, readable

from ..mailfixtures import SENDER, seed_campaign, smtp_server
from .test_mail_headers import display_name, header_names
from .test_send import letters_cmd

DATE_LINE = re.compile(rb"^Date: [^\r\n]*\r\n", re.MULTILINE)
CC = "deputy@africa-union.org"


@pytest.fixture
def smtp():
    yield from smtp_server()


@pytest.fixture(autouse=True)
def no_mail_env(monkeypatch):
    for name in (
        "OUTREACH_MAIL_FROM",
        "OUTREACH_MAIL_REPLY_TO",
        "OUTREACH_MAIL_BCC",
        "OUTREACH_MAIL_MAX_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _setup(db, tmp_path, **variables):
    """The seeded campaign, its AU letter copied to a deputy, with *variables*."""
    seeded = seed_campaign(db, letters=4)
    with db.session() as session:
        campaign = session.get(Campaign, seeded["campaign_id"])
        campaign.sender = {
            "email": SENDER,
            "name": "Coalition",
            "organization": "Global Coalition",
            "signatory": "Ana Pereira",
            "signatory_title": "Coordinator",
        }
        campaign.variables = variables
        au = session.get(Letter, seeded["letters"][1])
        au.cc = [{"contact_id": None, "name": "Deputy Chair", "email": CC, "position": None}]
    return seeded


def _by_org(received):
    return {r.rcpt_tos[0].split("@", 1)[1]: r for r in received}


def test_the_message_is_a_cover_note_with_the_letter_and_the_files(db, db_url, smtp, tmp_path):
    note = tmp_path / "concept-note.txt"
    note.write_text("A concept note.\n", encoding="utf-8")
    folder = tmp_path / "own"
    folder.mkdir()
    (folder / "AU-annex.txt").write_text("For the African Union only.\n", encoding="utf-8")
    (folder / "OAS.txt").write_text("For the OAS only.\n", encoding="utf-8")
    seeded = _setup(
        db, tmp_path, email_attachments=[str(note)], email_attachments_folder=str(folder)
    )
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    got = _by_org(smtp.recorder.received)
    assert len(got) == 4
    au = got["africa-union.org"]
    msg = au.message
    # the cc recipient is in the header and in the envelope
    assert au.rcpt_tos == ["sg@africa-union.org", CC]
    assert [a.addr_spec for a in msg["Cc"].addresses] == [CC]
    assert msg["Cc"].addresses[0].display_name == "Deputy Chair"
    assert msg["Content-Language"] == "fr"
    assert msg.get_content_type() == "multipart/mixed"
    parts = list(msg.iter_parts())
    assert parts[0].get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parts[0].iter_parts()] == ["text/plain", "text/html"]
    # the cover note, in French, signed, naming the subject and the files
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    flat = " ".join(plain.split())
    assert (
        "Vous trouverez ci-joint une lettre concernant « Dialogue interactif informel sur la "
        "responsabilité de protéger », signée par Ana Pereira, Coordinator."
    ) in flat
    assert "concept-note.txt, AU-annex.txt" in flat
    assert flat.rstrip().endswith("Ana Pereira Coordinator Global Coalition")
    assert '<html lang="fr" dir="ltr">' in html and "Vous trouverez ci-joint" in html
    # the letter as PDF first, then the campaign's file, then the AU's own
    files = list(msg.iter_attachments())
    assert [f.get_filename() for f in files] == [
        f"AU-letter-{seeded['letters'][1]}.pdf",
        "concept-note.txt",
        "AU-annex.txt",
    ]
    assert files[0].get_content_type() == "application/pdf"
    with db.session() as session:
        body = session.get(Letter, seeded["letters"][1]).body
    assert "Dialogue interactif informel sur la responsabilité de protéger — AU" in _pdf_text(
        files[0].get_content()
    )
    assert "Your Excellency" in body and "Your Excellency" in _pdf_text(files[0].get_content())
    assert files[1].get_content() == "A concept note.\n"
    # the OAS gets its own file, not the AU's; the Arabic note is in Arabic
    oas_files = [f.get_filename() for f in got["oas.org"].message.iter_attachments()]
    assert oas_files[1:] == ["concept-note.txt", "OAS.txt"]
    oas = got["oas.org"].message
    assert "Adjunto le remito una carta" in oas.get_body(("plain",)).get_content()
    gcc = got["gcc-sg.org"].message
    assert "تجدون طيه رسالة" in gcc.get_body(("plain",)).get_content()
    assert 'dir="rtl"' in gcc.get_body(("html",)).get_content()
    assert gcc["Cc"] is None


def test_a_reminder_is_threaded_to_the_letter_it_follows_up(db, db_url, smtp, tmp_path):
    seeded = _setup(db, tmp_path)
    first = seeded["letters"][3]
    with db.session() as session:
        original = session.get(Letter, first)
        original.status = LetterStatus.SENT
        original.message_id = "<original-1@coalition.example>"
        reminder = Letter(
            campaign_id=original.campaign_id,
            organization_id=original.organization_id,
            contact_id=original.contact_id,
            round=1,
            followup_of_id=original.id,
            language="en",
            subject="Reminder: " + original.subject,
            body="Your Excellency,\n\nA reminder.\n",
            template_name="third-pillar-reminder",
            template_hash="0" * 64,
            status=LetterStatus.APPROVED,
            to_address=original.to_address,
            message_id="<reminder-1@coalition.example>",
        )
        session.add(reminder)
        session.flush()
        reminder_id = reminder.id
    out = tmp_path / "eml"
    letters_cmd(db_url, "write", reminder_id, "--out", out, "--format", "eml")
    (eml,) = out.glob("*.eml")
    letters_cmd(
        db_url, "send", "--campaign", "iid-2012", "--send", "--letter", reminder_id, *smtp.argv()
    )
    (got,) = smtp.recorder.received
    for raw in (got.data, eml.read_bytes()):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg["In-Reply-To"] == "<original-1@coalition.example>"
        assert msg["References"] == "<original-1@coalition.example>"
        assert msg["Message-ID"] == "<reminder-1@coalition.example>"
        assert "Please find attached a letter" in msg.get_body(("plain",)).get_content()
    assert _masked(eml.read_bytes()) == _masked(got.data)


def _masked(raw: bytes) -> bytes:
    """*raw* without its Date line (when the message was made): all the rest,
    the attached PDF included, is the same byte for byte."""
    return DATE_LINE.sub(b"", raw)


def test_the_eml_files_are_what_the_server_received(db, db_url, smtp, tmp_path):
    seeded = _setup(db, tmp_path)
    with db.session() as session:
        for letter_id in seeded["letters"]:
            session.get(Letter, letter_id).message_id = f"<l-{letter_id}@coalition.example>"
    out = tmp_path / "eml"
    letters_cmd(db_url, "write", *seeded["letters"], "--out", out, "--format", "eml")
    files = {}
    for path in out.glob("*.eml"):
        raw = path.read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        files[msg["To"].addresses[0].addr_spec] = raw
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    received = smtp.recorder.received
    assert len(received) == len(files) == 4
    for got in received:
        eml = files[got.rcpt_tos[0]]
        assert len(DATE_LINE.findall(eml)) == len(DATE_LINE.findall(got.data)) == 1
        assert _masked(eml) == _masked(got.data)
        assert header_names(eml) == header_names(got.data)


def test_a_message_over_the_size_limit_is_refused_before_sending(db, db_url, smtp, tmp_path):
    big = tmp_path / "report.bin"
    big.write_bytes(b"\0" * 300_000)
    seeded = _setup(db, tmp_path, email_attachments=[str(big)], email_max_size="200 kB")
    result = letters_cmd(
        db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv(), expect=1
    )
    assert smtp.recorder.count() == 0
    au = seeded["letters"][1]
    line = next(x for x in result.stdout.splitlines() if f"letter {au} (AU)" in x)
    assert re.search(r"the message is 0\.4 MB \(\d+ bytes\), over the limit of 0\.2 MB", line)
    with db.session() as session:
        assert session.get(Letter, au).status == LetterStatus.FAILED


def test_send_show_prints_readable_text(db, db_url, tmp_path):
    seeded = _setup(db, tmp_path)
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--show")
    out = result.stdout
    gcc = seeded["letters"][0]
    assert f"----- letter {gcc} (GCC) -----" in out
    # decoded: no encoded words, no quoted-printable or base64 bodies
    assert "=?utf-8?" not in out and "=D8" not in out and "=C3=A9" not in out
    assert "Subject: الحوار التفاعلي غير الرسمي بشأن المسؤولية عن الحماية" in out
    assert "Cc: Deputy Chair <deputy@africa-union.org>" in out
    assert "signée par Ana Pereira, Coordinator." in out
    assert f"  GCC-letter-{gcc}.pdf  application/pdf  " in out
    assert "Attached (1):" in out


# -- hostile recipient data ------------------------------------------------------

IDENTITY = MailIdentity(from_address=SENDER, from_name="Coalition")


def _mail(**kw) -> LetterMail:
    values = dict(
        letter_id=7,
        organization_id=1,
        acronym="AU",
        contact_name="Jane Doe",
        to_address="jane@au.example",
        subject="Dialogue",
        body="The letter.\n",
        language="en",
        cover="Please find attached a letter.\n",
        attachments=(Attachment("AU-letter-7.pdf", "application/pdf", b"%PDF-1.7\n"),),
    )
    values.update(kw)
    return LetterMail(**values)


@pytest.mark.parametrize(
    "name",
    [
        "Evil\r\nBcc: victim@evil.example",
        "Evil\nBcc: victim@evil.example",
        "Evil\u2028Bcc: victim@evil.example",
        "Evil\x00",
    ],
)
def test_a_cc_name_with_a_line_break_or_control_is_refused(name):
    with pytest.raises(MessageError, match="cc"):
        build_message(_mail(cc=((name, "cc@au.example"),)), IDENTITY, message_id="<1@x.example>")


@pytest.mark.parametrize(
    "address",
    ["cc@au.example\r\nBcc: victim@evil.example", "cc@au.example>, victim@evil.example", "x"],
)
def test_a_bad_cc_address_is_refused(address):
    with pytest.raises(MessageError):
        build_message(_mail(cc=(("A", address),)), IDENTITY, message_id="<1@x.example>")


def test_encoded_words_and_long_names_in_cc_stay_literal_text():
    encoded = "=?utf-8?q?x=0D=0ABcc:_victim@evil.example?="
    long_name = "Très Honorable " * 12 + "Délégué"
    msg = build_message(
        _mail(cc=((encoded, "a@au.example"), (long_name, "b@au.example"))),
        IDENTITY,
        message_id="<1@x.example>",
    )
    raw = msg.as_bytes()
    names = header_names(raw)  # every line printable ASCII, at most 998, folded right
    assert "Bcc" not in names and names.count("Cc") == 1
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    cc = parsed["Cc"].addresses
    assert [a.addr_spec for a in cc] == ["a@au.example", "b@au.example"]
    assert cc[0].display_name == encoded  # never decoded into a header
    # (the standard library keeps the space between two encoded words: decoded by RFC 2047)
    alone = build_message(_mail(cc=((long_name, "b@au.example"),)), IDENTITY, message_id="<2@x>")
    raw = alone.as_bytes()
    assert display_name(raw, "Cc", "") == long_name


def test_a_hostile_attachment_name_cannot_add_a_header():
    bad = Attachment("a.pdf\r\nBcc: victim@evil.example", "application/pdf", b"x")
    with pytest.raises(MessageError, match="line break"):
        build_message(_mail(attachments=(bad,)), IDENTITY, message_id="<1@x.example>")
    long = Attachment("Lettre à l'Union africaine " * 5 + ".pdf", "text/plain\r\nX: y", b"x")
    msg = build_message(_mail(attachments=(long,)), IDENTITY, message_id="<1@x.example>")
    raw = msg.as_bytes()
    header_names(raw)
    (part,) = email.message_from_bytes(raw, policy=email.policy.default).iter_attachments()
    assert part.get_filename() == long.filename
    assert part.get_content_type() == "application/octet-stream"


def test_readable_lists_headers_text_and_files():
    msg = build_message(
        _mail(subject="Diálogo", cover="Adjunto le remito una carta.\n", language="es"),
        IDENTITY,
        message_id="<1@x.example>",
    )
    text = readable(msg)
    assert "Subject: Diálogo" in text
    assert "Adjunto le remito una carta." in text
    assert "  AU-letter-7.pdf  application/pdf  9 bytes" in text


def test_the_campaign_letters_are_not_stale_after_a_send_dry_run(db, db_url, tmp_path):
    """The cover note is derived when the message is made: nothing is stored."""
    seeded = _setup(db, tmp_path)
    with db.session() as session:
        before = session.execute(sa.select(Letter.id, Letter.updated_at)).all()
    letters_cmd(db_url, "send", "--campaign", "iid-2012")
    with db.session() as session:
        assert session.execute(sa.select(Letter.id, Letter.updated_at)).all() == before
    assert len(seeded["letters"]) == 4
