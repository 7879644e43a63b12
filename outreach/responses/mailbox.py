"""Reading mail: messages out of a Maildir, a folder of ``.eml`` files, one
``.eml`` file or an mbox file; parsing them without ever raising; their
headers, text body, summary and attachments, cleaned for any database column.

Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import email
import email.parser
import email.utils
import hashlib
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from outreach.attachments import safe_filename
from outreach.errors import ValidationError

SUMMARY_LENGTH = 300

#: A Message-ID (or one of the references in In-Reply-To and References).
MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class RawMessage:
    #: Where it came from: "file.eml", "mbox#3", "Maildir/cur/...".
    source: str
    data: bytes


def read_messages(path: str | Path) -> Iterator[RawMessage]:
    """Every message under *path*: a Maildir, a folder of ``.eml`` files, one
    ``.eml`` file or an mbox file."""
    path = Path(path)
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            box = mailbox.Maildir(str(path), factory=None, create=False)
            for key in sorted(box.iterkeys()):
                yield RawMessage(f"{path.name}/{key}", box.get_bytes(key))
            return
        files = sorted(p for p in path.rglob("*.eml") if p.is_file())
        if not files:
            raise ValidationError(f"{path}: no .eml files and not a Maildir (cur/, new/, tmp/)")
        for p in files:
            yield RawMessage(str(p.relative_to(path)), p.read_bytes())
        return
    if not path.is_file():
        raise ValidationError(f"{path}: no such file or folder")
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if not head.strip():
        return  # an empty mailbox: nothing to import
    if head.startswith(b"From "):
        box = mailbox.mbox(str(path), factory=None, create=False)
        try:
            for i, key in enumerate(box.iterkeys(), 1):
                yield RawMessage(f"{path.name}#{i}", box.get_bytes(key))
        finally:
            box.close()
        return
    if not re.match(rb"[\x21-\x39\x3b-\x7e]+:", head):
        raise ValidationError(
            f"{path}: not an e-mail message (.eml), an mbox file or a Maildir folder"
        )
    yield RawMessage(path.name, path.read_bytes())


def parse_message(data: bytes) -> EmailMessage:
    """*data* parsed with the modern policy (may raise; see :func:`read_message`)."""
    return email.message_from_bytes(data, policy=default_policy)  # type: ignore[return-value]


#: MIME parts nested deeper than this make a message a problem to read by hand
#: (real mail nests a few levels; the standard library's parser and walkers
#: recurse, and run out of stack a few hundred levels down).
MAX_MIME_DEPTH = 50


def _mime_too_deep(msg: EmailMessage, limit: int = MAX_MIME_DEPTH) -> bool:
    """Whether *msg* nests parts more than *limit* levels deep (walked without recursion)."""
    stack = [(msg, 1)]
    while stack:
        part, depth = stack.pop()
        if depth > limit:
            return True
        if part.is_multipart():
            stack.extend((sub, depth + 1) for sub in part.get_payload())
    return False


def read_message(data: bytes) -> tuple[EmailMessage | None, str | None]:
    """``(message, problem)``: the parsed message, or as much of it as could be
    read (its headers, or nothing) with the reason it cannot be imported as a
    reply. Never raises."""
    try:
        msg = parse_message(data)
    except Exception as exc:  # RecursionError from MIME nested thousands deep, and others
        if isinstance(exc, RecursionError):
            problem = f"MIME parts nested more than {MAX_MIME_DEPTH} levels deep"
        else:
            problem = f"cannot be parsed ({type(exc).__name__})"
        try:
            headers = email.parser.BytesParser(policy=default_policy).parsebytes(
                data, headersonly=True
            )
        except Exception:
            headers = None
        return headers, problem  # type: ignore[return-value]
    if _mime_too_deep(msg):
        return msg, f"MIME parts nested more than {MAX_MIME_DEPTH} levels deep"
    return msg, None


#: What a database text column cannot hold (PostgreSQL refuses NUL; no driver
#: can encode a lone UTF-16 surrogate as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    """*text* with NUL and lone surrogates replaced by U+FFFD, fit for any
    database column and any output (the raw message keeps the original bytes)."""
    return _UNSTORABLE.sub("\ufffd", text)


def message_id_of(msg: EmailMessage | None, data: bytes) -> str:
    """The message's Message-ID, or a stable one made from its bytes."""
    try:
        raw = str(msg.get("Message-ID", "") or "") if msg is not None else ""
    except Exception:  # a malformed header
        raw = ""
    found = MESSAGE_ID.findall(raw)
    if found and len(found[0]) <= 255 and not _UNSTORABLE.search(found[0]):
        return found[0]
    return f"<sha256.{hashlib.sha256(data).hexdigest()[:40]}@outreach.invalid>"


def _decode_legacy(data: bytes, declared: str | None = None) -> str:
    """Text of bytes in an undeclared or wrongly declared charset: the declared
    one if it fits, else UTF-8, else Windows-1252 (which Latin-1 mail fits)."""
    for charset in (declared, "utf-8", "cp1252"):
        if not charset:
            continue
        try:
            return data.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def header(msg: EmailMessage | None, name: str) -> str:
    """The header's text on one line, cleaned; ``""`` when absent or malformed."""
    if msg is None:
        return ""
    try:
        value = msg.get(name)
        if value is None:
            return ""
        text = str(value)
        if "\ufffd" in text:
            # Raw 8-bit bytes in the header (no RFC 2047 encoding), common from
            # older mail systems in Latin-1: decode them instead of losing accents.
            raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
            if isinstance(raw, str) and any("\udc80" <= c <= "\udcff" for c in raw):
                text = _decode_legacy(raw.encode("ascii", "surrogateescape"))
    except Exception:  # a malformed header (RecursionError, bogus charsets, ...)
        return ""
    return clean_text(" ".join(text.split()))


def sender_of(msg: EmailMessage) -> tuple[str, str]:
    """(display form, bare address casefolded) of the From header."""
    text = header(msg, "From")
    _name, addr = email.utils.parseaddr(text)
    return text, addr.strip().casefold()


def date_of(msg: EmailMessage | None) -> dt.datetime | None:
    """The Date header in UTC, or ``None`` when absent or unreadable."""
    text = header(msg, "Date")
    if not text:
        return None
    try:
        value = email.utils.parsedate_to_datetime(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        # Year 9999 west of UTC, or year 1 east of it, has no UTC time.
        return value.astimezone(dt.UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def text_body(msg: EmailMessage) -> str:
    """The plain-text body (or the HTML one, tags stripped); ``""`` if unreadable."""
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        text = part.get_content()
        if isinstance(text, str) and "\ufffd" in text:
            # Not in the charset it declares (or declares none): decode the
            # bytes as what they most likely are, so accents survive.
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                declared = part.get_content_charset()
                text = _decode_legacy(raw, None if declared in (None, "us-ascii") else declared)
    except Exception:
        return ""
    if not isinstance(text, str):
        return ""
    if part.get_content_subtype() == "html":
        text = re.sub(r"(?is)<(script|style).*?</\1>", " ", text)
        text = re.sub(r"(?s)<[^>]+>", " ", text)
    return clean_text(text)


_QUOTE_INTRO = re.compile(
    r"^(on .+ wrote:|le .+ a écrit ?:|el .+ escribió:|-+ ?original message ?-+|from: )",
    re.IGNORECASE,
)


def summarise(subject: str, body: str, limit: int = SUMMARY_LENGTH) -> str:
    """The subject and the first lines of the reply itself (no quoted text)."""
    lines = []
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or _QUOTE_INTRO.match(stripped):
            break
        if stripped:
            lines.append(stripped)
        if sum(len(x) for x in lines) > limit:
            break
    text = " ".join(lines)
    out = f"{subject}: {text}" if subject and text else (subject or text)
    out = " ".join(out.split())
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def attachments_of(msg: EmailMessage) -> list[tuple[str, str, bytes]]:
    """``(safe file name, content type, bytes)`` of each attachment."""
    out = []
    try:
        parts = list(msg.iter_attachments())
    except Exception:
        return out
    for n, part in enumerate(parts, 1):
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        if payload is None:
            if part.get_content_type() == "message/rfc822":
                payload = part.as_bytes()
            else:
                continue
        try:
            filename = part.get_filename()
        except Exception:  # a malformed Content-Disposition or Content-Type
            filename = None
        name = safe_filename(clean_text(filename or ""), f"attachment-{n}")
        out.append((name, clean_text(part.get_content_type()), payload))
    return out
