"""Organizations: add, edit, list, remove (or archive) and merge.

Service functions take ``session`` as a keyword argument, ``flush()`` when
they need ids and never commit: the caller owns the transaction. Every change
records an activity row (edits with ``[before, after]`` for each field).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from outreach.db.activity import record_activity
from outreach.directory.cleaning import checked_values, clean_organization, parse_or_fail
from outreach.directory.codes import parse_language, parse_region
from outreach.directory.fields import ORG_FIELDS, ORG_REQUIRED, parse_org_kind
from outreach.directory.i18n import merge_i18n
from outreach.directory.lookup import acronym_suggestion
from outreach.directory.records import (
    apply_changes,
    contact_record,
    fill_from,
    find_organization,
    finish_merge,
    matches_any,
    move_rows,
    only_primary,
    org_by_acronym,
    org_record,
    record_archive,
    record_edit,
    record_removal,
    references,
    tag_keys_of,
)
from outreach.errors import ConflictError, ValidationError
from outreach.schema.models import (
    Activity,
    Campaign,
    CampaignRecipient,
    Contact,
    Letter,
    Organization,
    OrgKind,
    Region,
    Response,
)
from outreach.schema.types import utcnow


def add_organization(*, session: Session, **fields: Any) -> Organization:
    """Create an organization; :class:`ConflictError` if its acronym or name exists."""
    values = checked_values(clean_organization, fields, "organization", ORG_REQUIRED)
    existing = org_by_acronym(session, values["acronym"])
    if existing is not None:
        raise ConflictError(
            f"organization {existing.acronym} already exists",
            hint=f"orgs edit {existing.acronym}",
        )
    same_name = find_organization(session, values["name"])
    if same_name is not None:
        raise ConflictError(
            f"organization {same_name.acronym} already has the name {values['name']!r}"
        )
    values.setdefault("kind", None)
    values["kind"] = values["kind"] or OrgKind.OTHER
    parent = values.pop("parent", None)
    if "i18n" in values:
        values["i18n"] = merge_i18n({}, values["i18n"])
    org = Organization(**{k: v for k, v in values.items() if v is not None})
    if parent:
        org.parent = _parent_of(session, org, parent)
    session.add(org)
    session.flush()
    record_activity(
        session,
        action="create",
        entity="organization",
        entity_id=org.id,
        organization_id=org.id,
        summary=f"added organization {org.acronym} ({org.name})",
    )
    return org


def update_organization(
    org: Organization, *, session: Session, **fields: Any
) -> dict[str, list[Any]]:
    """Change fields of *org*; returns ``{field: [before, after]}`` (empty if nothing changed).

    ``None`` or ``""`` clears an optional field.
    """
    values = checked_values(clean_organization, fields, f"organization {org.acronym}")
    for field in ORG_REQUIRED:
        if field in values and not values[field]:
            raise ValidationError(
                f"organization {org.acronym}: {field} cannot be empty", [f"{field}: is required"]
            )
    if "kind" in values and values["kind"] is None:
        values["kind"] = OrgKind.OTHER
    if "acronym" in values and values["acronym"].casefold() != org.acronym_key:
        other = org_by_acronym(session, values["acronym"])
        if other is not None:
            raise ConflictError(
                f"organization {other.acronym} already exists: merge them",
                hint=f"orgs merge {other.acronym} {org.acronym}",
            )
    if "name" in values:
        other = find_organization(session, values["name"])
        if other is not None and other.id != org.id:
            raise ConflictError(f"organization {other.acronym} already has that name")
    changes: dict[str, list[Any]] = {}
    if "parent" in values:
        parent = values.pop("parent")
        new_parent = _parent_of(session, org, parent) if parent else None
        old_acronym = org.parent.acronym if org.parent is not None else None
        new_acronym = new_parent.acronym if new_parent is not None else None
        if old_acronym != new_acronym:
            changes["parent"] = [old_acronym, new_acronym]
            org.parent = new_parent
    if "i18n" in values:
        values["i18n"] = merge_i18n(org.i18n, values["i18n"])
    changes.update(apply_changes(org, values))
    if changes:
        record_edit(
            session,
            entity="organization",
            entity_id=org.id,
            organization_id=org.id,
            what=f"organization {org.acronym}",
            changes=changes,
        )
    return changes


def _parent_of(session: Session, org: Organization, ref: str) -> Organization:
    """The organization *ref* names, as *org*'s parent: refused if it is *org*
    itself or one of *org*'s own organs (a circle)."""
    parent = find_organization(session, ref)
    if parent is None:
        raise ValidationError(
            f"organization {org.acronym}: no organization {ref!r} to be its parent"
            + acronym_suggestion(session, ref),
            [f"parent: no organization {ref!r}: add it first"],
            field="parent",
        )
    chain = parent
    seen: set[int] = set()
    while chain is not None and chain.id not in seen:
        if chain is org or (org.id is not None and chain.id == org.id):
            itself = parent is org or parent.id == org.id
            why = "itself" if itself else f"{parent.acronym}, one of its own organs"
            raise ValidationError(
                f"organization {org.acronym} cannot be an organ of {why}",
                [f"parent: {parent.acronym} would make a circle of parents"],
                field="parent",
            )
        if chain.id is not None:
            seen.add(chain.id)
        chain = chain.parent
    return parent


def organs_of(session: Session, org: Organization) -> list[Organization]:
    """The organizations *org* is the parent of (its organs), by acronym."""
    return list(
        session.scalars(
            sa.select(Organization)
            .where(Organization.parent_id == org.id, Organization.archived_at.is_(None))
            .order_by(Organization.acronym_key)
        )
    )


def list_organizations(
    *,
    session: Session,
    region: str | Region | None = None,
    kind: str | OrgKind | None = None,
    tag: str | Iterable[str] | None = None,
    language: str | None = None,
    search: str | None = None,
    archived: bool = False,
    load_contacts: bool = False,
    parent: str | Organization | None = None,
) -> list[Organization]:
    """Organizations matching every filter given, by acronym.

    *parent* keeps the organs of that organization (the Inter-American
    Commission and Court for the OAS).

    *search* looks in the acronym and name of the organization and in the
    name, position and e-mail of its contacts; archived ones appear only if
    *archived*. *load_contacts* loads each one's contacts in the same go.
    """
    stmt = sa.select(Organization)
    if load_contacts:
        stmt = stmt.options(selectinload(Organization.contacts))
    if region:
        stmt = stmt.where(Organization.region == parse_or_fail(parse_region, region, "region"))
    if kind:
        stmt = stmt.where(Organization.kind == parse_or_fail(parse_org_kind, kind, "kind"))
    if not archived:
        stmt = stmt.where(Organization.archived_at.is_(None))
    if parent:
        from outreach.directory.records import get_organization

        head = parent if isinstance(parent, Organization) else get_organization(session, parent)
        stmt = stmt.where(Organization.parent_id == head.id)
    lang = parse_or_fail(parse_language, language, "language") if language else None
    tag_keys = tag_keys_of(tag)
    needle = search.strip().casefold() if search else None
    via_contacts: set[int] = set()
    if needle:
        rows = session.execute(
            sa.select(Contact.organization_id, Contact.name, Contact.position, Contact.email).where(
                Contact.forgotten_at.is_(None)
            )
        )
        via_contacts = {row[0] for row in rows if matches_any(row[1:], needle)}
    out = []
    for org in session.scalars(stmt.order_by(Organization.acronym_key)):
        if lang and lang not in (org.languages or []):
            continue
        if tag_keys and not tag_keys & {t.casefold() for t in org.tags or []}:
            continue
        if (
            needle
            and org.id not in via_contacts
            and not matches_any([org.acronym, org.name], needle)
        ):
            continue
        out.append(org)
    return out


def contact_counts(session: Session, *, archived: bool = False) -> dict[int, int]:
    """Number of contacts per organization id (archived ones only if *archived*)."""
    stmt = sa.select(Contact.organization_id, sa.func.count()).group_by(Contact.organization_id)
    if not archived:
        stmt = stmt.where(Contact.archived_at.is_(None), Contact.forgotten_at.is_(None))
    return dict(session.execute(stmt).all())


def org_references(session: Session, org: Organization) -> dict[str, int]:
    """How many letters and responses point at *org* (or at its contacts)."""
    return references(session, Letter.organization_id, Response.organization_id, org.id)


def remove_organization(org: Organization, *, session: Session, force: bool = False) -> str:
    """Delete *org* and its contacts, or archive them when history points at them.

    Returns ``"removed"`` or ``"archived"``. Without *force*, an organization
    with letters or responses is refused (:class:`ConflictError`).
    """
    refs = org_references(session, org)
    campaigns = _recipient_of(session, org.id)
    if refs["letters"] or refs["responses"] or campaigns:
        if not force:
            if refs["letters"] or refs["responses"]:
                raise ConflictError(
                    f"organization {org.acronym} has {refs['letters']} letter(s) and "
                    f"{refs['responses']} response(s); use --force to archive it instead"
                )
            raise ConflictError(
                f"organization {org.acronym} is a recipient of campaign(s) "
                f"{', '.join(campaigns)}: take it out first (`outreach campaigns "
                f"remove-recipients {campaigns[0]} {org.acronym}`), or use --force to "
                "archive it instead"
            )
        if org.archived_at is not None:
            return "archived"  # already: nothing to change or to log
        org.archived_at = now = utcnow()
        for contact in org.contacts:
            contact.archived_at = contact.archived_at or now
        record_archive(
            session,
            entity="organization",
            entity_id=org.id,
            organization_id=org.id,
            summary=f"archived organization {org.acronym} and its {len(org.contacts)} contact(s)",
            at=now,
        )
        return "archived"
    record = org_record(org)
    contacts = [contact_record(c) for c in org.contacts]
    for contact in list(org.contacts):
        session.delete(contact)
    org_id = org.id
    session.delete(org)
    session.flush()
    record_removal(
        session,
        entity="organization",
        entity_id=org_id,
        organization_id=org_id,
        summary=f"removed organization {record['acronym']} and {len(contacts)} contact(s)",
        record=record,
    )
    return "removed"


def _recipient_of(session: Session, org_id: int) -> list[str]:
    """Slugs of the campaigns that have the organization among their recipients."""
    return list(
        session.scalars(
            sa.select(Campaign.slug)
            .join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
            .where(CampaignRecipient.organization_id == org_id)
            .order_by(Campaign.slug)
        )
    )


def _move_recipients(session: Session, drop_id: int, keep_id: int) -> int:
    """Campaign recipient rows of *drop_id* go to *keep_id* (its contacts move
    with them, so each row keeps its contact and role); a row that *keep_id*
    already has in the same campaign, for the same contact or at the
    organization level, stays and the duplicate's is deleted."""
    rows = session.scalars(
        sa.select(CampaignRecipient).where(
            CampaignRecipient.organization_id.in_([drop_id, keep_id])
        )
    ).all()
    kept = {(r.campaign_id, r.contact_id) for r in rows if r.organization_id == keep_id}
    both = {r.campaign_id for r in rows if r.organization_id == keep_id} & {
        r.campaign_id for r in rows if r.organization_id == drop_id
    }
    # ... unless one of them was already written to both ways on purpose.
    ways: dict[tuple[int, int], set[bool]] = {}
    for r in rows:
        ways.setdefault((r.campaign_id, r.organization_id), set()).add(r.contact_id is None)
    both -= {campaign for (campaign, _org), kinds in ways.items() if len(kinds) == 2}
    moved = 0
    for row in rows:
        if row.organization_id != drop_id:
            continue
        if (row.campaign_id, row.contact_id) in kept:
            session.delete(row)
        else:
            row.organization_id = keep_id
            kept.add((row.campaign_id, row.contact_id))
        moved += 1
    # Where both were recipients of one campaign they stood for one organization
    # written to once: a contact chosen by name wins over "the primary contact".
    for row in rows:
        if (
            row.campaign_id in both
            and row.contact_id is None
            and row in session
            and any(c == row.campaign_id and contact for c, contact in kept)
        ):
            session.delete(row)
    session.flush()
    return moved


def merge_organizations(
    keep: Organization, drop: Organization, *, session: Session
) -> dict[str, int]:
    """Fold *drop* into *keep*: its contacts, letters, responses and activity move
    to *keep*; fields *keep* lacks are taken from *drop*; *drop* is deleted.

    Returns how many rows of each kind moved.
    """
    if keep.id == drop.id:
        raise ConflictError("cannot merge an organization with itself")
    fill = fill_from(
        keep, drop, ORG_FIELDS, skip=("acronym", "name"), empty=(None, "", OrgKind.OTHER)
    )
    i18n = merge_i18n(drop.i18n, keep.i18n or {})
    if i18n != (keep.i18n or {}):
        fill["i18n"] = i18n
    if keep.parent_id is None and drop.parent_id not in (None, keep.id):
        fill["parent_id"] = drop.parent_id
    # The duplicate's organs become the kept one's.
    for organ in organs_of(session, drop):
        organ.parent = keep if organ.id != keep.id else None
    session.flush()
    # One primary contact: the kept organization's, if it has one.
    keep_primary = session.scalar(
        sa.select(Contact)
        .where(Contact.organization_id == keep.id, Contact.is_primary.is_(True))
        .order_by(Contact.id)
        .limit(1)
    )
    moved = {
        "contacts": move_rows(session, Contact, Contact.organization_id, drop.id, keep.id),
        "letters": move_rows(session, Letter, Letter.organization_id, drop.id, keep.id),
        "responses": move_rows(session, Response, Response.organization_id, drop.id, keep.id),
        "campaigns": _move_recipients(session, drop.id, keep.id),
        "activity": move_rows(session, Activity, Activity.organization_id, drop.id, keep.id),
    }
    dropped = org_record(drop)
    return finish_merge(
        session,
        keep,
        drop,
        fill=fill,
        entity="organization",
        organization_id=keep.id,
        what=f"organization {dropped['acronym']} (#{drop.id}) into {keep.acronym}",
        moved=moved,
        dropped=dropped,
        after_delete=None if keep_primary is None else lambda: only_primary(session, keep_primary),
    )
