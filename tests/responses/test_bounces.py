"""Bounces and automatic replies at import: delivery reports (RFC 3464 and the
common non-standard kinds) mark their letter bounced and flag the address;
delays are only noted; out-of-office replies are noted on the letter, never
counted as answers; follow-ups and the status report leave bounced letters
out of "silent" and "overdue"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from outreach.attachments import AttachmentStore
from outreach.letters.followups import bounced_letters, due_followups
from outreach.reports import render_status
from outreach.reports.status import status_report
from outreach.reports.text.figures import figures_text
from outreach.responses.bounces import AutoReply, Bounce, classify
from outreach.responses.inbox import import_messages
from outreach.responses.mailbox import parse_message, sender_of
from outreach.schema.models import (
    Contact,
    InboundMessage,
    InboundStatus,
    Letter,
    LetterStatus,
    Response,
)

from ..mailfixtures import SENDER
from ._fixtures import SENT_ON, mail, sent_campaign

LATER = SENT_ON + dt.timedelta(days=60)


def _original(mid: str, to: str, subject: str = "Informal interactive dialogue") -> str:
    return (
        f"From: Coalition <{SENDER}>\n"
        f"To: {to}\n"
        f"Subject: {subject}\n"
        "Date: Tue, 20 Mar 2012 09:00:00 +0000\n"
        f"Message-ID: {mid}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
    )


def postfix_dsn(mid: str, to: str, *, action: str = "failed") -> bytes:
    """A Postfix-style report: multipart/report with message/delivery-status
    and the returned message (message/rfc822)."""
    status, code = {
        "failed": ("5.1.1", "smtp; 550 5.1.1 <{to}>: Recipient address rejected: User unknown"),
        "delayed": ("4.4.1", "smtp; 451 4.4.1 connect to mx.example.org: Connection timed out"),
        "delivered": ("2.0.0", "smtp; 250 2.0.0 Ok: queued as 9F8E7D"),
    }[action]
    code = code.format(to=to)
    subject = {
        "failed": "Undelivered Mail Returned to Sender",
        "delayed": "Delayed Mail (still being retried)",
        "delivered": "Successful Mail Delivery Report",
    }[action]
    return f"""Return-Path: <>
From: MAILER-DAEMON@mail.coalition.example (Mail Delivery System)
To: {SENDER}
Subject: {subject}
Date: Wed, 21 Mar 2012 09:05:00 +0000
Message-ID: <20120321090500.{action}.{mid.strip("<>").split("@")[0]}@mail.coalition.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="B0UND.1332320700/mail.coalition.example"

This is a MIME-encapsulated message.

--B0UND.1332320700/mail.coalition.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.coalition.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{to}>: host mx.example.org said: {code[6:]}

--B0UND.1332320700/mail.coalition.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.coalition.example
X-Postfix-Queue-ID: 1A2B3C
Arrival-Date: Tue, 20 Mar 2012 09:00:01 +0000

Final-Recipient: rfc822; {to}
Original-Recipient: rfc822;{to}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: {code}

--B0UND.1332320700/mail.coalition.example
Content-Description: Undelivered Message
Content-Type: message/rfc822

{_original(mid, to)}
Your Excellency,

--B0UND.1332320700/mail.coalition.example--
""".encode()


def exchange_ndr(mid: str, to: str) -> bytes:
    """An Exchange / Office 365 non-delivery report: the original's headers
    only (text/rfc822-headers), a Diagnostic-Code naming the resolver error."""
    return f"""From: Microsoft Outlook <postmaster@africaunion.onmicrosoft.com>
To: {SENDER}
Subject: Undeliverable: Dialogue interactif informel
Date: Wed, 21 Mar 2012 10:00:00 +0000
Message-ID: <ndr-5f2c@AM6PR01MB1234.eurprd01.prod.exchangelabs.com>
Content-Language: en-US
X-MS-Exchange-Message-Is-Ndr:
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="NDR_boundary_7731"

--NDR_boundary_7731
Content-Type: multipart/alternative; boundary="alt_7731"

--alt_7731
Content-Type: text/plain; charset="us-ascii"

Your message to {to} couldn't be delivered.
{to.split("@")[0]} wasn't found at {to.split("@")[1]}.

--alt_7731
Content-Type: text/html; charset="us-ascii"

<html><body><b>Your message to {to} couldn't be delivered.</b></body></html>
--alt_7731--

--NDR_boundary_7731
Content-Type: message/delivery-status

Reporting-MTA: dns;AM6PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mail.coalition.example
Arrival-Date: Wed, 21 Mar 2012 09:59:58 +0000

Original-Recipient: rfc822;{to}
Final-Recipient: rfc822;{to}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not
 found by SMTP address lookup

--NDR_boundary_7731
Content-Type: text/rfc822-headers

{_original(mid, to, "Dialogue interactif informel")}
--NDR_boundary_7731--
""".encode()


def qmail_bounce(to: str, *, mid: str | None = None) -> bytes:
    """A qmail "failure notice": plain text, no report part; the copy of the
    message (with its Message-ID) only when *mid* is given."""
    copy = f"\n{_original(mid, to)}\nEstimados:\n" if mid else ""
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx1.oas.org
To: {SENDER}
Subject: failure notice
Date: Wed, 21 Mar 2012 11:00:00 +0000
Message-ID: <1332327600.4242.qmail@mx1.oas.org>

Hi. This is the qmail-send program at mx1.oas.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{to}>:
192.0.2.25 does not like recipient.
Remote host said: 550 5.1.1 <{to}>... User unknown
Giving up on 192.0.2.25.

--- Below this line is a copy of the message.
{copy}""".encode()


def _msg(data: bytes):
    msg = parse_message(data)
    return msg, sender_of(msg)[1]


# --- classification, no database ---------------------------------------------------------


def test_postfix_report_names_the_letter_the_address_and_the_reason():
    found = classify(*_msg(postfix_dsn("<letter-1@coalition.example>", "sg@gcc-sg.org")))
    assert isinstance(found, Bounce) and not found.delayed
    assert found.original_ids[0] == "<letter-1@coalition.example>"
    assert found.addresses == ["sg@gcc-sg.org"]
    assert found.reason == "550 5.1.1 <sg@gcc-sg.org>: Recipient address rejected: User unknown"


def test_exchange_report_is_read_from_its_rfc822_headers_part():
    found = classify(*_msg(exchange_ndr("<letter-2@coalition.example>", "sg@africa-union.org")))
    assert isinstance(found, Bounce)
    assert found.original_ids == ["<letter-2@coalition.example>"]
    assert found.addresses == ["sg@africa-union.org"]
    assert "RESOLVER.ADR.RecipientNotFound; Recipient not found" in found.reason


def test_qmail_failure_notice_is_found_by_flufl_bounce():
    found = classify(*_msg(qmail_bounce("sg@oas.org", mid="<letter-3@coalition.example>")))
    assert isinstance(found, Bounce) and not found.delayed
    assert found.addresses == ["sg@oas.org"]
    assert found.original_ids == ["<letter-3@coalition.example>"]
    assert "550 5.1.1" in found.reason
    bare = classify(*_msg(qmail_bounce("sg@oas.org")))
    assert isinstance(bare, Bounce) and bare.original_ids == [] and bare.addresses == ["sg@oas.org"]


def test_a_delay_is_a_delayed_report():
    data = postfix_dsn("<letter-4@coalition.example>", "sg@asean.org", action="delayed")
    found = classify(*_msg(data))
    assert isinstance(found, Bounce) and found.delayed
    assert "4.4.1" in found.reason


def test_out_of_office_in_english_french_and_by_subject_alone():
    english = mail(
        "sg@asean.org",
        "Automatic reply: Informal interactive dialogue",
        "Thank you for your message.\nI am out of the office until 2 April with no access "
        "to e-mail.\nFor urgent matters please contact the Deputy.",
        mid="<ooo-en@asean.org>",
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
    french = mail(
        "sg@africa-union.org",
        "Réponse automatique : Dialogue interactif informel",
        "Je suis absent du bureau jusqu'au 2 avril.\nEn cas d'urgence, veuillez écrire au "
        "cabinet.",
        mid="<ooo-fr@africa-union.org>",
        headers={"Auto-Submitted": "auto-generated"},
    )
    vacation = mail(
        "sg@oas.org",
        "Fuera de la oficina: Diálogo interactivo",
        "Estaré fuera de la oficina hasta el lunes.",
        mid="<ooo-es@oas.org>",
    )
    reply = mail("sg@oas.org", "Re: Diálogo", "Participaremos.", mid="<real@oas.org>")
    for msg, sign in [
        (english, "Auto-Submitted: auto-replied"),
        (french, "Auto-Submitted: auto-generated"),
        (vacation, "subject"),
    ]:
        found = classify(msg, sender_of(msg)[1])
        assert isinstance(found, AutoReply) and found.sign == sign
    assert "jusqu'au 2 avril" in classify(french, "sg@africa-union.org").note
    assert classify(reply, "sg@oas.org") is None
    human = mail("a@b.org", "No", "x", mid=None, headers={"Auto-Submitted": "no"})
    assert classify(human, "a@b.org") is None


# --- at import, on both backends --------------------------------------------------------


def _import(db, tmp_path: Path, messages: list[bytes]):
    folder = tmp_path / "mail"
    folder.mkdir(exist_ok=True)
    for i, data in enumerate(messages):
        (folder / f"{i:02d}.eml").write_bytes(data)
    store = AttachmentStore.for_database(db)
    with db.session() as session:
        return import_messages(session, folder, store=store)


def test_bounces_mark_letters_and_flag_addresses_delays_only_noted(db, tmp_path):
    seeded = sent_campaign(db)
    mids = seeded["mids"]
    report = _import(
        db,
        tmp_path,
        [
            postfix_dsn(mids["GCC"], "sg@gcc-sg.org"),
            exchange_ndr(mids["AU"], "sg@africa-union.org"),
            qmail_bounce("sg@oas.org"),  # no copy: found by the failed address
            postfix_dsn(mids["ASEAN"], "sg@asean.org", action="delayed"),
        ],
    )
    assert len(report.bounces) == 4 and not report.unmatched and not report.matched
    assert {m.acronym for m in report.bounces} == {"GCC", "AU", "OAS", "ASEAN"}
    with db.session() as session:
        letters = {
            letter.organization.acronym: letter for letter in session.scalars(sa.select(Letter))
        }
        for acronym in ("GCC", "AU", "OAS"):
            letter = letters[acronym]
            assert letter.status == LetterStatus.BOUNCED, acronym
            assert letter.bounced_at is not None
            contact = session.get(Contact, letter.contact_id)
            assert contact.email_bounced_at is not None
            assert contact.email_bounce_reason == letter.bounce_reason
        assert "User unknown" in letters["GCC"].bounce_reason
        assert "RecipientNotFound" in letters["AU"].bounce_reason
        assert "550 5.1.1" in letters["OAS"].bounce_reason
        asean = letters["ASEAN"]
        assert asean.status == LetterStatus.SENT and asean.bounced_at is None
        assert session.get(Contact, asean.contact_id).email_bounced_at is None
        inbound = session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [m.status for m in inbound] == [InboundStatus.BOUNCE] * 4
        assert [m.letter_id for m in inbound] == [
            letters[a].id for a in ("GCC", "AU", "OAS", "ASEAN")
        ]
        assert "delayed" in inbound[3].reason
        assert session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0

    # Follow-ups chase ASEAN only; the bounced three are listed apart.
    with db.read() as conn:
        due = due_followups(conn, campaign="iid-2012", now=LATER)
        bounced = bounced_letters(conn, campaign="iid-2012")
    assert [d.acronym for d in due] == ["ASEAN"]
    assert [b.acronym for b in bounced] == ["AU", "GCC", "OAS"]
    assert not any(b.address_corrected for b in bounced)

    # The status report: bounced, neither sent nor overdue.
    with db.read() as conn:
        status = status_report(conn, campaign="iid-2012", now=LATER)
    rows = {r.acronym: r for r in status.rows}
    assert rows["GCC"].letter_status == "bounced" and not rows["GCC"].overdue
    assert rows["ASEAN"].overdue
    totals = status.totals
    assert (totals.sent, totals.bounced, totals.not_sent) == (1, 3, 0)
    assert [r.acronym for r in totals.overdue] == ["ASEAN"]
    assert "3 bounced" in figures_text(totals)
    assert "| bounced |" in render_status(status, "md").replace("  ", " ")
    french = render_status(status, "md", language="fr")
    assert "| non distribuée |" in french and "| Lettres non distribuées | 3 |" in french
    assert "не доставлено: 3" in render_status(status, "table", language="ru")
    html = render_status(status, "html", language="es")
    assert "rebotada" in html


def test_success_reports_and_read_receipts_are_set_aside(db, tmp_path):
    seeded = sent_campaign(db)
    receipt = mail(
        "sg@oas.org",
        "Read: Diálogo interactivo",
        "Your message was read on 22 March 2012.",
        mid="<mdn@oas.org>",
        in_reply_to=seeded["mids"]["OAS"],
    )
    receipt.make_mixed()
    receipt.set_type("multipart/report")
    receipt.set_param("report-type", "disposition-notification")
    delivered = postfix_dsn(seeded["mids"]["GCC"], "sg@gcc-sg.org", action="delivered")
    report = _import(db, tmp_path, [delivered, receipt.as_bytes()])
    assert [m.status for m in report.messages] == ["ignored", "ignored"]
    assert "delivery report without a failure" in report.messages[0].reason
    assert "read receipt" in report.messages[1].reason
    with db.session() as session:
        assert set(session.scalars(sa.select(Letter.status))) == {LetterStatus.SENT}


def test_a_copied_address_bouncing_leaves_the_letter_sent(db, tmp_path):
    seeded = sent_campaign(db)
    report = _import(db, tmp_path, [postfix_dsn(seeded["mids"]["GCC"], "deputy@gcc-sg.org")])
    (only,) = report.bounces
    assert "deputy@gcc-sg.org (copied on letter" in only.reason
    with db.session() as session:
        assert set(session.scalars(sa.select(Letter.status))) == {LetterStatus.SENT}
        assert set(session.scalars(sa.select(Contact.email_bounced_at))) == {None}


def test_a_bounce_naming_no_letter_is_queued(db, tmp_path):
    sent_campaign(db)
    report = _import(db, tmp_path, [qmail_bounce("nobody@unknown.example")])
    (only,) = report.unmatched
    assert "delivery failure report for nobody@unknown.example" in only.reason


def test_auto_replies_are_noted_on_their_letter_and_never_answers(db, tmp_path):
    seeded = sent_campaign(db)
    mids = seeded["mids"]
    english = mail(
        "Secretary-General <sg@asean.org>",
        "Automatic reply: Informal interactive dialogue",
        "I am out of the office until 2 April.\nFor urgent matters contact the Deputy.",
        mid="<ooo-en@asean.org>",
        in_reply_to=mids["ASEAN"],
        headers={"Auto-Submitted": "auto-replied"},
    )
    french = mail(
        "sg@africa-union.org",
        "Réponse automatique : Dialogue interactif informel",
        "Je suis absent du bureau jusqu'au 2 avril.",
        mid="<ooo-fr@africa-union.org>",
        headers={"Auto-Submitted": "auto-generated"},
    )
    vacation = mail(
        "sg@oas.org",
        "Out of Office: Diálogo interactivo",
        "Estaré fuera de la oficina hasta el lunes.",
        mid="<ooo@oas.org>",
    )
    report = _import(db, tmp_path, [m.as_bytes() for m in (english, french, vacation)])
    assert {m.acronym for m in report.auto_replies} == {"ASEAN", "AU", "OAS"}
    assert not report.matched and not report.unmatched
    with db.session() as session:
        letters = {
            letter.organization.acronym: letter for letter in session.scalars(sa.select(Letter))
        }
        assert letters["ASEAN"].auto_reply_at == dt.datetime(2012, 3, 28, 10, 0, tzinfo=dt.UTC)
        assert "out of the office until 2 April" in letters["ASEAN"].auto_reply_note
        assert "absent du bureau" in letters["AU"].auto_reply_note
        assert letters["OAS"].auto_reply_note.startswith("Out of Office: Diálogo")
        assert all(letter.status == LetterStatus.SENT for letter in letters.values())
        statuses = set(session.scalars(sa.select(InboundMessage.status)))
        assert statuses == {InboundStatus.AUTO_REPLY}
        assert session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
    with db.read() as conn:
        due = due_followups(conn, campaign="iid-2012", now=LATER)
    assert len(due) == 4  # an automatic reply is no answer: all four are still chased
