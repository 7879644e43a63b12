"""One organization's timeline across campaigns and years."""

from __future__ import annotations

import datetime as dt

import pytest

from outreach.directory import (
    get_organization,
    organization_history,
)
from outreach.directory.history import add_note, org_timeline
from outreach.errors import NotFoundError, ValidationError
from outreach.schema.models import (
    Campaign,
    Channel,
    Letter,
    LetterStatus,
    Response,
    Stance,
)

from ..mailfixtures import seed_campaign
from ._fixtures import _letter_and_response


def test_history_newest_first(directory):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    with directory.session() as s:
        history = organization_history(get_organization(s, "AU"), session=s)
    assert [h["what"] for h in history] == ["response", "letter"]


def test_timeline_across_campaigns_and_years(db):
    seeded = seed_campaign(db, letters=2)
    gcc, au = seeded["orgs"]
    with db.session() as session:
        first = session.get(Letter, seeded["letters"][0])
        first.status = LetterStatus.SENT
        first.sent_at = dt.datetime(2012, 3, 20, 9, tzinfo=dt.UTC)
        session.add(
            Letter(
                campaign_id=first.campaign_id,
                organization_id=gcc,
                contact_id=first.contact_id,
                round=1,
                followup_of_id=first.id,
                language="ar",
                subject="Reminder",
                body="...",
                template_name="reminder",
                template_hash="1" * 64,
                status=LetterStatus.SENT,
                channel=Channel.FAX,
                sent_at=dt.datetime(2012, 4, 5, tzinfo=dt.UTC),
            )
        )
        session.add(
            Response(
                organization_id=gcc,
                campaign_id=first.campaign_id,
                letter_id=first.id,
                received_at=dt.datetime(2012, 4, 10, tzinfo=dt.UTC),
                channel=Channel.POST,
                sender="Secretary-General",
                stance=Stance.COMMITMENT,
                summary="Will speak at the dialogue.",
            )
        )
        nxt = Campaign(slug="iid-2013", title="2013 dialogue")
        session.add(nxt)
        session.flush()
        session.add(
            Letter(
                campaign_id=nxt.id,
                organization_id=gcc,
                contact_id=first.contact_id,
                language="ar",
                subject="Dialogue 2013",
                body="...",
                template_name="2013",
                template_hash="2" * 64,
                status=LetterStatus.DRAFT,
            )
        )
        add_note(session, gcc, "Met the envoy in Geneva.")
        with pytest.raises(ValidationError):
            add_note(session, gcc, "  ")

    with db.session() as session:
        entries = org_timeline(session, gcc)
        sent_only = org_timeline(session, gcc, include_unsent=False)
        assert org_timeline(session, au)[0].status == "approved"
        with pytest.raises(NotFoundError):
            org_timeline(session, 999)
    kinds = [(e.kind, e.campaign, e.year) for e in entries]
    assert kinds[:3] == [
        ("letter", "iid-2012", 2012),
        ("follow-up", "iid-2012", 2012),
        ("response", "iid-2012", 2012),
    ]
    assert {k for k, _c, _y in kinds[3:]} == {"letter", "note"}
    assert entries[1].channel == "fax"
    assert "commitment from Secretary-General: Will speak" in entries[2].summary
    draft = next(e for e in entries if e.campaign == "iid-2013")
    assert draft.status == "draft" and "(draft)" in draft.summary
    note = next(e for e in entries if e.kind == "note")
    assert note.summary == "Met the envoy in Geneva." and note.actor == "tester"
    assert [e.kind for e in sent_only] == ["letter", "follow-up", "response", "note"]
    assert all(e.at.tzinfo is not None for e in entries)
