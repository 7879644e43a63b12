"""Importing replies from mailboxes: automatic matching, the unmatched queue,
what is not mail, and what is not an answer."""

from __future__ import annotations

import datetime as dt
import json
import mailbox

import sqlalchemy as sa

from outreach.attachments import AttachmentStore
from outreach.responses.inbox import import_messages
from outreach.schema.models import (
    Attachment,
    InboundMessage,
    InboundStatus,
    Letter,
    Response,
    Stance,
)

from ..conftest import row_counts
from ..mailfixtures import ARCHIVE, SENDER
from ._fixtures import PDF, mail, replies, sent_campaign, write_mbox


def test_import_mbox_matches_every_reply_and_queues_the_rest(db, db_url, tmp_path, run):
    seeded = sent_campaign(db)
    mids, org_ids = seeded["mids"], seeded["org_ids"]
    mbox = write_mbox(tmp_path / "replies.mbox", replies(mids))

    result = run("responses", "import", mbox, "--format", "json")
    data = json.loads(result.stdout)
    rows = {r["subject"]: r for r in data["messages"]}
    assert (data["read"], data["matched"], data["unmatched"]) == (13, 7, 4)
    assert (data["ignored"], data["auto_replies"], data["bounces"]) == (1, 1, 0)
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
    check("Automatic reply: Diálogo", "auto-reply", "OAS", reason="automatic reply to letter")
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
        assert len(queue) == 4  # the out-of-office is noted on its letter instead

    store = AttachmentStore.for_database(db)
    with db.session() as session:
        assert store.read(pdf_rows[0].sha256, session=session) == PDF

    # Importing the same mailbox again creates nothing (stored files included).
    before = row_counts(db_url)
    again = run("responses", "import", mbox)
    assert "13 already imported" in again.stdout
    assert row_counts(db_url) == before

    # The unmatched queue, then assign and ignore.
    queue = run("responses", "unmatched", "--format", "json")
    waiting = {r["subject"]: r for r in json.loads(queue.stdout)}
    assert set(waiting) == {
        "You have WON",
        "hello",
        "Respuesta",
        "Undelivered Mail Returned to Sender",
    }
    sica_msg = waiting["Respuesta"]["message_id"]
    assigned = run("responses", "assign", sica_msg, "--org", "sica", "--stance", "supportive")
    assert "is now response" in assigned.stdout
    run("responses", "ignore", waiting["You have WON"]["msg"], waiting["hello"]["msg"])
    queue = json.loads(run("responses", "unmatched", "--format", "json").stdout)
    assert {r["subject"] for r in queue} == {"Undelivered Mail Returned to Sender"}
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
