"""Reviewing stored letters: list, show, approve, cancel; a stored letter
as a :class:`LetterDoc` for the output formats. These work in an ORM session."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.campaigns.campaigns import get_campaign
from outreach.db.activity import record_activity
from outreach.errors import NotFoundError, ValidationError
from outreach.letters.jobs import UNSENT
from outreach.render.doc import LetterDoc
from outreach.schema.enums import LetterStatus
from outreach.schema.models import Campaign, Contact, Letter, Organization
from outreach.schema.types import utcnow
from outreach.templating import sender_context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _letter_query(
    session: Session,
    *,
    campaign: str | int | None = None,
    statuses: Iterable[str] = (),
    organizations: Iterable[str] = (),
    languages: Iterable[str] = (),
    rounds: Iterable[int] = (),
    include_superseded: bool = False,
) -> sa.Select:

    stmt = sa.select(Letter).join(Organization, Letter.organization_id == Organization.id)
    if campaign is not None:
        stmt = stmt.where(Letter.campaign_id == get_campaign(session, campaign).id)
    statuses = list(statuses)
    if statuses:
        try:
            stmt = stmt.where(Letter.status.in_([LetterStatus(s) for s in statuses]))
        except ValueError:
            raise ValidationError(
                f"use {', '.join(s.value for s in LetterStatus)}", field="status"
            ) from None
    orgs = [o.strip().casefold() for o in organizations]
    if orgs:
        stmt = stmt.where(Organization.acronym_key.in_(orgs))
    langs = list(languages)
    if langs:
        stmt = stmt.where(Letter.language.in_(langs))
    rounds = list(rounds)
    if rounds:
        stmt = stmt.where(Letter.round.in_(rounds))
    if not include_superseded:
        stmt = stmt.where(Letter.superseded_at.is_(None))
    return stmt


def list_letters(session: Session, **filters: Any) -> list[dict[str, Any]]:

    stmt = _letter_query(session, **filters).add_columns(
        Organization.acronym, Contact.name, Campaign.slug
    )
    stmt = stmt.join(Contact, Letter.contact_id == Contact.id).join(
        Campaign, Letter.campaign_id == Campaign.id
    )
    stmt = stmt.order_by(Campaign.slug, Organization.acronym_key, Letter.round, Letter.version)
    out = []
    for letter, acronym, contact, slug in session.execute(stmt):
        out.append(
            {
                "id": letter.id,
                "campaign": slug,
                "org": acronym,
                "contact": contact,
                "round": letter.round,
                "version": letter.version,
                "language": letter.language,
                "channel": letter.channel,
                "status": letter.status,
                "superseded": letter.superseded_at is not None,
                "subject": letter.subject,
                "to_address": letter.to_address,
                "sent_at": letter.sent_at,
            }
        )
    return out


def get_letter(session: Session, letter_id: int) -> Letter:

    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFoundError(f"no letter {letter_id}", hint="letters list")
    return letter


def letter_record(letter: Letter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "campaign": letter.campaign.slug,
        "organization": f"{letter.organization.acronym} ({letter.organization.name})",
        "contact": letter.contact.name,
        "round": letter.round,
        "followup_of": letter.followup_of_id,
        "version": letter.version,
        "superseded_at": letter.superseded_at,
        "status": letter.status,
        "language": letter.language,
        "channel": letter.channel,
        "to_address": letter.to_address,
        "subject": letter.subject,
        "template": letter.template_name,
        "template_hash": letter.template_hash,
        "message_id": letter.message_id,
        "created_at": letter.created_at,
        "approved_at": letter.approved_at,
        "sent_at": letter.sent_at,
        "error": letter.error,
    }


def letter_doc(letter: Letter) -> LetterDoc:
    """A stored letter, ready for the output formats."""
    campaign = letter.campaign
    return LetterDoc(
        acronym=letter.organization.acronym,
        organization=letter.organization.name,
        contact=letter.contact.name,
        contact_email=letter.contact.email,
        language=letter.language,
        subject=letter.subject,
        body=letter.body,
        channel=letter.channel.value,
        to_address=letter.to_address,
        message_id=letter.message_id or "",
        sender=sender_context(campaign.sender, campaign.signatory),
        round=letter.round,
        campaign=campaign.slug,
        version=letter.version,
        id=letter.id,
        organization_id=letter.organization_id,
        contact_id=letter.contact_id,
        template_name=letter.template_name,
        template_hash=letter.template_hash,
        date=letter.created_at.date(),
    )


def _select_for_change(
    session: Session, ids: Sequence[int], filters: Mapping[str, Any]
) -> list[Letter]:

    if ids:
        letters = [get_letter(session, i) for i in ids]
    elif filters.get("campaign") is not None:
        letters = list(session.scalars(_letter_query(session, **filters).order_by(Letter.id)))
    else:
        raise ValidationError("say which letters: give letter ids, or a campaign with filters")
    return letters


def approve(session: Session, *, ids: Sequence[int] = (), **filters: Any) -> list[Letter]:
    """Mark draft letters approved (ready to send). Returns the letters changed."""
    letters = _select_for_change(session, ids, filters)
    problems = []
    for letter in letters:
        if letter.superseded_at is not None:
            problems.append(f"letter {letter.id}: superseded by a newer version")
        elif ids and letter.status != LetterStatus.DRAFT and letter.status != LetterStatus.APPROVED:
            problems.append(f"letter {letter.id}: is {letter.status.value}, not draft")
    if problems:
        raise ValidationError("some letters cannot be approved", problems)
    changed = []
    now = utcnow()
    for letter in letters:
        if letter.status != LetterStatus.DRAFT:
            continue
        letter.status = LetterStatus.APPROVED
        letter.approved_at = now
        changed.append(letter)
        record_activity(
            session,
            action="approve",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary=f"letter {letter.id} approved",
            changes={"status": ["draft", "approved"]},
        )
    return changed


def cancel(
    session: Session, *, ids: Sequence[int] = (), reason: str | None = None, **filters: Any
) -> list[Letter]:
    """Cancel unsent letters: they will not be sent and generation leaves them alone."""
    letters = _select_for_change(session, ids, filters)
    problems = [
        f"letter {letter.id}: is {letter.status.value}; only unsent letters can be cancelled"
        for letter in letters
        if ids and letter.status not in UNSENT and letter.status != LetterStatus.CANCELLED
    ]
    if problems:
        raise ValidationError("some letters cannot be cancelled", problems)
    changed = []
    for letter in letters:
        if letter.status not in UNSENT:
            continue
        before = letter.status.value
        letter.status = LetterStatus.CANCELLED
        if reason:
            letter.error = reason
        changed.append(letter)
        record_activity(
            session,
            action="cancel",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary=f"letter {letter.id} cancelled" + (f": {reason}" if reason else ""),
            changes={"status": [before, "cancelled"]},
        )
    return changed
