"""Who to chase: recipients whose letter went out and who have not answered.

A letter that bounced reached no one: it is not chased (a reminder would go
to the same dead address) but listed by :func:`bounced_letters`, to be sent
again once the contact's address is corrected."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from outreach.campaigns.lookup import find_campaign_row
from outreach.schema import tables
from outreach.schema.enums import LetterStatus
from outreach.schema.types import utcnow

# Core tables (outreach.schema.tables): reminders are generated without the ORM.
Letter = tables.letters.c
Response = tables.responses.c
Contact = tables.contacts.c
Organization = tables.organizations.c


@dataclass(frozen=True)
class DueFollowup:
    """One silent recipient of a campaign."""

    #: The first letter sent to this recipient in the campaign (round 0).
    original_letter_id: int
    #: The most recent letter sent to them (the original or the last reminder).
    latest_letter_id: int
    organization_id: int
    contact_id: int
    acronym: str
    organization_name: str
    contact_name: str
    #: When the original letter went out.
    sent_at: dt.datetime
    #: When the most recent letter (original or reminder) went out.
    last_sent_at: dt.datetime
    #: Whole days since the original letter went out.
    days_waiting: int
    #: Reminders already sent (rounds above 0).
    followups_sent: int


def due_followups(
    conn: sa.Connection,
    *,
    campaign: str | int,
    after: dt.timedelta = dt.timedelta(days=14),
    now: dt.datetime | None = None,
) -> list[DueFollowup]:
    """Recipients of *campaign* (its slug or id) whose latest letter went out at
    least *after* ago and from whose organization no response has been logged
    for the campaign; oldest first."""
    now = now or utcnow()
    campaign_id = find_campaign_row(conn, campaign).id
    sent = (
        sa.select(
            Letter.id,
            Letter.organization_id,
            Letter.contact_id,
            Letter.round,
            Letter.sent_at,
        )
        .where(
            Letter.campaign_id == campaign_id,
            Letter.status == LetterStatus.SENT,
            Letter.sent_at.is_not(None),
        )
        .order_by(Letter.contact_id, Letter.round, Letter.sent_at)
    )
    answered = set(
        conn.scalars(
            sa.select(Response.organization_id).where(Response.campaign_id == campaign_id)
        )
    )
    # A contact whose letter or reminder bounced, or whose address bounces.
    bounced = set(
        conn.scalars(
            sa.select(Letter.contact_id).where(
                Letter.campaign_id == campaign_id, Letter.status == LetterStatus.BOUNCED
            )
        )
    ) | set(conn.scalars(sa.select(Contact.id).where(Contact.email_bounced_at.is_not(None))))
    by_contact: dict[int, list[sa.Row]] = {}
    for row in conn.execute(sent):
        if row.organization_id in answered or row.contact_id in bounced:
            continue
        by_contact.setdefault(row.contact_id, []).append(row)
    if not by_contact:
        return []
    names = {
        r.id: r
        for r in conn.execute(
            sa.select(
                Contact.id, Contact.name, Organization.acronym, Organization.name.label("org")
            )
            .join(tables.organizations, Contact.organization_id == Organization.id)
            .where(Contact.id.in_(list(by_contact)))
        )
    }
    out = []
    for contact_id, rows in by_contact.items():
        originals = [r for r in rows if r.round == 0]
        if not originals:
            continue
        original = originals[0]
        latest = max(rows, key=lambda r: (r.round, r.sent_at))
        if now - latest.sent_at < after:
            continue
        info = names[contact_id]
        out.append(
            DueFollowup(
                original_letter_id=original.id,
                latest_letter_id=latest.id,
                organization_id=original.organization_id,
                contact_id=contact_id,
                acronym=info.acronym,
                organization_name=info.org,
                contact_name=info.name,
                sent_at=original.sent_at,
                last_sent_at=latest.sent_at,
                days_waiting=(now - original.sent_at).days,
                followups_sent=len({r.round for r in rows if r.round > 0}),
            )
        )
    out.sort(key=lambda d: (d.sent_at, d.acronym))
    return out


@dataclass(frozen=True)
class BouncedLetter:
    """A letter of a campaign the mail server could not deliver."""

    letter_id: int
    round: int
    organization_id: int
    contact_id: int
    acronym: str
    contact_name: str
    to_address: str | None
    bounced_at: dt.datetime | None
    reason: str | None
    #: Whether the contact's address has been changed since (the letter can be resent).
    address_corrected: bool


def bounced_letters(conn: sa.Connection, *, campaign: str | int) -> list[BouncedLetter]:
    """The bounced letters of *campaign* (its slug or id), by organization."""
    campaign_id = find_campaign_row(conn, campaign).id
    rows = conn.execute(
        sa.select(
            Letter.id,
            Letter.round,
            Letter.organization_id,
            Letter.contact_id,
            Letter.to_address,
            Letter.bounced_at,
            Letter.bounce_reason,
            Contact.name,
            Contact.email_bounced_at,
            Organization.acronym,
        )
        .join(tables.contacts, Letter.contact_id == Contact.id)
        .join(tables.organizations, Letter.organization_id == Organization.id)
        .where(Letter.campaign_id == campaign_id, Letter.status == LetterStatus.BOUNCED)
        .order_by(Organization.acronym, Letter.round, Letter.id)
    )
    return [
        BouncedLetter(
            letter_id=r.id,
            round=r.round,
            organization_id=r.organization_id,
            contact_id=r.contact_id,
            acronym=r.acronym,
            contact_name=r.name,
            to_address=r.to_address,
            bounced_at=r.bounced_at,
            reason=r.bounce_reason,
            address_corrected=r.email_bounced_at is None,
        )
        for r in rows
    ]
