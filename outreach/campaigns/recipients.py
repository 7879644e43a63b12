"""Who a campaign writes to: organizations added by filters or acronyms
(organs of a parent included), each through its primary contact or through
the contacts named as addressees (``to``: a letter each) and copied (``cc``).

Every function takes an ORM ``session``, flushes and never commits; every
change leaves an activity row.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from outreach.campaigns.campaigns import get_campaign
from outreach.db.activity import record_activity
from outreach.directory.lookup import no_organization
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.schema.enums import CampaignStatus, OrgKind, RecipientRole, Region
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


def _by_acronym(session: Session, acronyms: Sequence[str]) -> list[Organization]:
    keys = {a.strip().casefold(): a for a in acronyms if a.strip()}
    if not keys:
        return []
    orgs = session.scalars(
        sa.select(Organization).where(Organization.acronym_key.in_(list(keys)))
    ).all()
    missing = set(keys) - {o.acronym_key for o in orgs}
    if missing:
        raise no_organization(session, [keys[m] for m in sorted(missing)])
    return list(orgs)


def _organs(session: Session, parent_ids: Sequence[int]) -> list[Organization]:
    """The live organizations that are organs of these (``parent_id``)."""
    if not parent_ids:
        return []
    return list(
        session.scalars(
            sa.select(Organization).where(
                Organization.parent_id.in_(list(parent_ids)), Organization.archived_at.is_(None)
            )
        )
    )


def _resolve_orgs(
    session: Session,
    *,
    kinds: Sequence[str] = (),
    regions: Sequence[str] = (),
    tags: Sequence[str] = (),
    acronyms: Sequence[str] = (),
    parents: Sequence[str] = (),
    with_organs: bool = False,
) -> list[Organization]:
    """The organizations named by *acronyms*, plus those matching all the
    filters given (kind, region, tag, organ of one of *parents*); with
    *with_organs*, also the organs of every organization chosen."""
    problems: list[str] = []
    kind_values = _members(OrgKind, kinds, "kind", problems)
    region_values = _members(Region, regions, "region", problems)
    if problems:
        raise ValidationError("recipient filters are not valid", problems)
    found: dict[int, Organization] = {org.id: org for org in _by_acronym(session, acronyms)}
    if kinds or regions or tags or parents:
        stmt = sa.select(Organization).where(Organization.archived_at.is_(None))
        if kind_values:
            stmt = stmt.where(Organization.kind.in_(kind_values))
        if region_values:
            stmt = stmt.where(Organization.region.in_(region_values))
        if parents:
            parent_ids = [o.id for o in _by_acronym(session, parents)]
            stmt = stmt.where(Organization.parent_id.in_(parent_ids))
        orgs = session.scalars(stmt.order_by(Organization.acronym_key)).all()
        if tags:
            wanted = {t.strip().casefold() for t in tags}
            orgs = [o for o in orgs if wanted & {t.casefold() for t in (o.tags or [])}]
        for org in orgs:
            found.setdefault(org.id, org)
    if with_organs:
        for org in _organs(session, list(found)):
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
    parents: Sequence[str] = (),
    with_organs: bool = False,
    contact: str | int | None = None,
    contacts: Sequence[str | int] = (),
    cc: Sequence[str | int] = (),
    replace: bool = False,
) -> RecipientChange:
    """Add organizations chosen by filters (kind, region, tag, organ of a
    parent: all must match) and/or by acronym.

    Without contacts, an organization is written to through its primary
    contact. *contacts* (ids or e-mails; *contact* is one more) are added as
    addressees, each getting a letter of their own, and *cc* as copied
    contacts; each must belong to one of the organizations chosen. What is
    there already stays, unless *replace*: then the organizations' addressees
    and copies become exactly the ones given (the primary contact alone when
    none are)."""
    campaign = _open_campaign(session, ref)
    if not (kinds or regions or tags or acronyms or parents):
        raise ValidationError("say which organizations: give acronyms or --kind/--region/--tag")
    orgs = _resolve_orgs(
        session,
        kinds=kinds,
        regions=regions,
        tags=tags,
        acronyms=acronyms,
        parents=parents,
        with_organs=with_organs,
    )
    to_refs = [*([contact] if contact is not None else []), *contacts]
    wanted: dict[int, list[tuple[Contact | None, RecipientRole]]] = {o.id: [] for o in orgs}
    for refs, role, field in ((to_refs, RecipientRole.TO, "contact"), (cc, RecipientRole.CC, "cc")):
        for contact_ref in refs:
            found = _find_contact(session, orgs, contact_ref, field)
            wanted[found.organization_id].append((found, role))
    existing = _recipient_rows(session, campaign)
    added: list[str] = []
    already: list[str] = []
    removed: list[str] = []
    for org in orgs:
        rows = {row.contact_id: row for row in existing.get(org.id, [])}
        chosen = wanted[org.id]
        if not any(role == RecipientRole.TO for _c, role in chosen) and (replace or not rows):
            # Written to through the primary contact (the organization-level row).
            chosen = [(None, RecipientRole.TO), *chosen]
        if not chosen:
            already.append(org.acronym)  # written to through the contacts it has
        for who, role in chosen:
            label = _label(org, who, role)
            row = rows.get(who.id if who is not None else None)
            if row is None:
                session.add(
                    CampaignRecipient(
                        campaign_id=campaign.id,
                        organization_id=org.id,
                        contact_id=who.id if who is not None else None,
                        role=role,
                    )
                )
                added.append(label)
                _log(session, "add", campaign, org, f"{label} added to campaign {campaign.slug}")
            elif row.role != role:
                before, row.role = row.role, role
                added.append(label)
                _log(
                    session,
                    "update",
                    campaign,
                    org,
                    f"campaign {campaign.slug}: {label} (was {before.value})",
                    changes={"role": [before.value, role.value]},
                )
            else:
                already.append(label)
        if replace:
            keep = {who.id if who is not None else None for who, _role in chosen}
            for contact_id, row in rows.items():
                if contact_id not in keep:
                    label = _row_label(org, row)
                    session.delete(row)
                    removed.append(label)
                    _log(
                        session,
                        "remove",
                        campaign,
                        org,
                        f"{label} removed from campaign {campaign.slug} (replaced)",
                    )
    session.flush()
    return RecipientChange(added=added, already=already, removed=removed)


def _label(org: Organization, contact: Contact | None, role: RecipientRole) -> str:
    """How a recipient row is named in messages: "AU", "AU: Jane Doe (cc)"."""
    if contact is None:
        return org.acronym
    return f"{org.acronym}: {contact.name}" + (" (cc)" if role == RecipientRole.CC else "")


def _row_label(org: Organization, row: CampaignRecipient) -> str:
    return _label(org, row.contact, row.role)


def _recipient_rows(session: Session, campaign: Campaign) -> dict[int, list[CampaignRecipient]]:
    """The campaign's recipient rows by organization id."""
    out: dict[int, list[CampaignRecipient]] = {}
    for row in session.scalars(
        sa.select(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == campaign.id)
        .order_by(CampaignRecipient.id)
    ):
        out.setdefault(row.organization_id, []).append(row)
    return out


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


def _find_contact(
    session: Session, orgs: Sequence[Organization], ref: str | int, field: str = "contact"
) -> Contact:
    """The contact *ref* (id or e-mail) of one of *orgs*."""
    text = str(ref).strip()
    stmt = sa.select(Contact).where(Contact.organization_id.in_([o.id for o in orgs]))
    if text.isdigit():
        stmt = stmt.where(Contact.id == int(text))
    else:
        stmt = stmt.where(Contact.email_key == text.casefold())
    found = session.scalar(stmt)
    if found is None:
        names = ", ".join(o.acronym for o in orgs)
        raise NotFoundError(f"{names} has no contact {text!r}", field=field, hint="contacts list")
    if found.archived_at is not None or found.forgotten_at is not None:
        raise ConflictError(f"contact {text!r} is archived or removed", field=field)
    return found


def remove_recipients(
    session: Session,
    ref: str | int,
    *,
    acronyms: Sequence[str] = (),
    contacts: Sequence[str | int] = (),
) -> RecipientChange:
    """Remove organizations (all their rows) by acronym, or with *contacts*
    only those contacts' rows (addressed or copied); an organization left with
    no row is no longer a recipient. Letters already made are kept."""
    campaign = _open_campaign(session, ref)
    if not (acronyms or contacts):
        raise ValidationError("say which recipients: give acronyms or contacts")
    rows = _recipient_rows(session, campaign)
    removed = []
    if contacts:
        orgs = (
            _resolve_orgs(session, acronyms=acronyms)
            if acronyms
            else list(session.scalars(sa.select(Organization).where(Organization.id.in_(rows))))
        )
        for contact_ref in contacts:
            found = _find_contact(session, orgs, contact_ref)
            org = next(o for o in orgs if o.id == found.organization_id)
            row = next((r for r in rows.get(org.id, []) if r.contact_id == found.id), None)
            if row is None:
                raise NotFoundError(
                    f"{found.name} is not among the recipients of {campaign.slug}",
                    field="contact",
                    hint=f"campaigns recipients {campaign.slug}",
                )
            label = _row_label(org, row)
            session.delete(row)
            rows[org.id].remove(row)
            removed.append(label)
            _log(session, "remove", campaign, org, f"{label} removed from campaign {campaign.slug}")
        session.flush()
        return RecipientChange(added=[], already=[], removed=removed)
    orgs = _resolve_orgs(session, acronyms=acronyms)
    not_in = [o.acronym for o in orgs if not rows.get(o.id)]
    if not_in:
        raise NotFoundError(
            f"{', '.join(not_in)} not among the recipients of {campaign.slug}",
            hint=f"campaigns recipients {campaign.slug}",
        )
    for org in orgs:
        for row in rows[org.id]:
            session.delete(row)
        removed.append(org.acronym)
        _log(
            session, "remove", campaign, org, f"{org.acronym} removed from campaign {campaign.slug}"
        )
    session.flush()
    return RecipientChange(added=[], already=[], removed=removed)


def list_recipients(session: Session, ref: str | int) -> list[dict[str, Any]]:
    """A row per addressee or copied contact: the organization (its parent,
    if it is an organ of one), the role, and the contact; an
    organization-level row names the primary contact it writes to."""
    campaign = get_campaign(session, ref)
    parent = aliased(Organization)
    rows = session.execute(
        sa.select(
            Organization.id.label("org_id"),
            Organization.acronym,
            Organization.name,
            Organization.kind,
            Organization.region,
            parent.acronym.label("parent"),
            CampaignRecipient.role,
            CampaignRecipient.contact_id,
            Contact.name.label("contact"),
            CampaignRecipient.added_at,
        )
        .join(Organization, CampaignRecipient.organization_id == Organization.id)
        .outerjoin(parent, Organization.parent_id == parent.id)
        .outerjoin(Contact, CampaignRecipient.contact_id == Contact.id)
        .where(CampaignRecipient.campaign_id == campaign.id)
        .order_by(Organization.acronym_key, CampaignRecipient.role, CampaignRecipient.id)
    ).all()
    primary = dict(
        session.execute(
            sa.select(Contact.organization_id, Contact.name).where(
                Contact.organization_id.in_({r.org_id for r in rows}),
                Contact.is_primary.is_(True),
                Contact.archived_at.is_(None),
                Contact.forgotten_at.is_(None),
            )
        ).all()
    )
    out = []
    for r in rows:
        contact = r.contact
        if r.contact_id is None:
            found = primary.get(r.org_id)
            contact = f"{found} (primary)" if found else "(primary contact: none)"
        out.append(
            {
                "acronym": r.acronym,
                "name": r.name,
                "kind": r.kind,
                "region": r.region,
                "parent": r.parent,
                "role": r.role,
                "contact_id": r.contact_id,
                "contact": contact,
                "added_at": r.added_at,
            }
        )
    return out
