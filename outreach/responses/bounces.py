"""Telling delivery failures and automatic replies apart from answers.

:func:`classify` looks at one parsed message and says what it is:

- a :class:`Bounce`: a delivery status notification (RFC 3464
  ``multipart/report; report-type=delivery-status``, read with the standard
  library) or one of the common non-standard bounce formats (Exchange,
  qmail, ...: ``flufl.bounce`` finds the failed addresses). It names the
  Message-IDs of the message that failed (from the returned message or its
  headers, else In-Reply-To/References), the failed addresses and the
  reason (Diagnostic-Code, else Status). A report whose every recipient is
  only *delayed* is a bounce with ``delayed`` set: noted, the letter stays
  sent.
- an :class:`AutoReply`: RFC 3834 ``Auto-Submitted`` (other than ``no``),
  ``X-Autoreply``, ``Precedence: auto_reply`` or a typical out-of-office
  subject in one of several languages. It carries the first lines of its
  text.
- ``None``: possibly an answer.

:func:`bounced_letter`, :func:`note_bounce` and :func:`note_auto_reply` then
link one to its letter (by the failed message's Message-ID, else by the
failed address: that contact's latest e-mail letter) and note it there: a
bounce makes the letter ``bounced`` and flags the contact's address; an
automatic reply is kept on the letter and never becomes a response. They
take an ORM ``session`` and never commit.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.db.activity import record_activity
from outreach.responses.mailbox import MESSAGE_ID, clean_text, header, parse_message, text_body
from outreach.schema.models import Channel, Contact, Letter, LetterStatus

#: How much of an automatic reply's text is kept on its letter.
NOTE_LENGTH = 300


@dataclass(frozen=True)
class Bounce:
    #: Message-IDs of the message that could not be delivered (most likely first).
    original_ids: list[str] = field(default_factory=list)
    #: Failed recipients, casefolded.
    addresses: list[str] = field(default_factory=list)
    reason: str = ""
    #: Only a delay (``Action: delayed``): the server goes on trying.
    delayed: bool = False


@dataclass(frozen=True)
class Notice:
    """A report that is neither a failure nor a reply: a delivery report saying
    the letter arrived, or a read receipt (RFC 8098)."""

    what: str


@dataclass(frozen=True)
class AutoReply:
    #: The subject and first lines of the reply.
    note: str
    #: What gave it away ("Auto-Submitted: auto-replied", "subject", ...).
    sign: str


_BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "maildaemon")

_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|undelivered mail|delivery status notification|delivery (has )?failed|"
    r"failure notice|returned mail|mail delivery (failed|failure|system)|"
    r"non[- ]remis|non distribuable|échec de (la )?remise|no se puede entregar|"
    r"no entregado|não entregue|недоставлен|退信|无法投递)",
    re.IGNORECASE,
)

_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|out of (the )?office|"
    r"ooo\b|auto:|on (annual |parental )?leave|away from (the )?office|vacation|holiday|"
    r"r[ée]ponse automatique|absence|absent(e)? du bureau|message d'absence|"
    r"respuesta autom[áa]tica|fuera de la oficina|ausencia|"
    r"resposta autom[áa]tica|fora do escrit[óo]rio|aus[êe]ncia|"
    r"автоматический ответ|автоответ|нет на месте|"
    r"自动回复|自動回覆|不在办公室|"
    r"رد تلقائي|خارج المكتب|"
    r"abwesenheitsnotiz|automatische antwort|afwezig)",
    re.IGNORECASE,
)


def classify(msg: EmailMessage, from_address: str) -> Bounce | AutoReply | Notice | None:
    """What *msg* (sent by *from_address*, casefolded) is, if not an answer."""
    if msg.get_content_type() == "multipart/report":
        kind = str(msg.get_param("report-type", "") or "").lower()
        if kind == "disposition-notification":
            return Notice("a read receipt")
        if _has_part(msg, "message/delivery-status"):
            # A standard report: what it says is final (delivered, relayed: no failure).
            return delivery_report(msg) or Notice("a delivery report without a failure")
    if _looks_bounced(msg, from_address):
        return _nonstandard_bounce(msg)
    return auto_reply(msg)


def _has_part(msg: EmailMessage, content_type: str) -> bool:
    return any(part.get_content_type() == content_type for part in msg.walk())


# --- delivery reports --------------------------------------------------------------------


def delivery_report(msg: EmailMessage) -> Bounce | None:
    """The RFC 3464 delivery status notification *msg* is, or ``None``."""
    if msg.get_content_type() != "multipart/report":
        return None
    status_part = None
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            status_part = part
            break
    if status_part is None:
        return None
    groups = _status_groups(status_part)
    per_recipient = groups[1:] if len(groups) > 1 else groups
    failed, delayed, reasons = [], [], []
    for fields in per_recipient:
        action = fields.get("action", "").lower()
        address = _address_of(fields.get("final-recipient") or fields.get("original-recipient"))
        reason = _reason_of(fields)
        if action == "delayed":
            delayed.append(address)
            reasons.append(reason)
        elif action in ("failed", "") and (action or fields.get("status", "").startswith("5")):
            failed.append(address)
            reasons.append(reason)
    if not failed and not delayed:
        return None  # delivered, relayed or expanded: nothing went wrong
    return Bounce(
        original_ids=_original_ids(msg),
        addresses=[a for a in (failed or delayed) if a],
        reason="; ".join(dict.fromkeys(r for r in reasons if r))[:1000],
        delayed=not failed,
    )


def _status_groups(part: Message) -> list[dict[str, str]]:
    """The field groups of a message/delivery-status part: the per-message one,
    then one per recipient (lower-cased names, unfolded values)."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the stdlib parses each group as a Message
        texts = [str(p) for p in payload]
    else:
        raw = part.get_payload(decode=True) or b""
        texts = re.split(r"\r?\n\s*\r?\n", raw.decode("utf-8", "replace"))
    groups = []
    for text in texts:
        fields: dict[str, str] = {}
        name = None
        for line in text.splitlines():
            if line[:1] in (" ", "\t") and name:
                fields[name] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                fields[name] = value.strip()
        if fields:
            groups.append(fields)
    return groups


def _address_of(value: str | None) -> str:
    """The address of an ``rfc822; someone@example.org`` field."""
    if not value:
        return ""
    text = value.split(";", 1)[1] if ";" in value else value
    _name, addr = email.utils.parseaddr(text.strip())
    return clean_text(addr.strip().casefold())


def _reason_of(fields: dict[str, str]) -> str:
    diagnostic = fields.get("diagnostic-code", "")
    if ";" in diagnostic and diagnostic.split(";", 1)[0].strip().lower() in ("smtp", "x-unix"):
        diagnostic = diagnostic.split(";", 1)[1]
    diagnostic = " ".join(diagnostic.split())
    status = fields.get("status", "").strip()
    if diagnostic and status and status not in diagnostic:
        return clean_text(f"{status} {diagnostic}")
    return clean_text(diagnostic or status)


def _original_ids(msg: EmailMessage) -> list[str]:
    """Message-IDs of the message a report returns: from its message/rfc822 or
    text/rfc822-headers part, then In-Reply-To and References."""
    found: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                found += MESSAGE_ID.findall(str(inner.get("Message-ID", "") or ""))
        elif kind in ("text/rfc822-headers", "message/rfc822-headers"):
            raw = part.get_payload(decode=True) or b""
            headers = parse_message(raw)
            found += MESSAGE_ID.findall(str(headers.get("Message-ID", "") or ""))
    found += MESSAGE_ID.findall(header(msg, "In-Reply-To"))
    found += list(reversed(MESSAGE_ID.findall(header(msg, "References"))))
    return list(dict.fromkeys(found))


# --- other bounces -----------------------------------------------------------------------


def _looks_bounced(msg: EmailMessage, from_address: str) -> bool:
    local = from_address.split("@", 1)[0]
    return (
        local in _BOUNCE_SENDERS
        or msg.get_content_type() == "multipart/report"
        or bool(_BOUNCE_SUBJECT.search(header(msg, "Subject")))
    )


_QUOTED_ID = re.compile(r"^\s*>?\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_SMTP_REASON = re.compile(r"\b([45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b.*|[45]\.\d\.\d{1,3}\b.*)")


def _nonstandard_bounce(msg: EmailMessage) -> Bounce:
    """A bounce that is no RFC 3464 report: ``flufl.bounce`` finds its failed
    addresses; the returned message's Message-ID is looked for in its parts
    and its quoted text (either may stay unknown)."""
    from flufl.bounce import scan_message

    try:
        found = scan_message(msg)
    except Exception:  # a detector choking on an odd message
        found = frozenset()
    addresses = sorted(
        {clean_text(a.decode("utf-8", "replace").strip("<>").casefold()) for a in found}
    )
    body = text_body(msg)
    ids = _original_ids(msg)
    ids += [i for i in _QUOTED_ID.findall(body) if i not in ids]
    reason = _SMTP_REASON.search(body)
    return Bounce(
        original_ids=ids,
        addresses=[a for a in addresses if "@" in a],
        reason=clean_text(" ".join(reason.group(1).split()))[:1000] if reason else "",
    )


# --- automatic replies -------------------------------------------------------------------


def auto_reply(msg: EmailMessage) -> AutoReply | None:
    """The automatic reply (RFC 3834, out of office) *msg* is, or ``None``."""
    sign = None
    auto = header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        sign = f"Auto-Submitted: {auto}"
    elif header(msg, "X-Autoreply") or header(msg, "X-Autorespond"):
        sign = "X-Autoreply"
    elif (precedence := header(msg, "Precedence").lower()) in ("auto_reply", "bulk", "junk"):
        sign = f"Precedence: {precedence}"
    elif _AUTO_SUBJECT.match(header(msg, "Subject")):
        sign = "subject"
    if sign is None:
        return None
    return AutoReply(note=_first_lines(header(msg, "Subject"), text_body(msg)), sign=sign)


def _first_lines(subject: str, body: str, limit: int = NOTE_LENGTH) -> str:
    lines = [line.strip() for line in body.splitlines() if line.strip()][:5]
    text = " ".join(" ".join(lines).split())
    out = f"{subject}: {text}" if subject and text else (subject or text)
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


# --- noting them on letters --------------------------------------------------------------


def bounced_letter(
    session: Session, letters: Mapping[str, tuple[int, ...]], bounce: Bounce
) -> tuple[Letter | None, str | None]:
    """``(letter, the Message-ID it was known by)`` that *bounce* reports on:
    by a Message-ID of the failed message (*letters* maps Message-IDs, earlier
    ones included, to ``(letter id, ...)``), else by a failed address (the
    latest e-mail letter that went to it; no Message-ID then)."""
    for ref in bounce.original_ids:
        if ref in letters:
            return session.get(Letter, letters[ref][0]), ref
    for address in bounce.addresses:
        letter = session.scalar(
            sa.select(Letter)
            .join(Contact, Letter.contact_id == Contact.id)
            .where(
                Letter.channel == Channel.EMAIL,
                Letter.status.in_(
                    [LetterStatus.SENT, LetterStatus.SENDING, LetterStatus.BOUNCED]
                ),
                sa.or_(Contact.email_key == address, sa.func.lower(Letter.to_address) == address),
            )
            .order_by(Letter.sent_at.desc().nulls_last(), Letter.id.desc())
            .limit(1)
        )
        if letter is not None:
            return letter, None
    return None, None


def note_bounce(
    session: Session, letter: Letter, bounce: Bounce, *, known_as: str | None, when: dt.datetime
) -> str:
    """Mark *letter* bounced (and its contact's address), or note a delay;
    the reason to keep on the inbound message."""
    reason = bounce.reason or "no reason given"
    if bounce.delayed:
        return f"delivery of letter {letter.id} delayed ({reason}); the server is still trying"
    if known_as is not None and known_as != letter.message_id:
        return (
            f"an earlier sending of letter {letter.id} bounced ({reason}); "
            "it has been sent again since"
        )
    if letter.status not in (LetterStatus.SENT, LetterStatus.SENDING, LetterStatus.BOUNCED):
        return f"letter {letter.id} bounced ({reason}); it is {letter.status.value} now"
    contact = session.get(Contact, letter.contact_id)
    to = {(letter.to_address or "").strip().casefold(), (contact and contact.email_key) or ""}
    if bounce.addresses and not to & set(bounce.addresses):
        # Only someone copied could not be reached: the letter itself arrived.
        return (
            f"mail to {', '.join(bounce.addresses)} (copied on letter {letter.id}) bounced "
            f"({reason}); the letter itself was not reported undelivered"
        )
    before = letter.status.value
    letter.status = LetterStatus.BOUNCED
    letter.bounced_at = when
    letter.bounce_reason = reason
    flagged = ""
    if contact is not None and contact.email_key and (
        contact.email_key in bounce.addresses
        or (
            not bounce.addresses
            and (letter.to_address or "").strip().casefold() == contact.email_key
        )
    ):
        contact.email_bounced_at = when
        contact.email_bounce_reason = reason
        flagged = f"; the address {contact.email} is flagged"
    record_activity(
        session,
        action="bounce",
        entity="letter",
        entity_id=letter.id,
        organization_id=letter.organization_id,
        summary=f"letter {letter.id} bounced: {reason}{flagged}"[:500],
        changes={"status": [before, LetterStatus.BOUNCED.value]},
    )
    return f"letter {letter.id} bounced: {reason}{flagged}"


def note_auto_reply(letter: Letter, reply: AutoReply, *, when: dt.datetime) -> str:
    """Keep *reply* on *letter* (not an answer); the reason for the inbound message."""
    letter.auto_reply_at = when
    letter.auto_reply_note = reply.note or None
    return f"automatic reply to letter {letter.id} ({reply.sign}): not counted as an answer"
