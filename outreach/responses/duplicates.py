"""One reply, one response: a reply logged by hand and the same reply
imported from the mailbox later (or the other way round) are recognised as
the same, by Message-ID when there is one, else by organization, letter, day
and subject.

Service functions take ``session`` as a keyword argument and never commit.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.attachments import AttachmentStore
from outreach.db.activity import record_activity
from outreach.errors import ValidationError
from outreach.schema.models import Attachment, InboundMessage, InboundStatus, Response

#: "Re:", "AW:", "Fwd:", "RE[2]:" ... at the start of a subject.
_REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|aw|sv|vs|antw|ref|rv|r|fw|fwd|wg|tr|enc)\s*(?:\[\d+\])?\s*[:\uff1a])+",
    re.IGNORECASE,
)


def normal_message_id(text: str | None) -> str | None:
    """A Message-ID as stored: in angle brackets, without spaces; ``None`` for none."""
    text = (text or "").strip()
    if not text:
        return None
    text = text.strip("<>").strip()
    if not text or any(c.isspace() for c in text) or "<" in text or ">" in text:
        raise ValidationError(f"{text!r} is not a Message-ID", field="message_id")
    return f"<{text}>"[:255]


def subject_key(subject: str | None) -> str:
    """A subject as compared: reply and forward prefixes dropped, spaces and
    case folded."""
    text = _REPLY_PREFIX.sub("", subject or "")
    return " ".join(text.split()).casefold()


def _same_day(a: dt.datetime, b: dt.datetime) -> bool:
    """The same day: the same UTC date, or less than a day apart (a reply
    logged by its local date, from another time zone)."""
    a, b = a.astimezone(dt.UTC), b.astimezone(dt.UTC)
    return a.date() == b.date() or abs(a - b) < dt.timedelta(days=1)


def same_response(
    session: Session,
    *,
    organization_id: int,
    letter_id: int | None,
    received_at: dt.datetime,
    subject: str | None,
    message_id: str | None = None,
    hand_logged_only: bool = False,
) -> Response | None:
    """The response already recorded for the same reply: the one with
    *message_id* when it is given, else one from the organization answering
    the same letter, received the same day, with the same subject (with or
    without "Re:"). *hand_logged_only* looks only at responses without a
    Message-ID (those logged by hand)."""
    if message_id:
        found = session.scalar(sa.select(Response).where(Response.message_id == message_id))
        if found is not None or hand_logged_only:
            return found
    key = subject_key(subject)
    if not key:
        return None
    stmt = sa.select(Response).where(
        Response.organization_id == organization_id,
        Response.letter_id.is_(None) if letter_id is None else Response.letter_id == letter_id,
        Response.received_at >= received_at - dt.timedelta(days=2),
        Response.received_at <= received_at + dt.timedelta(days=2),
        Response.subject.is_not(None),
    )
    if hand_logged_only:
        stmt = stmt.where(Response.message_id.is_(None))
    for response in session.scalars(stmt.order_by(Response.id)):
        if subject_key(response.subject) == key and _same_day(response.received_at, received_at):
            return response
    return None


def settle_queued(session: Session, response: Response) -> None:
    """A message waiting in the unmatched queue with the response's
    Message-ID is that response now (assigned)."""
    if not response.message_id:
        return
    inbound = session.scalar(
        sa.select(InboundMessage).where(InboundMessage.message_id == response.message_id)
    )
    if inbound is not None and inbound.status == InboundStatus.UNMATCHED:
        inbound.status = InboundStatus.ASSIGNED
        inbound.response_id = response.id


def claim_logged_response(
    session: Session,
    *,
    store: AttachmentStore,
    msg: Any,
    message_id: str,
    organization_id: int,
    letter_id: int | None,
    contact_id: int | None,
    received_at: dt.datetime,
) -> Response | None:
    """The response logged by hand for the reply *msg* being imported (see
    :func:`same_response`), now carrying its Message-ID, subject and
    attachments; ``None`` when none was logged (the importer records it)."""
    from outreach.responses.mailbox import attachments_of, header

    subject = header(msg, "Subject")
    response = same_response(
        session,
        organization_id=organization_id,
        letter_id=letter_id,
        received_at=received_at,
        subject=subject,
        hand_logged_only=True,
    )
    if response is None:
        return None
    response.message_id = message_id
    response.subject = response.subject or subject[:500] or None
    response.sender = response.sender or header(msg, "From")[:500] or None
    response.contact_id = response.contact_id or contact_id
    names = []
    for name, content_type, payload in attachments_of(msg):
        stored = store.put_bytes(payload, session=session)
        session.add(
            Attachment(
                response_id=response.id,
                filename=name,
                content_type=content_type[:200],
                size=stored.size,
                sha256=stored.sha256,
            )
        )
        names.append(name)
    record_activity(
        session,
        action="update",
        entity="response",
        entity_id=response.id,
        organization_id=organization_id,
        summary=f"the e-mail of this reply imported: {subject}"[:500],
        changes={"message_id": [None, message_id]}
        | ({"attachments": [None, names]} if names else {}),
    )
    session.flush()
    return response
