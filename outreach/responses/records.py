"""Responses logged by hand: looking one up, logging, editing, listing and
showing them, and the latest letter a response answers.

Service functions take ``session`` (and the :class:`AttachmentStore`) as
keyword arguments, flush when they need ids and never commit.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.attachments import AttachmentStore, safe_filename
from outreach.db.activity import record_activity
from outreach.directory import find_organization
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.responses.duplicates import normal_message_id, same_response, settle_queued
from outreach.schema.models import (
    Attachment,
    Campaign,
    Channel,
    Contact,
    Letter,
    LetterStatus,
    Organization,
    Response,
    Stance,
)
from outreach.schema.types import json_value, utcnow

# --- lookups -----------------------------------------------------------------


def get_response(session: Session, response_id: int) -> Response:
    """The response numbered *response_id*; :class:`NotFoundError` if there is none."""
    response = session.get(Response, response_id)
    if response is None:
        raise NotFoundError(f"no response {response_id}", hint="responses list")
    return response


def latest_letter(
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


def answered_letter(
    session: Session,
    *,
    organization_id: int,
    campaign_id: int | None = None,
    contact_id: int | None = None,
    before: dt.datetime | None = None,
) -> tuple[int | None, int | None]:
    """``(letter id, campaign id)`` that a response from the organization
    answers: its :func:`latest_letter` (in *campaign_id*, when given), and
    without *campaign_id* that letter's campaign."""
    letter = latest_letter(
        session,
        organization_id=organization_id,
        campaign_id=campaign_id,
        contact_id=contact_id,
        before=before,
    )
    if campaign_id is None and letter is not None:
        campaign_id = letter.campaign_id
    return (letter.id if letter else None), campaign_id


# --- logging by hand ----------------------------------------------------------------


def _get_organization(session: Session, organization_id: int) -> Organization:
    org = find_organization(session, organization_id)
    if org is None:
        raise NotFoundError(f"no organization with id {organization_id}")
    return org


def _check_not_future(received_at: dt.datetime) -> None:
    if received_at > utcnow() + dt.timedelta(days=1):
        raise ValidationError(f"received {received_at.date()} is in the future")


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


def log_response(session: Session, **fields: Any) -> Response:
    """Record a response that came back (a letter by post, a phone call, ...):
    :func:`log_or_complete_response` with the same arguments, without saying
    whether the response is new.

    Without *letter_id* the response is linked to the latest letter that went
    to the organization in the campaign; without *campaign_id* the campaign is
    that of the latest letter sent to the organization before it was received.
    The same reply recorded already (imported from the mailbox, or logged
    before; see :func:`same_response`) is completed instead of recorded twice.
    """
    return log_or_complete_response(session, **fields)[0]


def log_or_complete_response(
    session: Session,
    *,
    store: AttachmentStore,
    organization_id: int,
    campaign_id: int | None = None,
    received_at: dt.datetime | None = None,
    channel: Channel | str = Channel.EMAIL,
    sender: str | None = None,
    stance: Stance | str | None = None,
    summary: str | None = None,
    attachments: Sequence[str | Path] = (),
    letter_id: int | None = None,
    contact_id: int | None = None,
    message_id: str | None = None,
    subject: str | None = None,
) -> tuple[Response, bool]:
    """:func:`log_response`, and whether the response is new (``False``: the
    same reply was recorded already and has been completed with what was
    given)."""
    received_at = received_at or utcnow()
    if received_at.tzinfo is None:
        raise ValidationError("the received date needs a time zone")
    _check_not_future(received_at)
    try:
        channel = Channel(channel)
        stance = Stance(stance) if stance is not None else None
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    message_id = normal_message_id(message_id)
    subject = " ".join((subject or "").split())[:500] or None
    files = _check_files(attachments)
    org = _get_organization(session, organization_id)
    if letter_id is not None:
        letter = session.get(Letter, letter_id)
        if letter is None or letter.organization_id != organization_id:
            raise ValidationError(f"letter {letter_id} was not written to {org.acronym}")
        if campaign_id is not None and campaign_id != letter.campaign_id:
            raise ValidationError(
                f"letter {letter_id} belongs to campaign {letter.campaign.slug}, not to the "
                "campaign given: leave the campaign out, or give the right letter",
                field="campaign",
            )
        campaign_id = letter.campaign_id
    else:
        letter_id, campaign_id = answered_letter(
            session,
            organization_id=organization_id,
            campaign_id=campaign_id,
            contact_id=contact_id,
            before=received_at,
        )
    existing = same_response(
        session,
        organization_id=organization_id,
        letter_id=letter_id,
        received_at=received_at,
        subject=subject,
        message_id=message_id,
    )
    if existing is not None:
        if existing.organization_id != organization_id:
            raise ConflictError(
                f"message {message_id} is response {existing.id}, from "
                f"{existing.organization.acronym}",
                hint=f"responses show {existing.id}",
            )
        _complete(session, existing, store, files, stance=stance, summary=summary, sender=sender)
        return existing, False
    stance = stance or Stance.OTHER
    response = Response(
        organization_id=organization_id,
        campaign_id=campaign_id,
        letter_id=letter_id,
        contact_id=contact_id,
        received_at=received_at,
        channel=channel,
        sender=sender,
        stance=stance,
        summary=summary,
        message_id=message_id,
        subject=subject,
    )
    session.add(response)
    session.flush()
    _attach_files(session, response, files, store)
    settle_queued(session, response)
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
    return response, True


def _complete(
    session: Session,
    response: Response,
    store: AttachmentStore,
    files: Sequence[Path],
    *,
    stance: Stance | None = None,
    summary: str | None = None,
    sender: str | None = None,
) -> None:
    """Add what was logged by hand to the response already recorded for it."""
    diff: dict[str, list[Any]] = {}
    for key, value in (("stance", stance), ("summary", summary), ("sender", sender)):
        before = getattr(response, key)
        if value is not None and value != before:
            diff[key] = [json_value(before), json_value(value)]
            setattr(response, key, value)
    _attach_files(session, response, files, store)
    if files:
        diff["attachments"] = [None, [p.name for p in files]]
    record_activity(
        session,
        action="update",
        entity="response",
        entity_id=response.id,
        organization_id=response.organization_id,
        summary="logged by hand again: the same reply"
        + (f", {', '.join(diff)} completed" if diff else ""),
        changes=diff or None,
    )
    session.flush()


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
    if received is not None and received.tzinfo is not None:
        _check_not_future(received)
    _relink(session, response, changes)
    diff = _apply_changes(session, response, changes)
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


def _relink(session: Session, response: Response, changes: dict[str, Any]) -> None:
    """Complete *changes* with the letter (and campaign, contact) that follow
    from a new letter, campaign or organization."""
    received = changes.get("received_at")
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
        letter = latest_letter(
            session,
            organization_id=response.organization_id,
            campaign_id=new_campaign,
            before=received or response.received_at,
        )
        changes["letter_id"] = letter.id if letter else None
    if new_org is not None and new_org != response.organization_id:
        _get_organization(session, new_org)
        if "letter_id" not in changes:
            letter = latest_letter(
                session,
                organization_id=new_org,
                campaign_id=changes.get("campaign_id", response.campaign_id),
                before=changes.get("received_at") or response.received_at,
            )
            changes["letter_id"] = letter.id if letter else None
        contact = session.get(Contact, response.contact_id) if response.contact_id else None
        if contact is not None and contact.organization_id != new_org:
            changes["contact_id"] = None


def _apply_changes(
    session: Session, response: Response, changes: dict[str, Any]
) -> dict[str, list[Any]]:
    """Set the changed fields of *response*; ``{field: [before, after]}``."""
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
    return diff


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
        "subject": r.subject,
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


def save_attachments(
    record: dict[str, Any], folder: str | os.PathLike[str], *, store: Any, session: Session
) -> list[Path]:
    """Write the attachments of a response *record* (:func:`response_record`)
    into *folder*, read from wherever the store keeps them (the database, or
    the older attachments folder), under portable names that never leave the
    folder; owner-only files. A missing file is :class:`NotFoundError` and
    writes nothing."""
    from outreach.files import make_dirs, portable_filename, write_file

    contents = [(a, store.read(a["sha256"], session=session)) for a in record["attachments"]]
    target = Path(folder).expanduser()
    make_dirs(target)
    used: set[str] = set()
    written = []
    for a, data in contents:
        name = portable_filename(a["filename"], f"attachment-{a['id']}")
        stem, dot, ext = name.rpartition(".")
        candidate, n = name, 2
        while candidate.casefold() in used or (target / candidate).exists():
            candidate = f"{stem}-{n}.{ext}" if dot else f"{name}-{n}"
            n += 1
        used.add(candidate.casefold())
        written.append(write_file(target / candidate, data))
    return written
