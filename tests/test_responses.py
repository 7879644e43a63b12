"""Responses: logging by hand, the attachments store, importing replies from
mailboxes with automatic matching, and the unmatched queue."""

from __future__ import annotations

import datetime as dt
import json
import mailbox
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.attachments import AttachmentStore
from outreach.db import Database
from outreach.models import (
    Attachment,
    Contact,
    InboundMessage,
    InboundStatus,
    Letter,
    LetterStatus,
    Organization,
    OrgKind,
    Response,
    Stance,
)
from outreach.responses import import_messages

from .conftest import BACKEND, row_counts
from .mailfixtures import ARCHIVE, SENDER, seed_campaign

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


def test_import_mbox_matches_every_reply_and_queues_the_rest(db, db_url, tmp_path, run):
    seeded = sent_campaign(db)
    mids, org_ids = seeded["mids"], seeded["org_ids"]
    mbox = write_mbox(tmp_path / "replies.mbox", replies(mids))

    result = run("responses", "import", mbox, "--format", "json")
    rows = {r["subject"]: r for r in json.loads(result.stdout)}
    assert len(rows) == 13

    def check(subject, status, org=None, reason=None):
        row = rows[subject]
        assert row["status"] == status, row
        assert row["org"] == org, row
        if reason:
            assert reason in row["reason"], row

    check("Re: Informal interactive dialogue", "matched", "GCC", "reply to the letter")
    check("RE: Dialogue interactif", "matched", "AU", "reply to the letter")
    check("Diálogo sobre la responsabilidad de proteger", "matched", "OAS", "contact")
    check("Your letter of 20 March", "matched", "ASEAN", "domain asean.org")
    check("Dialogue", "matched", "AU", "domain africa-union.org")
    check("You have WON", "unmatched", reason="no letter, contact or organization")
    check("hello", "unmatched", reason="public mail service")
    check("Automatic reply: Diálogo", "unmatched", reason="automatic reply about OAS")
    check("Second note", "matched", "GCC", "contact")
    check("Informal interactive dialogue", "ignored", reason="our own letter")
    check("Respuesta", "unmatched", reason="shared by PARLACEN, SICA")
    check("Re: Re: Informal interactive dialogue", "matched", "GCC", "same thread")
    check("Undelivered Mail Returned to Sender", "unmatched", reason="delivery failure")

    with db.session() as session:
        responses = {
            r.message_id: r for r in session.scalars(sa.select(Response).order_by(Response.id))
        }
        letters = {letter.organization_id: letter for letter in session.scalars(sa.select(Letter))}
        assert len(responses) == 7
        gcc = responses["<r1@gcc-sg.org>"]
        assert gcc.organization_id == org_ids["GCC"]
        assert gcc.letter_id == letters[org_ids["GCC"]].id
        assert gcc.campaign_id == seeded["campaign_id"]
        assert gcc.received_at == dt.datetime(2012, 3, 28, 10, 0, tzinfo=dt.UTC)
        assert "will take part" in gcc.summary and "Your Excellency" not in gcc.summary
        assert [(a.filename, a.content_type, a.size) for a in gcc.attachments] == [
            ("reply-GCC.pdf", "application/pdf", len(PDF))
        ]
        au = responses["<r2@mail.gmail.com>"]
        assert au.letter_id == letters[org_ids["AU"]].id
        assert au.stance == Stance.ACKNOWLEDGEMENT  # "accusons réception"
        oas = responses["<r3@oas.org>"]
        assert oas.contact_id is not None and oas.letter_id == letters[org_ids["OAS"]].id
        assert oas.stance == Stance.OTHER
        asean = responses["<r4@asean.org>"]
        assert asean.campaign_id == seeded["campaign_id"]
        assert sorted(a.filename for a in asean.attachments) == ["copy.pdf", "note.txt"]
        # The same PDF in two messages: two rows, one file.
        pdf_rows = session.scalars(
            sa.select(Attachment).where(Attachment.content_type == "application/pdf")
        ).all()
        assert len(pdf_rows) == 2 and len({a.sha256 for a in pdf_rows}) == 1
        derived = [m for m in responses if m.endswith("@outreach.invalid>")]
        assert len(derived) == 1
        queue = session.scalars(
            sa.select(InboundMessage).where(InboundMessage.status == InboundStatus.UNMATCHED)
        ).all()
        assert len(queue) == 5

    store = AttachmentStore.for_database(db)
    assert store.path_for(pdf_rows[0].sha256).read_bytes() == PDF

    # Importing the same mailbox again creates nothing.
    before = row_counts(db_url)
    files_before = sorted(p.name for p in store.root.rglob("*") if p.is_file())
    again = run("responses", "import", mbox)
    assert "13 already imported" in again.stdout
    assert row_counts(db_url) == before
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == files_before

    # The unmatched queue, then assign and ignore.
    queue = run("responses", "unmatched", "--format", "json")
    waiting = {r["subject"]: r for r in json.loads(queue.stdout)}
    assert set(waiting) == {
        "You have WON",
        "hello",
        "Automatic reply: Diálogo",
        "Respuesta",
        "Undelivered Mail Returned to Sender",
    }
    sica_msg = waiting["Respuesta"]["message_id"]
    assigned = run("responses", "assign", sica_msg, "--org", "sica", "--stance", "supportive")
    assert "is now response" in assigned.stdout
    run("responses", "ignore", waiting["You have WON"]["msg"], waiting["hello"]["msg"])
    queue = json.loads(run("responses", "unmatched", "--format", "json").stdout)
    assert {r["subject"] for r in queue} == {
        "Automatic reply: Diálogo",
        "Undelivered Mail Returned to Sender",
    }
    with db.session() as session:
        sica = session.scalar(sa.select(Response).where(Response.message_id == sica_msg))
        assert sica.organization_id == org_ids["SICA"] and sica.stance == Stance.SUPPORTIVE
        assert sica.contact_id is None and sica.campaign_id is None
    # Assigning twice is refused.
    result = run("responses", "assign", sica_msg, "--org", "sica", expect=1)
    assert "already response" in result.stderr
    # Re-importing after assign still adds nothing.
    before = row_counts(db_url)
    run("responses", "import", mbox)
    assert row_counts(db_url) == before


def test_import_maildir_and_eml_folder(db, tmp_path, store_dir):
    seeded = sent_campaign(db)
    messages = replies(seeded["mids"])[:3]
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    for msg in messages[:2]:
        maildir.add(msg)
    emls = tmp_path / "emls"
    emls.mkdir()
    (emls / "third.eml").write_bytes(messages[2].as_bytes())
    (emls / "again.eml").write_bytes(messages[0].as_bytes())  # also in the Maildir
    store = AttachmentStore(store_dir)
    with db.session() as session:
        first = import_messages(session, tmp_path / "Maildir", store=store)
        second = import_messages(session, emls, store=store)
        single = import_messages(session, emls / "third.eml", store=store)
    assert len(first.matched) == 2
    assert len(second.matched) == 1 and second.duplicates == 1
    assert single.duplicates == 1 and not single.messages


def test_log_show_edit_with_attachments(db, tmp_path, run, monkeypatch):
    sent_campaign(db)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(PDF)
    same = tmp_path / "same-scan.pdf"
    same.write_bytes(PDF)
    if BACKEND == "sqlite":
        # On SQLite the store sits beside the database file.
        monkeypatch.delenv("OUTREACH_ATTACHMENTS_DIR")
    result = run(
        "responses",
        "log",
        "--org",
        "GCC",
        "--campaign",
        "iid-2012",
        "--received",
        "2012-04-02",
        "--channel",
        "post",
        "--from",
        "Dr. Abdullatif Al-Zayani",
        "--stance",
        "commitment",
        "--summary",
        "Will speak at the dialogue.",
        "--attach",
        scan,
        "--attach",
        same,
    )
    assert "Logged response 1 from GCC" in result.stdout
    assert "scan.pdf (application/pdf" in result.stdout
    with db.session() as session:
        response = session.get(Response, 1)
        assert response.letter_id is not None
        assert response.received_at.date() == dt.date(2012, 4, 2)
        shas = {a.sha256 for a in response.attachments}
    assert len(shas) == 1
    store = AttachmentStore.for_database(db)
    if BACKEND == "sqlite":
        assert store.root == Path(db.path).parent / "outreach-attachments"
    stored = [p for p in store.root.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].read_bytes() == PDF

    shown = json.loads(run("responses", "show", "1", "--format", "json").stdout)
    assert shown["stance"] == "commitment" and len(shown["attachments"]) == 2
    assert Path(shown["attachments"][0]["path"]).read_bytes() == PDF

    run("responses", "edit", "1", "--stance", "supportive", "--summary", "Will attend.")
    listed = json.loads(
        run("responses", "list", "--campaign", "iid-2012", "--format", "json").stdout
    )
    assert [(r["acronym"], r["stance"], r["attachments"]) for r in listed] == [
        ("GCC", "supportive", 2)
    ]
    with db.session() as session:
        from outreach.models import Activity

        changes = session.scalars(
            sa.select(Activity.changes).where(
                Activity.entity == "response", Activity.action == "update"
            )
        ).one()
    assert changes["stance"] == ["commitment", "supportive"]


def test_log_refuses_bad_input_and_writes_nothing(db, db_url, tmp_path, run):
    sent_campaign(db)
    before = row_counts(db_url)
    result = run("responses", "log", "--org", "NOPE", expect=1)
    assert "no organization 'NOPE'" in result.stderr
    result = run("responses", "log", "--org", "GCC", "--attach", tmp_path / "missing.pdf", expect=1)
    assert "missing.pdf: no such file" in result.stderr
    result = run("responses", "log", "--org", "GCC", "--received", "2999-01-01", expect=1)
    assert "in the future" in result.stderr
    assert row_counts(db_url) == before


def test_import_refuses_what_is_not_mail(db, db_url, tmp_path, run):
    before = row_counts(db_url)
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(PDF)
    result = run("responses", "import", pdf, expect=1)
    assert "not an e-mail message (.eml), an mbox file or a Maildir" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("responses", "import", empty, expect=1)
    assert "no .eml files and not a Maildir" in result.stderr
    assert row_counts(db_url) == before


def test_archive_copies_and_secretariat_mail_are_not_responses(db, tmp_path, store_dir):
    seeded = sent_campaign(db)
    messages = [
        mail(ARCHIVE, "fwd", "internal note", mid="<int1@coalition.example>"),
        mail(SENDER, "copy", "copy", mid="<int2@coalition.example>"),
    ]
    store = AttachmentStore(store_dir)
    with db.session() as session:
        report = import_messages(
            session, write_mbox(tmp_path / "m.mbox", messages), store=store, own_addresses=[]
        )
    assert [m.status for m in report.messages] == ["unmatched", "ignored"]
    assert "secretariat's own domain" in report.messages[0].reason
    assert seeded["mids"]


def test_edit_moves_a_response_to_another_organization(db, run):
    sent_campaign(db)
    run("responses", "log", "--org", "GCC", "--campaign", "iid-2012", "--stance", "decline")
    result = run("responses", "edit", "1", "--org", "au", "--format", "json")
    record = json.loads(result.stdout)
    assert record["organization"].startswith("AU ")
    with db.session() as session:
        response = session.get(Response, 1)
        letter = session.get(Letter, response.letter_id)
        assert letter.organization.acronym == "AU"
    result = run("responses", "edit", "1", "--letter", "1", expect=1)
    assert "letter 1 was not written to this organization" in result.stderr
    result = run("responses", "edit", "1", expect=1)
    assert "nothing to change" in result.stderr
