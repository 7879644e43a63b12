"""Sending letters over SMTP to a real server on loopback (aiosmtpd)."""

from __future__ import annotations

import csv
import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from outreach.cli import COMMANDS as ROOT_COMMANDS
from outreach.cli import sending as cli_sending
from outreach.db import Database
from outreach.errors import ConfigurationError, ValidationError
from outreach.schema.models import Activity, Channel, Letter, LetterStatus
from outreach.sending import (
    LetterMail,
    MailIdentity,
    MessageError,
    Rate,
    RetryPolicy,
    Sender,
    SmtpSettings,
    SmtpTransport,
    build_message,
    envelope_recipients,
    mark_sent,
    parse_rate,
)

from ..conftest import row_counts
from ..mailfixtures import ARCHIVE, SENDER, SmtpServer, seed_campaign, smtp_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


def letters_cmd(db_url: str, name: str, *args: Any, expect: int | None = 0) -> Result:
    """Run `outreach letters NAME ...`; through the root group once the letters
    group exists, else the sending command itself."""
    runner = CliRunner()
    if "letters" in ROOT_COMMANDS:
        from outreach.cli import cli

        argv = ["--db", db_url, "--as", "tester", "letters", name, *map(str, args)]
        result = runner.invoke(cli, argv)
    else:
        command = {c.name: c for c in cli_sending.COMMANDS}[name]
        result = runner.invoke(command, ["--db", db_url, *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if expect is not None:
        assert result.exit_code == expect, (
            f"exit {result.exit_code}, wanted {expect}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def statuses(db: Database) -> dict[int, LetterStatus]:
    with db.session() as session:
        return dict(session.execute(sa.select(Letter.id, Letter.status)).all())


def test_dry_run_is_the_default_and_changes_nothing(db, db_url, smtp):
    seed_campaign(db, letters=4)
    before = row_counts(db_url)
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", *smtp.argv())
    assert "Dry run" in result.stdout
    assert "4 letter(s) would be sent" in result.stdout
    assert "GCC" in result.stdout and "sg@oas.org" in result.stdout
    assert smtp.recorder.count() == 0
    assert row_counts(db_url) == before
    assert set(statuses(db).values()) == {LetterStatus.APPROVED}

    shown = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--show")
    # readable: the Arabic subject decoded, not as encoded words
    assert "Subject: الحوار التفاعلي" in shown.stdout and "=?utf-8?" not in shown.stdout
    assert "Message-ID: <" in shown.stdout
    assert shown.stdout.count("----- letter") == 4


def test_send_delivers_headers_body_message_ids_and_bcc(db, db_url, smtp):
    ids = seed_campaign(db, letters=4)["letters"]
    result = letters_cmd(
        db_url,
        "send",
        "--campaign",
        "iid-2012",
        "--send",
        "--bcc",
        ARCHIVE,
        "--reply-to",
        "replies@coalition.example",
        *smtp.argv(),
    )
    assert "Sent 4 letter(s)" in result.stdout
    received = smtp.recorder.received
    assert len(received) == 4
    with db.session() as session:
        letters = {
            letter.to_address: letter
            for letter in session.scalars(sa.select(Letter).where(Letter.id.in_(ids)))
        }
        acronyms = {letter.id: letter.organization.acronym for letter in letters.values()}
    for r in received:
        msg = r.message
        to = msg["To"].addresses[0].addr_spec
        letter = letters[to]
        assert r.mail_from == SENDER
        # The archive gets a blind copy: in the envelope, never in a header.
        assert r.rcpt_tos == [to, ARCHIVE]
        assert msg["Bcc"] is None and ARCHIVE not in r.data.decode("ascii", "replace")
        assert msg["From"].addresses[0].addr_spec == SENDER
        assert str(msg["Reply-To"]) == "replies@coalition.example"
        assert str(msg["Subject"]) == letter.subject
        assert msg["Content-Language"] == letter.language
        # A cover note (text and HTML) with the letter attached as PDF.
        assert msg.get_content_type() == "multipart/mixed"
        cover = msg.get_body(("plain",))
        assert cover.get_content_charset() == "utf-8"
        assert letter.subject in " ".join(cover.get_content().split())
        (pdf,) = msg.iter_attachments()
        assert pdf.get_content_type() == "application/pdf"
        assert pdf.get_filename() == f"{acronyms[letter.id]}-letter-{letter.id}.pdf"
        assert msg["Date"] is not None
        assert r.message_id == letter.message_id
        assert letter.status == LetterStatus.SENT
        assert letter.sent_at is not None
        assert letter.message_id.endswith("@coalition.example>")
    assert len({r.message_id for r in received}) == 4
    # One connection for the whole batch.
    with db.session() as session:
        actions = session.scalars(
            sa.select(Activity.summary).where(
                Activity.entity == "letter", Activity.entity_id == ids[0]
            )
        ).all()
    assert any("handing" in a for a in actions) and "sent by e-mail" in actions


def test_second_send_sends_nothing_new(db, db_url, smtp):
    seed_campaign(db, letters=3)
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert smtp.recorder.count() == 3
    again = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert "Sent 0 letter(s)" in again.stdout
    assert smtp.recorder.count() == 3


def test_limit_sends_part_and_reports_the_rest(db, db_url, smtp):
    seed_campaign(db, letters=4)
    result = letters_cmd(
        db_url, "send", "--campaign", "iid-2012", "--send", "--limit", "3", *smtp.argv()
    )
    assert "Sent 3" in result.stdout and "1 approved letter(s) left" in result.stdout
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert smtp.recorder.count() == 4
    assert len({r.message_id for r in smtp.recorder.received}) == 4


def test_refused_recipient_is_recorded_and_the_batch_goes_on(db, db_url, smtp, tmp_path):
    ids = seed_campaign(db, letters=4)["letters"]
    smtp.recorder.refuse_rcpt["sg@africa-union.org"] = (
        "550 5.1.1 <sg@africa-union.org>: no such user"
    )
    failures = tmp_path / "failures.csv"
    result = letters_cmd(
        db_url,
        "send",
        "--campaign",
        "iid-2012",
        "--send",
        "--failures-csv",
        failures,
        *smtp.argv(),
        expect=3,  # PARTIAL_SEND: some sent, one failed
    )
    assert "Sent 3 letter(s)" in result.stdout
    assert "1 letter(s) failed" in result.stdout
    assert "550 5.1.1" in result.stdout
    st = statuses(db)
    assert st[ids[1]] == LetterStatus.FAILED
    assert [st[i] for i in (ids[0], ids[2], ids[3])] == [LetterStatus.SENT] * 3
    with db.session() as session:
        error = session.get(Letter, ids[1]).error
    assert "550 5.1.1" in error and "no such user" in error
    rows = list(csv.DictReader(failures.open(encoding="utf-8")))
    assert [(r["letter_id"], r["organization"], r["status"]) for r in rows] == [
        (str(ids[1]), "AU", "failed")
    ]
    # A failed letter is not retried blindly; --retry-failed retries it.
    smtp.recorder.refuse_rcpt.clear()
    again = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert "failed in an earlier run" in again.stdout
    assert smtp.recorder.count() == 3
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", "--retry-failed", *smtp.argv())
    assert smtp.recorder.count() == 4
    assert statuses(db)[ids[1]] == LetterStatus.SENT


def test_transient_failure_is_retried_with_backoff(db, smtp):
    ids = seed_campaign(db, letters=2)["letters"]
    smtp.recorder.data_replies["sg@gcc-sg.org"] = ["451 4.3.0 try again later"] * 2
    waits: list[float] = []
    with db.session() as session:
        from outreach.sending import campaign_by_slug

        identity = MailIdentity.for_campaign(campaign_by_slug(session, "iid-2012"))
    transport = SmtpTransport(SmtpSettings(host=smtp.host, port=smtp.port, security="none"))
    sender = Sender(
        db,
        identity,
        transport=transport,
        dry_run=False,
        retry=RetryPolicy(attempts=4, base_delay=0.5),
        sleep=waits.append,
    )
    report = sender.send_campaign("iid-2012")
    assert waits == [0.5, 1.0]
    assert report.count("sent") == 2 and report.outcomes[0].attempts == 3
    assert statuses(db)[ids[0]] == LetterStatus.SENT
    assert smtp.recorder.count() == 2


def test_transient_failures_exhausted_mark_failed(db, smtp):
    ids = seed_campaign(db, letters=1)["letters"]
    smtp.recorder.data_replies["sg@gcc-sg.org"] = ["452 4.2.2 mailbox full"] * 10
    with db.session() as session:
        from outreach.sending import campaign_by_slug

        identity = MailIdentity.for_campaign(campaign_by_slug(session, "iid-2012"))
    transport = SmtpTransport(SmtpSettings(host=smtp.host, port=smtp.port, security="none"))
    waits: list[float] = []
    sender = Sender(
        db,
        identity,
        transport=transport,
        dry_run=False,
        retry=RetryPolicy(attempts=3, base_delay=1, max_delay=1.5),
        sleep=waits.append,
    )
    report = sender.send_campaign("iid-2012")
    assert waits == [1, 1.5]
    assert report.count("failed") == 1
    with db.session() as session:
        letter = session.get(Letter, ids[0])
        assert letter.status == LetterStatus.FAILED
        assert "452 4.2.2 mailbox full" in letter.error


def test_dropped_connection_is_reopened(db, smtp):
    seed_campaign(db, letters=3)
    with db.session() as session:
        from outreach.sending import campaign_by_slug

        identity = MailIdentity.for_campaign(campaign_by_slug(session, "iid-2012"))
    transport = SmtpTransport(SmtpSettings(host=smtp.host, port=smtp.port, security="none"))

    sent = []

    def on_outcome(outcome):
        sent.append(outcome)
        if len(sent) == 1:
            transport._smtp.sock.shutdown(socket.SHUT_RDWR)  # the server hung up

    waits: list[float] = []
    sender = Sender(
        db, identity, transport=transport, dry_run=False, on_outcome=on_outcome, sleep=waits.append
    )
    report = sender.send_campaign("iid-2012")
    assert waits == []  # reopened at once, no back-off
    assert report.count("sent") == 3
    assert report.connections == 2
    assert smtp.recorder.count() == 3


def test_header_injection_is_refused(db, db_url, smtp):
    ids = seed_campaign(db, letters=2)["letters"]
    with db.session() as session:
        session.get(Letter, ids[0]).subject = "Hello\r\nBcc: victim@example.org"
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv(), expect=3)
    assert "line break" in result.stdout
    assert smtp.recorder.count() == 1
    assert all(b"victim@example.org" not in r.data for r in smtp.recorder.received)
    assert all("victim@example.org" not in r.rcpt_tos for r in smtp.recorder.received)
    assert statuses(db)[ids[0]] == LetterStatus.FAILED

    identity = MailIdentity(from_address=SENDER)
    mail = LetterMail(1, 1, "X", "Evil\nBcc: a@b.org", "sg@x.org", "Subject", "Body", "en")
    with pytest.raises(MessageError, match="line break"):
        build_message(mail, identity, message_id="<1@x>")
    with pytest.raises(ValidationError):
        MailIdentity(from_address=SENDER, from_name="Name\r\nBcc: a@b.org")
    with pytest.raises(MessageError, match="not an e-mail address"):
        build_message(
            LetterMail(1, 1, "X", "N", "no-at-sign", "S", "B", "en"),
            identity,
            message_id="<1@x>",
        )


def test_international_domain_is_encoded_and_non_ascii_local_part_refused():
    identity = MailIdentity(from_address=SENDER)
    msg = build_message(
        LetterMail(1, 1, "X", "Sécretariat", "sg@ministère.example", "Objet", "Texte", "fr"),
        identity,
        message_id="<1@coalition.example>",
    )
    assert msg["To"].addresses[0].addr_spec == "sg@xn--ministre-60a.example"
    assert envelope_recipients(msg, identity) == ["sg@xn--ministre-60a.example"]
    with pytest.raises(MessageError, match="non-ASCII"):
        build_message(
            LetterMail(1, 1, "X", "N", "sécr@example.org", "S", "B", "fr"),
            identity,
            message_id="<2@coalition.example>",
        )


def test_followup_is_threaded_to_the_original(db, smtp):
    ids = seed_campaign(db, letters=1)["letters"]
    with db.session() as session:
        original = session.get(Letter, ids[0])
        original.status = LetterStatus.SENT
        original.message_id = "<original-1@coalition.example>"
        original.sent_at = dt.datetime(2012, 3, 1, tzinfo=dt.UTC)
        session.add(
            Letter(
                campaign_id=original.campaign_id,
                organization_id=original.organization_id,
                contact_id=original.contact_id,
                round=1,
                followup_of_id=original.id,
                language="ar",
                subject="Reminder",
                body="A gentle reminder.",
                template_name="reminder",
                template_hash="1" * 64,
                status=LetterStatus.APPROVED,
                to_address=original.to_address,
            )
        )
    with db.session() as session:
        from outreach.sending import campaign_by_slug

        identity = MailIdentity.for_campaign(campaign_by_slug(session, "iid-2012"))
    transport = SmtpTransport(SmtpSettings(host=smtp.host, port=smtp.port, security="none"))
    Sender(db, identity, transport=transport, dry_run=False).send_campaign("iid-2012")
    (received,) = smtp.recorder.received
    assert received.message["In-Reply-To"] == "<original-1@coalition.example>"
    assert received.message["References"] == "<original-1@coalition.example>"


def test_drafts_are_not_sent_and_are_listed(db, db_url, smtp):
    seed_campaign(db, letters=2, status=LetterStatus.DRAFT)
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert "2 letter(s) are drafts awaiting approval" in result.stdout
    assert smtp.recorder.count() == 0


def test_do_not_contact_is_skipped(db, db_url, smtp):
    from outreach.schema.models import Contact

    out = seed_campaign(db, letters=2)
    with db.session() as session:
        session.get(Contact, out["contacts"][0]).do_not_contact = True
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert "1 letter(s) skipped" in result.stdout
    assert smtp.recorder.count() == 1


def test_confirm_and_resend_letters_in_doubt(db, db_url, smtp):
    ids = seed_campaign(db, letters=3)["letters"]
    with db.session() as session:
        for i, letter_id in enumerate(ids[:2]):
            letter = session.get(Letter, letter_id)
            letter.status = LetterStatus.SENDING
            letter.message_id = f"<doubt-{i}@coalition.example>"
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert "Sent 1 letter(s)" in result.stdout
    assert "NOT sent again" in result.stdout
    assert "<doubt-0@coalition.example>" in result.stdout
    assert smtp.recorder.count() == 1

    # confirm: marked sent, nothing goes out.
    result = letters_cmd(db_url, "confirm", ids[0])
    assert "Confirmed 1" in result.stdout
    # resend: back to approved with a new Message-ID; the next send sends it.
    result = letters_cmd(db_url, "resend", ids[1])
    with db.session() as session:
        first, second = session.get(Letter, ids[0]), session.get(Letter, ids[1])
        assert first.status == LetterStatus.SENT and first.sent_at is not None
        assert second.status == LetterStatus.APPROVED
        assert second.message_id not in (None, "<doubt-1@coalition.example>")
        new_id = second.message_id
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert smtp.recorder.count() == 2
    assert smtp.recorder.received[-1].message_id == new_id
    # Confirming a letter that is not in doubt is refused and changes nothing.
    result = letters_cmd(db_url, "confirm", ids[2], expect=1)
    assert "only sending letters can be confirmed" in result.stderr


def test_mark_sent_by_post(db, db_url):
    ids = seed_campaign(db, letters=3)["letters"]
    result = letters_cmd(
        db_url,
        "mark-sent",
        "--campaign",
        "iid-2012",
        "--org",
        "gcc",
        "--channel",
        "post",
        "--on",
        "2012-03-05",
        expect=1,
    )
    # an e-mail letter named: refused until the change of channel is said
    assert "made for another channel; nothing was changed" in result.stderr
    assert f"letter {ids[0]}: made for email" in result.stderr
    assert "(--change-channel)" in result.stderr
    result = letters_cmd(
        db_url, "mark-sent", "--campaign", "iid-2012", "--org", "gcc", "--channel", "post",
        "--on", "2012-03-05", "--change-channel",
    )  # fmt: skip
    assert "Marked 1 letter(s) as sent by post" in result.stdout
    assert f"now recorded as post: letter {ids[0]} (email)" in result.stdout
    with db.session() as session:
        letter = session.get(Letter, ids[0])
        assert letter.status == LetterStatus.SENT
        assert letter.channel == Channel.POST
        assert letter.sent_at.date() == dt.date(2012, 3, 5)
        assert session.get(Letter, ids[1]).status == LetterStatus.APPROVED
    letters_cmd(db_url, "mark-sent", ids[1], ids[2], "--channel", "fax", "--change-channel")
    assert set(statuses(db).values()) == {LetterStatus.SENT}
    # Marking a sent letter again is refused, naming it.
    result = letters_cmd(db_url, "mark-sent", ids[0], "--channel", "hand", expect=1)
    assert f"letter {ids[0]}: sent" in result.stderr
    with db.session() as session, pytest.raises(ValidationError, match="post, fax or hand"):
        mark_sent(session, channel="email", letter_ids=[ids[0]])


def test_campaign_wide_mark_sent_leaves_email_letters_alone(db, db_url):
    """`mark-sent --campaign C --channel post` must not mark e-mail letters as
    sent: they would then never be e-mailed."""
    ids = seed_campaign(db, letters=3)["letters"]
    result = letters_cmd(db_url, "mark-sent", "--campaign", "iid-2012", "--channel", "post")
    assert "Marked 0 letter(s)" in result.stdout
    assert set(statuses(db).values()) == {LetterStatus.APPROVED}
    with db.session() as session:
        session.get(Letter, ids[1]).channel = Channel.POST
    letters_cmd(db_url, "mark-sent", "--campaign", "iid-2012", "--channel", "post")
    assert statuses(db)[ids[1]] == LetterStatus.SENT
    assert statuses(db)[ids[0]] == statuses(db)[ids[2]] == LetterStatus.APPROVED


def test_no_sender_address_is_a_clear_error(db, db_url, smtp):
    seed_campaign(db, letters=1, sender={})
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", expect=1)
    assert "has no sender address" in result.stderr
    result = letters_cmd(db_url, "send", "--campaign", "nope", expect=1)
    assert "no campaign 'nope'" in result.stderr


def test_unreachable_server_stops_without_touching_letters(db, db_url):
    from ..mailfixtures import free_port

    seed_campaign(db, letters=2)
    result = letters_cmd(
        db_url,
        "send",
        "--campaign",
        "iid-2012",
        "--send",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        free_port(),
        "--smtp-security",
        "none",
        "--retry-delay",
        "0",
        expect=1,
    )
    assert "Stopped early: cannot connect" in result.stdout
    assert set(statuses(db).values()) == {LetterStatus.APPROVED}


def test_login_with_the_password_from_the_environment(db, db_url):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from ..mailfixtures import Recorder, free_port

    def authenticator(server, session, envelope, mechanism, auth_data):
        def text(value):
            return value.decode() if isinstance(value, bytes) else value

        ok = text(auth_data.login) == "sec" and text(auth_data.password) == "s3cret-pw"
        return AuthResult(success=ok, handled=False)

    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        seed_campaign(db, letters=2)
        argv = ["--campaign", "iid-2012", "--send", "--smtp-host", "127.0.0.1", "--limit", "1"]
        argv += ["--smtp-port", port, "--smtp-security", "none", "--smtp-user", "sec"]
        runner = CliRunner()
        command = {c.name: c for c in cli_sending.COMMANDS}["send"]
        wrong = runner.invoke(
            command,
            ["--db", db_url, *map(str, argv)],
            env={"OUTREACH_SMTP_PASSWORD": "wrong"},
        )
        assert wrong.exit_code == 1
        assert "refused the login" in wrong.stdout and "wrong" not in wrong.output
        assert set(statuses(db).values()) == {LetterStatus.APPROVED}
        right = runner.invoke(
            command,
            ["--db", db_url, *map(str, argv)],
            env={"OUTREACH_SMTP_PASSWORD": "s3cret-pw"},
        )
        assert right.exit_code == 0, right.output
        assert "s3cret-pw" not in right.output
        assert recorder.count() == 1
        # Without the variable, the password is asked for (and not echoed).
        prompted = runner.invoke(
            command, ["--db", db_url, *map(str, argv)], input="s3cret-pw\n", env={}
        )
        assert "SMTP password for sec" in prompted.output
        assert "s3cret-pw" not in prompted.output
        assert recorder.count() == 2
    finally:
        controller.stop()


def test_starttls_required_but_not_offered(db, db_url, smtp):
    seed_campaign(db, letters=1)
    argv = ["--campaign", "iid-2012", "--send", "--smtp-host", smtp.host]
    argv += ["--smtp-port", smtp.port, "--smtp-security", "starttls"]
    result = letters_cmd(db_url, "send", *argv, expect=1)
    assert "does not offer STARTTLS" in result.stdout
    assert smtp.recorder.count() == 0
    assert set(statuses(db).values()) == {LetterStatus.APPROVED}


def test_password_comes_from_the_environment_and_is_never_shown(monkeypatch):
    monkeypatch.setenv("OUTREACH_SMTP_PASSWORD", "s3cret-pw")
    settings = SmtpSettings.from_env(host="mail.example.org", user="sec")
    assert settings.password == "s3cret-pw"
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in settings.describe()
    assert settings.effective_port == 587
    with pytest.raises(ConfigurationError):
        SmtpSettings(security="tls")


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("30/min", Rate(30, 60)),
        ("50 per 5 min", Rate(50, 300)),
        ("50/5min", Rate(50, 300)),
        ("1/s", Rate(1, 1)),
        ("200 per hour", Rate(200, 3600)),
        ("unlimited", None),
        (None, None),
    ],
)
def test_parse_rate(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["fast", "30/fortnight", "0/min", "-3/min"])
def test_parse_rate_refuses_nonsense(text):
    with pytest.raises(ValidationError, match="rate"):
        parse_rate(text)


def test_rate_spaces_the_messages(db, smtp):
    seed_campaign(db, letters=3)
    with db.session() as session:
        from outreach.sending import campaign_by_slug

        identity = MailIdentity.for_campaign(campaign_by_slug(session, "iid-2012"))
    clock = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        clock[0] += seconds

    transport = SmtpTransport(SmtpSettings(host=smtp.host, port=smtp.port, security="none"))
    sender = Sender(
        db,
        identity,
        transport=transport,
        dry_run=False,
        rate=parse_rate("30/min"),
        sleep=sleep,
        clock=lambda: clock[0],
    )
    sender.send_campaign("iid-2012")
    assert waits == [2.0, 2.0]


def test_failures_csv_neutralises_formulas(tmp_path: Path):
    from outreach.sending import LetterOutcome, SendReport

    report = SendReport(campaign="c", dry_run=False)
    report.outcomes.append(
        LetterOutcome(1, "=HYPERLINK()", "x", "a@b.org", "s", "failed", error="550 no")
    )
    path = tmp_path / "f.csv"
    assert report.write_failures_csv(path) == 1
    assert "'=HYPERLINK()" in path.read_text(encoding="utf-8")


def test_post_letters_are_not_sent_but_pointed_out(db, db_url, smtp):
    ids = seed_campaign(db, letters=2)["letters"]
    with db.session() as session:
        session.get(Letter, ids[0]).channel = Channel.POST
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert "Sent 1 letter(s)" in result.stdout
    assert "1 approved letter(s) go by post, fax or hand" in result.stdout
    assert smtp.recorder.count() == 1
    assert statuses(db)[ids[0]] == LetterStatus.APPROVED


def test_html_alternative_is_right_to_left_for_arabic(db, db_url, smtp):
    seed_campaign(db, letters=2)
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", "--html", *smtp.argv())
    by_lang = {r.message["Content-Language"]: r.message for r in smtp.recorder.received}
    arabic = by_lang["ar"]
    assert arabic.get_content_type() == "multipart/mixed"
    plain = arabic.get_body(preferencelist=("plain",)).get_content()
    html = arabic.get_body(preferencelist=("html",)).get_content()
    assert "تجدون طيه رسالة" in plain and "تجدون طيه رسالة" in html  # the cover note
    assert '<html lang="ar" dir="rtl">' in html
    assert '<html lang="fr" dir="ltr">' in by_lang["fr"].get_body(("html",)).get_content()


def test_connection_cut_while_server_takes_a_message_leaves_it_in_doubt(db, db_url, smtp):
    ids = seed_campaign(db, letters=3)["letters"]
    smtp.recorder.cut_after_data.add("sg@africa-union.org")
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv(), expect=3)
    assert "Sent 2 letter(s)" in result.stdout
    assert "1 letter(s) in doubt" in result.stdout
    assert "connection lost while the server was taking the message" in result.stdout
    st = statuses(db)
    assert st[ids[1]] == LetterStatus.SENDING
    assert st[ids[0]] == st[ids[2]] == LetterStatus.SENT
    assert smtp.recorder.count() == 3  # the server did keep it
    # The next run lists it and does not send it again.
    again = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert "NOT sent again" in again.stdout
    assert smtp.recorder.count() == 3
    letters_cmd(db_url, "confirm", "--campaign", "iid-2012")
    assert set(statuses(db).values()) == {LetterStatus.SENT}


def _reminders(db, ids: list[int]) -> list[int]:
    """Mark *ids* sent on 1 March 2012 and add an approved reminder for each."""
    out = []
    with db.session() as session:
        for n, letter_id in enumerate(ids):
            original = session.get(Letter, letter_id)
            original.status = LetterStatus.SENT
            original.message_id = f"<original-{n}@coalition.example>"
            original.sent_at = dt.datetime(2012, 3, 1, tzinfo=dt.UTC)
            reminder = Letter(
                campaign_id=original.campaign_id,
                organization_id=original.organization_id,
                contact_id=original.contact_id,
                round=1,
                followup_of_id=original.id,
                language=original.language,
                subject="Reminder",
                body="A gentle reminder.",
                template_name="reminder",
                template_hash="1" * 64,
                status=LetterStatus.APPROVED,
                to_address=original.to_address,
            )
            session.add(reminder)
            session.flush()
            out.append(reminder.id)
    return out


def test_reminder_to_an_organization_that_has_answered_since_is_held_back(db, db_url, smtp):
    from outreach.schema.models import Response

    seeded = seed_campaign(db, letters=2)
    reminders = _reminders(db, seeded["letters"])
    # The first organization answers after the reminders were approved.
    with db.session() as session:
        session.add(
            Response(
                campaign_id=seeded["campaign_id"],
                organization_id=seeded["orgs"][0],
                letter_id=seeded["letters"][0],
                received_at=dt.datetime(2012, 3, 20, tzinfo=dt.UTC),
            )
        )
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    # Before: both reminders went, one of them to an organization that had replied.
    assert smtp.recorder.count() == 1
    assert smtp.recorder.received[0].rcpt_tos == ["sg@africa-union.org"]
    assert "1 reminder(s) not sent: the organization has answered" in result.stdout
    assert f"letter {reminders[0]}  GCC" in result.stdout
    assert statuses(db)[reminders[0]] == LetterStatus.APPROVED
    # Named explicitly, it goes.
    letters_cmd(
        db_url, "send", "--campaign", "iid-2012", "--send", "--letter", reminders[0], *smtp.argv()
    )
    assert smtp.recorder.count() == 2


def test_unwritable_failures_csv_is_refused_before_sending(db, db_url, smtp, tmp_path):
    seed_campaign(db, letters=2)
    before = row_counts(db_url)
    target = tmp_path / "no-such-folder" / "failures.csv"
    result = letters_cmd(
        db_url,
        "send",
        "--campaign",
        "iid-2012",
        "--send",
        "--failures-csv",
        target,
        *smtp.argv(),
        expect=1,
    )
    assert "--failures-csv" in result.stderr and "cannot write" in result.stderr
    # Before: the letters went out, then "no such file".
    assert smtp.recorder.count() == 0
    assert row_counts(db_url) == before


def test_resending_a_failed_letter_without_message_id_uses_the_senders_domain(db, db_url, smtp):
    ids = seed_campaign(db, letters=1)["letters"]
    with db.session() as session:
        letter = session.get(Letter, ids[0])
        letter.status = LetterStatus.FAILED
        letter.error = "the letter has no e-mail address"
        letter.message_id = None
    letters_cmd(db_url, "resend", ids[0])
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    (received,) = smtp.recorder.received
    # Before: a Message-ID made from this computer's host name.
    assert received.message_id.endswith("@coalition.example>")


def test_letter_superseded_during_the_batch_is_not_sent(db, smtp):
    """`letters generate` run while a batch is going out makes a new version
    of an approved letter: the old version must not be sent as well."""
    ids = seed_campaign(db, letters=3)["letters"]
    with db.session() as session:
        from outreach.sending import campaign_by_slug

        identity = MailIdentity.for_campaign(campaign_by_slug(session, "iid-2012"))

    def regenerate_the_last(outcome) -> None:
        if outcome.letter_id == ids[0]:
            with db.session() as session:
                session.get(Letter, ids[2]).superseded_at = dt.datetime.now(dt.UTC)

    transport = SmtpTransport(SmtpSettings(host=smtp.host, port=smtp.port, security="none"))
    report = Sender(
        db, identity, transport=transport, dry_run=False, on_outcome=regenerate_the_last
    ).send_campaign("iid-2012")
    # Before: all three went, the superseded one included.
    assert smtp.recorder.count() == 2
    assert statuses(db)[ids[2]] == LetterStatus.APPROVED
    assert [o.letter_id for o in report.outcomes] == ids[:2]


def test_sender_with_an_international_domain(db, smtp):
    """A secretariat whose own domain has accents: the letters' stored
    Message-IDs (made from that domain) cannot go into a header."""
    seeded = seed_campaign(db, letters=2, sender={"email": "secretariat@coalition-société.org"})
    with db.session() as session:
        for n, letter_id in enumerate(seeded["letters"]):
            session.get(Letter, letter_id).message_id = f"<m{n}.iid-2012@coalition-société.org>"
        from outreach.sending import campaign_by_slug

        identity = MailIdentity.for_campaign(
            campaign_by_slug(session, "iid-2012"), bcc="archive@coalition-société.org"
        )
    transport = SmtpTransport(SmtpSettings(host=smtp.host, port=smtp.port, security="none"))
    # Before: UnicodeEncodeError after the first letter was marked `sending`,
    # so it was listed in doubt though nothing had gone.
    report = Sender(db, identity, transport=transport, dry_run=False).send_campaign("iid-2012")
    assert report.count("sent") == 2 and not report.failures
    assert set(statuses(db).values()) == {LetterStatus.SENT}
    punycode = "xn--coalition-socit-onbb.org"
    for r in smtp.recorder.received:
        assert r.mail_from == f"secretariat@{punycode}"
        assert r.rcpt_tos[-1] == f"archive@{punycode}"
        assert r.message_id.endswith(f"@{punycode}>")
    with db.session() as session:
        stored = {session.get(Letter, i).message_id for i in seeded["letters"]}
    assert stored == {r.message_id for r in smtp.recorder.received}


def test_unusable_letter_taken_by_another_run_keeps_its_state(db, smtp):
    """A letter that cannot be built here but that another run (with other
    settings) has meanwhile taken is not overwritten as failed."""
    ids = seed_campaign(db, letters=2)["letters"]
    with db.session() as session:
        session.get(Letter, ids[1]).to_address = "not an address"
        from outreach.sending import campaign_by_slug

        identity = MailIdentity.for_campaign(campaign_by_slug(session, "iid-2012"))

    def another_run_takes_the_second(outcome) -> None:
        if outcome.letter_id == ids[0]:
            with db.session() as session:
                letter = session.get(Letter, ids[1])
                letter.status = LetterStatus.SENDING
                letter.message_id = "<other-run@coalition.example>"

    transport = SmtpTransport(SmtpSettings(host=smtp.host, port=smtp.port, security="none"))
    Sender(
        db, identity, transport=transport, dry_run=False, on_outcome=another_run_takes_the_second
    ).send_campaign("iid-2012")
    # Before: marked failed over the other run's `sending`; its `sent` mark
    # would then be lost and --retry-failed would send the letter again.
    assert statuses(db)[ids[1]] == LetterStatus.SENDING
