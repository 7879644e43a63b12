"""Working through the unmatched queue: reading a queued message (its text
and the files it carries) and assigning it while taking its sender into the
directory as a new contact.

Service functions take ``session`` (and the :class:`AttachmentStore`) as
keyword arguments, flush when they need ids and never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from outreach.attachments import AttachmentStore
from outreach.errors import ConflictError, ValidationError
from outreach.responses.inbox import assign_message, find_inbound
from outreach.responses.mailbox import (
    attachments_of,
    header,
    read_message,
    sender_of,
    text_body,
)
from outreach.schema.models import InboundStatus, Response, Stance


def message_record(session: Session, ref: str | int, *, store: AttachmentStore) -> dict[str, Any]:
    """One imported message as ``responses unmatched show`` prints it: its
    headers, where it stands, its text (decoded) and its attachments."""
    inbound = find_inbound(session, ref)
    record: dict[str, Any] = {
        "msg": inbound.id,
        "status": inbound.status.value,
        "reason": inbound.reason,
        "response": inbound.response_id,
        "message_id": inbound.message_id,
        "date": inbound.date,
        "from": inbound.from_address,
        "to": inbound.to_address,
        "subject": inbound.subject,
        "size": inbound.raw_size,
    }
    data = store.read(inbound.raw_sha256, session=session) if inbound.raw_sha256 else None
    msg, problem = read_message(data) if data is not None else (None, "its raw mail is missing")
    record["problem"] = problem
    record["text"] = text_body(msg) if msg is not None and problem is None else ""
    record["attachments"] = (
        [
            {"filename": name, "content_type": content_type, "size": len(payload)}
            for name, content_type, payload in attachments_of(msg)
        ]
        if msg is not None and problem is None
        else []
    )
    if msg is not None and not record["subject"]:
        record["subject"] = header(msg, "Subject") or None
    return record


def assign_to_new_contact(
    session: Session,
    ref: str | int,
    *,
    store: AttachmentStore,
    organization_id: int,
    campaign_id: int | None = None,
    stance: Stance | str | None = None,
    name: str | None = None,
) -> tuple[Response, int]:
    """:func:`~outreach.responses.inbox.assign_message`, having first added
    the message's sender to the organization as a contact (named *name*, else
    as the message names them, else by their address). ``(response, contact id)``."""
    from outreach.directory import find_contact
    from outreach.directory.contacts import add_contact
    from outreach.directory.records import get_organization

    inbound = find_inbound(session, ref)
    if inbound.status in (InboundStatus.MATCHED, InboundStatus.ASSIGNED):
        raise ConflictError(
            f"message {inbound.id} is already response {inbound.response_id}; edit that one",
            hint=f"responses edit {inbound.response_id}",
        )
    msg, _problem = read_message(store.read(inbound.raw_sha256, session=session))
    text, address = sender_of(msg) if msg is not None else ("", "")
    if "@" not in address:
        raise ValidationError(
            f"message {inbound.id} has no sender address to make a contact of",
            field="new_contact",
        )
    known = find_contact(session, address)
    if known is not None:
        raise ConflictError(
            f"{address} is already contact #{known.id} ({known.name}) of "
            f"{known.organization.acronym}",
            hint="contacts list",
            field="new_contact",
        )
    org = get_organization(session, organization_id)
    display = name or _display_name(text, address)
    contact = add_contact(session=session, organization=org, name=display, email=address)
    response = assign_message(
        session,
        inbound.id,
        store=store,
        organization_id=organization_id,
        campaign_id=campaign_id,
        stance=stance,
    )
    if response.contact_id is None:
        response.contact_id = contact.id
        session.flush()
    return response, contact.id


def _display_name(from_text: str, address: str) -> str:
    """The name in ``"Ana Ruiz" <ana@...>``, or the address itself."""
    from email.utils import parseaddr

    name = " ".join(parseaddr(from_text)[0].split())
    return name or address
