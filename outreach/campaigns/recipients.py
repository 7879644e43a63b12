"""Who a campaign writes to: organizations added by filters or acronyms,
each optionally to a chosen contact instead of its primary one.

Every function takes an ORM ``session``, flushes and never commits; every
change leaves an activity row.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.campaigns import get_campaign
from outreach.db.activity import record_activity
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.schema.enums import CampaignStatus, OrgKind, Region
from outreach.schema.models import Campaign, CampaignRecipient, Contact, Organization

E = TypeVar("E", bound=enum.Enum)


@dataclass(frozen=True)
class RecipientChange:
    added: list[str]
    already: list[str]
    removed: list[str]


def _members(enum: type[E], values: Sequence[str], what: str, problems: list[str]) -> list[E]:
    """*values* as members of *enum*; each one that is not adds to *problems*."""
    members = []
    for value in values:
        try:
            members.append(enum(value))
        except ValueError:
            problems.append(f"{what} {value!r}: use one of {', '.join(x.value for x in enum)}")
    return members


def _resolve_orgs(
    session: Session,
    *,
    kinds: Sequence[str] = (),
    regions: Sequence[str] = (),
    tags: Sequence[str] = (),
    acronyms: Sequence[str] = (),
) -> list[Organization]:
    problems: list[str] = []
    kind_values = _members(OrgKind, kinds, "kind", problems)
    region_values = _members(Region, regions, "region", problems)
    if problems:
        raise ValidationError("recipient filters are not valid", problems)
    found: dict[int, Organization] = {}
    if acronyms:
        keys = {a.strip().casefold(): a for a in acronyms if a.strip()}
        orgs = session.scalars(
            sa.select(Organization).where(Organization.acronym_key.in_(list(keys)))
        ).all()
        missing = set(keys) - {o.acronym_key for o in orgs}
        if missing:
            raise NotFoundError(
                "no organization " + ", ".join(repr(keys[m]) for m in sorted(missing)),
                hint="orgs list",
            )
        for org in orgs:
            found[org.id] = org
    if kinds or regions or tags:
        stmt = sa.select(Organization).where(Organization.archived_at.is_(None))
        if kind_values:
            stmt = stmt.where(Organization.kind.in_(kind_values))
        if region_values:
            stmt = stmt.where(Organization.region.in_(region_values))
        orgs = session.scalars(stmt.order_by(Organization.acronym_key)).all()
        if tags:
            wanted = {t.strip().casefold() for t in tags}
            orgs = [o for o in orgs if wanted & {t.casefold() for t in (o.tags or [])}]
        for org in orgs:
            found.setdefault(org.id, org)
    return sorted(found.values(), key=lambda o: o.acronym_key)


def _open_campaign(session: Session, ref: str | int) -> Campaign:
    """The campaign *ref* names, if its recipients may still change."""
    campaign = get_campaign(session, ref)
    if campaign.status == CampaignStatus.CLOSED:
        raise ConflictError(f"campaign {campaign.slug} is closed")
    return campaign


def add_recipients(
    session: Session,
    ref: str | int,
    *,
    kinds: Sequence[str] = (),
    regions: Sequence[str] = (),
    tags: Sequence[str] = (),
    acronyms: Sequence[str] = (),
    contact: str | int | None = None,
) -> RecipientChange:
    """Add organizations chosen by filters (kind, region, tag: all must match)
    and/or by acronym. *contact* (id or e-mail) overrides the organization's
    primary contact, for a single acronym only."""
    campaign = _open_campaign(session, ref)
    if not (kinds or regions or tags or acronyms):
        raise ValidationError("say which organizations: give acronyms or --kind/--region/--tag")
    orgs = _resolve_orgs(session, kinds=kinds, regions=regions, tags=tags, acronyms=acronyms)
    contact_row = None
    if contact is not None:
        if len(orgs) != 1:
            raise ValidationError("needs exactly one organization", field="contact")
        contact_row = _find_contact(session, orgs[0], contact)
    existing = _recipient_rows(session, campaign)
    added, already = [], []
    for org in orgs:
        row = existing.get(org.id)
        if row is not None:
            if contact_row is not None and row.contact_id != contact_row.id:
                before = row.contact_id
                row.contact_id = contact_row.id
                _log(
                    session,
                    "update",
                    campaign,
                    org,
                    f"campaign {campaign.slug}: {org.acronym} now written to {contact_row.name}",
                    changes={"contact_id": [before, contact_row.id]},
                )
                added.append(org.acronym)
            else:
                already.append(org.acronym)
            continue
        session.add(
            CampaignRecipient(
                campaign_id=campaign.id,
                organization_id=org.id,
                contact_id=contact_row.id if contact_row is not None else None,
            )
        )
        added.append(org.acronym)
        _log(session, "add", campaign, org, f"{org.acronym} added to campaign {campaign.slug}")
    session.flush()
    return RecipientChange(added=added, already=already, removed=[])


def _recipient_rows(session: Session, campaign: Campaign) -> dict[int, CampaignRecipient]:
    """The campaign's recipient rows by organization id."""
    return {
        r.organization_id: r
        for r in session.scalars(
            sa.select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
        )
    }


def _log(
    session: Session,
    action: str,
    campaign: Campaign,
    org: Organization,
    summary: str,
    *,
    changes: dict[str, Any] | None = None,
) -> None:
    """The activity row for a change to *campaign*'s recipient *org*."""
    record_activity(
        session,
        action=action,
        entity="campaign",
        entity_id=campaign.id,
        organization_id=org.id,
        summary=summary,
        changes=changes,
    )


def _find_contact(session: Session, org: Organization, ref: str | int) -> Contact:
    text = str(ref).strip()
    stmt = sa.select(Contact).where(Contact.organization_id == org.id)
    if text.isdigit():
        stmt = stmt.where(Contact.id == int(text))
    else:
        stmt = stmt.where(Contact.email_key == text.casefold())
    found = session.scalar(stmt)
    if found is None:
        raise NotFoundError(f"{org.acronym} has no contact {text!r}", hint="contacts list")
    return found


def remove_recipients(
    session: Session, ref: str | int, *, acronyms: Sequence[str]
) -> RecipientChange:
    campaign = _open_campaign(session, ref)
    orgs = _resolve_orgs(session, acronyms=acronyms)
    rows = _recipient_rows(session, campaign)
    not_in = [o.acronym for o in orgs if o.id not in rows]
    if not_in:
        raise NotFoundError(
            f"{', '.join(not_in)} not among the recipients of {campaign.slug}",
            hint=f"campaigns recipients {campaign.slug}",
        )
    removed = []
    for org in orgs:
        session.delete(rows[org.id])
        removed.append(org.acronym)
        _log(
            session, "remove", campaign, org, f"{org.acronym} removed from campaign {campaign.slug}"
        )
    session.flush()
    return RecipientChange(added=[], already=[], removed=removed)


def list_recipients(session: Session, ref: str | int) -> list[dict[str, Any]]:
    campaign = get_campaign(session, ref)
    rows = session.execute(
        sa.select(
            Organization.acronym,
            Organization.name,
            Organization.kind,
            Organization.region,
            CampaignRecipient.contact_id,
            CampaignRecipient.added_at,
        )
        .join(Organization, CampaignRecipient.organization_id == Organization.id)
        .where(CampaignRecipient.campaign_id == campaign.id)
        .order_by(Organization.acronym_key)
    ).all()
    return [
        {
            "acronym": r.acronym,
            "name": r.name,
            "kind": r.kind,
            "region": r.region,
            "contact_id": r.contact_id,
            "added_at": r.added_at,
        }
        for r in rows
    ]
