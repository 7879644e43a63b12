"""At most once against a server that answers nonsense (issue 11, point 3).

A raw-socket server on loopback (``tests/sending/badsmtp.py``) misbehaves once at one
stage of a message: garbage instead of a reply, an impossible code, a reply
cut off, a connection closed or reset, or no reply at all (with a short SMTP
timeout). What the sender can conclude:

- before the message's body has gone out (MAIL FROM, RCPT TO, the DATA
  command), nothing can have been delivered: a proper 4xx, or anything that is
  not a proper reply, is retried (on a new connection when the reply was not
  SMTP); a proper 5xx fails the letter;
- after the body (the reply to the final dot) only a proper 4xx or 5xx says
  the server did not keep it; anything else leaves the letter in doubt: it is
  listed, never sent again by any ``letters send`` (with or without
  ``--retry-failed``), until the coordinator runs ``letters resend``.

The server counts the copies it kept by Message-ID.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from outreach.schema.models import LetterStatus
from outreach.sending import (
    ConnectionLost,
    InDoubt,
    PermanentFailure,
    SmtpSettings,
    SmtpTransport,
    TransientFailure,
)

from ..mailfixtures import seed_campaign
from .badsmtp import BadSmtpServer, Fault
from .test_send import letters_cmd, statuses

TIMEOUT = "0.5"
LONG_LINE = b"250 " + b"x" * 9000 + b"\r\n"


@pytest.fixture
def server() -> Iterator[BadSmtpServer]:
    srv = BadSmtpServer()
    try:
        yield srv
    finally:
        srv.stop()


def _message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "secretariat@coalition.example"
    msg["To"] = "sg@oas.org"
    msg["Subject"] = "Dialogue"
    msg["Message-ID"] = make_msgid(domain="coalition.example")
    msg.set_content("Your Excellency,\n.\n..a line that starts with a dot\n")
    return msg


def _send(transport: SmtpTransport, msg: EmailMessage) -> list[str]:
    return transport.send(msg, "secretariat@coalition.example", ["sg@oas.org"])


# Before the body: never delivered; not SMTP -> a new connection and a retry.
NOT_SENT = [
    Fault("mail", b"hello\r\n"),
    Fault("mail", b"999 x\r\n"),
    Fault("mail", b"220 unexpected but well formed\r\n"),
    Fault("mail", b"25", "close"),  # truncated
    Fault("mail", b"", "close"),
    Fault("mail", b"", "reset"),
    Fault("mail", b"", "silence"),  # timeout
    Fault("rcpt", b"hello\r\n"),
    Fault("rcpt", b"250-first line\r\n", "close"),  # multiline reply cut off
    Fault("rcpt", LONG_LINE),
    Fault("rcpt", b"", "reset"),
    Fault("data", b"hello\r\n"),  # nonsense to the DATA command itself
    Fault("data", b"250 ok\r\n"),  # a real code, but not 354: the body never goes
    Fault("data", b"35", "close"),
    Fault("data", b"", "close"),
    Fault("data", b"", "silence"),
]
# A proper transient reply: retried (the server did not keep a copy).
TRANSIENT = [
    Fault("mail", b"451 4.3.0 try later\r\n"),
    Fault("mail", b"421 4.3.2 closing\r\n", "close"),
    Fault("rcpt", b"451 4.3.0 try later\r\n"),
    Fault("data", b"451 4.3.0 try later\r\n"),
    Fault("dot", b"451 4.3.0 try later\r\n"),
    Fault("dot", b"452-4.3.1 two lines\r\n452 4.3.1 of it\r\n"),
]
PERMANENT = [
    Fault("rcpt", b"550 5.1.1 no such user\r\n"),
    Fault("data", b"554 5.7.1 no\r\n"),
    Fault("dot", b"554 5.7.1 refused\r\n"),
]
# After the body: the server may have kept it.
IN_DOUBT = [
    Fault("dot", b"hello\r\n", keep=True),
    Fault("dot", b"999 x\r\n", keep=True),
    Fault("dot", b"25 OK\r\n", keep=True),
    Fault("dot", b"2500 OK\r\n", keep=True),
    Fault("dot", b"45\r\n", keep=True),
    Fault("dot", b"4.3.0 try later\r\n", keep=True),
    Fault("dot", b"354 again\r\n", keep=True),
    Fault("dot", b"250-first\r\n451 second\r\n", keep=True),  # codes differ
    Fault("dot", LONG_LINE, keep=True),
    Fault("dot", b"250 OK", "close", keep=True),  # no line end: cut off
    Fault("dot", b"451 try la", "close", keep=True),
    Fault("dot", b"250-first line\r\n", "close", keep=True),
    Fault("dot", b"", "close", keep=True),
    Fault("dot", b"", "reset", keep=True),
    Fault("dot", b"", "silence", keep=True),  # timeout
]


def _id(f: Fault) -> str:
    return f"{f.stage}-{f.reply[:20]!r}-{f.then}"


@pytest.mark.parametrize("fault", NOT_SENT + TRANSIENT, ids=_id)
def test_failure_before_the_server_can_have_it_is_retried_and_sent_once(server, fault):
    server.faults.append(fault)
    msg = _message()
    with SmtpTransport(SmtpSettings(server.host, server.port, "none", timeout=0.5)) as t:
        expected = ConnectionLost if fault in NOT_SENT else TransientFailure
        with pytest.raises(expected):
            _send(t, msg)
        assert server.message_ids()[msg["Message-ID"]] == 0
        _send(t, msg)  # the retry
    assert server.message_ids() == {msg["Message-ID"]: 1}


@pytest.mark.parametrize("fault", PERMANENT, ids=_id)
def test_proper_5xx_is_a_permanent_failure(server, fault):
    server.faults.append(fault)
    with SmtpTransport(SmtpSettings(server.host, server.port, "none", timeout=0.5)) as t:
        with pytest.raises(PermanentFailure):
            _send(t, _message())
        # The connection is still good for the next letter.
        _send(t, _message())
    assert sum(server.message_ids().values()) == 1


@pytest.mark.parametrize("fault", IN_DOUBT, ids=_id)
def test_anything_but_a_proper_reply_after_the_body_is_in_doubt(server, fault):
    server.faults.append(fault)
    msg = _message()
    with SmtpTransport(SmtpSettings(server.host, server.port, "none", timeout=0.5)) as t:
        with pytest.raises(InDoubt):
            _send(t, msg)
        # The next letter goes on a new connection: the old one is never reused.
        other = _message()
        _send(t, other)
    assert server.message_ids() == {msg["Message-ID"]: 1, other["Message-ID"]: 1}
    assert server.connections == 2


def _run(db_url, server, *extra, expect=None):
    return letters_cmd(
        db_url,
        "send",
        "--campaign",
        "iid-2012",
        "--send",
        "--retry-delay",
        "0",
        "--smtp-timeout",
        TIMEOUT,
        *server.argv(),
        *extra,
        expect=expect,
    )


def _message_id(db, letter_id):
    from outreach.schema.models import Letter

    with db.session() as session:
        return session.get(Letter, letter_id).message_id


@pytest.mark.parametrize(
    "fault",
    [
        Fault("dot", b"hello\r\n", keep=True),
        Fault("dot", b"999 x\r\n", keep=True),
        Fault("dot", b"25", "close", keep=True),
        Fault("dot", b"250-first line\r\n", "close", keep=True),
        Fault("dot", b"", "close", keep=True),
        Fault("dot", b"", "reset", keep=True),
        Fault("dot", b"", "silence", keep=True),
    ],
    ids=_id,
)
def test_letter_in_doubt_is_never_sent_again_until_resend(db, db_url, server, fault):
    ids = seed_campaign(db, letters=2)["letters"]
    server.faults.append(fault)
    first = _run(db_url, server, expect=3)  # PARTIAL_SEND
    assert "Sent 1 letter(s)" in first.stdout
    assert "1 letter(s) in doubt" in first.stdout
    doubtful = _message_id(db, ids[0])
    assert statuses(db) == {ids[0]: LetterStatus.SENDING, ids[1]: LetterStatus.SENT}
    copies = server.message_ids()
    assert copies[doubtful] == 1 and sum(copies.values()) == 2

    # Neither a second run nor --retry-failed sends it again; both list it.
    for extra in ((), ("--retry-failed",)):
        again = _run(db_url, server, *extra, expect=0)
        assert "Sent 0 letter(s)" in again.stdout
        assert "NOT sent again" in again.stdout and doubtful in again.stdout
        assert "in doubt:" in again.stdout  # what happened, from the run that saw it
        assert server.message_ids() == copies
        assert statuses(db)[ids[0]] == LetterStatus.SENDING
    dry = letters_cmd(db_url, "send", "--campaign", "iid-2012", *server.argv())
    assert doubtful in dry.stdout and "NOT sent again" in dry.stdout

    # Only the coordinator's explicit resend sends it again (a new Message-ID).
    letters_cmd(db_url, "resend", str(ids[0]))
    _run(db_url, server, expect=0)
    resent = _message_id(db, ids[0])
    assert resent != doubtful
    assert server.message_ids() == {**copies, resent: 1}
    assert set(statuses(db).values()) == {LetterStatus.SENT}


@pytest.mark.parametrize(
    "fault",
    [
        Fault("rcpt", b"451 4.3.0 try later\r\n"),
        Fault("data", b"451 4.3.0 try later\r\n"),
        Fault("dot", b"451 4.3.0 try later\r\n"),
        Fault("mail", b"hello\r\n"),
        Fault("rcpt", b"", "close"),
        Fault("data", b"nonsense\r\n"),
        Fault("data", b"", "silence"),
    ],
    ids=_id,
)
def test_definite_transient_failure_is_retried_and_sent_exactly_once(db, db_url, server, fault):
    ids = seed_campaign(db, letters=2)["letters"]
    server.faults.append(fault)
    result = _run(db_url, server, expect=0)
    assert "Sent 2 letter(s)" in result.stdout
    assert set(statuses(db).values()) == {LetterStatus.SENT}
    assert server.message_ids() == {_message_id(db, i): 1 for i in ids}
    _run(db_url, server, "--retry-failed", expect=0)
    assert server.message_ids() == {_message_id(db, i): 1 for i in ids}


def test_proper_5xx_after_the_body_fails_the_letter_and_is_not_retried(db, db_url, server):
    ids = seed_campaign(db, letters=2)["letters"]
    server.faults.append(Fault("dot", b"554 5.7.1 refused\r\n"))
    result = _run(db_url, server, expect=3)  # PARTIAL_SEND
    assert "1 letter(s) failed" in result.stdout and "554 5.7.1 refused" in result.stdout
    assert statuses(db) == {ids[0]: LetterStatus.FAILED, ids[1]: LetterStatus.SENT}
    _run(db_url, server, expect=0)
    assert sum(server.message_ids().values()) == 1
    # The server kept no copy of the refused letter: --retry-failed may send it.
    _run(db_url, server, "--retry-failed", expect=0)
    assert server.message_ids() == {_message_id(db, i): 1 for i in ids}


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_smtp_timeout_must_be_a_positive_number(db, db_url, server, value):
    from outreach.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        SmtpSettings.from_env({"OUTREACH_SMTP_TIMEOUT": value})
    assert SmtpSettings.from_env({"OUTREACH_SMTP_TIMEOUT": "2.5"}).timeout == 2.5
    assert SmtpSettings.from_env({}).timeout == 30.0
