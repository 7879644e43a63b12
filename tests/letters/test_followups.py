"""`outreach followups`: silent recipients, oldest first, with days waiting."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from outreach.schema.models import Channel, Letter, LetterStatus, Response
from outreach.schema.types import utcnow

from ..mailfixtures import seed_campaign


def test_followups_lists_the_silent_oldest_first(db, run):
    seeded = seed_campaign(db, letters=4)
    now = utcnow()
    ages = {"GCC": 30, "AU": 20, "OAS": 3, "ASEAN": 25}
    with db.session() as session:
        for letter in session.scalars(sa.select(Letter)):
            letter.status = LetterStatus.SENT
            letter.sent_at = now - dt.timedelta(days=ages[letter.organization.acronym])
            if letter.organization.acronym == "GCC":
                session.add(
                    Response(
                        organization_id=letter.organization_id,
                        campaign_id=letter.campaign_id,
                        letter_id=letter.id,
                        received_at=now,
                        channel=Channel.POST,
                    )
                )
    rows = json.loads(run("followups", "--campaign", "iid-2012", "--format", "json").stdout)
    assert [(r["org"], r["days_waiting"], r["reminders"]) for r in rows] == [
        ("ASEAN", 25, 0),
        ("AU", 20, 0),
    ]
    rows = json.loads(
        run("followups", "--campaign", "iid-2012", "--after", "2d", "--format", "json").stdout
    )
    assert [r["org"] for r in rows] == ["ASEAN", "AU", "OAS"]
    rows = json.loads(
        run("followups", "--campaign", "iid-2012", "--after", "3w", "--format", "json").stdout
    )
    assert [r["org"] for r in rows] == ["ASEAN"]

    table = run("followups", "--campaign", "iid-2012").stdout
    assert table.splitlines()[0].split()[:4] == ["ORG", "CONTACT", "SENT", "DAYS_WAITING"]
    assert table.index("ASEAN") < table.index("AU ")
    csv_out = run("followups", "--campaign", "iid-2012", "--format", "csv").stdout
    assert csv_out.startswith("org,contact,sent,days_waiting")
    assert seeded["campaign_id"]


def test_followups_errors(db, run):
    seed_campaign(db, letters=1)
    result = run("followups", "--campaign", "nope", expect=1)
    assert "no campaign 'nope'" in result.stderr
    result = run("followups", "--campaign", "iid-2012", "--after", "soon", expect=2)
    assert "number of days" in result.stderr
    # Nothing sent yet: nobody to chase.
    result = run("followups", "--campaign", "iid-2012")
    assert result.stdout == ""
