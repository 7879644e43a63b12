"""The hand-computed campaign the report tests share, the builder that makes
it through the models, and a Markdown table reader."""

from __future__ import annotations

import datetime as dt
import itertools
import re

from outreach.db import Database
from outreach.schema.models import (
    Campaign,
    CampaignStatus,
    Channel,
    Contact,
    Dialogue,
    Letter,
    LetterStatus,
    Organization,
    OrgKind,
    Region,
    Response,
    Stance,
)

NOW = dt.datetime(2012, 6, 30, 12, 0, tzinfo=dt.UTC)
AS_OF = "2012-06-30T12:00"
_seq = itertools.count(1)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# --- building data directly through the models ----------------------------------


class Builder:
    def __init__(self, session) -> None:
        self.session = session
        self.contacts: dict[str, Contact] = {}
        self.orgs: dict[str, Organization] = {}

    def org(self, acronym, name, region, kind, *, contacts=1) -> Organization:
        org = Organization(acronym=acronym, name=name, region=region, kind=kind)
        self.session.add(org)
        self.session.flush()
        for i in range(contacts):
            contact = Contact(
                organization_id=org.id,
                name=f"Office {i + 1} of {acronym}",
                email=f"office{i + 1}@{acronym.lower()}.example.org",
            )
            self.session.add(contact)
            self.session.flush()
            self.contacts[f"{acronym}/{i + 1}"] = contact
        self.orgs[acronym] = org
        return org

    def letter(
        self,
        campaign,
        acronym,
        *,
        contact=1,
        round=0,
        version=1,
        status=LetterStatus.SENT,
        sent=None,
        superseded=None,
        language="en",
        channel=Channel.EMAIL,
    ) -> Letter:
        c = self.contacts[f"{acronym}/{contact}"]
        n = next(_seq)
        letter = Letter(
            campaign_id=campaign.id,
            organization_id=c.organization_id,
            contact_id=c.id,
            round=round,
            version=version,
            language=language,
            subject=f"Letter {n}",
            body="Dear colleague, ...",
            template_name="third-pillar",
            template_hash="0" * 64,
            status=status,
            channel=channel,
            sent_at=at(sent) if sent else None,
            superseded_at=at(superseded) if superseded else None,
            message_id=f"<letter-{n}@outreach.test>" if sent else None,
        )
        self.session.add(letter)
        self.session.flush()
        return letter

    def response(self, campaign, acronym, received, stance, summary=None) -> Response:
        response = Response(
            campaign_id=campaign.id if campaign else None,
            organization_id=self.orgs[acronym].id,
            received_at=at(received),
            stance=stance,
            summary=summary,
            channel=Channel.EMAIL,
        )
        self.session.add(response)
        self.session.flush()
        return response


def build_fixture(db: Database) -> None:
    """The hand-computed campaign (figures in EXPECTED below), as of NOW."""
    with db.session() as s:
        b = Builder(s)
        dialogue = Dialogue(
            slug="ga-2012",
            title="Informal interactive dialogue on timely and decisive response",
            date=dt.date(2012, 9, 5),
            states_spoke=56,
            regional_orgs_spoke=2,
            civil_society_spoke=3,
            outcome_notes="Several regional organizations spoke for the first time.",
        )
        s.add(dialogue)
        s.flush()
        camp = Campaign(
            slug="tp-2012",
            title="Letters ahead of the 2012 dialogue",
            dialogue_id=dialogue.id,
            status=CampaignStatus.ACTIVE,
            starts_on=dt.date(2012, 5, 1),
        )
        other = Campaign(
            slug="roles-2011",
            title="Regional arrangements, 2011",
            status=CampaignStatus.CLOSED,
            starts_on=dt.date(2011, 5, 2),
        )
        s.add_all([camp, other])
        s.flush()
        A, AM, AP, EU_, ME = (
            Region.AFRICA,
            Region.AMERICAS,
            Region.ASIA_PACIFIC,
            Region.EUROPE,
            Region.MENA,
        )
        R, S = OrgKind.REGIONAL, OrgKind.SUBREGIONAL
        b.org("ASEAN", "Association of Southeast Asian Nations", AP, R)
        b.org("AU", "African Union", A, R, contacts=2)
        b.org("ECOWAS", "Economic Community of West African States", A, S)
        b.org("GCC", "Gulf Cooperation Council", ME, S)
        b.org("OAS", "Organization of American States", AM, R)
        b.org("EU", "European Union", EU_, R)
        b.org("SADC", "Southern African Development Community", A, S)
        b.org("IGAD", "Intergovernmental Authority on Development", A, S)
        b.org("OSCE", "Organization for Security and Co-operation in Europe", EU_, R)
        b.org("CARICOM", "Caribbean Community", AM, S)

        # ASEAN: answered after 10 days (acknowledgement).
        b.letter(camp, "ASEAN", sent="2012-05-01T09:00")
        b.response(camp, "ASEAN", "2012-05-11T10:00", Stance.ACKNOWLEDGEMENT, "Received")
        # AU: two contacts (one letter sent, one still a draft); answered after
        # 7 days, then committed to speak: the latest stance is the commitment.
        b.letter(camp, "AU", sent="2012-05-01T09:00", language="fr", channel=Channel.POST)
        b.letter(camp, "AU", contact=2, status=LetterStatus.DRAFT)
        b.response(camp, "AU", "2012-05-08T15:00", Stance.ACKNOWLEDGEMENT, "Letter received")
        b.response(camp, "AU", "2012-05-20T09:00", Stance.COMMITMENT, "Will speak | pillar 3")
        # ECOWAS: silent for 60 days despite two reminders: overdue.
        b.letter(camp, "ECOWAS", sent="2012-05-01T09:00")
        b.letter(camp, "ECOWAS", round=1, sent="2012-05-22T09:00")
        b.letter(camp, "ECOWAS", round=2, sent="2012-06-10T09:00")
        # GCC: committed after 30 days.
        b.letter(camp, "GCC", sent="2012-05-02T09:00", language="ar")
        b.response(
            camp, "GCC", "2012-06-01T09:00", Stance.COMMITMENT, "The Secretary-General replied"
        )
        # OAS: sent 15 days ago: waiting, not overdue.
        b.letter(camp, "OAS", sent="2012-06-15T09:00", language="es")
        # EU: sent exactly 21 days ago: not overdue (longer than 21 days is).
        b.letter(camp, "EU", sent="2012-06-09T12:00")
        # SADC: a superseded draft and its current draft: a recipient, not sent.
        b.letter(camp, "SADC", status=LetterStatus.DRAFT, superseded="2012-04-30T10:00")
        b.letter(camp, "SADC", version=2, status=LetterStatus.DRAFT)
        # IGAD: one reminder, then a decline after 34 days.
        b.letter(camp, "IGAD", sent="2012-05-01T09:00")
        b.letter(camp, "IGAD", round=1, sent="2012-05-25T09:00")
        b.response(camp, "IGAD", "2012-06-04T09:00", Stance.DECLINE, '=HYPERLINK("x")')
        # OSCE: silent for 41 days: overdue.
        b.letter(camp, "OSCE", sent="2012-05-20T09:00")
        # CARICOM: only a superseded letter: not a recipient.
        b.letter(camp, "CARICOM", status=LetterStatus.DRAFT, superseded="2012-04-30T10:00")
        # Another campaign: must not leak into this one.
        b.letter(other, "ASEAN", sent="2011-05-03T09:00")
        b.letter(other, "OSCE", sent="2011-05-03T09:00")
        b.response(other, "OSCE", "2011-05-20T09:00", Stance.SUPPORTIVE, "Supportive, 2011")


EXPECTED_ROWS = {
    # acronym: (status, sent date, days waiting, follow-ups, first answer, stance, overdue)
    "ASEAN": ("sent", "2012-05-01", 10, 0, "2012-05-11", "acknowledgement", False),
    "AU": ("sent", "2012-05-01", 7, 0, "2012-05-08", "commitment", False),
    "ECOWAS": ("sent", "2012-05-01", 60, 2, None, None, True),
    "EU": ("sent", "2012-06-09", 21, 0, None, None, False),
    "GCC": ("sent", "2012-05-02", 30, 0, "2012-06-01", "commitment", False),
    "IGAD": ("sent", "2012-05-01", 34, 1, "2012-06-04", "decline", False),
    "OAS": ("sent", "2012-06-15", 15, 0, None, None, False),
    "OSCE": ("sent", "2012-05-20", 41, 0, None, None, True),
    "SADC": ("draft", None, None, 0, None, None, False),
}


def md_tables(text: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            current.append([c.strip().replace("\\|", "|") for c in cells])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables
