"""Planning a batch: which approved e-mail letters go now, and why the
others do not (in doubt, being sent, drafts, failed before, do-not-contact,
answered since, a second letter of a round to one organization)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.errors import NotFoundError
from outreach.schema.models import (
    Campaign,
    Channel,
    Letter,
    LetterStatus,
    Response,
)
from outreach.sending.claims import _sending_notes
from outreach.sending.ledger import PendingLetter, _letter_rows, _pending
from outreach.sending.report import SendReport


def _one_letter_per_round(
    session: Session, campaign: Campaign, todo: list[sa.Row]
) -> tuple[list[sa.Row], list[PendingLetter]]:
    """(the letters of *todo* that may go, those held back): an organization
    gets one letter of each round (the letter, reminder 1, ...), through the
    contact it is written to, unless the campaign names another contact of
    it (``campaigns add-recipients --contact``): that one's letter may go as
    well. Letter generation keeps one current letter per organization and
    round; this is the net under it, for letters made otherwise (an earlier
    version, organizations merged)."""
    if not todo:
        return todo, []
    from outreach.schema.enums import RecipientRole
    from outreach.schema.models import CampaignRecipient

    contact_of = dict(
        session.execute(
            sa.select(Letter.id, Letter.contact_id).where(Letter.id.in_([r.id for r in todo]))
        ).all()
    )
    # What went, or may have gone (in doubt), by any channel.
    went: dict[tuple[int, int], dict[int, tuple[int, LetterStatus]]] = {}
    for org_id, round_, contact_id, letter_id, status in session.execute(
        sa.select(
            Letter.organization_id, Letter.round, Letter.contact_id, Letter.id, Letter.status
        )
        .where(
            Letter.campaign_id == campaign.id,
            Letter.status.in_([LetterStatus.SENT, LetterStatus.SENDING]),
        )
        .order_by(Letter.id)
    ):
        went.setdefault((org_id, round_), {}).setdefault(contact_id, (letter_id, status))
    # Each contact the campaign names as an addressee gets a letter of its own.
    named = set(
        session.execute(
            sa.select(CampaignRecipient.organization_id, CampaignRecipient.contact_id).where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.contact_id.is_not(None),
                CampaignRecipient.role == RecipientRole.TO,
            )
        ).all()
    )
    # Organizations written to through their primary contact too (a row naming no one).
    implicit = set(
        session.scalars(
            sa.select(CampaignRecipient.organization_id).where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.contact_id.is_(None),
            )
        )
    )
    groups: dict[tuple[int, int], list[sa.Row]] = {}
    for row in todo:
        groups.setdefault((row.organization_id, row.round), []).append(row)
    held: dict[int, str] = {}
    for (org_id, round_), rows in groups.items():
        what = "the letter" if round_ == 0 else f"reminder {round_}"
        for row in rows:
            contact_id = contact_of[row.id]
            if (org_id, contact_id) in named:
                continue  # the campaign names this contact: it is written to
            before = sorted(
                v
                for c, v in went.get((org_id, round_), {}).items()
                if c != contact_id and (org_id, c) not in named
            )
            # A named contact's letter is no rival of the primary contact's,
            # unless the organization is written to through named contacts only.
            rivals = [
                r.id
                for r in rows
                if r.id != row.id
                and (org_id not in implicit or (org_id, contact_of[r.id]) not in named)
            ]
            name_it = (
                f"`outreach campaigns add-recipients {campaign.slug} {shlex.quote(row.acronym)} "
                f"--contact {contact_id}` to send this one too, or `outreach letters cancel "
                f"{row.id}`"
            )
            if before:
                got = (
                    "already got"
                    if all(status == LetterStatus.SENT for _i, status in before)
                    else "may already have got"
                )
                held[row.id] = (
                    f"{row.acronym} {got} {what} (letter "
                    f"{', '.join(str(i) for i, _s in before)}) through another contact: {name_it}"
                )
            elif rivals:
                held[row.id] = (
                    f"{what} to {row.acronym} is also waiting to go to another contact (letter "
                    f"{', '.join(map(str, rivals))}): `outreach letters generate` keeps the one "
                    f"to its current contact; or {name_it}"
                )
    if not held:
        return todo, []
    return (
        [row for row in todo if row.id not in held],
        [_pending(row, held[row.id]) for row in todo if row.id in held],
    )



def _refuse_stale(session: Session, campaign: Campaign, todo: list[sa.Row]) -> None:
    """Refuse the batch if a letter of *todo* was made before the campaign's
    template, variables or sender changed: it would go out stale."""
    if not todo:
        return
    from outreach.errors import ValidationError
    from outreach.letters.basis import stale_letters

    made = session.execute(
        sa.select(
            Letter.id,
            Letter.round,
            Letter.language,
            Letter.basis,
            Letter.template_hash,
            Letter.created_at,
        ).where(Letter.id.in_([row.id for row in todo]), Letter.basis.is_not(None))
    ).all()
    stale = stale_letters(session.connection(), campaign, made)
    if stale:
        raise ValidationError(
            f"{len(stale)} approved letter(s) of {campaign.slug} were made before the campaign "
            "changed; nothing was sent",
            [f"letter {i}: {why}" for i, why in sorted(stale.items())],
            hint=f"letters generate --campaign {campaign.slug}",
        )


def plan_batch(
    session: Session,
    campaign: Campaign,
    *,
    dry_run: bool,
    limit: int | None = None,
    retry_failed: bool = False,
    letter_ids: Sequence[int] | None = None,
) -> tuple[list[sa.Row], SendReport]:
    """(the letters to send now, the report listing the others and why)."""
    report = SendReport(campaign=campaign.slug, dry_run=dry_run)
    where: list[Any] = [
        Letter.campaign_id == campaign.id,
        Letter.channel == Channel.EMAIL,
        Letter.superseded_at.is_(None),
    ]
    if letter_ids:
        where.append(Letter.id.in_(list(letter_ids)))
    rows = _letter_rows(session, where)
    answered: set[int] = set()
    if not letter_ids and any(row.round > 0 for row in rows):
        answered = set(
            session.scalars(
                sa.select(Response.organization_id).where(Response.campaign_id == campaign.id)
            )
        )
    todo = []
    sending = _sending_notes(
        session, [row for row in rows if row.status == LetterStatus.SENDING]
    )
    for row in rows:
        if row.status == LetterStatus.SENDING:
            live, note = sending[row.id]
            (report.being_sent if live else report.in_doubt).append(_pending(row, note))
        elif row.status == LetterStatus.DRAFT:
            report.awaiting_approval.append(_pending(row, "draft: approve it first"))
        elif row.status == LetterStatus.FAILED and not retry_failed:
            report.failed_before.append(_pending(row, "failed before: --retry-failed"))
        elif row.status in (LetterStatus.APPROVED, LetterStatus.FAILED):
            if row.do_not_contact:
                report.skipped.append(_pending(row, "the contact asked not to be contacted"))
            elif row.round > 0 and row.organization_id in answered:
                # A reminder to an organization that has answered since.
                report.answered.append(_pending(row, "answered since: `letters cancel` it"))
            else:
                todo.append(row)
    todo, report.second_of_round = _one_letter_per_round(session, campaign, todo)
    _refuse_stale(session, campaign, todo)
    if letter_ids:
        missing = set(letter_ids) - {r.id for r in rows}
        if missing:
            raise NotFoundError(
                f"no e-mail letter {', '.join(map(str, sorted(missing)))} in campaign "
                f"{campaign.slug}"
            )
    if not letter_ids:
        report.other_channels = (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Letter)
                .where(
                    Letter.campaign_id == campaign.id,
                    Letter.channel != Channel.EMAIL,
                    Letter.status == LetterStatus.APPROVED,
                    Letter.superseded_at.is_(None),
                )
            )
            or 0
        )
    if limit is not None and len(todo) > limit:
        report.remaining = len(todo) - limit
        todo = todo[:limit]
    return todo, report
