"""A person's rights over their data: :func:`forget_contact` erases it,
:func:`export_person` gives everything held about them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.attachments import ERASED_SHA256, AttachmentStore
from outreach.db.activity import record_activity
from outreach.db.database import DATABASE_KEY
from outreach.directory.records import contact_record
from outreach.errors import ConflictError
from outreach.schema.models import (
    Activity,
    Attachment,
    Contact,
    InboundMessage,
    Letter,
    Response,
)
from outreach.schema.tables import stored_files
from outreach.schema.types import json_value, utcnow

#: Name given to a contact whose personal data was erased.
FORGOTTEN_NAME = "Forgotten contact"

_PERSONAL_FIELDS = ("name", "email", "phone", "postal_address", "notes", "salutation")


def forget_contact(contact: Contact, *, session: Session) -> dict[str, int]:
    """Erase a person's personal data on request, keeping the row so that counts
    of letters and responses survive.

    The name becomes "Forgotten contact"; e-mail, phone, postal address,
    salutation, notes and tags are cleared; the contact is marked
    do-not-contact and archived. Their name and address are also blanked out
    of the letters and responses that mention them and out of the activity
    log's earlier records about them. The raw mails received from their
    address and the attachments of their responses are erased (the files
    from the database and from an older attachments folder, unless another
    record still names the same content). Returns how many rows were touched
    (``files``: how many stored files were erased).
    """
    if contact.forgotten_at is not None:
        raise ConflictError(f"contact #{contact.id} was already forgotten")
    secrets = [s for s in (contact.name, contact.email) if s and len(s) >= 3]
    now = utcnow()
    touched = {"letters": 0, "responses": 0, "activity": 0, "files": 0}
    files: set[str] = set()
    for letter in session.scalars(sa.select(Letter).where(Letter.contact_id == contact.id)):
        letter.to_address = None
        letter.subject = _redact(letter.subject, secrets)
        letter.body = _redact(letter.body, secrets)
        touched["letters"] += 1
    # Replies from them, including those matched by thread or domain (no contact set).
    from_them: Any = Response.contact_id == contact.id
    if contact.email_key:
        from_them = sa.or_(
            from_them, sa.func.lower(Response.sender).contains(contact.email_key, autoescape=True)
        )
    for response in session.scalars(sa.select(Response).where(from_them)):
        response.sender = None
        if response.summary:
            response.summary = _redact(response.summary, secrets)
        for attachment in list(response.attachments):
            files.add(attachment.sha256)
            session.delete(attachment)
        touched["responses"] += 1
    if contact.email_key:
        for message in session.scalars(
            sa.select(InboundMessage).where(
                sa.func.lower(InboundMessage.from_address).contains(
                    contact.email_key, autoescape=True
                )
            )
        ):
            message.from_address = None
            if message.raw_sha256 != ERASED_SHA256:
                files.add(message.raw_sha256)
                message.raw_sha256 = ERASED_SHA256
            if message.subject:
                message.subject = _redact(message.subject, secrets)
            if message.to_address:
                message.to_address = _redact(message.to_address, secrets)
    for row in session.scalars(
        sa.select(Activity).where(Activity.entity == "contact", Activity.entity_id == contact.id)
    ):
        row.summary = _redact(row.summary or "", secrets) or None
        row.changes = {k: ["(erased)", "(erased)"] for k in (row.changes or {})} or None
        touched["activity"] += 1
    touched["files"] = _erase_files(session, files)
    contact.name = FORGOTTEN_NAME
    contact.email = None
    contact.phone = None
    contact.postal_address = None
    contact.salutation = None
    contact.notes = None
    contact.tags = []
    contact.do_not_contact = True
    contact.do_not_contact_reason = "personal data erased on request"
    contact.forgotten_at = now
    contact.archived_at = contact.archived_at or now
    session.flush()
    record_activity(
        session,
        action="forget",
        entity="contact",
        entity_id=contact.id,
        organization_id=contact.organization_id,
        summary=f"erased the personal data of contact #{contact.id} on request",
        changes={f: ["(erased)", None] for f in _PERSONAL_FIELDS},
    )
    return touched


def _erase_files(session: Session, shas: set[str]) -> int:
    """Erase the stored files *shas* that no record names any more."""
    if not shas:
        return 0
    session.flush()
    still = set(
        session.scalars(sa.select(Attachment.sha256).where(Attachment.sha256.in_(shas)))
    ) | set(
        session.scalars(
            sa.select(InboundMessage.raw_sha256).where(InboundMessage.raw_sha256.in_(shas))
        )
    )
    gone = shas - still
    db = session.info.get(DATABASE_KEY)
    if db is not None:
        return AttachmentStore.for_database(db).erase(gone, session=session)
    result = session.execute(sa.delete(stored_files).where(stored_files.c.sha256.in_(gone)))
    return result.rowcount or 0


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = re.sub(re.escape(secret), "[forgotten]", text, flags=re.IGNORECASE)
    return text


def export_person(contact: Contact, *, session: Session) -> dict[str, Any]:
    """Everything held about one person, as plain JSON-ready values: their
    record, their letters, the responses from them and the activity log about them."""
    letters = session.scalars(
        sa.select(Letter).where(Letter.contact_id == contact.id).order_by(Letter.id)
    ).all()
    responses = session.scalars(
        sa.select(Response).where(Response.contact_id == contact.id).order_by(Response.id)
    ).all()
    activity = session.scalars(
        sa.select(Activity)
        .where(Activity.entity == "contact", Activity.entity_id == contact.id)
        .order_by(Activity.id)
    ).all()
    messages = (
        session.scalars(
            sa.select(InboundMessage)
            .where(
                sa.func.lower(InboundMessage.from_address).contains(
                    contact.email_key, autoescape=True
                )
            )
            .order_by(InboundMessage.id)
        ).all()
        if contact.email_key
        else []
    )
    record = contact_record(contact)
    record["organization_name"] = contact.organization.name
    return {
        "contact": {
            "id": contact.id,
            **record,
            "created_at": json_value(contact.created_at),
            "updated_at": json_value(contact.updated_at),
            "archived_at": json_value(contact.archived_at),
            "forgotten_at": json_value(contact.forgotten_at),
        },
        "letters": [_letter_item(letter) for letter in letters],
        "responses": [_response_item(response) for response in responses],
        # E-mail from them read by `responses import` (matched or not).
        "messages": [_message_item(message) for message in messages],
        "activity": [_activity_item(row) for row in activity],
    }


def _letter_item(letter: Letter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "campaign": letter.campaign.slug,
        "round": letter.round,
        "version": letter.version,
        "language": letter.language,
        "channel": json_value(letter.channel),
        "status": json_value(letter.status),
        "to_address": letter.to_address,
        "subject": letter.subject,
        "body": letter.body,
        "created_at": json_value(letter.created_at),
        "sent_at": json_value(letter.sent_at),
    }


def _response_item(response: Response) -> dict[str, Any]:
    return {
        "id": response.id,
        "campaign": response.campaign.slug if response.campaign else None,
        "letter_id": response.letter_id,
        "received_at": json_value(response.received_at),
        "channel": json_value(response.channel),
        "sender": response.sender,
        "stance": json_value(response.stance),
        "summary": response.summary,
        "attachments": [a.filename for a in response.attachments],
    }


def _message_item(message: InboundMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "message_id": message.message_id,
        "from": message.from_address,
        "to": message.to_address,
        "subject": message.subject,
        "date": json_value(message.date),
        "status": json_value(message.status),
        "response_id": message.response_id,
    }


def _activity_item(row: Activity) -> dict[str, Any]:
    return {
        "at": json_value(row.at),
        "actor": row.actor,
        "action": row.action,
        "summary": row.summary,
        "changes": row.changes,
    }
