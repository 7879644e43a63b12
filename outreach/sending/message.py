"""The one RFC 5322 builder: a letter as the e-mail message that is sent
(and written as an ``.eml`` file).

Every header made from data is built, encoded and folded by
:mod:`outreach.sending.headers`, never by the standard library (which,
unpatched, turns an encoded CR/LF into a new header): control characters are
refused and encoded words in names and subjects stay literal text, so header
injection is impossible."""

from __future__ import annotations

import datetime as dt
import email.base64mime
import email.quoprimime
import functools
import hashlib
import re
from dataclasses import dataclass
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from outreach.addresses import ascii_domain
from outreach.schema.types import utcnow
from outreach.sending import headers as mailheaders
from outreach.sending.settings import MailIdentity
from outreach.templating.languages import is_rtl


class MessageError(ValueError):
    """The letter cannot become a safe e-mail (bad address, line break in a header)."""


def _addr_spec(address: str, what: str) -> str:
    """*address* as it goes into a header: checked, its domain in ASCII."""
    if mailheaders.has_line_break(address):
        raise MessageError(f"{what} contains a line break (refused: header injection)")
    address = address.strip()
    if not mailheaders.looks_like_address(address):
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
class Attachment:
    """A file sent with the message: its name, MIME type and bytes."""

    filename: str
    content_type: str
    data: bytes


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
    #: The cover note (Markdown). With one, the message is the cover note
    #: (text and HTML) with the letter and the other files attached; without,
    #: the letter itself is the body.
    cover: str | None = None
    attachments: tuple[Attachment, ...] = ()
    #: (display name, address) of each cc recipient.
    cc: tuple[tuple[str | None, str], ...] = ()
    #: The largest message that may be sent, in bytes (None: no limit).
    max_size: int | None = None


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


def _boundary(message_id: str, *parts: str) -> str:
    """The MIME boundary, made of the message itself (not at random), so that
    the same letter makes the same bytes: in a dry run, a send and its
    ``.eml`` file. A hash of the parts cannot occur in them."""
    digest = hashlib.sha256("\0".join((message_id, *parts)).encode("utf-8", "surrogatepass"))
    return f"=_outreach_{digest.hexdigest()[:40]}"


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
    if mailheaders.has_line_break(mail.subject):
        raise MessageError("the subject contains a line break (refused: header injection)")
    if not mail.subject.strip():
        raise MessageError("the subject is empty")
    if mailheaders.usable_message_id(message_id) is None:
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
    if mailheaders.usable_message_id(mail.in_reply_to):
        mailheaders.put(msg, "In-Reply-To", mail.in_reply_to)
        mailheaders.put(msg, "References", mail.in_reply_to)
    if mail.cc:
        mailheaders.put(msg, "Cc", _cc_header(mail.cc))
    language = mail.language if mail.language and _LANGUAGE_TAG.fullmatch(mail.language) else None
    if mail.cover is not None:
        _cover_and_attachments(msg, mail, message_id, language)
    elif html:
        plain = plain_text(mail.body)
        page = html_document(mail.body, language=language, title=mail.subject.strip())
        msg.set_content(plain, subtype="plain", charset="utf-8")
        msg.add_alternative(page, subtype="html", charset="utf-8")
        msg.set_boundary(_boundary(message_id, plain, page))
    else:
        msg["MIME-Version"] = _header("MIME-Version", "1.0")
        msg["Content-Type"] = _header("Content-Type", 'text/plain; charset="utf-8"')
        cte, payload = _encode_body(plain_text(mail.body))
        msg["Content-Transfer-Encoding"] = _header("Content-Transfer-Encoding", cte)
        msg.set_payload(payload)
    if language:
        msg["Content-Language"] = _header("Content-Language", language)
    if mail.max_size is not None:
        check_size(msg, mail)
    return msg


def _cc_header(cc: tuple[tuple[str | None, str], ...]) -> str:
    """The Cc header's folded value: each mailbox checked and built as To's is,
    one per line."""
    return ",\r\n ".join(
        _mailbox("Cc", name, address, f"the cc address {i}") for i, (name, address) in
        enumerate(cc, 1)
    )


def _cover_and_attachments(
    msg: EmailMessage, mail: LetterMail, message_id: str, language: str | None
) -> None:
    """multipart/mixed: the cover note as multipart/alternative (text, then
    HTML), then each attachment (the letter's PDF first)."""
    cover = mail.cover or ""
    plain = plain_text(cover)
    page = html_document(cover, language=language, title=mail.subject.strip())
    msg.set_content(plain, subtype="plain", charset="utf-8")
    msg.add_alternative(page, subtype="html", charset="utf-8")
    msg.set_boundary(_boundary(message_id, plain, page))
    msg.make_mixed()
    digests = []
    for attachment in mail.attachments:
        part = _attachment_part(attachment)
        digests.append(hashlib.sha256(attachment.data).hexdigest())
        msg.attach(part)
    msg.set_boundary(_boundary(message_id, "mixed", plain, page, *digests))


_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


def _attachment_part(attachment: Attachment) -> MIMEPart:
    """One attached file, base64, its name in the header as literal text
    (RFC 2231 when it is not plain ASCII)."""
    ctype = attachment.content_type.lower()
    if not _MIME_TYPE.fullmatch(ctype):
        ctype = "application/octet-stream"
    name = attachment.filename
    try:
        mailheaders.check(name, "the attachment's file name")
    except mailheaders.HeaderError as exc:
        raise MessageError(str(exc)) from None
    part = MIMEPart(policy=LETTER_POLICY)
    mailheaders.put(part, "Content-Type", ctype)
    mailheaders.put(part, "Content-Transfer-Encoding", "base64")
    mailheaders.put(part, "Content-Disposition", mailheaders.disposition(name))
    part.set_payload(email.base64mime.body_encode(attachment.data, maxlinelen=76, eol="\r\n"))
    return part


def check_size(msg: EmailMessage, mail: LetterMail) -> int:
    """The message's size in bytes; :class:`MessageError` (one line naming the
    letter and the size) when it is over the letter's limit."""
    size = len(message_bytes(msg))
    if mail.max_size is not None and size > mail.max_size:
        raise MessageError(
            f"letter {mail.letter_id} ({mail.acronym}): the message is {_mb(size)}, "
            f"over the limit of {_mb(mail.max_size)}; attach fewer or smaller files, "
            "or raise email_max_size"
        )
    return size


def _mb(size: int) -> str:
    return f"{size / 1000**2:.1f} MB ({size} bytes)"


def readable(msg: EmailMessage) -> str:
    """The message as a person reads it: its headers decoded, the text of
    its plain part (not quoted-printable or base64), and the attachments
    listed with their sizes."""
    lines = [f"{name}: {value}" for name, value in msg.items() if name.lower() not in _PARTS]
    lines.append("")
    body = msg.get_body(("plain",)) if msg.is_multipart() else msg
    if body is not None:
        lines.append(body.get_content().replace("\r\n", "\n").rstrip("\n"))
    files = [part for part in msg.iter_attachments()] if msg.is_multipart() else []
    if files:
        lines.append("")
        lines.append(f"Attached ({len(files)}):")
        for part in files:
            data = part.get_payload(decode=True) or b""
            lines.append(
                f"  {part.get_filename() or '(no name)'}  {part.get_content_type()}  "
                f"{len(data):,} bytes"
            )
    return "\n".join(lines)


_PARTS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})


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
        inner = body_html(body, is_rtl(language))
    direction = "rtl" if is_rtl(language) else "ltr"
    lang_attr = f' lang="{escape(language, quote=True)}"' if language else ""
    return (
        f'<!DOCTYPE html>\n<html{lang_attr} dir="{direction}">\n<head>\n'
        f'<meta charset="utf-8">\n<title>{escape(title)}</title>\n</head>\n'
        f"<body>\n{inner}\n</body>\n</html>\n"
    )


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as handed to the SMTP server, and as written to a ``.eml``
    file: CRLF line ends, every header made from data as it was built."""
    return msg.as_bytes(policy=msg.policy if msg.policy.linesep == "\r\n" else SMTP)


def envelope_address(address: str) -> str:
    """*address* with its domain in ASCII, as SMTP's MAIL FROM and RCPT TO need."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{ascii_domain(domain)}" if local else address.strip()


def envelope_recipients(msg: EmailMessage, identity: MailIdentity) -> list[str]:
    """RCPT TO addresses: the recipient, the cc recipients, then the archive
    BCC (never a header)."""
    to = msg["To"].addresses[0].addr_spec
    out = [to]
    cc = msg["Cc"]
    for address in cc.addresses if cc is not None else ():
        if address.addr_spec.casefold() not in {a.casefold() for a in out}:
            out.append(address.addr_spec)
    bcc = envelope_address(identity.bcc) if identity.bcc else None
    if bcc and bcc.casefold() not in {a.casefold() for a in out}:
        out.append(bcc)
    return out
