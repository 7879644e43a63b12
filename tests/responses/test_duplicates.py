"""One reply, one response: a reply logged by hand and the same reply
imported later (or imported first and logged later) are the same response,
matched by Message-ID when given, else by organization, letter, day and
subject."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from outreach.schema.models import Attachment, Response, Stance

from ._fixtures import PDF, mail, sent_campaign, write_mbox


def _gcc_reply(mids, *, date=dt.datetime(2012, 3, 28, 10, 0, tzinfo=dt.UTC)):
    return mail(
        "Office of the Secretary-General <sg@gcc-sg.org>",
        "Re: Informal interactive dialogue",
        "The Secretary-General will take part.",
        mid="<dup-r1@gcc-sg.org>",
        in_reply_to=mids["GCC"],
        date=date,
        attachments=[("reply-GCC.pdf", "application/pdf", PDF)],
    )


def _responses(db):
    with db.session() as session:
        return [
            (r.id, r.message_id, r.stance, r.subject, len(r.attachments))
            for r in session.scalars(sa.select(Response).order_by(Response.id))
        ]


def test_logged_with_message_id_then_imported_is_one_response(db, run, tmp_path):
    seeded = sent_campaign(db)
    run(
        "responses", "log", "--org", "GCC", "--received", "2012-03-28", "--stance",
        "commitment", "--message-id", "dup-r1@gcc-sg.org",
    )  # fmt: skip
    mbox = write_mbox(tmp_path / "in.mbox", [_gcc_reply(seeded["mids"])])
    result = run("responses", "import", mbox)
    assert "1 already imported" in result.stdout
    assert _responses(db) == [(1, "<dup-r1@gcc-sg.org>", Stance.COMMITMENT, None, 0)]


def test_logged_by_subject_then_imported_is_one_response(db, run, tmp_path):
    seeded = sent_campaign(db)
    run(
        "responses", "log", "--org", "GCC", "--received", "2012-03-28", "--stance",
        "commitment", "--subject", "Informal interactive dialogue",
        "--summary", "Will take part (read on the phone).",
    )  # fmt: skip
    mbox = write_mbox(tmp_path / "in.mbox", [_gcc_reply(seeded["mids"])])
    result = run("responses", "import", mbox, "--format", "json")
    assert '"response": 1' in result.stdout
    # The hand-logged response now carries the e-mail's Message-ID and its file;
    # what the coordinator wrote is kept.
    assert _responses(db) == [
        (1, "<dup-r1@gcc-sg.org>", Stance.COMMITMENT, "Informal interactive dialogue", 1)
    ]
    with db.session() as session:
        assert session.get(Response, 1).summary == "Will take part (read on the phone)."
        assert session.scalars(sa.select(Attachment.filename)).all() == ["reply-GCC.pdf"]
    # And importing it again still adds nothing.
    again = run("responses", "import", mbox)
    assert "1 already imported" in again.stdout
    assert len(_responses(db)) == 1


def test_imported_then_logged_by_hand_is_one_response(db, run, tmp_path):
    seeded = sent_campaign(db)
    mbox = write_mbox(tmp_path / "in.mbox", [_gcc_reply(seeded["mids"])])
    run("responses", "import", mbox)
    by_id = run(
        "responses", "log", "--org", "GCC", "--received", "2012-03-28", "--stance",
        "commitment", "--message-id", "<dup-r1@gcc-sg.org>",
    )  # fmt: skip
    assert "Response 1 from GCC is this reply already" in by_id.stdout
    by_subject = run(
        "responses", "log", "--org", "GCC", "--received", "2012-03-28",
        "--subject", "RE: informal  interactive dialogue", "--summary", "Confirmed by phone.",
    )  # fmt: skip
    assert "Response 1 from GCC is this reply already" in by_subject.stdout
    assert _responses(db) == [
        (1, "<dup-r1@gcc-sg.org>", Stance.COMMITMENT, "Re: Informal interactive dialogue", 1)
    ]
    # A Message-ID of another organization's response is refused.
    other = run(
        "responses", "log", "--org", "AU", "--message-id", "dup-r1@gcc-sg.org", expect=1
    )
    assert "is response 1, from GCC" in other.stderr


def test_another_day_or_subject_is_another_response(db, run, tmp_path):
    seeded = sent_campaign(db)
    run(
        "responses", "log", "--org", "GCC", "--received", "2012-03-20",
        "--subject", "Informal interactive dialogue",
    )  # fmt: skip
    run(
        "responses", "log", "--org", "GCC", "--received", "2012-03-28",
        "--subject", "Our delegation",
    )  # fmt: skip
    mbox = write_mbox(tmp_path / "in.mbox", [_gcc_reply(seeded["mids"])])
    run("responses", "import", mbox)
    assert [r[1] for r in _responses(db)] == [None, None, "<dup-r1@gcc-sg.org>"]


def test_logged_then_fetched_over_imap_is_one_response(db, run, mailbox):
    seeded = sent_campaign(db)
    run(
        "responses", "log", "--org", "GCC", "--received", "2012-03-28",
        "--subject", "Informal interactive dialogue",
    )  # fmt: skip
    mailbox.append("INBOX", _gcc_reply(seeded["mids"]).as_bytes())
    run(
        "responses", "fetch", "--host", mailbox.host, "--port", mailbox.port, "--no-tls",
        "--user", mailbox.user, env={"OUTREACH_IMAP_PASSWORD": mailbox.password},
    )  # fmt: skip
    assert [r[:2] for r in _responses(db)] == [(1, "<dup-r1@gcc-sg.org>")]
