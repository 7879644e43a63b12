"""Contacts: add, edit, list, remove (or archive) and merge.

Like the organization services, these take ``session`` as a keyword
argument, never commit, and record every change in the activity log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager

from outreach.db.activity import record_activity
from outreach.directory.cleaning import checked_values, clean_contact, parse_or_fail
from outreach.directory.codes import parse_language, parse_region
from outreach.directory.fields import (
    BOOL_FIELDS,
    CONTACT_FIELDS,
    CONTACT_REQUIRED,
    parse_contact_kind,
)
from outreach.directory.i18n import merge_i18n
from outreach.directory.records import (
    apply_changes,
    contact_record,
    fill_from,
    finish_merge,
    get_organization,
    matches_any,
    move_rows,
    only_primary,
    record_archive,
    record_edit,
    record_removal,
    references,
    tag_keys_of,
)
from outreach.errors import ConflictError, ValidationError
from outreach.schema.models import (
    Activity,
    CampaignRecipient,
    Contact,
    ContactKind,
    Letter,
    Organization,
    Region,
    Response,
)
from outreach.schema.types import utcnow


def _contact_by_name(session: Session, org_id: int, name: str) -> Contact | None:
    folded = name.casefold()
    for contact in session.scalars(sa.select(Contact).where(Contact.organization_id == org_id)):
        if contact.name.casefold() == folded and contact.forgotten_at is None:
            return contact
    return None


def _check_email_free(session: Session, email: str | None, contact_id: int | None) -> None:
    if not email:
        return
    other = session.scalar(sa.select(Contact).where(Contact.email_key == email.casefold()))
    if other is not None and other.id != contact_id:
        raise ConflictError(
            f"{email} already belongs to {other.name} ({other.organization.acronym}, #{other.id})"
        )


def add_contact(*, session: Session, **fields: Any) -> Contact:
    """Create a contact. ``organization`` is an :class:`Organization` or its acronym."""
    org = fields.pop("organization", None)
    if isinstance(org, Organization):
        fields["organization"] = org.acronym
    else:
        fields["organization"] = org
    values = checked_values(clean_contact, fields, "contact", CONTACT_REQUIRED)
    if not isinstance(org, Organization):
        org = get_organization(session, values["organization"])
    del values["organization"]
    _check_email_free(session, values.get("email"), None)
    same = _contact_by_name(session, org.id, values["name"])
    if same is not None:
        raise ConflictError(
            f"{org.acronym} already has a contact called {same.name!r} (#{same.id}): "
            "change it instead",
            hint="contacts edit",
        )
    values["kind"] = values.get("kind") or ContactKind.PERSON
    if "i18n" in values:
        values["i18n"] = merge_i18n({}, values["i18n"])
    contact = Contact(organization=org, **{k: v for k, v in values.items() if v is not None})
    session.add(contact)
    session.flush()
    record_activity(
        session,
        action="create",
        entity="contact",
        entity_id=contact.id,
        organization_id=org.id,
        summary=f"added contact {contact.name} at {org.acronym}",
    )
    if contact.is_primary:
        only_primary(session, contact)
    return contact


def update_contact(contact: Contact, *, session: Session, **fields: Any) -> dict[str, list[Any]]:
    """Change fields of *contact* (``organization`` moves it); returns the changes."""
    org = fields.pop("organization", None)
    if isinstance(org, Organization):
        fields["organization"] = org.acronym
    elif org is not None:
        fields["organization"] = org
    values = checked_values(clean_contact, fields, f"contact #{contact.id}")
    if "name" in values and not values["name"]:
        raise ValidationError(f"contact #{contact.id}: name cannot be empty", ["name: is required"])
    if "kind" in values and values["kind"] is None:
        values["kind"] = ContactKind.PERSON
    for field in BOOL_FIELDS:
        if field in values and values[field] is None:
            values[field] = False
    changes: dict[str, list[Any]] = {}
    if values.get("organization"):
        target = (
            org
            if isinstance(org, Organization)
            else get_organization(session, values["organization"])
        )
        if target.id != contact.organization_id:
            changes["organization"] = [contact.organization.acronym, target.acronym]
            contact.organization = target
    values.pop("organization", None)
    if "email" in values:
        _check_email_free(session, values["email"], contact.id)
    if "name" in values or changes.get("organization"):
        same = _contact_by_name(
            session, contact.organization.id, values.get("name") or contact.name
        )
        if same is not None and same.id != contact.id:
            raise ConflictError(
                f"{contact.organization.acronym} already has a contact called {same.name!r} "
                f"(#{same.id}): merge them",
                hint="contacts merge",
            )
    if "i18n" in values:
        values["i18n"] = merge_i18n(contact.i18n, values["i18n"])
    changes.update(apply_changes(contact, values))
    if "email" in changes and contact.email_bounced_at is not None:
        # A new address: mail to the old one bounced, not necessarily to this one.
        changes["email_bounced_at"] = [contact.email_bounced_at.isoformat(), None]
        contact.email_bounced_at = contact.email_bounce_reason = None
    if changes:
        record_edit(
            session,
            entity="contact",
            entity_id=contact.id,
            organization_id=contact.organization_id,
            what=f"contact {contact.name}",
            changes=changes,
        )
        if contact.is_primary and ("is_primary" in changes or "organization" in changes):
            only_primary(session, contact)
    return changes


def list_contacts(
    *,
    session: Session,
    organization: str | Organization | None = None,
    region: str | Region | None = None,
    kind: str | ContactKind | None = None,
    tag: str | Iterable[str] | None = None,
    language: str | None = None,
    search: str | None = None,
    archived: bool = False,
) -> list[Contact]:
    """Contacts matching every filter given, by organization then name.

    *search* looks in the name, position, e-mail and organization acronym;
    *language* matches the contact's language, or the organization's working
    languages when the contact has none. Archived and forgotten contacts appear
    only if *archived*.
    """
    stmt = (
        sa.select(Contact).join(Contact.organization).options(contains_eager(Contact.organization))
    )
    if organization is not None:
        org = (
            organization
            if isinstance(organization, Organization)
            else get_organization(session, organization)
        )
        stmt = stmt.where(Contact.organization_id == org.id)
    if region:
        stmt = stmt.where(Organization.region == parse_or_fail(parse_region, region, "region"))
    if kind:
        stmt = stmt.where(Contact.kind == parse_or_fail(parse_contact_kind, kind, "kind"))
    if not archived:
        stmt = stmt.where(Contact.archived_at.is_(None), Contact.forgotten_at.is_(None))
    needle = search.strip().casefold() if search else None
    if needle and needle.isascii():
        like = f"%{needle}%"
        stmt = stmt.where(
            sa.or_(
                Contact.name.ilike(like),
                Contact.position.ilike(like),
                Contact.email_key.like(like),
                Organization.acronym_key.like(like),
            )
        )
    lang = parse_or_fail(parse_language, language, "language") if language else None
    tag_keys = tag_keys_of(tag)
    stmt = stmt.order_by(Organization.acronym_key, Contact.name, Contact.id)
    out = []
    for contact in session.scalars(stmt):
        if (
            lang
            and contact.language != lang
            and (contact.language or lang not in (contact.organization.languages or []))
        ):
            continue
        if tag_keys and not tag_keys & {t.casefold() for t in contact.tags or []}:
            continue
        if needle and not matches_any(
            [contact.name, contact.position, contact.email, contact.organization.acronym], needle
        ):
            continue
        out.append(contact)
    return out


def contact_references(session: Session, contact: Contact) -> dict[str, int]:
    return references(session, Letter.contact_id, Response.contact_id, contact.id)


def remove_contact(contact: Contact, *, session: Session, force: bool = False) -> str:
    """Delete *contact*, or archive it (with *force*) when letters or responses
    point at it. Returns ``"removed"`` or ``"archived"``."""
    refs = contact_references(session, contact)
    org_id = contact.organization_id
    if refs["letters"] or refs["responses"]:
        if not force:
            raise ConflictError(
                f"contact {contact.name} (#{contact.id}) has {refs['letters']} letter(s) and "
                f"{refs['responses']} response(s); use --force to archive it instead"
            )
        if contact.archived_at is not None:
            return "archived"  # already: nothing to change or to log
        contact.archived_at = now = utcnow()
        record_archive(
            session,
            entity="contact",
            entity_id=contact.id,
            organization_id=org_id,
            summary=f"archived contact {contact.name}",
            at=now,
        )
        return "archived"
    record = contact_record(contact)
    contact_id = contact.id
    session.delete(contact)
    session.flush()
    record_removal(
        session,
        entity="contact",
        entity_id=contact_id,
        organization_id=org_id,
        summary=f"removed contact {record['name']} at {record['organization']}",
        record=record,
    )
    return "removed"


def merge_contacts(keep: Contact, drop: Contact, *, session: Session) -> dict[str, int]:
    """Fold *drop* into *keep*: letters, responses and activity move to *keep*,
    fields *keep* lacks are filled from *drop*, and *drop* is deleted."""
    if keep.id == drop.id:
        raise ConflictError("cannot merge a contact with itself")
    if keep.organization_id != drop.organization_id:
        raise ConflictError(
            f"contacts #{keep.id} ({keep.organization.acronym}) and #{drop.id} "
            f"({drop.organization.acronym}) are at different organizations: move one to the "
            "other's organization, or merge the organizations, first",
            hint="contacts edit --org",
        )
    clash = session.execute(
        sa.select(Letter.campaign_id, Letter.round, Letter.version)
        .where(Letter.contact_id == drop.id)
        .intersect(
            sa.select(Letter.campaign_id, Letter.round, Letter.version).where(
                Letter.contact_id == keep.id
            )
        )
    ).first()
    if clash is not None:
        raise ConflictError(
            f"both contacts have a letter in the same campaign (#{clash[0]}, round {clash[1]}): "
            "cancel or regenerate one of them before merging"
        )
    fill = fill_from(
        keep,
        drop,
        (*CONTACT_FIELDS, "honorific", "preferred_channel"),
        skip=("organization", "name", "kind"),
    )
    i18n = merge_i18n(drop.i18n, keep.i18n or {})
    if i18n != (keep.i18n or {}):
        fill["i18n"] = i18n
    dropped = contact_record(drop)
    drop_id = drop.id
    session.flush()
    moved = {
        "letters": move_rows(session, Letter, Letter.contact_id, drop.id, keep.id),
        "responses": move_rows(session, Response, Response.contact_id, drop.id, keep.id),
        "activity": session.execute(
            sa.update(Activity)
            .where(Activity.entity == "contact", Activity.entity_id == drop.id)
            .values(entity_id=keep.id),
            execution_options={"synchronize_session": False},
        ).rowcount
        or 0,
    }
    # A campaign that chose the duplicate as its recipient writes to the kept
    # one (deleting the duplicate would otherwise blank the choice).
    # Where both were chosen in the same campaign, the kept one's row stays.
    both = sa.select(CampaignRecipient.campaign_id).where(CampaignRecipient.contact_id == keep.id)
    session.execute(
        sa.delete(CampaignRecipient).where(
            CampaignRecipient.contact_id == drop.id, CampaignRecipient.campaign_id.in_(both)
        ),
        execution_options={"synchronize_session": False},
    )
    move_rows(session, CampaignRecipient, CampaignRecipient.contact_id, drop.id, keep.id)
    return finish_merge(
        session,
        keep,
        drop,
        fill=fill,  # the duplicate's e-mail, if taken, is free once it is deleted
        entity="contact",
        organization_id=keep.organization_id,
        what=f"contact {dropped['name']} (#{drop_id}) into {keep.name} (#{keep.id})",
        moved=moved,
        dropped=dropped,
    )
