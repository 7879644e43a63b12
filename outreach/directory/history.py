"""One organization's history across campaigns and years: letters,
follow-ups, responses and notes, as a timeline (oldest first).

``outreach orgs show X`` prints it; :func:`add_note` records a note that
appears in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.db.activity import record_activity
from outreach.errors import NotFoundError, ValidationError
from outreach.schema.models import (
    Activity,
    Attachment,
    Campaign,
    Contact,
    Letter,
    LetterStatus,
    Organization,
    Response,
)

#: Activity actions that are notes written by a coordinator.
NOTE_ACTIONS = ("note",)


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    #: "letter", "follow-up", "response" or "note".
    kind: str
    campaign: str | None
    summary: str
    #: How it travelled (letters and responses).
    channel: str | None = None
    #: The letter's status, or the response's stance.
    status: str | None = None
    #: ``letter``, ``response`` or ``activity``, with the row's id.
    ref: str = ""
    ref_id: int | None = None
    actor: str | None = None

    @property
    def year(self) -> int:
        return self.at.year


def org_timeline(
    session: Session, organization_id: int, *, include_unsent: bool = True
) -> list[TimelineEntry]:
    """Everything that passed between the secretariat and the organization.

    Sent letters are dated when they went out; letters not (yet) sent are
    dated when last changed and carry their status (``include_unsent=False``
    leaves them out). Superseded versions never appear.
    """
    if session.get(Organization, organization_id) is None:
        raise NotFoundError(f"no organization with id {organization_id}")
    out = [
        *_letter_entries(session, organization_id, include_unsent),
        *_response_entries(session, organization_id),
        *_note_entries(session, organization_id),
    ]
    order = {"letter": 0, "follow-up": 1, "response": 2, "note": 3}
    out.sort(key=lambda e: (e.at, order[e.kind], e.ref_id or 0))
    return out


def _letter_entries(
    session: Session, organization_id: int, include_unsent: bool
) -> list[TimelineEntry]:
    """Current letters and reminders, cancelled ones left out."""
    out: list[TimelineEntry] = []
    letters = session.execute(
        sa.select(
            Letter.id,
            Letter.round,
            Letter.subject,
            Letter.status,
            Letter.channel,
            Letter.sent_at,
            Letter.updated_at,
            Letter.error,
            Campaign.slug,
            Contact.name,
        )
        .join(Campaign, Letter.campaign_id == Campaign.id)
        .join(Contact, Letter.contact_id == Contact.id)
        .where(Letter.organization_id == organization_id, Letter.superseded_at.is_(None))
    )
    for r in letters:
        if r.status == LetterStatus.CANCELLED:
            continue
        sent = r.status == LetterStatus.SENT and r.sent_at is not None
        if not sent and not include_unsent:
            continue
        kind = "follow-up" if r.round > 0 else "letter"
        what = f"reminder {r.round}" if r.round > 0 else "letter"
        if sent:
            summary = f"{what} to {r.name}: {r.subject}"
        else:
            summary = f"{what} to {r.name} ({r.status.value}): {r.subject}"
            if r.status == LetterStatus.FAILED and r.error:
                summary += f" [{r.error}]"
        out.append(
            TimelineEntry(
                at=r.sent_at if sent else r.updated_at,
                kind=kind,
                campaign=r.slug,
                summary=summary,
                channel=r.channel.value,
                status=r.status.value,
                ref="letter",
                ref_id=r.id,
            )
        )
    return out


def _response_entries(session: Session, organization_id: int) -> list[TimelineEntry]:
    """Responses, with how many attachments each has."""
    out: list[TimelineEntry] = []
    counts = dict(
        session.execute(
            sa.select(Attachment.response_id, sa.func.count())
            .join(Response, Attachment.response_id == Response.id)
            .where(Response.organization_id == organization_id)
            .group_by(Attachment.response_id)
        ).all()
    )
    responses = session.execute(
        sa.select(
            Response.id,
            Response.received_at,
            Response.channel,
            Response.stance,
            Response.sender,
            Response.summary,
            Campaign.slug,
        )
        .outerjoin(Campaign, Response.campaign_id == Campaign.id)
        .where(Response.organization_id == organization_id)
    )
    for r in responses:
        summary = f"{r.stance.value}"
        if r.sender:
            summary += f" from {r.sender}"
        if r.summary:
            summary += f": {r.summary}"
        if counts.get(r.id):
            summary += f" ({counts[r.id]} attachment(s))"
        out.append(
            TimelineEntry(
                at=r.received_at,
                kind="response",
                campaign=r.slug,
                summary=summary,
                channel=r.channel.value,
                status=r.stance.value,
                ref="response",
                ref_id=r.id,
            )
        )
    return out


def _note_entries(session: Session, organization_id: int) -> list[TimelineEntry]:
    """Coordinators' notes from the activity log."""
    out: list[TimelineEntry] = []
    notes = session.execute(
        sa.select(Activity.id, Activity.at, Activity.actor, Activity.summary).where(
            Activity.organization_id == organization_id, Activity.action.in_(NOTE_ACTIONS)
        )
    )
    for r in notes:
        out.append(
            TimelineEntry(
                at=r.at,
                kind="note",
                campaign=None,
                summary=r.summary or "",
                ref="activity",
                ref_id=r.id,
                actor=r.actor,
            )
        )
    return out


def add_note(session: Session, organization_id: int, text: str) -> Activity:
    """Write a note on the organization's timeline ("met their envoy in Geneva")."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("the note is empty")
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFoundError(f"no organization with id {organization_id}")
    row = record_activity(
        session,
        action="note",
        entity="organization",
        entity_id=org.id,
        organization_id=org.id,
        summary=text,
    )
    session.flush()
    return row


def organization_history(org: Organization, *, session: Session) -> list[dict[str, Any]]:
    """The organization's timeline across campaigns and years, newest first:
    letters, reminders, responses and notes (see :func:`org_timeline`)."""
    return [
        {
            "when": entry.at,
            "campaign": entry.campaign,
            "what": entry.kind,
            "who": entry.actor or "",
            "channel": entry.channel,
            "status": entry.status,
            "summary": entry.summary,
        }
        for entry in reversed(org_timeline(session, org.id))
    ]
