"""Responses: logging what came back, importing replies from mailboxes, and
the queue of messages nobody could match.

Service functions take ``session`` (and the :class:`AttachmentStore`) as
keyword arguments, flush when they need ids and never commit.

Matching an imported message, in order:

1. ``In-Reply-To`` / ``References`` name a letter's Message-ID (or an earlier
   reply already matched): that letter's organization and campaign.
2. The sender's address is a contact's: that contact's organization.
3. The sender's domain (or a parent domain) belongs to exactly one
   organization, through its website or its contacts' addresses.

Messages that match nothing, automatic replies (out of office) and delivery
failure reports go to the unmatched queue instead: an automatic reply is not
an answer, and must not stop a follow-up.
"""

from __future__ import annotations

import datetime as dt
import email
import email.parser
import email.utils
import hashlib
import mailbox
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.activity import record_activity
from outreach.attachments import AttachmentStore, safe_filename
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.models import (
    Attachment,
    Campaign,
    Channel,
    Contact,
    InboundMessage,
    InboundStatus,
    Letter,
    LetterStatus,
    Organization,
    Response,
    Stance,
)
from outreach.types import json_value, utcnow

#: Web-mail domains shared by millions: never evidence of an organization.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.fr",
        "hotmail.com",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "gmx.com",
        "gmx.de",
        "proton.me",
        "protonmail.com",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
    }
)

SUMMARY_LENGTH = 300


# --- lookups -----------------------------------------------------------------


def get_response(session: Session, response_id: int) -> Response:
    response = session.get(Response, response_id)
    if response is None:
        raise NotFoundError(f"no response {response_id}: see `outreach responses list`")
    return response


def _latest_letter(
    session: Session,
    *,
    organization_id: int,
    campaign_id: int | None = None,
    contact_id: int | None = None,
    before: dt.datetime | None = None,
) -> Letter | None:
    """The most recent letter that went to the organization (before *before*)."""
    stmt = sa.select(Letter).where(
        Letter.organization_id == organization_id,
        Letter.status.in_([LetterStatus.SENT, LetterStatus.SENDING]),
    )
    if campaign_id is not None:
        stmt = stmt.where(Letter.campaign_id == campaign_id)
    if before is not None:
        stmt = stmt.where(sa.or_(Letter.sent_at.is_(None), Letter.sent_at <= before))
    order = [Letter.sent_at.desc().nulls_last(), Letter.id.desc()]
    if contact_id is not None:
        order.insert(0, sa.case((Letter.contact_id == contact_id, 0), else_=1))
    return session.scalars(stmt.order_by(*order).limit(1)).first()


# --- logging by hand ----------------------------------------------------------------


def _check_files(paths: Sequence[str | Path]) -> list[Path]:
    problems = []
    out = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            problems.append(f"{path}: no such file")
        out.append(path)
    if problems:
        raise ValidationError("cannot attach the files; nothing was logged", problems)
    return out


def _attach_files(
    session: Session, response: Response, paths: Sequence[Path], store: AttachmentStore
) -> list[Attachment]:
    import mimetypes

    added = []
    for path in paths:
        stored = store.put_file(path)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        attachment = Attachment(
            response_id=response.id,
            filename=safe_filename(path.name),
            content_type=content_type,
            size=stored.size,
            sha256=stored.sha256,
        )
        session.add(attachment)
        added.append(attachment)
    return added


def log_response(
    session: Session,
    *,
    store: AttachmentStore,
    organization_id: int,
    campaign_id: int | None = None,
    received_at: dt.datetime | None = None,
    channel: Channel | str = Channel.EMAIL,
    sender: str | None = None,
    stance: Stance | str = Stance.OTHER,
    summary: str | None = None,
    attachments: Sequence[str | Path] = (),
    letter_id: int | None = None,
    contact_id: int | None = None,
) -> Response:
    """Record a response that came back (a letter by post, a phone call, ...).

    Without *letter_id* the response is linked to the latest letter that went
    to the organization in the campaign; without *campaign_id* the campaign is
    that of the latest letter sent to the organization before it was received.
    """
    received_at = received_at or utcnow()
    if received_at.tzinfo is None:
        raise ValidationError("the received date needs a time zone")
    if received_at > utcnow() + dt.timedelta(days=1):
        raise ValidationError(f"received {received_at.date()} is in the future")
    try:
        channel = Channel(channel)
        stance = Stance(stance)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    files = _check_files(attachments)
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFoundError(f"no organization with id {organization_id}")
    letter = None
    if letter_id is not None:
        letter = session.get(Letter, letter_id)
        if letter is None or letter.organization_id != organization_id:
            raise ValidationError(f"letter {letter_id} was not written to {org.acronym}")
        if campaign_id is not None and campaign_id != letter.campaign_id:
            raise ValidationError(
                f"letter {letter_id} belongs to campaign {letter.campaign.slug}, not to the "
                "campaign given: leave out --campaign, or give the right letter"
            )
        campaign_id = letter.campaign_id
    else:
        letter = _latest_letter(
            session,
            organization_id=organization_id,
            campaign_id=campaign_id,
            contact_id=contact_id,
            before=received_at,
        )
        if letter is not None and campaign_id is None:
            campaign_id = letter.campaign_id
    response = Response(
        organization_id=organization_id,
        campaign_id=campaign_id,
        letter_id=letter.id if letter else None,
        contact_id=contact_id,
        received_at=received_at,
        channel=channel,
        sender=sender,
        stance=stance,
        summary=summary,
    )
    session.add(response)
    session.flush()
    _attach_files(session, response, files, store)
    record_activity(
        session,
        action="create",
        entity="response",
        entity_id=response.id,
        organization_id=organization_id,
        summary=f"{stance.value} by {channel.value} from {org.acronym}"
        + (f", {len(files)} attachment(s)" if files else ""),
    )
    session.flush()
    return response


EDITABLE = (
    "organization_id",
    "campaign_id",
    "letter_id",
    "received_at",
    "channel",
    "sender",
    "stance",
    "summary",
)


def edit_response(
    session: Session,
    response_id: int,
    *,
    store: AttachmentStore | None = None,
    attach: Sequence[str | Path] = (),
    **changes: Any,
) -> Response:
    """Change fields of a response (``EDITABLE``) and/or attach more files.

    Moving a response to another organization (a reply matched to the wrong
    one) also relinks it to that organization's latest letter in the
    campaign, unless *letter_id* is given, and drops a contact that is not
    theirs.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"cannot edit {', '.join(sorted(unknown))} of a response")
    response = get_response(session, response_id)
    files = _check_files(attach)
    received = changes.get("received_at")
    latest = utcnow() + dt.timedelta(days=1)
    if received is not None and received.tzinfo is not None and received > latest:
        raise ValidationError(f"received {received.date()} is in the future")
    new_org = changes.get("organization_id")
    new_campaign = changes.get("campaign_id")
    if changes.get("letter_id") is not None:
        # The letter says which campaign the response belongs to.
        letter = session.get(Letter, changes["letter_id"])
        if letter is not None:
            if "campaign_id" in changes and new_campaign != letter.campaign_id:
                raise ValidationError(
                    f"letter {letter.id} belongs to campaign {letter.campaign.slug}, not to "
                    "the campaign given"
                )
            changes["campaign_id"] = letter.campaign_id
    elif (
        "letter_id" not in changes
        and "campaign_id" in changes
        and new_campaign != response.campaign_id
        and (new_org is None or new_org == response.organization_id)
    ):
        # Moved to another campaign: answer that campaign's letter, not the old one.
        letter = _latest_letter(
            session,
            organization_id=response.organization_id,
            campaign_id=new_campaign,
            before=received or response.received_at,
        )
        changes["letter_id"] = letter.id if letter else None
    if new_org is not None and new_org != response.organization_id:
        if session.get(Organization, new_org) is None:
            raise NotFoundError(f"no organization with id {new_org}")
        if "letter_id" not in changes:
            letter = _latest_letter(
                session,
                organization_id=new_org,
                campaign_id=changes.get("campaign_id", response.campaign_id),
                before=changes.get("received_at") or response.received_at,
            )
            changes["letter_id"] = letter.id if letter else None
        contact = session.get(Contact, response.contact_id) if response.contact_id else None
        if contact is not None and contact.organization_id != new_org:
            changes["contact_id"] = None
    diff: dict[str, list[Any]] = {}
    # The organization first: the letter is checked against the new one.
    order = {k: i for i, k in enumerate(EDITABLE)}
    for key, value in sorted(changes.items(), key=lambda kv: order.get(kv[0], 99)):
        if key == "channel":
            value = Channel(value)
        elif key == "stance":
            value = Stance(value)
        elif key == "received_at" and value is not None and value.tzinfo is None:
            raise ValidationError("the received date needs a time zone")
        elif key == "letter_id" and value is not None:
            letter = session.get(Letter, value)
            if letter is None or letter.organization_id != response.organization_id:
                raise ValidationError(f"letter {value} was not written to this organization")
        before = getattr(response, key)
        if before != value:
            diff[key] = [json_value(before), json_value(value)]
            setattr(response, key, value)
    if files:
        if store is None:
            raise ValidationError("attaching files needs the attachments store")
        _attach_files(session, response, files, store)
        diff["attachments"] = [None, [p.name for p in files]]
    if diff:
        record_activity(
            session,
            action="update",
            entity="response",
            entity_id=response.id,
            organization_id=response.organization_id,
            summary=f"edited {', '.join(k.removesuffix('_id') for k in diff)}",
            changes=diff,
        )
    session.flush()
    return response


@dataclass(frozen=True)
class ResponseRow:
    id: int
    received_at: dt.datetime
    acronym: str
    campaign: str | None
    channel: str
    sender: str | None
    stance: str
    summary: str | None
    letter_id: int | None
    attachments: int


def list_responses(
    session: Session,
    *,
    campaign_id: int | None = None,
    organization_id: int | None = None,
    stance: Stance | str | None = None,
    since: dt.datetime | None = None,
) -> list[ResponseRow]:
    """Responses, newest first, with optional filters."""
    counts = (
        sa.select(Attachment.response_id, sa.func.count().label("n"))
        .group_by(Attachment.response_id)
        .subquery()
    )
    stmt = (
        sa.select(
            Response.id,
            Response.received_at,
            Organization.acronym,
            Campaign.slug,
            Response.channel,
            Response.sender,
            Response.stance,
            Response.summary,
            Response.letter_id,
            sa.func.coalesce(counts.c.n, 0),
        )
        .join(Organization, Response.organization_id == Organization.id)
        .outerjoin(Campaign, Response.campaign_id == Campaign.id)
        .outerjoin(counts, counts.c.response_id == Response.id)
        .order_by(Response.received_at.desc(), Response.id.desc())
    )
    if campaign_id is not None:
        stmt = stmt.where(Response.campaign_id == campaign_id)
    if organization_id is not None:
        stmt = stmt.where(Response.organization_id == organization_id)
    if stance is not None:
        stmt = stmt.where(Response.stance == Stance(stance))
    if since is not None:
        stmt = stmt.where(Response.received_at >= since)
    return [
        ResponseRow(
            id=r[0],
            received_at=r[1],
            acronym=r[2],
            campaign=r[3],
            channel=r[4].value,
            sender=r[5],
            stance=r[6].value,
            summary=r[7],
            letter_id=r[8],
            attachments=r[9],
        )
        for r in session.execute(stmt)
    ]


def response_record(
    session: Session, response_id: int, *, store: AttachmentStore | None = None
) -> dict[str, Any]:
    """Everything about one response, for ``responses show``."""
    r = get_response(session, response_id)
    contact = session.get(Contact, r.contact_id) if r.contact_id else None
    record: dict[str, Any] = {
        "id": r.id,
        "organization": f"{r.organization.acronym} ({r.organization.name})",
        "campaign": r.campaign.slug if r.campaign else None,
        "letter": r.letter_id,
        "received_at": r.received_at,
        "channel": r.channel,
        "sender": r.sender,
        "contact": contact.name if contact else None,
        "stance": r.stance,
        "summary": r.summary,
        "message_id": r.message_id,
    }
    record["attachments"] = [
        {
            "id": a.id,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "sha256": a.sha256,
            "path": str(store.path_for(a.sha256)) if store else None,
        }
        for a in r.attachments
    ]
    return record


# --- reading mailboxes ------------------------------------------------------------------


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


_MSGID = re.compile(r"<[^<>\s]+>")


def message_id_of(msg: EmailMessage | None, data: bytes) -> str:
    """The message's Message-ID, or a stable one made from its bytes."""
    try:
        raw = str(msg.get("Message-ID", "") or "") if msg is not None else ""
    except Exception:  # a malformed header
        raw = ""
    found = _MSGID.findall(raw)
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


def _header(msg: EmailMessage | None, name: str) -> str:
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


def _from_address(msg: EmailMessage) -> tuple[str, str]:
    """(display form, bare address casefolded) of the From header."""
    text = _header(msg, "From")
    _name, addr = email.utils.parseaddr(text)
    return text, addr.strip().casefold()


def _date(msg: EmailMessage | None) -> dt.datetime | None:
    text = _header(msg, "Date")
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


def _text_body(msg: EmailMessage) -> str:
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


_ACK = re.compile(
    r"\b(acknowledg\w*|receipt|received your|accus\w*\s+(de\s+)?r[ée]ception|bien re[çc]u|"
    r"acuse de recibo|hemos recibido|recebemos|recebido)\b",
    re.IGNORECASE,
)


def guess_stance(subject: str, body: str) -> Stance:
    """Only the obvious: an acknowledgement of receipt; anything else is left
    as ``other`` for the coordinator to read and classify."""
    return Stance.ACKNOWLEDGEMENT if _ACK.search(f"{subject}\n{body[:2000]}") else Stance.OTHER


_AUTO_SUBJECT = re.compile(
    r"^(automatic reply|auto[- ]?reply|autoreply|out of (the )?office|auto:|"
    r"r[ée]ponse automatique|absence|respuesta autom[áa]tica|fuera de la oficina|"
    r"resposta autom[áa]tica)",
    re.IGNORECASE,
)


def automatic_kind(msg: EmailMessage, from_address: str) -> str | None:
    """'delivery failure report' or 'automatic reply' when the message is one."""
    local = from_address.split("@", 1)[0]
    if msg.get_content_type() == "multipart/report" or local in ("mailer-daemon", "postmaster"):
        return "delivery failure report"
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return "automatic reply"
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return "automatic reply"
    if _header(msg, "Precedence").lower() in ("auto_reply", "bulk", "junk", "list"):
        return "automatic reply"
    if _AUTO_SUBJECT.match(_header(msg, "Subject")):
        return "automatic reply"
    return None


def _attachments_of(msg: EmailMessage) -> list[tuple[str, str, bytes]]:
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


def _domain_of_url(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url if "//" in url else f"//{url}").hostname
    if not host:
        return None
    host = host.casefold()
    return host[4:] if host.startswith("www.") else host


def _parent_domains(domain: str) -> Iterator[str]:
    labels = domain.split(".")
    for i in range(len(labels) - 1):
        yield ".".join(labels[i:])


# --- the matcher ------------------------------------------------------------------------


@dataclass
class Match:
    organization_id: int
    campaign_id: int | None
    letter_id: int | None
    contact_id: int | None
    how: str


class Matcher:
    """What the database knows, loaded once per import."""

    def __init__(self, session: Session, own_addresses: Sequence[str] = ()) -> None:
        self.session = session
        self.letters: dict[str, tuple[int, int, int, int]] = {
            r.message_id: (r.id, r.organization_id, r.campaign_id, r.contact_id)
            for r in session.execute(
                sa.select(
                    Letter.id,
                    Letter.message_id,
                    Letter.organization_id,
                    Letter.campaign_id,
                    Letter.contact_id,
                ).where(Letter.message_id.is_not(None))
            )
        }
        self.replies: dict[str, tuple[int, int | None, int | None]] = {
            r.message_id: (r.organization_id, r.campaign_id, r.letter_id)
            for r in session.execute(
                sa.select(
                    Response.message_id,
                    Response.organization_id,
                    Response.campaign_id,
                    Response.letter_id,
                ).where(Response.message_id.is_not(None))
            )
        }
        self.contacts: dict[str, tuple[int, int]] = {
            r.email_key: (r.id, r.organization_id)
            for r in session.execute(
                sa.select(Contact.id, Contact.email_key, Contact.organization_id).where(
                    Contact.email_key.is_not(None)
                )
            )
        }
        self.domains: dict[str, set[int]] = {}
        for org_id, website in session.execute(
            sa.select(Organization.id, Organization.website).where(
                Organization.website.is_not(None)
            )
        ):
            domain = _domain_of_url(website)
            if domain:
                self.domains.setdefault(domain, set()).add(org_id)
        for email_key, (_cid, org_id) in self.contacts.items():
            domain = email_key.rsplit("@", 1)[-1]
            self.domains.setdefault(domain, set()).add(org_id)
        own = {a.strip().casefold() for a in own_addresses if a}
        for details in session.scalars(sa.select(Campaign.sender)):
            for key in ("email", "reply_to", "bcc"):
                if isinstance(details, dict) and details.get(key):
                    own.add(str(details[key]).strip().casefold())
        self.own_addresses = own
        self.own_domains = {a.rsplit("@", 1)[-1] for a in own if "@" in a}
        self.acronyms = dict(
            session.execute(sa.select(Organization.id, Organization.acronym)).all()
        )

    def match(self, msg: EmailMessage, from_address: str, when: dt.datetime | None) -> Match | str:
        """A :class:`Match`, or the reason there is none."""
        refs = _MSGID.findall(_header(msg, "In-Reply-To")) + list(
            reversed(_MSGID.findall(_header(msg, "References")))
        )
        for ref in refs:
            if ref in self.letters:
                letter_id, org_id, campaign_id, _contact_id = self.letters[ref]
                return Match(
                    org_id,
                    campaign_id,
                    letter_id,
                    self._contact_at(from_address, org_id),
                    "reply to the letter",
                )
            if ref in self.replies:
                org_id, campaign_id, letter_id = self.replies[ref]
                return Match(
                    org_id,
                    campaign_id,
                    letter_id,
                    self._contact_at(from_address, org_id),
                    "same thread as a response",
                )
        if not from_address or "@" not in from_address:
            return "no sender address"
        if from_address in self.contacts:
            contact_id, org_id = self.contacts[from_address]
            return self._with_letter(org_id, contact_id, when, "sender is a contact")
        domain = from_address.rsplit("@", 1)[1]
        if domain in self.own_domains:
            return "sent from the secretariat's own domain"
        if domain in PUBLIC_MAIL_DOMAINS:
            return f"unknown sender at a public mail service ({domain})"
        for candidate in _parent_domains(domain):
            orgs = self.domains.get(candidate)
            if not orgs:
                continue
            if len(orgs) > 1:
                names = ", ".join(sorted(self.acronyms.get(o, str(o)) for o in orgs))
                return f"domain {candidate} is shared by {names}"
            (org_id,) = orgs
            return self._with_letter(org_id, None, when, f"sender's domain {candidate}")
        return "no letter, contact or organization matches"

    def _contact_at(self, from_address: str, org_id: int) -> int | None:
        """The sender's contact id, if the sender is a contact of *org_id*."""
        found = self.contacts.get(from_address) if from_address else None
        return found[0] if found and found[1] == org_id else None

    def _with_letter(
        self, org_id: int, contact_id: int | None, when: dt.datetime | None, how: str
    ) -> Match:
        letter = _latest_letter(
            self.session, organization_id=org_id, contact_id=contact_id, before=when
        )
        return Match(
            org_id,
            letter.campaign_id if letter else None,
            letter.id if letter else None,
            contact_id,
            how,
        )


# --- importing ------------------------------------------------------------------------


@dataclass
class ImportedMessage:
    inbound_id: int
    source: str
    message_id: str
    from_address: str
    subject: str
    status: str
    reason: str
    response_id: int | None = None
    acronym: str | None = None
    #: The message could not be read as a reply (queued with the reason).
    problem: bool = False


@dataclass
class ImportReport:
    read: int = 0
    duplicates: int = 0
    messages: list[ImportedMessage] = field(default_factory=list)

    @property
    def matched(self) -> list[ImportedMessage]:
        return [m for m in self.messages if m.status == InboundStatus.MATCHED.value]

    @property
    def unmatched(self) -> list[ImportedMessage]:
        return [m for m in self.messages if m.status == InboundStatus.UNMATCHED.value]

    @property
    def ignored(self) -> list[ImportedMessage]:
        return [m for m in self.messages if m.status == InboundStatus.IGNORED.value]

    @property
    def problems(self) -> list[ImportedMessage]:
        """Messages that could not be read (also in :attr:`unmatched`)."""
        return [m for m in self.messages if m.problem]


def _response_from_message(
    session: Session,
    *,
    store: AttachmentStore,
    msg: EmailMessage,
    message_id: str,
    match: Match,
    received_at: dt.datetime,
    stance: Stance | None = None,
) -> Response:
    subject = _header(msg, "Subject")
    body = _text_body(msg)
    response = Response(
        organization_id=match.organization_id,
        campaign_id=match.campaign_id,
        letter_id=match.letter_id,
        contact_id=match.contact_id,
        received_at=received_at,
        channel=Channel.EMAIL,
        sender=_header(msg, "From")[:500] or None,
        stance=stance or guess_stance(subject, body),
        summary=summarise(subject, body) or None,
        message_id=message_id,
    )
    session.add(response)
    session.flush()
    for name, content_type, payload in _attachments_of(msg):
        stored = store.put_bytes(payload)
        session.add(
            Attachment(
                response_id=response.id,
                filename=name,
                content_type=content_type[:200],
                size=stored.size,
                sha256=stored.sha256,
            )
        )
    return response


def import_messages(
    session: Session,
    path: str | Path,
    *,
    store: AttachmentStore,
    own_addresses: Sequence[str] = (),
    messages: Iterable[RawMessage] | None = None,
) -> ImportReport:
    """Import every message under *path*; match it or queue it. Safe to repeat.

    *messages* (from :func:`read_messages`, perhaps wrapped in a progress
    bar) replaces reading *path* again.
    """
    report = ImportReport()
    matcher = Matcher(session, own_addresses)
    seen = set(session.scalars(sa.select(InboundMessage.message_id)))
    seen |= set(matcher.replies)
    now = utcnow()
    for raw in messages if messages is not None else read_messages(path):
        report.read += 1
        msg, problem = read_message(raw.data)
        message_id = message_id_of(msg, raw.data)
        if message_id in seen:
            report.duplicates += 1
            continue
        seen.add(message_id)
        stored = store.put_bytes(raw.data)  # the raw bytes, kept as they came
        if problem is None:
            try:
                with session.begin_nested():
                    entry = _import_one(
                        session, store, matcher, msg, raw, message_id, stored.sha256, now
                    )
            except Exception as exc:
                if not _message_fault(exc):
                    raise
                matcher.replies.pop(message_id, None)
                problem = f"{type(exc).__name__} while importing it"
            else:
                report.messages.append(entry)
                continue
        report.messages.append(
            _queue_problem(session, msg, raw, message_id, stored.sha256, now, problem)
        )
    if report.messages:
        record_activity(
            session,
            action="import",
            entity="inbound_message",
            summary=(
                f"imported {len(report.messages)} message(s) from {Path(path).name}: "
                f"{len(report.matched)} matched, {len(report.unmatched)} unmatched, "
                f"{len(report.ignored)} ignored"
                + (f" ({len(report.problems)} could not be read)" if report.problems else "")
            ),
        )
    session.flush()
    return report


def _message_fault(exc: Exception) -> bool:
    """Whether *exc*, raised while importing one message, is that message's
    fault (it is then queued as a problem) rather than the database's or the
    system's (which stops the import)."""
    if isinstance(exc, sa.exc.DataError | sa.exc.IntegrityError):
        return True  # the message's values (rolled back to the savepoint)
    return not isinstance(exc, sa.exc.SQLAlchemyError | OSError | MemoryError)


def _import_one(
    session: Session,
    store: AttachmentStore,
    matcher: Matcher,
    msg: EmailMessage,
    raw: RawMessage,
    message_id: str,
    raw_sha256: str,
    now: dt.datetime,
) -> ImportedMessage:
    """Match or queue one readable message (in the caller's savepoint)."""
    from_text, from_address = _from_address(msg)
    subject = _header(msg, "Subject")
    when = _date(msg)
    inbound = InboundMessage(
        message_id=message_id,
        from_address=from_text[:500] or None,
        to_address=_header(msg, "To") or None,
        subject=subject or None,
        date=when,
        raw_size=len(raw.data),
        raw_sha256=raw_sha256,
        imported_at=now,
    )
    acronym = None
    if message_id in matcher.letters:
        # Our own letter (the archive's blind copy, a Sent folder).
        inbound.status = InboundStatus.IGNORED
        inbound.reason = f"our own letter {matcher.letters[message_id][0]}"
    elif from_address in matcher.own_addresses:
        inbound.status = InboundStatus.IGNORED
        inbound.reason = "sent by the secretariat"
    elif kind := automatic_kind(msg, from_address):
        inbound.status = InboundStatus.UNMATCHED
        result = matcher.match(msg, from_address, when)
        about = (
            f" about {matcher.acronyms[result.organization_id]}"
            if isinstance(result, Match)
            else ""
        )
        inbound.reason = f"{kind}{about}: not counted as an answer"
    else:
        result = matcher.match(msg, from_address, when)
        if isinstance(result, Match):
            response = _response_from_message(
                session,
                store=store,
                msg=msg,
                message_id=message_id,
                match=result,
                received_at=when or now,
            )
            inbound.status = InboundStatus.MATCHED
            inbound.reason = result.how
            inbound.response_id = response.id
            acronym = matcher.acronyms.get(result.organization_id)
            matcher.replies[message_id] = (
                result.organization_id,
                result.campaign_id,
                result.letter_id,
            )
            record_activity(
                session,
                action="import",
                entity="response",
                entity_id=response.id,
                organization_id=result.organization_id,
                summary=f"e-mail from {from_address} matched ({result.how}): {subject}"[:500],
            )
        else:
            inbound.status = InboundStatus.UNMATCHED
            inbound.reason = result
    session.add(inbound)
    session.flush()
    return ImportedMessage(
        inbound_id=inbound.id,
        source=raw.source,
        message_id=message_id,
        from_address=from_text,
        subject=subject,
        status=inbound.status.value,
        reason=inbound.reason or "",
        response_id=inbound.response_id,
        acronym=acronym,
    )


def _queue_problem(
    session: Session,
    msg: EmailMessage | None,
    raw: RawMessage,
    message_id: str,
    raw_sha256: str,
    now: dt.datetime,
    problem: str,
) -> ImportedMessage:
    """Queue a message that cannot be read as a reply, with the reason; its raw
    bytes are in the attachments store for whoever looks at it by hand."""
    from_text = _header(msg, "From")
    subject = _header(msg, "Subject")
    reason = f"could not be read: {problem}; kept as received for reading by hand"
    inbound = InboundMessage(
        message_id=message_id,
        from_address=from_text[:500] or None,
        to_address=_header(msg, "To") or None,
        subject=subject or None,
        date=_date(msg),
        raw_size=len(raw.data),
        raw_sha256=raw_sha256,
        imported_at=now,
        status=InboundStatus.UNMATCHED,
        reason=reason,
    )
    session.add(inbound)
    session.flush()
    return ImportedMessage(
        inbound_id=inbound.id,
        source=raw.source,
        message_id=message_id,
        from_address=from_text,
        subject=subject,
        status=inbound.status.value,
        reason=reason,
        problem=True,
    )


# --- the unmatched queue ------------------------------------------------------------------


def find_inbound(session: Session, ref: str | int) -> InboundMessage:
    """An imported message by its number or its Message-ID."""
    text = str(ref).strip()
    if text.isdigit():
        row = session.get(InboundMessage, int(text))
    else:
        mid = text if text.startswith("<") else f"<{text}>"
        row = session.scalar(sa.select(InboundMessage).where(InboundMessage.message_id == mid))
    if row is None:
        raise NotFoundError(f"no imported message {text}: see `outreach responses unmatched`")
    return row


def unmatched_messages(session: Session, *, include_ignored: bool = False) -> list[InboundMessage]:
    statuses = [InboundStatus.UNMATCHED]
    if include_ignored:
        statuses.append(InboundStatus.IGNORED)
    return list(
        session.scalars(
            sa.select(InboundMessage)
            .where(InboundMessage.status.in_(statuses))
            .order_by(InboundMessage.date.nulls_last(), InboundMessage.id)
        )
    )


def assign_message(
    session: Session,
    ref: str | int,
    *,
    store: AttachmentStore,
    organization_id: int,
    campaign_id: int | None = None,
    stance: Stance | str | None = None,
) -> Response:
    """Make a response of a queued message, for the organization the
    coordinator recognised."""
    inbound = find_inbound(session, ref)
    if inbound.status in (InboundStatus.MATCHED, InboundStatus.ASSIGNED):
        raise ConflictError(
            f"message {inbound.id} is already response {inbound.response_id}; "
            f"edit that with `outreach responses edit {inbound.response_id}`"
        )
    msg = parse_message(store.read(inbound.raw_sha256))
    _text, from_address = _from_address(msg)
    contact = session.scalar(sa.select(Contact).where(Contact.email_key == from_address))
    contact_id = contact.id if contact and contact.organization_id == organization_id else None
    letter = _latest_letter(
        session,
        organization_id=organization_id,
        campaign_id=campaign_id,
        contact_id=contact_id,
        before=inbound.date,
    )
    match = Match(
        organization_id,
        campaign_id if campaign_id is not None else (letter.campaign_id if letter else None),
        letter.id if letter else None,
        contact_id,
        "assigned by hand",
    )
    response = _response_from_message(
        session,
        store=store,
        msg=msg,
        message_id=inbound.message_id,
        match=match,
        received_at=inbound.date or inbound.imported_at,
        stance=Stance(stance) if stance else None,
    )
    before = inbound.status.value
    inbound.status = InboundStatus.ASSIGNED
    inbound.response_id = response.id
    record_activity(
        session,
        action="assign",
        entity="inbound_message",
        entity_id=inbound.id,
        organization_id=organization_id,
        summary=f"message from {inbound.from_address} assigned: response {response.id}",
        changes={"status": [before, "assigned"], "response_id": [None, response.id]},
    )
    session.flush()
    return response


def ignore_message(session: Session, ref: str | int) -> InboundMessage:
    """Set a queued message aside (spam, noise); it stays recorded."""
    inbound = find_inbound(session, ref)
    if inbound.status != InboundStatus.UNMATCHED:
        raise ConflictError(f"message {inbound.id} is {inbound.status.value}, not unmatched")
    inbound.status = InboundStatus.IGNORED
    record_activity(
        session,
        action="ignore",
        entity="inbound_message",
        entity_id=inbound.id,
        summary=f"message from {inbound.from_address} set aside",
        changes={"status": ["unmatched", "ignored"]},
    )
    session.flush()
    return inbound
