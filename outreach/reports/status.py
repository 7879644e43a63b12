"""The status of one campaign: who was written to, who answered, who to chase.

    >>> with db.session() as session:                       # doctest: +SKIP
    ...     report = status_report(session, campaign="third-pillar-2012")
    >>> report.totals.response_rate                         # doctest: +SKIP
    0.4

Definitions (the same in every format):

* **recipients**: organizations with a current (not superseded) round-0
  letter in the campaign, and those on its recipient list whose letter has
  not been made yet (letter status ``none``);
* **sent**: recipients whose round-0 letter went out; its *sent date* is the
  first one sent;
* **answered**: recipients with at least one response logged for the
  campaign; the **response rate** is the share of *sent* recipients that
  answered;
* **days waiting**: whole days from the sent date to the first response, or
  to now while there is none; the **median days to answer** is taken over
  the recipients that answered;
* **stance** and **summary** come from the latest response; a **commitment
  to speak** is any response with the ``commitment`` stance;
* **bounced**: recipients whose round-0 letter the mail server could not
  deliver (and none that was delivered): neither sent nor awaited, never
  overdue, until the letter is sent again to a corrected address;
* **overdue**: sent, no answer, and waiting longer than *overdue_after*
  (21 days unless told otherwise);
* **follow-ups sent**: reminders (letters of round 1 and above) sent.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.campaigns.lookup import find_campaign_row
from outreach.errors import NotFoundError
from outreach.reports.i18n import DEFAULT_LANGUAGE, check_language, local_names
from outreach.reports.labels import kind_label, region_label
from outreach.reports.queries import (
    CAMPAIGNS,
    LETTERS,
    ORGS,
    RESPONSES,
    as_date,
    campaign_query,
    enum_value,
    recipient_letters,
    response_fields,
    response_summaries,
    unknown_slug,
    utc_day,
    whole_days,
)
from outreach.schema.enums import LetterStatus, OrgKind, Region, Stance
from outreach.schema.types import utcnow

if TYPE_CHECKING:  # the ORM is not loaded for a report
    from sqlalchemy.orm import Session

DEFAULT_OVERDUE_AFTER = dt.timedelta(days=21)


@dataclass(frozen=True)
class CampaignInfo:
    slug: str
    title: str
    status: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    signatory: str | None
    dialogue_slug: str | None
    dialogue_title: str | None
    #: ``None`` while the date has not been announced.
    dialogue_date: dt.date | None


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient organization of a campaign."""

    organization_id: int
    acronym: str
    name: str
    region: str | None
    kind: str
    #: The most advanced status among the organization's current letters.
    letter_status: str
    language: str | None
    channel: str | None
    #: When the first round-0 letter went out; ``None`` if not yet sent.
    sent_at: dt.datetime | None
    days_waiting: int | None
    followups_sent: int
    first_response_at: dt.datetime | None
    responses: int
    #: Stance and summary of the latest response.
    stance: str | None
    summary: str | None
    committed: bool
    overdue: bool

    @property
    def bounced(self) -> bool:
        """The letter could not be delivered (status ``bounced``)."""
        return self.letter_status == LetterStatus.BOUNCED.value

    @property
    def region_label(self) -> str:
        return region_label(self.region)

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def answered(self) -> bool:
        return self.first_response_at is not None


@dataclass(frozen=True)
class GroupRate:
    """Response figures for one region or kind of organization."""

    key: str | None
    label: str
    recipients: int
    sent: int
    answered: int
    #: Answered / sent, ``None`` when nothing was sent.
    rate: float | None


@dataclass(frozen=True)
class StatusTotals:
    recipients: int
    sent: int
    not_sent: int
    answered: int
    #: Sent and not answered yet.
    awaiting: int
    response_rate: float | None
    median_days_to_answer: float | None
    commitments: int
    followups_sent: int
    by_region: list[GroupRate]
    by_kind: list[GroupRate]
    #: Latest stance -> number of organizations, in :class:`Stance` order.
    by_stance: dict[str, int]
    overdue: list[RecipientStatus]
    #: Recipients whose letter bounced (not counted in sent nor in not sent).
    bounced: int = 0


@dataclass(frozen=True)
class TimelineDay:
    """Letters and responses on one UTC calendar day."""

    day: dt.date
    letters_sent: int
    followups_sent: int
    responses: int


@dataclass(frozen=True)
class StatusReport:
    campaign: CampaignInfo
    generated_at: dt.datetime
    overdue_after: dt.timedelta
    rows: list[RecipientStatus]
    totals: StatusTotals
    #: Filled only when asked for (the HTML report's chart).
    timeline: list[TimelineDay] = field(default_factory=list)


def find_campaign(session: Session, ref: str | int) -> sa.Row[Any]:
    """The campaign *ref* (id or slug) names, with its dialogue's slug, title
    and date; an unknown one is a :class:`NotFoundError` naming a few known."""
    try:
        found = find_campaign_row(session, ref)
    except NotFoundError:
        raise unknown_slug(session, CAMPAIGNS.slug, "campaign", str(ref)) from None
    return session.execute(campaign_query().where(CAMPAIGNS.id == found.id)).one()


def campaigns_of_dialogue(session: Session, dialogue_id: int) -> list[sa.Row[Any]]:
    return list(
        session.execute(
            campaign_query()
            .where(CAMPAIGNS.dialogue_id == dialogue_id)
            .order_by(CAMPAIGNS.starts_on.is_(None), CAMPAIGNS.starts_on, CAMPAIGNS.id)
        )
    )


def campaign_info(row: sa.Row[Any]) -> CampaignInfo:
    return CampaignInfo(
        slug=row.slug,
        title=row.title,
        status=enum_value(row.status) or "",
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        signatory=row.signatory,
        dialogue_slug=row.dialogue_slug,
        dialogue_title=row.dialogue_title,
        dialogue_date=row.dialogue_date,
    )


def status_report(
    session: Session,
    *,
    campaign: str | int,
    overdue_after: dt.timedelta = DEFAULT_OVERDUE_AFTER,
    now: dt.datetime | None = None,
    timeline: bool = False,
    language: str | None = None,
) -> StatusReport:
    """The status of the campaign *campaign* (its slug or id).

    Raises :class:`NotFoundError` for an unknown campaign. *timeline* adds the
    letters and responses per day (used by the HTML charts). *language* names
    the organizations in that language where the directory has their names
    in it (see :mod:`outreach.reports.i18n`; English by default).
    """
    language = check_language(language)
    now = now or utcnow()
    camp = find_campaign(session, campaign)
    rows = recipient_rows(
        session, campaign_id=camp.id, overdue_after=overdue_after, now=now, language=language
    )
    return StatusReport(
        campaign=campaign_info(camp),
        generated_at=now,
        overdue_after=overdue_after,
        rows=rows,
        totals=compute_totals(rows),
        timeline=campaign_timeline(session, campaign_id=camp.id) if timeline else [],
    )


def recipient_rows(
    session: Session,
    *,
    campaign_id: int,
    overdue_after: dt.timedelta = DEFAULT_OVERDUE_AFTER,
    now: dt.datetime | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> list[RecipientStatus]:
    """One row per recipient organization, ordered by acronym (in *language*)."""
    now = now or utcnow()
    letters = recipient_letters(session, campaign_id=campaign_id)
    responses = response_summaries(
        session, RESPONSES.campaign_id == campaign_id, key=RESPONSES.organization_id
    )
    orgs = session.execute(
        sa.select(
            ORGS.id,
            ORGS.acronym,
            ORGS.name,
            ORGS.region,
            ORGS.kind,
            ORGS.i18n,
        ).where(ORGS.id.in_(list(letters)))
    ).all()
    out = []
    for org in orgs:
        letter = letters[org.id]
        sent_at = letter.sent_at
        answer = response_fields(responses.get(org.id))
        first_at = answer["first_response_at"]
        acronym, name = local_names(org.i18n, org.acronym, org.name, language)
        out.append(
            RecipientStatus(
                organization_id=org.id,
                acronym=acronym,
                name=name,
                region=enum_value(org.region),
                kind=enum_value(org.kind) or OrgKind.OTHER.value,
                letter_status=letter.status or "",
                language=letter.language,
                channel=letter.channel,
                sent_at=sent_at,
                days_waiting=whole_days(sent_at, first_at or now) if sent_at else None,
                followups_sent=letter.followups_sent,
                **answer,
                overdue=is_overdue(sent_at, first_at, now, overdue_after),
            )
        )
    out.sort(key=lambda row: (row.acronym.casefold(), row.organization_id))
    return out


def is_overdue(
    sent_at: dt.datetime | None,
    first_response_at: dt.datetime | None,
    now: dt.datetime,
    overdue_after: dt.timedelta,
) -> bool:
    """Sent, not answered, and waiting longer than *overdue_after*."""
    return bool(sent_at and first_response_at is None and now - sent_at > overdue_after)


def compute_totals(rows: list[RecipientStatus]) -> StatusTotals:
    """The summary figures of a list of recipient rows."""
    sent = [r for r in rows if r.sent_at is not None]
    answered_sent = [r for r in sent if r.answered]
    days = [r.days_waiting for r in answered_sent if r.days_waiting is not None]
    stances = Counter(r.stance for r in rows if r.stance)
    bounced = sum(1 for r in rows if r.bounced and r.sent_at is None)
    return StatusTotals(
        recipients=len(rows),
        sent=len(sent),
        not_sent=len(rows) - len(sent) - bounced,
        answered=sum(1 for r in rows if r.answered),
        awaiting=len(sent) - len(answered_sent),
        response_rate=_rate(len(answered_sent), len(sent)),
        median_days_to_answer=_median(days),
        commitments=sum(1 for r in rows if r.committed),
        followups_sent=sum(r.followups_sent for r in rows),
        by_region=group_rates(rows, lambda r: r.region, region_label, _region_order),
        by_kind=group_rates(rows, lambda r: r.kind, kind_label, _kind_order),
        by_stance={s.value: stances[s.value] for s in Stance if stances[s.value]},
        overdue=sorted(
            (r for r in rows if r.overdue), key=lambda r: (-(r.days_waiting or 0), r.acronym)
        ),
        bounced=bounced,
    )


def group_rates(
    rows: Iterable[RecipientStatus],
    key: Callable[[RecipientStatus], str | None],
    label: Callable[[str | None], str],
    order: Callable[[str | None], tuple[int, str]],
) -> list[GroupRate]:
    groups: dict[str | None, list[RecipientStatus]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    out = []
    for k in sorted(groups, key=order):
        members = groups[k]
        sent = [r for r in members if r.sent_at is not None]
        answered = sum(1 for r in sent if r.answered)
        out.append(
            GroupRate(
                key=k,
                label=label(k),
                recipients=len(members),
                sent=len(sent),
                answered=answered,
                rate=_rate(answered, len(sent)),
            )
        )
    return out


def campaign_timeline(session: Session, *, campaign_id: int) -> list[TimelineDay]:
    """Letters (round 0), reminders and responses per UTC day, in date order."""
    day = utc_day(session, LETTERS.sent_at).label("day")
    is_followup = sa.case((LETTERS.round > 0, 1), else_=0)
    letters = session.execute(
        sa.select(day, sa.func.count() - sa.func.sum(is_followup), sa.func.sum(is_followup))
        .where(
            LETTERS.campaign_id == campaign_id,
            LETTERS.status == LetterStatus.SENT,
            LETTERS.sent_at.is_not(None),
        )
        .group_by(day)
    ).all()
    rday = utc_day(session, RESPONSES.received_at).label("day")
    responses = session.execute(
        sa.select(rday, sa.func.count()).where(RESPONSES.campaign_id == campaign_id).group_by(rday)
    ).all()
    days: dict[dt.date, list[int]] = {}
    for d, n_letters, n_followups in letters:
        days.setdefault(as_date(d), [0, 0, 0])[:2] = [int(n_letters), int(n_followups)]
    for d, n in responses:
        days.setdefault(as_date(d), [0, 0, 0])[2] = int(n)
    return [TimelineDay(d, *days[d]) for d in sorted(days)]


def _median(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _region_order(region: str | None) -> tuple[int, str]:
    names = [r.value for r in Region]
    return (names.index(region), "") if region in names else (len(names), region or "~")


def _kind_order(kind: str | None) -> tuple[int, str]:
    names = [k.value for k in OrgKind]
    return (names.index(kind), "") if kind in names else (len(names), kind or "~")
