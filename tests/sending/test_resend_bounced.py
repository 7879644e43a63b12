"""A bounced letter goes again once its contact's address is corrected: to the
new address, with a new Message-ID, the old one kept (a late reply to it
still finds the letter); while the address is still flagged it is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from outreach.schema.models import Contact, Letter, LetterStatus, Response

from ..mailfixtures import SmtpServer, seed_campaign, smtp_server
from ..responses._fixtures import mail
from ..responses.test_bounces import postfix_dsn


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


def _letter(db, letter_id: int) -> dict:
    with db.session() as session:
        letter = session.get(Letter, letter_id)
        contact = session.get(Contact, letter.contact_id)
        return {
            "status": letter.status,
            "to": letter.to_address,
            "mid": letter.message_id,
            "previous": letter.previous_message_ids,
            "flagged": contact.email_bounced_at is not None,
        }


def test_bounced_letter_resent_to_the_corrected_address(db, run, smtp, tmp_path):
    ids = seed_campaign(db, letters=2)["letters"]
    run("letters", "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    gcc = ids[0]
    first = _letter(db, gcc)
    assert first["status"] == LetterStatus.SENT and first["to"] == "sg@gcc-sg.org"

    dsn = tmp_path / "bounce.eml"
    dsn.write_bytes(postfix_dsn(first["mid"], "sg@gcc-sg.org"))
    imported = run("responses", "import", dsn).stdout
    assert "0 matched, 0 unmatched, 0 ignored, 1 bounce(s)" in imported
    bounced = _letter(db, gcc)
    assert bounced["status"] == LetterStatus.BOUNCED and bounced["flagged"]

    # The follow-up list does not chase it; it says it bounced and what to do.
    listed = run("followups", "--campaign", "iid-2012", "--after", "0").stderr
    assert f"letter {gcc} to sg@gcc-sg.org" in listed and "bounced, not chased" in listed
    assert "correct the address" in listed

    # The address still bounces: refused, nothing changed.
    refused = run("letters", "resend", gcc, expect=1)
    assert "bounced" in refused.stderr and "corrected" in refused.stderr
    assert "sg@gcc-sg.org" in refused.stderr
    assert _letter(db, gcc) == bounced

    run("contacts", "edit", "sg@gcc-sg.org", "--email", "protocol@gcc-sg.org")
    assert not _letter(db, gcc)["flagged"]

    listed = run("followups", "--campaign", "iid-2012", "--after", "0").stderr
    assert f"address corrected: `outreach letters resend {gcc}`" in listed
    run("letters", "resend", gcc)
    again = _letter(db, gcc)
    assert again["status"] == LetterStatus.APPROVED
    assert again["to"] == "protocol@gcc-sg.org"
    assert again["previous"] == [first["mid"]]
    assert again["mid"] and again["mid"] != first["mid"]

    run("letters", "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    received = smtp.recorder.received
    assert len(received) == 3
    assert received[-1].rcpt_tos == ["protocol@gcc-sg.org"]
    assert received[-1].message_id == again["mid"]
    sent = _letter(db, gcc)
    assert sent["status"] == LetterStatus.SENT and sent["mid"] == again["mid"]

    # A late reply to the first sending still finds the letter.
    reply = tmp_path / "reply.eml"
    reply.write_bytes(
        mail(
            "Protocol <protocol@gcc-sg.org>",
            "Re: Informal interactive dialogue",
            "We received your letter and will take part.",
            mid="<late@gcc-sg.org>",
            in_reply_to=first["mid"],
        ).as_bytes()
    )
    run("responses", "import", reply)
    with db.session() as session:
        response = session.scalar(sa.select(Response))
        assert response.letter_id == gcc


def test_resend_refuses_a_bounced_letter_whose_contact_has_no_address_now(db, run, tmp_path):
    ids = seed_campaign(db, letters=1, status=LetterStatus.SENT)["letters"]
    with db.session() as session:
        letter = session.get(Letter, ids[0])
        letter.message_id = "<letter-1@coalition.example>"
    dsn = tmp_path / "bounce.eml"
    dsn.write_bytes(postfix_dsn("<letter-1@coalition.example>", "sg@gcc-sg.org"))
    run("responses", "import", dsn)
    with db.session() as session:
        contact = session.get(Contact, session.get(Letter, ids[0]).contact_id)
        contact.email = None
        contact.email_bounced_at = None
    refused = run("letters", "resend", ids[0], expect=1)
    assert "no e-mail address" in refused.stderr
    assert _letter(db, ids[0])["status"] == LetterStatus.BOUNCED
