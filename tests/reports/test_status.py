"""The status of one campaign: figures against the hand-computed campaign,
overdue, listed recipients, the timeline, an empty campaign, unknown names."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from outreach.db import Database
from outreach.reports.history import history_report
from outreach.reports.status import status_report
from outreach.schema.models import Campaign, Organization

from ._fixtures import EXPECTED_ROWS, NOW


def test_status_figures_match_the_hand_computed_campaign(fixture_db: Database) -> None:
    with fixture_db.session() as s:
        report = status_report(s, campaign="tp-2012", now=NOW)
    got = {
        r.acronym: (
            r.letter_status,
            r.sent_at.date().isoformat() if r.sent_at else None,
            r.days_waiting,
            r.followups_sent,
            r.first_response_at.date().isoformat() if r.first_response_at else None,
            r.stance,
            r.overdue,
        )
        for r in report.rows
    }
    assert got == EXPECTED_ROWS
    assert [r.acronym for r in report.rows] == sorted(EXPECTED_ROWS)
    au = next(r for r in report.rows if r.acronym == "AU")
    assert (au.language, au.channel, au.responses, au.committed) == ("fr", "post", 2, True)
    assert au.summary == "Will speak | pillar 3"

    t = report.totals
    assert (t.recipients, t.sent, t.not_sent, t.answered, t.awaiting) == (9, 8, 1, 4, 4)
    assert t.response_rate == pytest.approx(0.5)
    assert t.median_days_to_answer == pytest.approx(20.0)  # 7, 10, 30, 34
    assert t.commitments == 2
    assert t.followups_sent == 3
    assert [(r.acronym, r.days_waiting) for r in t.overdue] == [("ECOWAS", 60), ("OSCE", 41)]
    assert t.by_stance == {"commitment": 2, "acknowledgement": 1, "decline": 1}
    regions = {g.key: (g.recipients, g.sent, g.answered, g.rate) for g in t.by_region}
    assert regions == {
        "africa": (4, 3, 2, pytest.approx(2 / 3)),
        "americas": (1, 1, 0, 0.0),
        "asia-pacific": (1, 1, 1, 1.0),
        "europe": (2, 2, 0, 0.0),
        "mena": (1, 1, 1, 1.0),
    }
    assert [g.key for g in t.by_region] == ["africa", "americas", "asia-pacific", "europe", "mena"]
    kinds = {g.key: (g.recipients, g.sent, g.answered, g.rate) for g in t.by_kind}
    assert kinds == {
        "regional": (5, 5, 2, pytest.approx(0.4)),
        "sub-regional": (4, 3, 2, pytest.approx(2 / 3)),
    }


def test_overdue_threshold_is_adjustable(fixture_db: Database) -> None:
    with fixture_db.session() as s:
        report = status_report(s, campaign="tp-2012", now=NOW, overdue_after=dt.timedelta(days=20))
        later = status_report(s, campaign="tp-2012", now=NOW + dt.timedelta(days=30))
    assert [r.acronym for r in report.totals.overdue] == ["ECOWAS", "OSCE", "EU"]
    # A month later OAS is overdue too, and the answered ones keep their days.
    assert [r.acronym for r in later.totals.overdue] == ["ECOWAS", "OSCE", "EU", "OAS"]
    assert later.totals.median_days_to_answer == pytest.approx(20.0)


def test_listed_recipient_without_a_letter_counts_as_not_sent(fixture_db: Database) -> None:
    from outreach.schema import models

    recipient = getattr(models, "CampaignRecipient", None)
    if recipient is None:
        pytest.skip("this schema has no campaign recipient list")
    with fixture_db.session() as s:
        caricom = s.scalars(sa.select(Organization).where(Organization.acronym == "CARICOM")).one()
        camp = s.scalars(sa.select(Campaign).where(Campaign.slug == "tp-2012")).one()
        s.add(recipient(campaign_id=camp.id, organization_id=caricom.id))
    with fixture_db.session() as s:
        report = status_report(s, campaign="tp-2012", now=NOW)
        history = history_report(s, org="caricom")
    row = next(r for r in report.rows if r.acronym == "CARICOM")
    assert (row.letter_status, row.sent_at, row.days_waiting) == ("none", None, None)
    t = report.totals
    assert (t.recipients, t.sent, t.not_sent, t.answered) == (10, 8, 2, 4)
    assert t.response_rate == pytest.approx(0.5)
    assert [(h.campaign_slug, h.letter_status) for h in history.rows] == [("tp-2012", "none")]


def test_timeline_counts_letters_reminders_and_responses_per_day(fixture_db: Database) -> None:
    with fixture_db.session() as s:
        report = status_report(s, campaign="tp-2012", now=NOW, timeline=True)
    days = {
        t.day.isoformat(): (t.letters_sent, t.followups_sent, t.responses) for t in report.timeline
    }
    assert days["2012-05-01"] == (4, 0, 0)
    assert days["2012-05-22"] == (0, 1, 0)
    assert days["2012-05-20"] == (1, 0, 1)  # OSCE's letter and AU's commitment
    assert sum(v[0] for v in days.values()) == 8
    assert sum(v[1] for v in days.values()) == 3
    assert sum(v[2] for v in days.values()) == 5


def test_an_empty_campaign_reports_zeroes(db: Database, run) -> None:
    with db.session() as s:
        s.add(Campaign(slug="empty", title="Nothing yet"))
    with db.session() as s:
        report = status_report(s, campaign="empty")
    assert report.rows == []
    assert report.totals.response_rate is None and report.totals.median_days_to_answer is None
    out = run("report", "status", "--campaign", "empty").stdout
    assert "No recipients yet" in out
    assert (
        json.loads(run("report", "status", "--campaign", "empty", "--format", "json").stdout)[
            "recipients"
        ]
        == []
    )
    page = run("report", "status", "--campaign", "empty", "--format", "html").stdout
    assert "<svg" in page and "No recipients yet" in page


def test_unknown_campaign_dialogue_and_org_are_one_line_errors(fixture_db: Database, run) -> None:
    result = run("report", "status", "--campaign", "nope", expect=1)
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: no campaign 'nope' (known: roles-2011, tp-2012)"
    )
    assert "Traceback" not in result.stderr
    assert "no dialogue 'nope'" in run("report", "dialogue", "--dialogue", "nope", expect=1).stderr
    assert "no organization" in run("report", "history", "--org", "NOPE", expect=1).stderr
    bad = run("report", "status", "--campaign", "tp-2012", "--overdue-after", "soon", expect=2)
    assert "not a duration" in bad.stderr
