"""Letters as ``.eml`` files: the message a send hands to the SMTP server for
the letter (cover note, the letter as PDF, attachments, cc, threading), byte
for byte but for the Date (when it was made).
There is one message builder, :func:`outreach.sending.message.build_message`;
this module only turns a :class:`~outreach.render.doc.LetterDoc` into what it
takes. The sender is the campaign's own ``sender`` details (a send may name
another sender).

It lives in ``sending`` rather than ``render``: the render engines know only
the letter, while an e-mail message is sending's business."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any

from outreach.errors import ValidationError
from outreach.sending import headers
from outreach.sending.message import LetterMail, MessageError, build_message, message_bytes
from outreach.sending.settings import MailIdentity

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc


def _identity(doc: LetterDoc) -> MailIdentity:
    sender = doc.sender or {}
    if not (sender.get("email") or "").strip():
        raise ValidationError(f"{doc.acronym}: no sender e-mail address for the .eml file")
    try:
        return MailIdentity.from_details(sender, signatory=sender.get("signatory"))
    except ValidationError as exc:
        raise ValidationError(f"{doc.acronym}: {exc.message}", exc.problems) from None


def letter_mail(doc: LetterDoc) -> LetterMail:
    """What the message builder takes of the letter: as a send takes it
    (:func:`outreach.sending.compose.letter_mail`: cover note, the letter as
    PDF, attachments, cc), to the address the letter is for."""
    from outreach.sending.compose import letter_mail as composed

    to = doc.to_address if doc.channel == "email" and doc.to_address else doc.contact_email
    if not (to or "").strip():
        raise ValidationError(f"{doc.acronym}: no recipient e-mail address for the .eml file")
    try:
        # the size limit is the send's to enforce: the file shows what it would refuse
        return replace(composed(doc, to=to), max_size=None)
    except MessageError as exc:
        raise ValidationError(f"{doc.acronym}: {exc}") from None


def to_message(doc: LetterDoc) -> EmailMessage:
    """The letter as the e-mail message a send would hand over (HTML alternative
    included); a refusal names the letter."""
    identity = _identity(doc)
    mail = letter_mail(doc)
    # As a send does: the letter's own Message-ID, or a new one from the sender's domain.
    message_id = headers.usable_message_id(mail.message_id) or make_msgid(domain=identity.domain)
    try:
        return build_message(mail, identity, message_id=message_id, html=True)
    except MessageError as exc:
        raise ValidationError(f"{doc.acronym}: {exc}") from None


def to_eml(doc: LetterDoc) -> bytes:
    return message_bytes(to_message(doc))


def sent_copies(session: Any, campaign: str | int) -> list[tuple[int, str, bytes, dt.datetime]]:
    """(letter id, Message-ID, message bytes, when it went) for every e-mail
    letter of *campaign* that was sent: each message rebuilt by the one
    builder, byte for byte what went but for the Date line, which is when it
    went (what a Sent folder should hold)."""
    import sqlalchemy as sa

    from outreach.campaigns.lookup import find_object
    from outreach.schema.enums import Channel, LetterStatus
    from outreach.schema.models import Campaign, Letter
    from outreach.sending.compose import stored_docs

    camp = find_object(session, Campaign, campaign, "campaign")
    rows = session.execute(
        sa.select(Letter.id, Letter.message_id, Letter.sent_at)
        .where(
            Letter.campaign_id == camp.id,
            Letter.status == LetterStatus.SENT,
            Letter.channel == Channel.EMAIL,
            Letter.message_id.is_not(None),
        )
        .order_by(Letter.sent_at, Letter.id)
    ).all()
    docs = stored_docs(session, [r.id for r in rows])
    out = []
    for r in rows:
        msg = to_message(docs[r.id])
        del msg["Date"]
        msg["Date"] = format_datetime(r.sent_at)
        out.append((r.id, r.message_id, message_bytes(msg), r.sent_at))
    return out
