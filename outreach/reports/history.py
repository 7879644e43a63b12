"""One organization across the years: which campaigns wrote to it, when,
whether and how it answered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.directory.lookup import acronym_suggestion, find_org_row
from outreach.errors import NotFoundError
from outreach.reports.i18n import check_language, local_names
from outreach.reports.labels import region_label
from outreach.reports.queries import (
    CAMPAIGNS,
    ORGS,
    RESPONSES,
    LetterSummary,
    ResponseSummary,
    campaign_query,
    enum_value,
    recipient_letters,
    response_fields,
    response_summaries,
)

if TYPE_CHECKING:  # the ORM is not loaded for a report
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class HistoryRow:
    """One campaign in an organization's history."""

    year: int
    campaign_slug: str
    campaign_title: str
    dialogue_slug: str | None
    dialogue_title: str | None
    dialogue_date: dt.date | None
    #: ``None`` when the organization only answered (no letter on record).
    letter_status: str | None
    language: str | None
    channel: str | None
    sent_at: dt.datetime | None
    followups_sent: int
    first_response_at: dt.datetime | None
    responses: int
    stance: str | None
    summary: str | None
    committed: bool

    @property
    def answered(self) -> bool:
        return self.first_response_at is not None


@dataclass(frozen=True)
class HistoryReport:
    organization_id: int
    acronym: str
    name: str
    region: str | None
    kind: str
    rows: list[HistoryRow]
    campaigns: int
    sent: int
    answered: int
    #: Answered / sent across the campaigns, ``None`` when nothing was sent.
    response_rate: float | None
    commitments: int

    @property
    def region_label(self) -> str:
        return region_label(self.region)


def find_organization(session: Session, acronym: str) -> sa.Row[Any]:
    org = find_org_row(
        session, acronym, ORGS.id, ORGS.acronym, ORGS.name, ORGS.region, ORGS.kind, ORGS.i18n
    )
    if org is None:
        near = acronym_suggestion(session, acronym)
        raise NotFoundError(f"no organization with acronym {acronym!r}{near}", hint="orgs list")
    return org


def history_report(session: Session, *, org: str, language: str | None = None) -> HistoryReport:
    """Every campaign that wrote to (or heard from) the organization *org*
    (an acronym, any case), oldest first; the organization named in
    *language* where the directory has its name in it (English by default)."""
    language = check_language(language)
    organization = find_organization(session, org)
    oid = organization.id
    letters = recipient_letters(session, organization_id=oid)
    responses = response_summaries(
        session,
        RESPONSES.organization_id == oid,
        RESPONSES.campaign_id.is_not(None),
        key=RESPONSES.campaign_id,
    )
    ids = set(letters) | set(responses)
    campaigns = {
        row.id: row for row in session.execute(campaign_query().where(CAMPAIGNS.id.in_(ids)))
    }
    rows = [_history_row(campaigns[cid], letters.get(cid), responses.get(cid)) for cid in ids]
    rows.sort(key=lambda r: (r.year, r.sent_at or r.first_response_at or _FAR, r.campaign_slug))
    sent = sum(1 for r in rows if r.sent_at)
    acronym, name = local_names(
        organization.i18n, organization.acronym, organization.name, language
    )
    answered_sent = sum(1 for r in rows if r.sent_at and r.answered)
    return HistoryReport(
        organization_id=oid,
        acronym=acronym,
        name=name,
        region=enum_value(organization.region),
        kind=enum_value(organization.kind) or "other",
        rows=rows,
        campaigns=len(rows),
        sent=sent,
        answered=sum(1 for r in rows if r.answered),
        response_rate=answered_sent / sent if sent else None,
        commitments=sum(1 for r in rows if r.committed),
    )


def _history_row(
    camp: sa.Row[Any], letter: LetterSummary | None, resp: ResponseSummary | None
) -> HistoryRow:
    """One campaign's line: its letter (if any) and its answers (if any)."""
    sent_at = letter.sent_at if letter else None
    answer = response_fields(resp)
    return HistoryRow(
        year=_year(camp, sent_at, answer["first_response_at"]),
        campaign_slug=camp.slug,
        campaign_title=camp.title,
        dialogue_slug=camp.dialogue_slug,
        dialogue_title=camp.dialogue_title,
        dialogue_date=camp.dialogue_date,
        letter_status=letter.status if letter else None,
        language=letter.language if letter else None,
        channel=letter.channel if letter else None,
        sent_at=sent_at,
        followups_sent=letter.followups_sent if letter else 0,
        **answer,
    )


_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)


def _year(camp: sa.Row[Any], sent_at: dt.datetime | None, first_at: dt.datetime | None) -> int:
    """The campaign's year: its dialogue's, else its start, else its first letter."""
    for value in (camp.dialogue_date, camp.starts_on, sent_at, first_at, camp.created_at):
        if value is not None:
            return value.year
    return dt.date.today().year  # pragma: no cover - created_at is always set
