"""The queries the reports share: the tables they read, letter status
ranking, per-organization aggregates of letters and responses, the campaign
lookup, calendar days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.errors import NotFoundError
from outreach.schema import tables as _tables
from outreach.schema.enums import LetterStatus, Stance

if TYPE_CHECKING:  # the ORM is not loaded for a report
    from sqlalchemy.orm import Session

# The reports query Core tables (outreach.schema.tables): no ORM objects are
# loaded and the ORM itself is not imported, which keeps a report fast from a
# cold start.
LETTERS = _tables.letters.c
RESPONSES = _tables.responses.c
ORGS = _tables.organizations.c
CAMPAIGNS = _tables.campaigns.c
DIALOGUES = _tables.dialogues.c
CAMPAIGN_TABLE = _tables.campaigns
DIALOGUE_TABLE = _tables.dialogues

#: Which organizations a campaign writes to (organizations on the list count
#: as recipients even before their letter exists).
RECIPIENTS = _tables.campaign_recipients.c

#: ``letter_status`` of a listed recipient with no letter yet.
NO_LETTER = "none"

#: When an organization has several current letters (one per contact), the
#: report shows the most advanced one: sent beats bounced beats sending beats
#: failed ... (a bounced letter went out but reached no one).
STATUS_RANK = {
    LetterStatus.SENT: 7,
    LetterStatus.BOUNCED: 6,
    LetterStatus.SENDING: 5,
    LetterStatus.FAILED: 4,
    LetterStatus.APPROVED: 3,
    LetterStatus.DRAFT: 2,
    LetterStatus.CANCELLED: 1,
}


def status_rank() -> sa.ColumnElement[int]:
    return sa.case(
        *((LETTERS.status == status, rank) for status, rank in STATUS_RANK.items()), else_=0
    )


def campaign_query() -> sa.Select[Any]:
    """Campaigns with their dialogue's slug, title and date (add the ``where``)."""
    return sa.select(
        CAMPAIGNS.id,
        CAMPAIGNS.slug,
        CAMPAIGNS.title,
        CAMPAIGNS.status,
        CAMPAIGNS.starts_on,
        CAMPAIGNS.ends_on,
        CAMPAIGNS.signatory,
        CAMPAIGNS.created_at,
        DIALOGUES.slug.label("dialogue_slug"),
        DIALOGUES.title.label("dialogue_title"),
        DIALOGUES.date.label("dialogue_date"),
    ).select_from(CAMPAIGN_TABLE.outerjoin(DIALOGUE_TABLE, CAMPAIGNS.dialogue_id == DIALOGUES.id))


def unknown_slug(session: Session, column: Any, what: str, slug: str) -> NotFoundError:
    """The error for a *what* (campaign, dialogue) called *slug* that does not
    exist, naming a few that do (the values of *column*), and those nearest
    to *slug* (:mod:`outreach.suggest`): one query of them all."""
    from outreach.suggest import did_you_mean

    slugs = session.scalars(sa.select(column).order_by(column)).all()
    near = did_you_mean(slug, slugs)
    near = f"{near} " if near else ""
    hint = f" ({near}known: {', '.join(slugs[:6])})" if slugs else f" (there are no {what}s yet)"
    return NotFoundError(f"no {what} {slug!r}{hint}")


@dataclass
class LetterSummary:
    """The letters of one organization in one campaign, in brief."""

    #: The most advanced status among the current (not superseded) round-0 letters.
    status: str | None = None
    language: str | None = None
    channel: str | None = None
    #: When the first round-0 letter went out (``None`` if none did).
    sent_at: dt.datetime | None = None
    #: Reminders (round > 0) sent.
    followups_sent: int = 0


def listed_recipients(session: Session, *filters: Any, key: Any) -> list[Any]:
    """Values of *key* (a ``RECIPIENTS`` column) on the campaign recipient
    list matching *filters*."""
    return list(session.scalars(sa.select(key).where(*filters)))


def recipient_letters(
    session: Session, *, campaign_id: int | None = None, organization_id: int | None = None
) -> dict[int, LetterSummary]:
    """The letters of one campaign per organization (give *campaign_id*), or
    of one organization per campaign (give *organization_id*).

    Recipients on a campaign's list whose letter is not made yet are there
    too, with the letter status :data:`NO_LETTER`.
    """
    if campaign_id is not None:
        letters = letter_summaries(
            session, LETTERS.campaign_id == campaign_id, key=LETTERS.organization_id
        )
        listed = listed_recipients(
            session, RECIPIENTS.campaign_id == campaign_id, key=RECIPIENTS.organization_id
        )
    else:
        letters = letter_summaries(
            session, LETTERS.organization_id == organization_id, key=LETTERS.campaign_id
        )
        listed = listed_recipients(
            session, RECIPIENTS.organization_id == organization_id, key=RECIPIENTS.campaign_id
        )
    for listed_id in listed:
        letters.setdefault(listed_id, LetterSummary(status=NO_LETTER))
    return letters


def letter_summaries(session: Session, *filters: Any, key: Any) -> dict[Any, LetterSummary]:
    """Per value of *key* (``LETTERS.organization_id`` or ``LETTERS.campaign_id``):
    a :class:`LetterSummary` of the letters matching *filters*.

    Two grouped queries: the current round-0 letters (which make a recipient)
    and the sent letters (found through the ``campaign_id, status`` index).
    Only keys with a current round-0 letter are returned.
    """
    rank = status_rank()
    current = session.execute(
        sa.select(
            key,
            sa.func.max(rank),
            sa.func.min(LETTERS.language),
            sa.func.min(LETTERS.channel),
        )
        .where(
            *filters,
            # Always true (ids start at 1), and it lets SQLite read the
            # (campaign_id, contact_id, round, version) unique index and skip
            # the other rounds there, before it fetches any row.
            LETTERS.contact_id > 0,
            LETTERS.round == 0,
            LETTERS.superseded_at.is_(None),
        )
        .group_by(key)
    ).all()
    out = {
        k: LetterSummary(
            status=_RANK_STATUS.get(best), language=language, channel=enum_value(channel)
        )
        for k, best, language, channel in current
    }
    # Grouping by round first keeps SQLite on the (campaign_id, status) index.
    first_sent = sa.func.min(LETTERS.sent_at)
    sent = session.execute(
        sa.select(
            key, LETTERS.round, LETTERS.language, LETTERS.channel, first_sent, sa.func.count()
        )
        .where(*filters, LETTERS.status == LetterStatus.SENT)
        .group_by(LETTERS.round, LETTERS.language, LETTERS.channel, key)
    ).all()
    for k, round_, language, channel, sent_at, n in sent:
        summary = out.get(k)
        if summary is None:
            continue
        if round_ > 0:
            summary.followups_sent += n
            continue
        sent_at = as_utc(sent_at)
        if sent_at is not None and (summary.sent_at is None or sent_at < summary.sent_at):
            summary.sent_at, summary.language = sent_at, language
            summary.channel = enum_value(channel)
            summary.status = LetterStatus.SENT.value
    return out


@dataclass(frozen=True)
class ResponseSummary:
    """The responses of one organization in one campaign, in brief."""

    first_at: dt.datetime
    #: Stance and summary of the latest response.
    stance: str | None
    summary: str | None
    count: int
    #: Whether any response was a commitment to speak.
    committed: bool


def response_fields(resp: ResponseSummary | None) -> dict[str, Any]:
    """The response columns of a report row (first answer, count, latest
    stance and summary, commitment), from *resp* or for no response."""
    if resp is None:
        return {
            "first_response_at": None,
            "responses": 0,
            "stance": None,
            "summary": None,
            "committed": False,
        }
    return {
        "first_response_at": resp.first_at,
        "responses": resp.count,
        "stance": resp.stance,
        "summary": resp.summary,
        "committed": resp.committed,
    }


def response_summaries(session: Session, *filters: Any, key: Any) -> dict[Any, ResponseSummary]:
    """Per value of *key*: first answer, latest stance and summary, count and
    commitment, for the responses matching *filters*."""
    grouped = (
        sa.select(
            key.label("k"),
            sa.func.min(RESPONSES.received_at).label("first_at"),
            sa.func.max(RESPONSES.received_at).label("last_at"),
            sa.func.count().label("n"),
            sa.func.max(sa.case((RESPONSES.stance == Stance.COMMITMENT, 1), else_=0)).label(
                "committed"
            ),
        )
        .where(*filters)
        .group_by(key)
        .subquery("grouped")
    )
    rows = session.execute(
        sa.select(
            grouped.c.k,
            RESPONSES.id,
            RESPONSES.stance,
            RESPONSES.summary,
            grouped.c.first_at,
            grouped.c.n,
            grouped.c.committed,
        )
        .join(grouped, sa.and_(key == grouped.c.k, RESPONSES.received_at == grouped.c.last_at))
        .where(*filters)
    ).all()
    out: dict[Any, ResponseSummary] = {}
    latest_id: dict[Any, int] = {}
    for k, rid, stance, summary, first_at, n, committed in rows:
        if k in latest_id and latest_id[k] > rid:
            continue  # two answers at the same moment: the later-logged one wins
        latest_id[k] = rid
        out[k] = ResponseSummary(
            first_at=as_utc(first_at),  # type: ignore[arg-type]
            stance=enum_value(stance),
            summary=summary,
            count=int(n),
            committed=bool(committed),
        )
    return out


_RANK_STATUS = {rank: status.value for status, rank in STATUS_RANK.items()}


def enum_value(value: object) -> str | None:
    """A stored enum (or plain string) as its text; ``None`` stays ``None``."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def as_utc(value: Any) -> dt.datetime | None:
    """Window/aggregate results lose the column type on some backends:
    bring them back to aware UTC datetimes."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def utc_day(session: Session, column: Any) -> sa.ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, as SQL."""
    dialect = session.dialect if isinstance(session, sa.Connection) else session.get_bind().dialect
    if dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone("UTC", column))
    return sa.func.date(column)


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def whole_days(start: dt.datetime, end: dt.datetime) -> int:
    """Whole days from *start* to *end*, never negative."""
    return max((end - start).days, 0)
