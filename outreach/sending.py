"""Sending letters by e-mail, at most once; marking letters delivered another way.

Three separate pieces, as in mailmerge:

- :func:`build_message` turns a letter into an RFC 5322 message (stdlib
  :class:`email.message.EmailMessage`). Every header made from data is
  built, encoded and folded by :mod:`outreach.mailheaders`, never by the
  standard library (which, unpatched, turns an encoded CR/LF into a new
  header): control characters are refused and encoded words in names and
  subjects stay literal text, so header injection is impossible.
- :class:`SmtpTransport` holds one SMTP connection for a batch, reopens it when
  it drops, and tells permanent refusals from transient failures and from the
  one case where nobody can know whether the server kept the message.
- :class:`Sender` orchestrates a batch. A dry run is the default and lives
  here, so a dry run builds exactly the messages a real run would hand over.

The at-most-once protocol: before a message is handed to the server its
letter is marked ``sending`` with the message's Message-ID *in its own
committed transaction*; once the server has accepted it the letter is marked
``sent`` (committed again). A letter left in ``sending`` (the process died, or
the connection broke while the server was taking the message) is never sent
again blindly: :func:`in_doubt_letters` lists it, and the coordinator either
:func:`confirm_letters` (it did arrive) or :func:`resend_letters` (put it back
to ``approved`` with a new Message-ID).

Because of that protocol :class:`Sender` commits once per state change and so
takes a :class:`~outreach.db.Database`, not a session: it is the one place in
outreach where a command is many units of work on purpose.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.base64mime
import email.quoprimime
import functools
import os
import re
import shlex
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach import mailheaders
from outreach.activity import record_activity
from outreach.addresses import ascii_domain
from outreach.campaigns import get_campaign as campaign_by_slug
from outreach.csvcells import neutralise_formula
from outreach.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError
from outreach.models import (
    Activity,
    Campaign,
    Channel,
    Contact,
    Letter,
    LetterStatus,
    Organization,
    Response,
)
from outreach.safetext import text_problem
from outreach.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from outreach.db import Database

ENV_SMTP_HOST = "OUTREACH_SMTP_HOST"
ENV_SMTP_PORT = "OUTREACH_SMTP_PORT"
ENV_SMTP_SECURITY = "OUTREACH_SMTP_SECURITY"
ENV_SMTP_USER = "OUTREACH_SMTP_USER"
#: The SMTP password is read from here (or prompted for); it is never stored.
ENV_SMTP_PASSWORD = "OUTREACH_SMTP_PASSWORD"
#: Seconds to wait for the SMTP server at each step (connecting, each reply).
ENV_SMTP_TIMEOUT = "OUTREACH_SMTP_TIMEOUT"
ENV_MAIL_FROM = "OUTREACH_MAIL_FROM"
ENV_MAIL_REPLY_TO = "OUTREACH_MAIL_REPLY_TO"
ENV_MAIL_BCC = "OUTREACH_MAIL_BCC"

SECURITY_MODES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}

#: Channels a letter can be marked as delivered through by hand.
MANUAL_CHANNELS = (Channel.POST, Channel.FAX, Channel.HAND)


# --- settings ------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect. The password is held only in memory."""

    host: str = "localhost"
    port: int | None = None
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ConfigurationError(
                f"SMTP security {self.security!r} is not known: use ssl, starttls or none"
            )
        if not self.host or any(c in self.host for c in "\r\n /"):
            raise ConfigurationError(f"SMTP host {self.host!r} is not a host name")
        if not 0 < self.timeout < float("inf"):
            raise ConfigurationError(
                f"SMTP timeout {self.timeout!r}: give a number of seconds above zero"
            )

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    def describe(self) -> str:
        """A safe one-line description (never the password)."""
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.host}:{self.effective_port} ({self.security})"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> SmtpSettings:
        """Settings from ``OUTREACH_SMTP_*`` variables, with *overrides* (not None) on top."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "host": env.get(ENV_SMTP_HOST) or "localhost",
            "port": env.get(ENV_SMTP_PORT) or None,
            "security": env.get(ENV_SMTP_SECURITY) or "starttls",
            "user": env.get(ENV_SMTP_USER) or None,
            "password": env.get(ENV_SMTP_PASSWORD) or None,
            "timeout": env.get(ENV_SMTP_TIMEOUT) or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["port"] is not None:
            try:
                values["port"] = int(values["port"])
            except ValueError:
                raise ConfigurationError(f"SMTP port {values['port']!r} is not a number") from None
        if values["timeout"] is None:
            del values["timeout"]
        else:
            try:
                values["timeout"] = float(values["timeout"])
            except ValueError:
                raise ConfigurationError(
                    f"SMTP timeout {values['timeout']!r} ({ENV_SMTP_TIMEOUT}) is not a number "
                    "of seconds"
                ) from None
        return cls(**values)


@dataclass(frozen=True)
class MailIdentity:
    """Who the letters come from: From, Reply-To and the archive BCC."""

    from_address: str
    from_name: str | None = None
    reply_to: str | None = None
    #: The secretariat's own archive address: receives a blind copy of every letter.
    bcc: str | None = None

    def __post_init__(self) -> None:
        problems = []
        for label, value in (
            ("From address", self.from_address),
            ("From name", self.from_name),
            ("Reply-To", self.reply_to),
            ("BCC", self.bcc),
        ):
            if value is not None and _has_line_break(value):
                problems.append(f"{label}: contains a line break")
            elif value is not None and (problem := text_problem(value)) is not None:
                problems.append(f"{label}: {problem}")
        for label, value in (
            ("From address", self.from_address),
            ("Reply-To", self.reply_to),
            ("BCC", self.bcc),
        ):
            if value is not None and not _looks_like_address(value):
                problems.append(f"{label}: {value!r} is not an e-mail address")
        if problems:
            raise ValidationError("the sender identity is not usable", problems)

    @property
    def domain(self) -> str:
        """The From address's domain, in ASCII (for Message-IDs)."""
        return ascii_domain(self.from_address.rsplit("@", 1)[1])

    @classmethod
    def for_campaign(
        cls,
        campaign: Campaign,
        *,
        from_address: str | None = None,
        from_name: str | None = None,
        reply_to: str | None = None,
        bcc: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> MailIdentity:
        """Explicit values first, then the campaign's ``sender`` details, then
        ``OUTREACH_MAIL_FROM`` / ``_REPLY_TO`` / ``_BCC``."""
        env = os.environ if environ is None else environ
        details = campaign.sender or {}
        address = from_address or details.get("email") or env.get(ENV_MAIL_FROM)
        if not address:
            raise ConfigurationError(
                f"campaign {campaign.slug} has no sender address: give --from ADDRESS "
                f"or set {ENV_MAIL_FROM}"
            )
        return cls(
            from_address=address,
            from_name=from_name
            or details.get("name")
            or details.get("organization")
            or campaign.signatory,
            reply_to=reply_to or details.get("reply_to") or env.get(ENV_MAIL_REPLY_TO) or None,
            bcc=bcc or details.get("bcc") or env.get(ENV_MAIL_BCC) or None,
        )


@dataclass(frozen=True)
class Rate:
    """At most ``count`` messages every ``seconds``; sent evenly spaced."""

    count: int
    seconds: float

    @property
    def interval(self) -> float:
        return self.seconds / self.count

    def __str__(self) -> str:
        return f"{self.count} per {self.seconds:g} s"


_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_RATE = re.compile(
    r"^\s*(?P<count>\d+)\s*(?:/|per|a|every)\s*(?P<n>\d+(?:\.\d+)?)?\s*(?P<unit>[a-z]+)\s*$",
    re.IGNORECASE,
)


def parse_rate(text: str | None) -> Rate | None:
    """``"30/min"``, ``"50 per 5 min"``, ``"1/s"``, ``"200/hour"``; ``None``,
    ``""``, ``"0"`` or ``"unlimited"`` mean no limit."""
    if text is None or text.strip().lower() in ("", "0", "unlimited", "none", "max"):
        return None
    m = _RATE.match(text)
    unit = m and _UNITS.get(m["unit"].lower())
    if not m or not unit:
        raise ValidationError(
            f"rate {text!r} is not understood: write it like 30/min, 50 per 5 min or 1/s"
        )
    count = int(m["count"])
    seconds = float(m["n"] or 1) * unit
    if count <= 0 or seconds <= 0:
        raise ValidationError(f"rate {text!r}: the count and the period must be above zero")
    return Rate(count, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential back-off for transient failures."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number *attempt* (1-based)."""
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


# --- building messages ----------------------------------------------------------


class MessageError(ValueError):
    """The letter cannot become a safe e-mail (bad address, line break in a header)."""


def _has_line_break(value: str) -> bool:
    return any(c in value for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


#: ``<left@right>`` in printable ASCII (no space, no control character).
_MSGID = re.compile(r"<[!-;=?A-~]+@[!-;=?A-~]+>")
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\]+$")


def _looks_like_address(value: str) -> bool:
    return bool(_ADDRESS.match(value.strip()))


def _usable_message_id(value: str | None) -> str | None:
    """*value* if it can go into a header as it is (ASCII, one ``<id@domain>``)."""
    if value and len(value) <= 900 and _MSGID.fullmatch(value):
        return value
    return None


def _addr_spec(address: str, what: str) -> str:
    """*address* as it goes into a header: checked, its domain in ASCII."""
    if _has_line_break(address):
        raise MessageError(f"{what} contains a line break (refused: header injection)")
    address = address.strip()
    if not _looks_like_address(address):
        raise MessageError(f"{what} {address!r} is not an e-mail address")
    local, domain = address.rsplit("@", 1)
    if not local.isascii():
        raise MessageError(
            f"{what} {address!r}: addresses with non-ASCII characters before the @ "
            "cannot be sent; use the organization's ASCII address"
        )
    if not domain.isascii():
        try:
            address = f"{local}@{domain.encode('idna').decode('ascii')}"
        except UnicodeError:
            raise MessageError(f"{what} {address!r}: the domain is not valid") from None
    try:
        return mailheaders.addr_spec(address, what)
    except mailheaders.HeaderError as exc:
        raise MessageError(str(exc)) from None


@functools.lru_cache(maxsize=256)
def _mailbox(header: str, display_name: str | None, address: str, what: str) -> str:
    """The folded value of an address header, made by :mod:`outreach.mailheaders`
    (a display name is always literal text: encoded words in it are encoded again)."""
    try:
        return mailheaders.mailbox(header, display_name, _addr_spec(address, what), what)
    except mailheaders.HeaderError as exc:
        raise MessageError(str(exc)) from None


@dataclass(frozen=True)
class LetterMail:
    """What :func:`build_message` needs of a letter (a plain snapshot, no ORM)."""

    letter_id: int
    organization_id: int
    acronym: str
    contact_name: str
    to_address: str | None
    subject: str
    body: str
    language: str
    round: int = 0
    #: Message-ID of the letter this one follows up (threads the reminder).
    in_reply_to: str | None = None
    message_id: str | None = None


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, but each header class is made once
    (the stdlib builds a new class for every header it parses)."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


#: ``email.policy.SMTP`` (CRLF line ends, RFC 5322), with the registry above;
#: the headers made from data (:mod:`outreach.mailheaders`) are written as they are.
LETTER_POLICY = SMTP.clone(header_factory=_HeaderClasses(), refold_source="none")


@functools.lru_cache(maxsize=512)
def _header(name: str, value: str) -> Any:
    """A parsed header, cached: the same From, Date or Content-Type parsed once.

    Header objects are immutable; ``EmailMessage`` takes one as it is when its
    name matches, which saves most of the time spent building a message.
    """
    return LETTER_POLICY.header_factory(name, value)


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")


def _encode_body(text: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, payload) for a text/plain UTF-8 body:
    7bit when it is plain ASCII with short lines, else the shorter of
    quoted-printable (Latin scripts) and base64 (Arabic, Cyrillic, ...)."""
    lines = text.splitlines()
    if text.isascii() and all(len(line) <= 78 for line in lines):
        return "7bit", "\n".join(lines) + "\n"
    data = text.encode("utf-8")
    qp = email.quoprimime.body_encode(data.decode("latin-1"), maxlinelen=76, eol="\n")
    b64 = email.base64mime.body_encode(data, maxlinelen=76, eol="\n")
    if len(qp) <= len(b64):
        return "quoted-printable", qp if qp.endswith("\n") else qp + "\n"
    return "base64", b64


def plain_text(body: str) -> str:
    """The letter's body as the text/plain part: its Markdown emphasis
    markers removed (when the letters renderer is installed)."""
    try:
        from outreach.render.markdown import to_text
    except ImportError:  # pragma: no cover - the renderer ships with outreach
        text = body
    else:
        text = to_text(body)
    return text if text.endswith("\n") else text + "\n"


def build_message(
    mail: LetterMail,
    identity: MailIdentity,
    *,
    message_id: str,
    date: dt.datetime | None = None,
    html: bool = False,
) -> EmailMessage:
    """The RFC 5322 message for one letter: text/plain UTF-8, or with *html*
    multipart/alternative with the same letter as HTML.

    Raises :class:`MessageError` for anything that would make an unsafe or
    undeliverable message; never folds a line break into a header.
    """
    if not mail.to_address:
        raise MessageError("the letter has no e-mail address")
    if _has_line_break(mail.subject):
        raise MessageError("the subject contains a line break (refused: header injection)")
    if not mail.subject.strip():
        raise MessageError("the subject is empty")
    if _usable_message_id(message_id) is None:
        raise MessageError(f"{message_id!r} is not a Message-ID")
    # Every header made from data is built and folded by outreach.mailheaders
    # and stored as it is: the standard library never parses or re-folds it.
    from_ = _mailbox("From", identity.from_name, identity.from_address, "the From address")
    to = _mailbox("To", mail.contact_name, mail.to_address, "the recipient address")
    reply_to = (
        _mailbox("Reply-To", None, identity.reply_to, "the Reply-To address")
        if identity.reply_to
        else None
    )
    try:
        subject = mailheaders.unstructured("Subject", mail.subject, "the subject")
    except mailheaders.HeaderError as exc:
        raise MessageError(str(exc)) from None
    msg = EmailMessage(policy=LETTER_POLICY)
    mailheaders.put(msg, "From", from_)
    mailheaders.put(msg, "To", to)
    if reply_to:
        mailheaders.put(msg, "Reply-To", reply_to)
    mailheaders.put(msg, "Subject", subject)
    msg["Date"] = _header("Date", format_datetime((date or utcnow()).replace(microsecond=0)))
    mailheaders.put(msg, "Message-ID", message_id)
    if _usable_message_id(mail.in_reply_to):
        mailheaders.put(msg, "In-Reply-To", mail.in_reply_to)
        mailheaders.put(msg, "References", mail.in_reply_to)
    language = mail.language if mail.language and _LANGUAGE_TAG.fullmatch(mail.language) else None
    if html:
        msg.set_content(plain_text(mail.body), subtype="plain", charset="utf-8")
        msg.add_alternative(
            html_document(mail.body, language=language, title=mail.subject.strip()),
            subtype="html",
            charset="utf-8",
        )
    else:
        msg["MIME-Version"] = _header("MIME-Version", "1.0")
        msg["Content-Type"] = _header("Content-Type", 'text/plain; charset="utf-8"')
        cte, payload = _encode_body(plain_text(mail.body))
        msg["Content-Transfer-Encoding"] = _header("Content-Transfer-Encoding", cte)
        msg.set_payload(payload)
    if language:
        msg["Content-Language"] = _header("Content-Language", language)
    return msg


#: Languages written right to left (the HTML part says so).
RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi"})


def html_document(body: str, *, language: str | None, title: str) -> str:
    """The letter as a small HTML document: paragraphs kept, emphasis
    rendered, and ``dir="rtl"`` for Arabic and other right-to-left scripts."""
    from html import escape

    try:
        from outreach.render.html import body_html
    except ImportError:  # pragma: no cover - the renderer ships with outreach
        inner = "\n".join(
            "<p>" + escape(p).replace("\n", "<br>\n") + "</p>" for p in body.split("\n\n")
        )
    else:
        inner = body_html(body)
    lang = (language or "").split("-")[0].lower()
    direction = "rtl" if lang in RTL_LANGUAGES else "ltr"
    lang_attr = f' lang="{escape(language, quote=True)}"' if language else ""
    return (
        f'<!DOCTYPE html>\n<html{lang_attr} dir="{direction}">\n<head>\n'
        f'<meta charset="utf-8">\n<title>{escape(title)}</title>\n</head>\n'
        f"<body>\n{inner}\n</body>\n</html>\n"
    )


def envelope_address(address: str) -> str:
    """*address* with its domain in ASCII, as SMTP's MAIL FROM and RCPT TO need."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{ascii_domain(domain)}" if local else address.strip()


def envelope_recipients(msg: EmailMessage, identity: MailIdentity) -> list[str]:
    """RCPT TO addresses: the recipient, then the archive BCC (never a header)."""
    to = msg["To"].addresses[0].addr_spec
    out = [to]
    bcc = envelope_address(identity.bcc) if identity.bcc else None
    if bcc and bcc.casefold() != to.casefold():
        out.append(bcc)
    return out


# --- the SMTP transport ------------------------------------------------------------


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): do not retry."""


class TransientFailure(Exception):
    """Nothing was delivered and it may work later (4xx, connection lost before DATA)."""


class ConnectionLost(TransientFailure):
    """The connection had dropped before the message was sent: reopen and retry."""


class InDoubt(Exception):
    """The connection broke while the server was taking the message: it may or
    may not have been delivered."""


class FatalTransportError(Exception):
    """The batch cannot go on (cannot connect, login refused)."""


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


_REPLY_LINE = re.compile(rb"([2-5][0-5][0-9])(?:([ -])(.*))?\r?\n", re.DOTALL)


class _StrictReplies:
    """``getreply`` for :class:`smtplib.SMTP`, strict about what a reply is.

    smtplib reads ``"25"``, ``"2500 OK"``, ``"999 x"`` or a reply cut off
    before its line end as if they were real codes, and turns an overlong line
    into a made-up ``500``. Here only RFC 5321 replies count (three digits
    ``[2-5][0-5][0-9]``, then a space, a hyphen or the line end; every line of
    a multiline reply with the same code); anything else comes back as code
    ``-1``, and a reply the server did not finish raises
    :class:`smtplib.SMTPServerDisconnected`.
    """

    file: Any
    sock: Any

    def getreply(self) -> tuple[int, bytes]:
        lines: list[bytes] = []
        code: bytes | None = None
        if self.file is None:
            self.file = self.sock.makefile("rb")
        while True:
            try:
                line = self.file.readline(smtplib._MAXLINE + 1)
            except OSError as exc:
                self.close()  # type: ignore[attr-defined]
                raise smtplib.SMTPServerDisconnected(
                    f"Connection unexpectedly closed: {exc}"
                ) from None
            if len(line) > smtplib._MAXLINE:
                lines.append(line[:80])
                return -1, b"\n".join(lines)
            if not line.endswith(b"\n"):
                self.close()  # type: ignore[attr-defined]
                raise smtplib.SMTPServerDisconnected(
                    "Connection unexpectedly closed"
                    + (f" in the middle of a reply ({line[:80]!r})" if line else "")
                )
            m = _REPLY_LINE.fullmatch(line)
            if m is None or (code is not None and m[1] != code):
                lines.append(line.strip())
                return -1, b"\n".join(lines)
            code = m[1]
            lines.append((m[3] or b"").strip(b" \t\r\n"))
            if m[2] != b"-":
                return int(code), b"\n".join(lines)


class _SMTP(_StrictReplies, smtplib.SMTP):
    pass


class _SMTP_SSL(_StrictReplies, smtplib.SMTP_SSL):
    pass


def _proper(code: int) -> bool:
    """A real SMTP reply code (what :class:`_StrictReplies` returns unless -1)."""
    return 200 <= code <= 559


class SmtpTransport:
    """One SMTP connection, reused for a batch and reopened when it drops."""

    def __init__(self, settings: SmtpSettings, *, local_hostname: str | None = None) -> None:
        self.settings = settings
        self.local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        self.connections_opened = 0

    # -- connection ------------------------------------------------------------

    def open(self) -> None:
        if self._smtp is not None:
            return
        s = self.settings
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = _SMTP_SSL(
                    s.host,
                    s.effective_port,
                    local_hostname=self.local_hostname,
                    timeout=s.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = _SMTP(
                    s.host, s.effective_port, local_hostname=self.local_hostname, timeout=s.timeout
                )
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise FatalTransportError(
                        f"{s.describe()} does not offer STARTTLS: use --smtp-security ssl or "
                        "none (only on a trusted network)"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user:
                self._login(smtp)
        except smtplib.SMTPAuthenticationError as exc:
            raise FatalTransportError(
                f"{s.describe()} refused the login: {_reply(exc.smtp_code, exc.smtp_error)}; "
                f"check the user and {ENV_SMTP_PASSWORD}"
            ) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise TransientFailure(f"cannot connect to {s.describe()}: {exc}") from None
        self._smtp = smtp
        self.connections_opened += 1

    def _login(self, smtp: smtplib.SMTP) -> None:
        """Log in with one mechanism (PLAIN, else LOGIN, else CRAM-MD5): a
        refused password is not tried again through the others."""
        s = self.settings
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        for mechanism in ("PLAIN", "LOGIN", "CRAM-MD5"):
            if mechanism in offered:
                break
        else:
            smtp.close()
            raise FatalTransportError(
                f"{s.describe()} offers no login this program knows "
                f"({' '.join(offered) or 'none'}); remove --smtp-user if it needs none"
            )
        smtp.user, smtp.password = s.user or "", s.password or ""
        method = getattr(smtp, "auth_" + mechanism.lower().replace("-", "_"))
        smtp.auth(mechanism, method, initial_response_ok=mechanism != "CRAM-MD5")

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one message -------------------------------------------------------------

    def send(self, msg: EmailMessage, from_address: str, recipients: Sequence[str]) -> list[str]:
        """Hand *msg* over. Returns warnings (e.g. the archive BCC refused).

        Raises :class:`PermanentFailure`, :class:`TransientFailure` (nothing was
        delivered) or :class:`InDoubt`. Nothing can be delivered before the
        server has the whole message, ended by the final dot, so:

        - before the body goes out (MAIL FROM, RCPT TO, the DATA command): a
          4xx reply is transient, a 5xx permanent; anything else (a reply that
          is not SMTP, an unexpected code, a dropped connection, a timeout, a
          TLS error) drops the connection, which is never used again (what the
          server would make of the next command is unknown), and the letter is
          retried on a new one: :class:`ConnectionLost`;
        - once the body is on the wire: a 2xx reply means sent, a 4xx or 5xx
          reply transient or permanent; anything else (not SMTP, a 3xx, the
          connection dropped, no reply in time) may mean the server kept it:
          :class:`InDoubt`, never retried.
        """
        self.open()
        smtp = self._smtp
        assert smtp is not None
        data = msg.as_bytes(policy=msg.policy if msg.policy.linesep == "\r\n" else SMTP)
        if not from_address.isascii() or not all(r.isascii() for r in recipients):
            raise PermanentFailure("non-ASCII envelope addresses are not supported")
        warnings: list[str] = []
        try:
            code, resp = smtp.mail(from_address, [])
            if code != 250:
                self._refused(code, resp, "the server refused the sender", "MAIL FROM")
            for i, rcpt in enumerate(recipients):
                code, resp = smtp.rcpt(rcpt)
                if code in (250, 251):
                    continue
                if i > 0 and _proper(code) and code >= 400:
                    warnings.append(f"{rcpt} refused: {_reply(code, resp)}")
                    continue
                self._refused(code, resp, f"the server refused {rcpt}", "RCPT TO")
            # smtplib's data() in its two steps: the end of the message is
            # never sent unless the server has said 354.
            smtp.putcmd("data")
            code, resp = smtp.getreply()
            if code != 354:
                self._refused(code, resp, "the server refused the message", "DATA")
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise ConnectionLost(f"connection lost before the message was sent: {exc}") from None
        body = re.sub(rb"(?m)^\.", b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        try:
            smtp.send(body + b".\r\n")
            code, resp = smtp.getreply()
        except Exception as exc:
            self._drop()
            raise InDoubt(
                f"connection lost while the server was taking the message: {exc}"
            ) from None
        if 200 <= code < 300:
            return warnings
        if _proper(code) and code >= 400:
            self._reset()
            self._raise_for(code, resp, "the server refused the message")
        self._drop()
        raise InDoubt(
            f"the server's reply to the message is not an SMTP reply ({_reply(code, resp)}): "
            "it may have kept the message"
        )

    def _refused(self, code: int, resp: bytes | str, what: str, command: str) -> None:
        """Raise for a reply other than the one wanted, before the message went out."""
        if _proper(code) and code >= 400:
            self._reset()
            self._raise_for(code, resp, what)
        self._drop()
        raise ConnectionLost(
            f"the server's reply to {command} is not an SMTP reply ({_reply(code, resp)}); "
            "the message was not sent"
        )

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    @staticmethod
    def _raise_for(code: int, resp: bytes | str, what: str) -> None:
        reply = _reply(code, resp)
        if 400 <= code < 500:
            raise TransientFailure(f"{what}: {reply}")
        raise PermanentFailure(f"{what}: {reply}")


# --- the batch ---------------------------------------------------------------------


#: Outcome statuses in a :class:`SendReport`.
SENT = "sent"
FAILED = "failed"
IN_DOUBT = "in-doubt"
WOULD_SEND = "would-send"
WOULD_FAIL = "would-fail"


@dataclass
class LetterOutcome:
    letter_id: int
    acronym: str
    contact_name: str
    to_address: str | None
    subject: str
    status: str
    message_id: str | None = None
    error: str | None = None
    attempts: int = 0
    warnings: list[str] = field(default_factory=list)
    #: The message as built (dry runs keep it so it can be shown in full).
    message: EmailMessage | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PendingLetter:
    """A letter listed but not sent by this run, and why."""

    letter_id: int
    acronym: str
    contact_name: str
    to_address: str | None
    status: str
    message_id: str | None
    note: str


@dataclass
class SendReport:
    campaign: str
    dry_run: bool
    outcomes: list[LetterOutcome] = field(default_factory=list)
    #: Letters left in ``sending`` by an earlier run, or whose server reply
    #: was lost: confirm or resend them.
    in_doubt: list[PendingLetter] = field(default_factory=list)
    #: Letters in ``sending`` that another live run is handing over right now.
    being_sent: list[PendingLetter] = field(default_factory=list)
    #: Letters still in ``draft``: approve them first.
    awaiting_approval: list[PendingLetter] = field(default_factory=list)
    #: Letters that failed in an earlier run (``--retry-failed`` includes them).
    failed_before: list[PendingLetter] = field(default_factory=list)
    #: Approved letters not sent: the contact asked not to be contacted.
    skipped: list[PendingLetter] = field(default_factory=list)
    #: Approved reminders not sent: the organization has answered since they
    #: were made (``letters cancel`` them, or name them with ``--letter``).
    answered: list[PendingLetter] = field(default_factory=list)
    #: Approved letters not sent: another letter of the same round goes, or
    #: went, to the same organization through another contact, and the
    #: campaign does not name this one (``campaigns add-recipients --contact``).
    second_of_round: list[PendingLetter] = field(default_factory=list)
    #: Approved letters left for a later run by ``--limit``.
    remaining: int = 0
    #: Approved letters that go by post, fax or hand (``letters mark-sent``).
    other_channels: int = 0
    #: Why the batch stopped early, if it did.
    aborted: str | None = None
    elapsed: float = 0.0
    connections: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failures(self) -> list[LetterOutcome]:
        return [o for o in self.outcomes if o.status in (FAILED, IN_DOUBT, WOULD_FAIL)]

    @property
    def ok(self) -> bool:
        return not self.failures and self.aborted is None

    def write_failures_csv(self, path: str | os.PathLike[str]) -> int:
        """Write the failures as CSV; returns how many rows were written."""
        rows = self.failures
        from outreach.files import atomic_output

        with atomic_output(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["letter_id", "organization", "contact", "to", "status", "error"])
            for o in rows:
                writer.writerow(
                    [
                        o.letter_id,
                        neutralise_formula(o.acronym),
                        neutralise_formula(o.contact_name),
                        neutralise_formula(o.to_address or ""),
                        o.status,
                        neutralise_formula(o.error or ""),
                    ]
                )
        return len(rows)


def _letter_rows(session: Session, where: Iterable[Any]) -> list[sa.Row]:
    original = sa.orm.aliased(Letter)
    stmt = (
        sa.select(
            Letter.id,
            Letter.organization_id,
            Letter.status,
            Letter.subject,
            Letter.body,
            Letter.language,
            Letter.round,
            Letter.to_address,
            Letter.message_id,
            Letter.channel,
            Letter.error,
            Organization.acronym,
            Contact.name.label("contact_name"),
            Contact.do_not_contact,
            original.message_id.label("original_message_id"),
        )
        .join(Organization, Letter.organization_id == Organization.id)
        .join(Contact, Letter.contact_id == Contact.id)
        .outerjoin(original, Letter.followup_of_id == original.id)
        .where(*where)
        .order_by(Letter.round, Letter.id)
    )
    return list(session.execute(stmt))


def _pending(row: sa.Row, note: str) -> PendingLetter:
    return PendingLetter(
        letter_id=row.id,
        acronym=row.acronym,
        contact_name=row.contact_name,
        to_address=row.to_address,
        status=row.status.value,
        message_id=row.message_id,
        note=note,
    )


def in_doubt_letters(session: Session, *, campaign_id: int | None = None) -> list[PendingLetter]:
    """Letters left in ``sending``: the server may or may not have them."""
    where: list[Any] = [Letter.status == LetterStatus.SENDING]
    if campaign_id is not None:
        where.append(Letter.campaign_id == campaign_id)
    rows = _letter_rows(session, where)
    notes = _sending_notes(session, rows)
    return [_pending(r, notes[r.id][1]) for r in rows]


# --- who is sending a letter right now ---------------------------------------------

#: On PostgreSQL the run sending a letter holds the advisory lock
#: ``(PG_SENDING_LOCK_NS, letter id)`` on its connection from before the
#: letter's ``sending`` mark until its outcome is committed (the two-key form:
#: apart from :data:`outreach.db.PG_WRITE_LOCK_KEY`). The lock goes with the
#: connection, so a run that dies, on whatever machine, holds none.
PG_SENDING_LOCK_NS = 0x6F757473

_PG_LOCKS_HELD = sa.text(
    "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND classid = :ns AND objsubid = 2"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _process_start(pid: int) -> int | None:
    """When process *pid* started (clock ticks since boot; Linux), to tell it
    from a later process given the same number."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


#: The runs (:meth:`Sender.send_campaign` calls) going on in this process.
_RUNNING: set[str] = set()


def this_process_claim() -> dict[str, Any]:
    """What the ``sending`` mark records (in its activity entry) of the run
    that made it: this computer, this process and when it started, and the
    run itself (a process may make several, one after another)."""
    import socket
    import uuid

    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "process_start": _process_start(pid),
        "run": uuid.uuid4().hex,
    }


def _claim_alive(claim: dict[str, Any]) -> bool | None:
    """Whether the process that made *claim* is still running: ``None`` when
    it ran on another computer (only PostgreSQL's locks can tell then)."""
    import socket

    if claim.get("host") != socket.gethostname() or not isinstance(claim.get("pid"), int):
        return None
    pid = claim["pid"]
    if pid == os.getpid():
        return claim.get("run") in _RUNNING
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return None
    started = claim.get("process_start")
    return started is None or _process_start(pid) in (None, started)


def _describe_claim(actor: str | None, at: Any, claim: dict[str, Any]) -> str:
    when = at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, dt.datetime) else "?"
    return (
        f"`letters send` by {actor or '?'} on {claim.get('host') or '?'} "
        f"(pid {claim.get('pid') or '?'}), letter taken {when}"
    )


def _one_letter_per_round(
    session: Session, campaign: Campaign, todo: list[sa.Row]
) -> tuple[list[sa.Row], list[PendingLetter]]:
    """(the letters of *todo* that may go, those held back): an organization
    gets one letter of each round (the letter, reminder 1, ...), through the
    contact it is written to, unless the campaign names another contact of
    it (``campaigns add-recipients --contact``): that one's letter may go as
    well. Letter generation keeps one current letter per organization and
    round; this is the net under it, for letters made otherwise (an earlier
    version, organizations merged)."""
    if not todo:
        return todo, []
    from outreach.models import CampaignRecipient

    contact_of = dict(
        session.execute(
            sa.select(Letter.id, Letter.contact_id).where(Letter.id.in_([r.id for r in todo]))
        ).all()
    )
    # What went, or may have gone (in doubt), by any channel.
    went: dict[tuple[int, int], dict[int, tuple[int, LetterStatus]]] = {}
    for org_id, round_, contact_id, letter_id, status in session.execute(
        sa.select(
            Letter.organization_id, Letter.round, Letter.contact_id, Letter.id, Letter.status
        )
        .where(
            Letter.campaign_id == campaign.id,
            Letter.status.in_([LetterStatus.SENT, LetterStatus.SENDING]),
        )
        .order_by(Letter.id)
    ):
        went.setdefault((org_id, round_), {}).setdefault(contact_id, (letter_id, status))
    named = dict(
        session.execute(
            sa.select(CampaignRecipient.organization_id, CampaignRecipient.contact_id).where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.contact_id.is_not(None),
            )
        ).all()
    )
    groups: dict[tuple[int, int], list[sa.Row]] = {}
    for row in todo:
        groups.setdefault((row.organization_id, row.round), []).append(row)
    held: dict[int, str] = {}
    for (org_id, round_), rows in groups.items():
        what = "the letter" if round_ == 0 else f"reminder {round_}"
        for row in rows:
            contact_id = contact_of[row.id]
            if named.get(org_id) == contact_id:
                continue  # the campaign names this contact: it is written to
            before = sorted(v for c, v in went.get((org_id, round_), {}).items() if c != contact_id)
            rivals = [r.id for r in rows if r.id != row.id]
            name_it = (
                f"`outreach campaigns add-recipients {campaign.slug} {shlex.quote(row.acronym)} "
                f"--contact {contact_id}` to send this one too, or `outreach letters cancel "
                f"{row.id}`"
            )
            if before:
                got = (
                    "already got"
                    if all(status == LetterStatus.SENT for _i, status in before)
                    else "may already have got"
                )
                held[row.id] = (
                    f"{row.acronym} {got} {what} (letter "
                    f"{', '.join(str(i) for i, _s in before)}) through another contact: {name_it}"
                )
            elif rivals:
                held[row.id] = (
                    f"{what} to {row.acronym} is also waiting to go to another contact (letter "
                    f"{', '.join(map(str, rivals))}): `outreach letters generate` keeps the one "
                    f"to its current contact; or {name_it}"
                )
    if not held:
        return todo, []
    return (
        [row for row in todo if row.id not in held],
        [_pending(row, held[row.id]) for row in todo if row.id in held],
    )


def _sending_notes(session: Session, rows: Sequence[sa.Row]) -> dict[int, tuple[bool, str]]:
    """For letters in ``sending``: (being sent right now by a live run, note).

    A letter is in ``sending`` while a run hands it to the server, and stays
    so when that run died meanwhile or the server's answer was lost. The
    ``sending`` mark's activity entry says which process took it; on
    PostgreSQL the advisory lock that process holds while it is alive settles
    the question on any machine, on SQLite the process is looked up on this
    computer.
    """
    if not rows:
        return {}
    ids = [row.id for row in rows]
    postgres = session.get_bind().dialect.name == "postgresql"
    claims: dict[int, tuple[str | None, Any, dict[str, Any]]] = {}
    for entity_id, actor, at, changes in session.execute(
        sa.select(Activity.entity_id, Activity.actor, Activity.at, Activity.changes)
        .where(
            Activity.entity == "letter",
            Activity.action == "send",
            Activity.entity_id.in_(ids),
        )
        .order_by(Activity.id)
    ):
        if isinstance(changes, dict) and isinstance(changes.get("claim"), dict):
            claims[entity_id] = (actor, at, changes["claim"])
    # First who is alive, then the letters read again: one not in a live
    # run's hands then and still in ``sending`` now is in no live run's hands
    # (the lock is taken before the mark and let go after the outcome is
    # committed; a process that has gone changes nothing any more).
    alive: dict[int, bool | None] = {}
    if postgres:
        held = {int(i) for i in session.scalars(_PG_LOCKS_HELD, {"ns": PG_SENDING_LOCK_NS})}
        alive = {i: i in held for i in ids}
    else:
        alive = {i: _claim_alive(claims[i][2]) if i in claims else False for i in ids}
    current = _fresh_states(session, ids)
    out: dict[int, tuple[bool, str]] = {}
    for row in rows:
        actor, at, claim = claims.get(row.id, (None, None, {}))
        who = _describe_claim(actor, at, claim) if claim else None
        now = current.get(row.id, (row.status, row.message_id))
        if row.error and now == (LetterStatus.SENDING, row.message_id):
            # Noted by the run itself: the server's answer was lost.
            out[row.id] = (False, f"in doubt: {row.error}")
        elif alive[row.id] or now != (LetterStatus.SENDING, row.message_id):
            out[row.id] = (
                True,
                f"being sent right now by another run ({who or 'another `letters send`'}); "
                "not sent by this one",
            )
        elif alive[row.id] is None:
            out[row.id] = (
                False,
                f"may still be in the hands of the {who}, which ran on another computer: "
                "if that run is still going, wait for it; otherwise check, then "
                "`letters confirm` or `letters resend`",
            )
        else:
            out[row.id] = (
                False,
                "left by a run that stopped"
                + (f" ({who})" if who else "")
                + ": may have been sent; check, then `letters confirm` or `letters resend`",
            )
    return out


def _fresh_states(session: Session, ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    """(status, Message-ID) of letters *ids* as committed now, read outside the
    session's transaction (whose snapshot may be older)."""
    bind = session.get_bind().engine
    if bind.dialect.name == "sqlite" and (bind.url.database or ":memory:") == ":memory:":
        return {}  # one connection only: the session's view is the current one
    stmt = sa.select(Letter.id, Letter.status, Letter.message_id).where(Letter.id.in_(list(ids)))
    with bind.connect() as conn:
        return {r.id: (r.status, r.message_id) for r in conn.execute(stmt)}


class Sender:
    """Sends a campaign's approved e-mail letters, at most once each.

    ``dry_run=True`` (the default) builds every message exactly as a real run
    would, reports them, and neither connects nor writes anything.
    """

    def __init__(
        self,
        db: Database,
        identity: MailIdentity,
        *,
        transport: SmtpTransport | None = None,
        dry_run: bool = True,
        rate: Rate | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        progress: Callable[[LetterOutcome], None] | None = None,
        html: bool = False,
    ) -> None:
        if not dry_run and transport is None:
            raise ConfigurationError("a real send needs an SMTP transport")
        self.db = db
        self.identity = identity
        self.transport = transport
        self.dry_run = dry_run
        self.rate = rate
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.progress = progress
        self.html = html
        self._last_send: float | None = None
        self._pending: tuple[sa.Row, dt.datetime] | None = None
        self._claim = this_process_claim()
        #: Letters whose PostgreSQL sending lock this run holds.
        self._locked: set[int] = set()

    # -- planning -------------------------------------------------------------

    def plan(
        self,
        session: Session,
        campaign: Campaign,
        *,
        limit: int | None = None,
        retry_failed: bool = False,
        letter_ids: Sequence[int] | None = None,
    ) -> tuple[list[sa.Row], SendReport]:
        report = SendReport(campaign=campaign.slug, dry_run=self.dry_run)
        where: list[Any] = [
            Letter.campaign_id == campaign.id,
            Letter.channel == Channel.EMAIL,
            Letter.superseded_at.is_(None),
        ]
        if letter_ids:
            where.append(Letter.id.in_(list(letter_ids)))
        rows = _letter_rows(session, where)
        answered: set[int] = set()
        if not letter_ids and any(row.round > 0 for row in rows):
            answered = set(
                session.scalars(
                    sa.select(Response.organization_id).where(Response.campaign_id == campaign.id)
                )
            )
        todo = []
        sending = _sending_notes(
            session, [row for row in rows if row.status == LetterStatus.SENDING]
        )
        for row in rows:
            if row.status == LetterStatus.SENDING:
                live, note = sending[row.id]
                (report.being_sent if live else report.in_doubt).append(_pending(row, note))
            elif row.status == LetterStatus.DRAFT:
                report.awaiting_approval.append(_pending(row, "draft: approve it first"))
            elif row.status == LetterStatus.FAILED and not retry_failed:
                report.failed_before.append(_pending(row, "failed before: --retry-failed"))
            elif row.status in (LetterStatus.APPROVED, LetterStatus.FAILED):
                if row.do_not_contact:
                    report.skipped.append(_pending(row, "the contact asked not to be contacted"))
                elif row.round > 0 and row.organization_id in answered:
                    # A reminder to an organization that has answered since.
                    report.answered.append(_pending(row, "answered since: `letters cancel` it"))
                else:
                    todo.append(row)
        todo, report.second_of_round = _one_letter_per_round(session, campaign, todo)
        if letter_ids:
            missing = set(letter_ids) - {r.id for r in rows}
            if missing:
                raise NotFoundError(
                    f"no e-mail letter {', '.join(map(str, sorted(missing)))} in campaign "
                    f"{campaign.slug}"
                )
        if not letter_ids:
            report.other_channels = (
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Letter)
                    .where(
                        Letter.campaign_id == campaign.id,
                        Letter.channel != Channel.EMAIL,
                        Letter.status == LetterStatus.APPROVED,
                        Letter.superseded_at.is_(None),
                    )
                )
                or 0
            )
        if limit is not None and len(todo) > limit:
            report.remaining = len(todo) - limit
            todo = todo[:limit]
        return todo, report

    # -- the batch ----------------------------------------------------------------

    def send_campaign(
        self,
        campaign_slug: str,
        *,
        limit: int | None = None,
        retry_failed: bool = False,
        letter_ids: Sequence[int] | None = None,
    ) -> SendReport:
        started = time.monotonic()
        self._claim = this_process_claim()
        with self.db.session() as session:
            campaign = campaign_by_slug(session, campaign_slug)
            todo, report = self.plan(
                session, campaign, limit=limit, retry_failed=retry_failed, letter_ids=letter_ids
            )
        if self.dry_run:
            for row in todo:
                self._dry_one(row, report)
        elif todo:
            self.db.check_schema()
            _RUNNING.add(self._claim["run"])
            with self.db.engine.connect() as conn:
                # Each state change ("sending" before the hand-over, "sent"
                # after) is committed durably before the next step, so that it
                # survives this process dying and also a crash of the machine
                # or the database server: a letter is never sent twice.
                if self.db.is_sqlite:
                    # Outside any transaction: straight on the driver's connection.
                    conn.connection.driver_connection.execute("PRAGMA synchronous = FULL")
                    conn = conn.execution_options(outreach_begin="IMMEDIATE")
                try:
                    for row in todo:
                        try:
                            self._send_one(conn, row, report)
                        except FatalTransportError as exc:
                            report.aborted = str(exc)
                            break
                finally:
                    try:
                        self._flush(conn)
                        self._unlock(conn, *sorted(self._locked))
                    finally:
                        assert self.transport is not None
                        report.connections = self.transport.connections_opened
                        _RUNNING.discard(self._claim["run"])
                        self.transport.close()
                        if self.db.is_sqlite:
                            conn.rollback()
                            conn.connection.driver_connection.execute("PRAGMA synchronous = NORMAL")
        report.elapsed = time.monotonic() - started
        return report

    def _mail(self, row: sa.Row) -> LetterMail:
        return LetterMail(
            letter_id=row.id,
            organization_id=row.organization_id,
            acronym=row.acronym,
            contact_name=row.contact_name,
            to_address=row.to_address,
            subject=row.subject,
            body=row.body,
            language=row.language,
            round=row.round,
            in_reply_to=row.original_message_id,
            message_id=row.message_id,
        )

    def _outcome(self, row: sa.Row, status: str, **kw: Any) -> LetterOutcome:
        return LetterOutcome(
            letter_id=row.id,
            acronym=row.acronym,
            contact_name=row.contact_name,
            to_address=row.to_address,
            subject=row.subject,
            status=status,
            **kw,
        )

    def _finish(self, report: SendReport, outcome: LetterOutcome) -> None:
        report.outcomes.append(outcome)
        if self.progress is not None:
            self.progress(outcome)

    def _message_id(self, mail: LetterMail) -> str:
        """The letter's own Message-ID, or a new one if it has none it can use
        (one made from a non-ASCII domain cannot go into a header)."""
        return _usable_message_id(mail.message_id) or make_msgid(domain=self.identity.domain)

    def _dry_one(self, row: sa.Row, report: SendReport) -> None:
        mail = self._mail(row)
        message_id = self._message_id(mail)
        try:
            msg = build_message(mail, self.identity, message_id=message_id, html=self.html)
        except MessageError as exc:
            self._finish(report, self._outcome(row, WOULD_FAIL, error=str(exc)))
            return
        self._finish(report, self._outcome(row, WOULD_SEND, message_id=message_id, message=msg))

    def _pace(self, conn: sa.Connection) -> None:
        if self.rate is None:
            return
        now = self.clock()
        if self._last_send is not None:
            wait = self._last_send + self.rate.interval - now
            if wait > 0:
                self._flush(conn)
                self.sleep(wait)
                now = self.clock()
        self._last_send = now

    def _flush(self, conn: sa.Connection) -> None:
        """Commit the ``sent`` mark still held for the previous letter."""
        if self._pending is not None:
            row, sent_at = self._pending
            self._pending = None
            _mark(conn, self.db.actor, row, LetterStatus.SENT, sent_at=sent_at)
            self._unlock(conn, row.id)

    def _lock(self, conn: sa.Connection, letter_id: int) -> bool:
        """Take the letter's sending lock (PostgreSQL), without waiting: False
        when another live run holds it."""
        if self.db.is_sqlite or letter_id in self._locked:
            return True
        got = conn.execute(
            sa.text("SELECT pg_try_advisory_lock(:ns, :id)"),
            {"ns": PG_SENDING_LOCK_NS, "id": letter_id},
        ).scalar()
        if got:
            self._locked.add(letter_id)
        return bool(got)

    def _unlock(self, conn: sa.Connection, *letter_ids: int) -> None:
        """Let go of sending locks, once the letters' outcome is committed."""
        for letter_id in letter_ids:
            if letter_id in self._locked:
                self._locked.discard(letter_id)
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:ns, :id)"),
                    {"ns": PG_SENDING_LOCK_NS, "id": letter_id},
                )
                conn.commit()

    def _sleep(self, conn: sa.Connection, seconds: float) -> None:
        self._flush(conn)
        self.sleep(seconds)

    def _send_one(self, conn: sa.Connection, row: sa.Row, report: SendReport) -> None:
        assert self.transport is not None
        mail = self._mail(row)
        message_id = self._message_id(mail)
        try:
            msg = build_message(mail, self.identity, message_id=message_id, html=self.html)
        except MessageError as exc:
            self._flush(conn)
            # Only a letter still waiting: one another run has taken meanwhile
            # (it is being sent, or was) keeps its state.
            if _mark(
                conn,
                self.db.actor,
                row,
                LetterStatus.FAILED,
                error=str(exc),
                expect=(LetterStatus.APPROVED, LetterStatus.FAILED),
            ):
                self._finish(report, self._outcome(row, FAILED, error=str(exc)))
            return
        recipients = envelope_recipients(msg, self.identity)
        attempt = 0
        while True:
            attempt += 1
            # Connect (or reconnect) before claiming the letter, so that a
            # server that cannot be reached leaves nothing in doubt.
            try:
                self.transport.open()
            except TransientFailure as exc:
                if attempt >= self.retry.attempts:
                    raise FatalTransportError(str(exc)) from None
                self._sleep(conn, self.retry.delay(attempt))
                continue
            self._pace(conn)
            # The previous letter's ``sent`` mark and this one's ``sending``
            # mark share one commit, made before this message is handed over.
            prev = None
            if self._pending is not None:
                prev, sent_at = self._pending
                self._pending = None
                _mark(conn, self.db.actor, prev, LetterStatus.SENT, sent_at=sent_at, commit=False)
            claimed = self._lock(conn, row.id) and _mark(
                conn,
                self.db.actor,
                row,
                LetterStatus.SENDING,
                message_id=message_id,
                expect=(LetterStatus.APPROVED, LetterStatus.FAILED),
                claim=self._claim,
            )
            if not claimed:
                conn.commit()  # the previous letter's ``sent`` mark, if any
            if prev is not None:
                self._unlock(conn, prev.id)
            if not claimed:
                # Someone else (another send) took it meanwhile.
                self._unlock(conn, row.id)
                return
            try:
                warnings = self.transport.send(
                    msg, envelope_address(self.identity.from_address), recipients
                )
            except PermanentFailure as exc:
                self._flush(conn)
                _mark(conn, self.db.actor, row, LetterStatus.FAILED, error=str(exc))
                self._unlock(conn, row.id)
                self._finish(report, self._outcome(row, FAILED, error=str(exc), attempts=attempt))
                return
            except InDoubt as exc:
                note = f"{exc}; check, then `letters confirm` or `letters resend`"
                self._flush(conn)
                _note_in_doubt(conn, self.db.actor, row, note)
                self._unlock(conn, row.id)
                self._finish(
                    report,
                    self._outcome(
                        row, IN_DOUBT, message_id=message_id, error=note, attempts=attempt
                    ),
                )
                return
            except TransientFailure as exc:
                # Nothing was delivered: back to approved, then retry after a pause.
                last = attempt >= self.retry.attempts
                self._flush(conn)
                _mark(
                    conn,
                    self.db.actor,
                    row,
                    LetterStatus.FAILED if last else LetterStatus.APPROVED,
                    error=str(exc),
                )
                if last:
                    self._unlock(conn, row.id)
                    self._finish(
                        report,
                        self._outcome(
                            row,
                            FAILED,
                            error=f"{exc} (after {attempt} attempts)",
                            attempts=attempt,
                        ),
                    )
                    return
                if not (isinstance(exc, ConnectionLost) and attempt == 1):
                    # A connection that dropped while idle is reopened at once.
                    self._sleep(conn, self.retry.delay(attempt))
                continue
            # Accepted. The ``sent`` mark is committed together with the next
            # letter's ``sending`` mark (or at once if nothing follows): if the
            # process dies first, this letter is left in doubt, never resent.
            self._pending = (row, utcnow())
            self._finish(
                report,
                self._outcome(
                    row, SENT, message_id=message_id, attempts=attempt, warnings=warnings
                ),
            )
            return


_SUMMARIES = {
    LetterStatus.SENDING: "handing the letter to the mail server",
    LetterStatus.SENT: "sent by e-mail",
    LetterStatus.FAILED: "sending failed",
    LetterStatus.APPROVED: "not sent (will retry)",
}


_LETTERS = Letter.__table__
_ACTIVITY = Activity.__table__
_INSERT_ACTIVITY = _ACTIVITY.insert()
_mark_statements: dict[tuple[Any, ...], Any] = {}


def _mark_statement(keys: tuple[str, ...], expect: tuple[LetterStatus, ...] | None) -> Any:
    """The UPDATE for one letter, built once per shape (statement building
    costs more than running it)."""
    key = (keys, expect)
    stmt = _mark_statements.get(key)
    if stmt is None:
        stmt = _LETTERS.update().where(_LETTERS.c.id == sa.bindparam("b_id"))
        if expect:
            # OR of equalities rather than IN: no list to expand at each run.
            stmt = stmt.where(sa.or_(*(_LETTERS.c.status == s.value for s in expect)))
        if expect and LetterStatus.APPROVED in expect:
            # A letter regenerated since the batch was planned has a newer
            # version: this one must not go out (the new one will, once approved).
            stmt = stmt.where(_LETTERS.c.superseded_at.is_(None))
        stmt = stmt.values({k: sa.bindparam(f"b_{k}") for k in keys})
        _mark_statements[key] = stmt
    return stmt


def _mark(
    conn: sa.Connection,
    actor: str,
    row: sa.Row,
    status: LetterStatus,
    *,
    message_id: str | None = None,
    sent_at: dt.datetime | None = None,
    error: str | None = None,
    expect: tuple[LetterStatus, ...] | LetterStatus | None = LetterStatus.SENDING,
    commit: bool = True,
    claim: dict[str, Any] | None = None,
) -> bool:
    """Move one letter to *status* and commit (with *commit*, else leave the
    transaction open for the next change to share).

    With *expect*, only a letter currently in that status moves (a guard
    against two senders); returns whether it did.
    """
    now = utcnow()
    values: dict[str, Any] = {"status": status, "updated_at": now, "error": error}
    if message_id is not None:
        values["message_id"] = message_id
    if sent_at is not None:
        values["sent_at"] = sent_at
    if isinstance(expect, LetterStatus):
        expect = (expect,)
    stmt = _mark_statement(tuple(values), expect)
    params = {f"b_{k}": v for k, v in values.items()}
    params["b_id"] = row.id
    try:
        result = conn.execute(stmt, params)
        if result.rowcount != 1:
            # Nothing changed here; keep what the transaction already holds.
            if commit:
                conn.commit()
            return False
        summary = _SUMMARIES.get(status, status.value)
        if error:
            summary = f"{summary}: {error}"
        from_sending = expect is not None and LetterStatus.SENDING in expect
        before = "sending" if from_sending and status != LetterStatus.SENDING else row.status.value
        changes: dict[str, Any] = {"status": [before, status.value]}
        if message_id is not None:
            changes["message_id"] = [row.message_id, message_id]
        if claim is not None:
            # Which process took the letter: see _sending_notes.
            changes["claim"] = claim
        conn.execute(
            _INSERT_ACTIVITY,
            {
                "at": now,
                "actor": actor,
                "action": "send",
                "entity": "letter",
                "entity_id": row.id,
                "organization_id": row.organization_id,
                "summary": summary,
                "changes": changes,
            },
        )
        if commit:
            conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return True


def _note_in_doubt(conn: sa.Connection, actor: str, row: sa.Row, note: str) -> None:
    now = utcnow()
    try:
        conn.execute(
            sa.update(Letter)
            .where(Letter.id == row.id, Letter.status == LetterStatus.SENDING)
            .values(error=note, updated_at=now)
        )
        conn.execute(
            sa.insert(Activity).values(
                at=now,
                actor=actor,
                action="send",
                entity="letter",
                entity_id=row.id,
                organization_id=row.organization_id,
                summary=f"in doubt: {note}",
            )
        )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


# --- after the fact: confirm, resend, mark sent ------------------------------------------


def _select_letters(
    session: Session,
    *,
    letter_ids: Sequence[int] | None,
    campaign_id: int | None,
    organization_ids: Sequence[int] | None = None,
) -> list[Letter]:
    if not letter_ids and campaign_id is None:
        raise ValidationError("name the letters: give letter ids or --campaign")
    stmt = sa.select(Letter).where(Letter.superseded_at.is_(None)).order_by(Letter.id)
    if letter_ids:
        stmt = stmt.where(Letter.id.in_(list(letter_ids)))
    if campaign_id is not None:
        stmt = stmt.where(Letter.campaign_id == campaign_id)
    if organization_ids:
        stmt = stmt.where(Letter.organization_id.in_(list(organization_ids)))
    letters = list(session.scalars(stmt))
    if letter_ids:
        missing = set(letter_ids) - {letter.id for letter in letters}
        if missing:
            raise NotFoundError(
                f"no letter {', '.join(map(str, sorted(missing)))}"
                + (" in that campaign" if campaign_id is not None else "")
            )
    return letters


def _wrong_status(letters: list[Letter], allowed: tuple[LetterStatus, ...], verb: str) -> None:
    bad = [letter for letter in letters if letter.status not in allowed]
    if bad:
        wanted = " or ".join(s.value for s in allowed)
        raise ValidationError(
            f"only {wanted} letters can be {verb}; nothing was changed",
            [f"letter {letter.id}: {letter.status.value}" for letter in bad],
        )


def _not_being_sent(
    session: Session,
    letters: list[Letter],
    *,
    named: bool,
    skipped: list[Letter] | None,
) -> list[Letter]:
    """*letters* without those in ``sending`` that a live run is handing to the
    server right now (see :func:`_sending_notes`): confirming or resending one
    of those could record a letter as sent that the server refuses, or send it
    twice. Letters asked for by id (*named*) are refused instead
    (:class:`ConflictError`, nothing changed); the others are left out and
    added to *skipped*."""
    sending = [letter for letter in letters if letter.status == LetterStatus.SENDING]
    notes = _sending_notes(session, sending)  # type: ignore[arg-type]
    live = [letter for letter in sending if notes[letter.id][0]]
    if not live:
        return letters
    if named:
        ids = ", ".join(str(letter.id) for letter in live)
        note = notes[live[0].id][1].removesuffix("; not sent by this one")
        raise ConflictError(
            (f"letter {ids} is " if len(live) == 1 else f"letters {ids} are ")
            + f"{note}: wait for that run to finish (it records what the server said), "
            "then look again; nothing was changed"
        )
    if skipped is not None:
        skipped.extend(live)
    live_ids = {letter.id for letter in live}
    return [letter for letter in letters if letter.id not in live_ids]


def confirm_letters(
    session: Session,
    *,
    letter_ids: Sequence[int] | None = None,
    campaign_id: int | None = None,
    skipped: list[Letter] | None = None,
) -> list[Letter]:
    """The coordinator checked: letters left in ``sending`` did arrive. Mark them sent.

    With only *campaign_id*, every letter of the campaign in ``sending``,
    except those a live ``letters send`` is handing to the server right now
    (added to *skipped* when given); a letter asked for by id that a live run
    is sending is refused (:class:`ConflictError`, nothing changed).
    ``sent_at`` is when the letter was handed to the server.
    """
    if letter_ids:
        letters = _select_letters(session, letter_ids=letter_ids, campaign_id=campaign_id)
        _wrong_status(letters, (LetterStatus.SENDING,), "confirmed")
    else:
        letters = [
            letter
            for letter in _select_letters(session, letter_ids=None, campaign_id=campaign_id)
            if letter.status == LetterStatus.SENDING
        ]
    letters = _not_being_sent(session, letters, named=bool(letter_ids), skipped=skipped)
    for letter in letters:
        letter.status = LetterStatus.SENT
        letter.sent_at = letter.updated_at or utcnow()
        letter.error = None
        record_activity(
            session,
            action="confirm",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary="confirmed as sent by the coordinator",
            changes={"status": ["sending", "sent"]},
        )
    session.flush()
    return letters


def resend_letters(
    session: Session,
    *,
    letter_ids: Sequence[int] | None = None,
    campaign_id: int | None = None,
    domain: str | None = None,
    skipped: list[Letter] | None = None,
) -> list[Letter]:
    """Put letters in ``sending`` (or ``failed``) back to ``approved`` with a new
    Message-ID, so the next ``send`` sends them again.

    With only *campaign_id*, every letter of the campaign in ``sending``,
    except those a live ``letters send`` is handing to the server right now
    (added to *skipped* when given): sent again, one could arrive twice. A
    letter asked for by id that a live run is sending is refused
    (:class:`ConflictError`, nothing changed).
    """
    if letter_ids:
        letters = _select_letters(session, letter_ids=letter_ids, campaign_id=campaign_id)
        _wrong_status(letters, (LetterStatus.SENDING, LetterStatus.FAILED), "resent")
    else:
        letters = [
            letter
            for letter in _select_letters(session, letter_ids=None, campaign_id=campaign_id)
            if letter.status == LetterStatus.SENDING
        ]
    letters = _not_being_sent(session, letters, named=bool(letter_ids), skipped=skipped)
    for letter in letters:
        old_status, old_id = letter.status, letter.message_id
        new_domain = domain or (old_id.rsplit("@", 1)[1].rstrip(">") if old_id else None)
        new_domain = ascii_domain(new_domain) if new_domain else None
        # Without a domain the next send makes one from the sender's address
        # (make_msgid() alone would use this computer's name).
        letter.message_id = make_msgid(domain=new_domain) if new_domain else None
        letter.status = LetterStatus.APPROVED
        letter.error = None
        record_activity(
            session,
            action="resend",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary="back to approved for sending again, with a new Message-ID",
            changes={
                "status": [old_status.value, "approved"],
                "message_id": [old_id, letter.message_id],
            },
        )
    session.flush()
    return letters


def mark_sent(
    session: Session,
    *,
    channel: Channel | str,
    on: dt.date | dt.datetime | None = None,
    letter_ids: Sequence[int] | None = None,
    campaign_id: int | None = None,
    organization_ids: Sequence[int] | None = None,
) -> list[Letter]:
    """Record letters delivered by post, fax or by hand as sent on *on*.

    Approved (or failed) letters only; drafts must be approved first and
    letters in ``sending`` confirmed. With filters and no ids, the approved
    and failed letters that match are marked, and letters already sent are
    left alone. Campaign-wide (no ids, no organizations), only letters made
    for *channel* are marked.
    """
    channel = Channel(channel)
    if channel not in MANUAL_CHANNELS:
        raise ValidationError(
            f"channel {channel.value!r}: mark-sent is for post, fax or hand; "
            "e-mail letters go out with `letters send`"
        )
    if on is None:
        sent_at = utcnow()
    elif isinstance(on, dt.datetime):
        if on.tzinfo is None:
            raise ValidationError("give the date and time with a time zone")
        sent_at = on
    else:
        # Noon UTC: the same calendar day wherever the coordinator reads it.
        sent_at = dt.datetime(on.year, on.month, on.day, 12, tzinfo=dt.UTC)
    if sent_at > utcnow() + dt.timedelta(days=1):
        raise ValidationError(f"--on {sent_at.date()} is in the future")
    letters = _select_letters(
        session,
        letter_ids=letter_ids,
        campaign_id=campaign_id,
        organization_ids=organization_ids,
    )
    allowed = (LetterStatus.APPROVED, LetterStatus.FAILED)
    if letter_ids:
        _wrong_status(letters, allowed, "marked sent")
    else:
        drafts = [letter for letter in letters if letter.status == LetterStatus.DRAFT]
        if drafts:
            raise ValidationError(
                "some letters are still drafts: approve them first; nothing was changed",
                [f"letter {letter.id}: draft" for letter in drafts],
            )
        letters = [letter for letter in letters if letter.status in allowed]
        if not organization_ids:
            # Campaign-wide, only letters made for this channel: an e-mail
            # letter marked "sent by post" would silently never be e-mailed.
            # Name the organization (or the letter) to change a channel.
            letters = [letter for letter in letters if letter.channel == channel]
    for letter in letters:
        changes = {
            "status": [letter.status.value, "sent"],
            "channel": [letter.channel.value, channel.value],
        }
        letter.status = LetterStatus.SENT
        letter.channel = channel
        letter.sent_at = sent_at
        letter.error = None
        record_activity(
            session,
            action="mark-sent",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary=f"delivered by {channel.value} on {sent_at.date().isoformat()}",
            changes=changes,
        )
    session.flush()
    return letters


__all__ = [
    "SECURITY_MODES",
    "FatalTransportError",
    "InDoubt",
    "LetterMail",
    "LetterOutcome",
    "MailIdentity",
    "MessageError",
    "PendingLetter",
    "PermanentFailure",
    "Rate",
    "RetryPolicy",
    "SendReport",
    "Sender",
    "SmtpSettings",
    "SmtpTransport",
    "TransientFailure",
    "build_message",
    "campaign_by_slug",
    "confirm_letters",
    "envelope_recipients",
    "in_doubt_letters",
    "mark_sent",
    "parse_rate",
    "resend_letters",
]
