"""One dialogue across all its campaigns: who was written to, who answered,
who committed to speak, and what happened on the day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.reports.i18n import check_language
from outreach.reports.queries import (
    DIALOGUE_TABLE,
    DIALOGUES,
    enum_value,
    unknown_slug,
    whole_days,
)
from outreach.reports.status import (
    DEFAULT_OVERDUE_AFTER,
    RecipientStatus,
    StatusTotals,
    campaign_info,
    campaigns_of_dialogue,
    compute_totals,
    is_overdue,
    recipient_rows,
)
from outreach.schema.types import utcnow

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
    language: str | None = None,
) -> DialogueReport:
    """The report on the dialogue with slug *dialogue* across its campaigns,
    the organizations named in *language* (as in
    :func:`~outreach.reports.status.status_report`).

    Raises :class:`NotFoundError` for an unknown slug.
    """
    language = check_language(language)
    now = now or utcnow()
    dlg = find_dialogue(session, dialogue)
    campaigns = campaigns_of_dialogue(session, dlg.id)
    summaries = []
    merged: dict[int, list[RecipientStatus]] = {}
    for camp in campaigns:
        rows = recipient_rows(
            session, campaign_id=camp.id, overdue_after=overdue_after, now=now, language=language
        )
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
        dialogue=dialogue_info(dlg),
        generated_at=now,
        campaigns=summaries,
        organizations=organizations,
        totals=compute_totals(combined),
    )


def find_dialogue(session: Session, slug: str) -> sa.Row[Any]:
    """The dialogue called *slug*, every column."""
    row = session.execute(sa.select(DIALOGUE_TABLE).where(DIALOGUES.slug == slug.strip())).first()
    if row is None:
        raise unknown_slug(session, DIALOGUES.slug, "dialogue", slug)
    return row


def dialogue_info(row: sa.Row[Any]) -> DialogueInfo:
    return DialogueInfo(
        slug=row.slug,
        title=row.title,
        body=str(enum_value(row.body)),
        theme=row.theme,
        date=row.date,
        report_symbol=row.report_symbol,
        states_spoke=row.states_spoke,
        regional_orgs_spoke=row.regional_orgs_spoke,
        civil_society_spoke=row.civil_society_spoke,
        outcome_notes=row.outcome_notes,
    )


def _latest_stance(rows: list[RecipientStatus]) -> str | None:
    answered = [r for r in rows if r.first_response_at is not None and r.stance]
    if not answered:
        return None
    return max(answered, key=lambda r: r.first_response_at).stance  # type: ignore[arg-type,return-value]


def _organization(row: RecipientStatus | DialogueOrganization) -> dict[str, Any]:
    """The organization's own fields, which both kinds of row carry."""
    return {
        "organization_id": row.organization_id,
        "acronym": row.acronym,
        "name": row.name,
        "region": row.region,
        "kind": row.kind,
    }


def _merge(rows: list[RecipientStatus]) -> DialogueOrganization:
    sent = [r.sent_at for r in rows if r.sent_at]
    answers = [r.first_response_at for r in rows if r.first_response_at]
    return DialogueOrganization(
        **_organization(rows[0]),
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
    return RecipientStatus(
        **_organization(org),
        letter_status=max(rows, key=lambda r: r.sent_at is not None).letter_status,
        language=rows[0].language,
        channel=rows[0].channel,
        sent_at=sent_at,
        days_waiting=whole_days(sent_at, first_at or now) if sent_at else None,
        followups_sent=sum(r.followups_sent for r in rows),
        first_response_at=first_at,
        responses=sum(r.responses for r in rows),
        stance=org.stance,
        summary=None,
        committed=org.committed,
        overdue=is_overdue(sent_at, first_at, now, overdue_after),
    )
