"""What the response tests share: a sent campaign, replies to it, an mbox
writer and a fresh attachments store per test."""

from __future__ import annotations

import datetime as dt
import mailbox
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.models import (
    Contact,
    Letter,
    LetterStatus,
    Organization,
    OrgKind,
)

from ..mailfixtures import SENDER, seed_campaign

PDF = b"%PDF-1.4\n% a scanned reply from the Secretary-General\n" + bytes(range(256)) * 8
SENT_ON = dt.datetime(2012, 3, 20, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own attachments store (on PostgreSQL it is not beside a file)."""
    folder = tmp_path / "store"
    monkeypatch.setenv("OUTREACH_ATTACHMENTS_DIR", str(folder))
    return folder


def sent_campaign(db: Database) -> dict:
    """The four-organization campaign, sent on 20 March 2012, plus SICA and
    PARLACEN, which share the domain sica.int."""
    out = seed_campaign(db, letters=4)
    with db.session() as session:
        out["mids"] = {}
        for letter in session.scalars(sa.select(Letter).order_by(Letter.id)):
            letter.status = LetterStatus.SENT
            letter.sent_at = SENT_ON
            letter.message_id = f"<letter-{letter.id}@coalition.example>"
            out["mids"][letter.organization.acronym] = letter.message_id
        for acronym, name in [
            ("SICA", "Central American Integration System"),
            ("PARLACEN", "Central American Parliament"),
        ]:
            org = Organization(acronym=acronym, name=name, kind=OrgKind.SUBREGIONAL)
            session.add(org)
            session.flush()
            session.add(
                Contact(
                    organization_id=org.id,
                    name=f"Secretariat of {acronym}",
                    email=f"{acronym.lower()}@sica.int",
                )
            )
        out["org_ids"] = dict(
            session.execute(sa.select(Organization.acronym, Organization.id)).all()
        )
    return out


def mail(
    frm: str,
    subject: str,
    body: str,
    *,
    mid: str | None,
    in_reply_to: str | None = None,
    references: str | None = None,
    date: dt.datetime = dt.datetime(2012, 3, 28, 10, 0, tzinfo=dt.UTC),
    attachments: list[tuple[str, str, bytes]] = (),
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = SENDER
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    if mid:
        msg["Message-ID"] = mid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    for name, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def replies(mids: dict[str, str]) -> list[EmailMessage]:
    return [
        # 1. threaded reply from the contact, with the scanned letter.
        mail(
            "Office of the Secretary-General <sg@gcc-sg.org>",
            "Re: Informal interactive dialogue",
            "Dear colleagues,\n\nThe Secretary-General thanks you and will take part.\n\n"
            "On 20 March 2012, the Coalition wrote:\n> Your Excellency,\n",
            mid="<r1@gcc-sg.org>",
            in_reply_to=mids["GCC"],
            references=mids["GCC"],
            attachments=[("reply-GCC.pdf", "application/pdf", PDF)],
        ),
        # 2. threaded, but from a private address nobody knows.
        mail(
            "Assistant <aide.au.2012@gmail.com>",
            "RE: Dialogue interactif",
            "Nous accusons réception de votre lettre.",
            mid="<r2@mail.gmail.com>",
            references=f"<other@x.org> {mids['AU']}",
        ),
        # 3. not threaded, from a contact's own address.
        mail(
            "sg@oas.org",
            "Diálogo sobre la responsabilidad de proteger",
            "Estimados: la Secretaría General participará en el diálogo.",
            mid="<r3@oas.org>",
        ),
        # 4. not threaded, from the organization's shared secretariat address,
        #    with the same PDF (stored once) and a second file.
        mail(
            "ASEAN Secretariat <secretariat@asean.org>",
            "Your letter of 20 March",
            "The Secretariat has forwarded your letter to the Secretary-General.",
            mid="<r4@asean.org>",
            attachments=[
                ("copy.pdf", "application/pdf", PDF),
                ("note.txt", "text/plain", b"Note verbale 12/2012\n"),
            ],
        ),
        # 5. from a sub-domain of a known organization.
        mail(
            "Protocol <protocol@dep.africa-union.org>",
            "Dialogue",
            "We will revert.",
            mid="<r5@africa-union.org>",
        ),
        # 6. a spam-like stranger.
        mail(
            "Prize Desk <winner@lottery-prizes.example>",
            "You have WON",
            "Claim your prize now!!!",
            mid="<spam1@lottery-prizes.example>",
        ),
        # 7. a stranger at a public mail service, not threaded.
        mail(
            "someone@hotmail.com",
            "hello",
            "Who are you?",
            mid="<s2@hotmail.com>",
        ),
        # 8. an out-of-office from a contact: not an answer.
        mail(
            "sg@oas.org",
            "Automatic reply: Diálogo",
            "I am out of the office until April.",
            mid="<ooo@oas.org>",
            in_reply_to=mids["OAS"],
            headers={"Auto-Submitted": "auto-replied"},
        ),
        # 9. no Message-ID at all, from a contact.
        mail(
            "sg@gcc-sg.org",
            "Second note",
            "Further to our reply, please find the list of speakers to follow.",
            mid=None,
        ),
        # 10. the archive's blind copy of our own letter.
        mail(SENDER, "Informal interactive dialogue", "Your Excellency, ...", mid=mids["ASEAN"]),
        # 11. a secretariat address shared by two organizations.
        mail(
            "Secretaría <info@sica.int>",
            "Respuesta",
            "Recibimos su carta.",
            mid="<r11@sica.int>",
        ),
        # 12. a reply in the thread of reply 1 (not of the letter).
        mail(
            "Director <director@gcc-sg.org>",
            "Re: Re: Informal interactive dialogue",
            "Adding our director.",
            mid="<r12@gcc-sg.org>",
            references="<r1@gcc-sg.org>",
        ),
        # 13. a delivery failure report.
        mail(
            "MAILER-DAEMON@mx.asean.org",
            "Undelivered Mail Returned to Sender",
            "This is the mail system.",
            mid="<bounce@mx.asean.org>",
        ),
    ]


def write_mbox(path: Path, messages: list[EmailMessage]) -> Path:
    box = mailbox.mbox(str(path))
    for msg in messages:
        box.add(msg)
    box.flush()
    box.close()
    return path
