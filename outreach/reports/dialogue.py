"""One dialogue across all its campaigns: who was written to, who answered,
who committed to speak, and what happened on the day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from outreach.errors import NotFoundError
from outreach.reports._sql import DIALOGUE_TABLE, DIALOGUES
from outreach.reports.status import (
    DEFAULT_OVERDUE_AFTER,
    RecipientStatus,
    StatusTotals,
    campaign_info,
    campaigns_of_dialogue,
    compute_totals,
    recipient_rows,
)
from outreach.types import utcnow

if TYPE_CHECKING:  # the ORM is not loaded for a report
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DialogueInfo:
    slug: str
    title: str
    body: str
    theme: str | None
    #: ``None`` while not announced.
    date: dt.date | None
    report_symbol: str | None
    states_spoke: int | None
    regional_orgs_spoke: int | None
    civil_society_spoke: int | None
    outcome_notes: str | None


@dataclass(frozen=True)
class CampaignSummary:
    slug: str
    title: str
    status: str
    starts_on: dt.date | None
    totals: StatusTotals


@dataclass(frozen=True)
class DialogueOrganization:
    """One organization across the dialogue's campaigns."""

    organization_id: int
    acronym: str
    name: str
    region: str | None
    kind: str
    #: Campaigns it was a recipient of, and of those, sent to and answered.
    campaigns: int
    sent: int
    answered: int
    first_sent_at: dt.datetime | None
    first_response_at: dt.datetime | None
    #: The latest stance across the campaigns.
    stance: str | None
    committed: bool


@dataclass(frozen=True)
class DialogueReport:
    dialogue: DialogueInfo
    generated_at: dt.datetime
    campaigns: list[CampaignSummary]
    organizations: list[DialogueOrganization]
    #: Figures over organizations (each counted once across campaigns).
    totals: StatusTotals


def dialogue_report(
    session: Session,
    *,
    dialogue: str,
    overdue_after: dt.timedelta = DEFAULT_OVERDUE_AFTER,
    now: dt.datetime | None = None,
) -> DialogueReport:
    """The report on the dialogue with slug *dialogue* across its campaigns."""
    now = now or utcnow()
    dlg = session.execute(
        sa.select(DIALOGUE_TABLE).where(DIALOGUES.slug == dialogue.strip())
    ).first()
    if dlg is None:
        known = session.scalars(sa.select(DIALOGUES.slug).order_by(DIALOGUES.slug).limit(6)).all()
        hint = f" (known: {', '.join(known)})" if known else " (there are no dialogues yet)"
        raise NotFoundError(f"no dialogue {dialogue!r}{hint}")
    campaigns = campaigns_of_dialogue(session, dlg.id)
    summaries = []
    merged: dict[int, list[RecipientStatus]] = {}
    for camp in campaigns:
        rows = recipient_rows(session, campaign_id=camp.id, overdue_after=overdue_after, now=now)
        info = campaign_info(camp)
        summaries.append(
            CampaignSummary(
                slug=info.slug,
                title=info.title,
                status=info.status,
                starts_on=info.starts_on,
                totals=compute_totals(rows),
            )
        )
        for row in rows:
            merged.setdefault(row.organization_id, []).append(row)
    organizations = [_merge(rows) for rows in merged.values()]
    organizations.sort(key=lambda o: (o.acronym.casefold(), o.organization_id))
    # Totals over organizations: one synthetic row each, the earliest letter
    # and the earliest answer across the campaigns.
    combined = [_combined_row(rows, now, overdue_after) for rows in merged.values()]
    return DialogueReport(
        dialogue=DialogueInfo(
            slug=dlg.slug,
            title=dlg.title,
            body=str(getattr(dlg.body, "value", dlg.body)),
            theme=dlg.theme,
            date=dlg.date,
            report_symbol=dlg.report_symbol,
            states_spoke=dlg.states_spoke,
            regional_orgs_spoke=dlg.regional_orgs_spoke,
            civil_society_spoke=dlg.civil_society_spoke,
            outcome_notes=dlg.outcome_notes,
        ),
        generated_at=now,
        campaigns=summaries,
        organizations=organizations,
        totals=compute_totals(combined),
    )


def _latest_stance(rows: list[RecipientStatus]) -> str | None:
    answered = [r for r in rows if r.first_response_at is not None and r.stance]
    if not answered:
        return None
    return max(answered, key=lambda r: r.first_response_at).stance  # type: ignore[arg-type,return-value]


def _merge(rows: list[RecipientStatus]) -> DialogueOrganization:
    first = rows[0]
    sent = [r.sent_at for r in rows if r.sent_at]
    answers = [r.first_response_at for r in rows if r.first_response_at]
    return DialogueOrganization(
        organization_id=first.organization_id,
        acronym=first.acronym,
        name=first.name,
        region=first.region,
        kind=first.kind,
        campaigns=len(rows),
        sent=len(sent),
        answered=len(answers),
        first_sent_at=min(sent) if sent else None,
        first_response_at=min(answers) if answers else None,
        stance=_latest_stance(rows),
        committed=any(r.committed for r in rows),
    )


def _combined_row(
    rows: list[RecipientStatus], now: dt.datetime, overdue_after: dt.timedelta
) -> RecipientStatus:
    org = _merge(rows)
    sent_at, first_at = org.first_sent_at, org.first_response_at
    days = None
    if sent_at is not None:
        days = max(((first_at or now) - sent_at).days, 0)
    return RecipientStatus(
        organization_id=org.organization_id,
        acronym=org.acronym,
        name=org.name,
        region=org.region,
        kind=org.kind,
        letter_status=max(rows, key=lambda r: r.sent_at is not None).letter_status,
        language=rows[0].language,
        channel=rows[0].channel,
        sent_at=sent_at,
        days_waiting=days,
        followups_sent=sum(r.followups_sent for r in rows),
        first_response_at=first_at,
        responses=sum(r.responses for r in rows),
        stance=org.stance,
        summary=None,
        committed=org.committed,
        overdue=bool(sent_at and first_at is None and now - sent_at > overdue_after),
    )
