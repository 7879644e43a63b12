"""Reviewing stored letters: list, show, approve, cancel; a stored letter
as a :class:`LetterDoc` for the output formats. These work in an ORM session."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.campaigns.campaigns import get_campaign
from outreach.db.activity import record_activity
from outreach.directory.lookup import check_acronyms
from outreach.errors import NotFoundError, ValidationError
from outreach.letters.jobs import UNSENT
from outreach.letters.printing import campaign_page_settings
from outreach.render.doc import COURTESY_FIELDS, LetterDoc
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
    organizations = list(organizations)
    orgs = [o.strip().casefold() for o in organizations]
    if orgs:
        check_acronyms(session, organizations, field="org")  # a misspelt one matches nothing
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
                "reference": letter.reference,
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
        # kept by every version; None on letters made before references
        "reference": letter.reference,
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
        "dated": letter.dated,
        "checks": "; ".join(
            f"{f.get('severity')}: {f.get('message')}" for f in letter.checks or []
        )
        or None,
        "check_override": letter.check_override,
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
        date=letter.dated or letter.created_at.date(),
        # what its e-mail needs besides the letter (outreach.sending.compose)
        in_reply_to=_original_message_id(letter),
        cc=tuple(letter.cc or ()),
        templates=campaign.templates_folder,
        default_language=campaign.default_language or "en",
        contact_details=_courtesy_fields(letter.contact),
        variables=dict(campaign.variables or {}),
        page=campaign_page_settings(campaign.variables),
        reference=letter.reference,
    )


def _original_message_id(letter: Letter) -> str | None:
    """The Message-ID of the letter a reminder follows up (its e-mail threads to it)."""
    if not letter.followup_of_id:
        return None
    from sqlalchemy.orm import object_session

    session = object_session(letter)
    original = session.get(Letter, letter.followup_of_id) if session is not None else None
    return original.message_id if original is not None else None


def _courtesy_fields(contact: Any) -> dict[str, Any]:
    """The contact's form of address, as the cover note's salutation reads it."""
    out: dict[str, Any] = {}
    for key in COURTESY_FIELDS:
        value = getattr(contact, key, None)
        out[key] = value.value if hasattr(value, "value") else value
    return out


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


def approve(
    session: Session,
    *,
    ids: Sequence[int] = (),
    overrides: Mapping[int, str] | None = None,
    **filters: Any,
) -> list[Letter]:
    """Mark draft letters approved (ready to send). Returns the letters changed.

    A letter made before the campaign's template, variables or sender
    changed is refused (:func:`outreach.letters.basis.stale_letters`), and
    so is one whose checks find an error (:mod:`outreach.letters.checks`),
    unless *overrides* gives a reason for that letter id: the reason is
    stored with the letter and logged."""
    letters = _select_for_change(session, ids, filters)
    overrides = {int(k): v for k, v in (overrides or {}).items()}
    problems = []
    for letter in letters:
        if letter.superseded_at is not None:
            problems.append(f"letter {letter.id}: superseded by a newer version")
        elif ids and letter.status != LetterStatus.DRAFT and letter.status != LetterStatus.APPROVED:
            problems.append(f"letter {letter.id}: is {letter.status.value}, not draft")
    if problems:
        raise ValidationError("some letters cannot be approved", problems)
    drafts = [letter for letter in letters if letter.status == LetterStatus.DRAFT]
    overridden = _refuse_unfit(session, drafts, overrides)
    changed = []
    now = utcnow()
    for letter in drafts:
        if letter.id in overridden:
            reason, errors = overridden[letter.id]
            letter.check_override = reason
            record_activity(
                session,
                action="override",
                entity="letter",
                entity_id=letter.id,
                organization_id=letter.organization_id,
                summary=f"letter {letter.id}: check errors overridden: {reason}",
                changes={"check_override": [None, reason], "errors": [None, errors]},
            )
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


def _refuse_unfit(
    session: Session, letters: Sequence[Letter], overrides: Mapping[int, str]
) -> dict[int, tuple[str, list[str]]]:
    """Raise if any of *letters* is out of date with its campaign, or has a
    check error that neither an earlier override nor *overrides* covers.
    Returns {letter id: (reason, the errors' messages)} for the overrides
    to record now."""
    from outreach.letters.basis import stale_letters
    from outreach.letters.checks import check_campaign, errors_in

    unknown = sorted(set(overrides) - {letter.id for letter in letters})
    if unknown:
        raise ValidationError(
            f"letter {', '.join(map(str, unknown))}: not a draft among the letters to approve",
            field="override",
        )
    empty = sorted(i for i, reason in overrides.items() if not (reason or "").strip())
    if empty:
        raise ValidationError(
            f"letter {', '.join(map(str, empty))}: an override needs a reason", field="reason"
        )
    by_campaign: dict[int, list[Letter]] = {}
    for letter in letters:
        by_campaign.setdefault(letter.campaign_id, []).append(letter)
    conn = session.connection()
    stale_problems: list[str] = []
    check_problems: list[str] = []
    to_record: dict[int, tuple[str, list[str]]] = {}
    slugs = []
    for group in by_campaign.values():
        campaign = group[0].campaign
        stale = stale_letters(conn, campaign, group)
        if stale:
            slugs.append(campaign.slug)
            stale_problems += [f"letter {i}: {why}" for i, why in sorted(stale.items())]
        for result in check_campaign(conn, campaign, ids=[letter.id for letter in group]):
            errors = [f["message"] for f in errors_in(result.findings) if f["code"] != "stale"]
            if not errors:
                continue
            if result.letter_id in overrides:
                to_record[result.letter_id] = (overrides[result.letter_id].strip(), errors)
            elif not result.override:
                check_problems += [
                    f"letter {result.letter_id} ({result.acronym}): {e}" for e in errors
                ]
    if stale_problems:
        raise ValidationError(
            "some letters were made before their campaign changed",
            stale_problems,
            hint=f"letters generate --campaign {slugs[0]}",
        )
    if check_problems:
        raise ValidationError(
            "some letters have check errors: correct them and generate again, or override "
            "a letter with a reason",
            check_problems,
            hint=f"letters check --campaign {group[0].campaign.slug}",
        )
    return to_record


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
