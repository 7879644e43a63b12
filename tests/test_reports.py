"""Reports: status figures against a hand-computed campaign, every output
format parsed back, the dialogue and history reports, and the HTML report in
headless Chromium."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from outreach.cli import cli
from outreach.db import Database
from outreach.models import (
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
from outreach.reports.dialogue import dialogue_report
from outreach.reports.history import history_report
from outreach.reports.status import status_report

from .chromium_cdp import Chromium, chromium_binary

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


@pytest.fixture
def fixture_db(db: Database) -> Database:
    build_fixture(db)
    return db


# --- the figures -------------------------------------------------------------------


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
    from outreach import models

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


# --- every format, parsed back ---------------------------------------------------


def test_table_fits_80_columns_and_marks_overdue(fixture_db: Database, run) -> None:
    out = run("report", "status", "--campaign", "tp-2012", "--as-of", AS_OF).stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert "\x1b[" not in out  # not a terminal: no colour
    assert "9 recipients · 8 sent · 4 answered (50% of sent)" in " ".join(out.split())
    header = next(i for i, line in enumerate(lines) if line.startswith("ORG"))
    assert lines[header].split() == [
        "ORG", "REGION", "STATUS", "LANG", "SENT", "DAYS", "F-UP", "ANSWERED", "STANCE"
    ]  # fmt: skip
    ecowas = next(line for line in lines[header:] if line.startswith("ECOWAS"))
    assert "60!" in ecowas and "01 May" in ecowas
    au = next(line for line in lines[header:] if line.startswith("AU "))
    assert "will speak" in au
    overdue = " ".join(out[out.index("Overdue") :].split())
    assert "ECOWAS (60 days), OSCE (41 days)" in overdue


def test_table_uses_colour_only_on_a_terminal(fixture_db: Database, db_url: str) -> None:
    args = ["--db", db_url, "report", "status", "--campaign", "tp-2012", "--as-of", AS_OF]
    coloured = CliRunner().invoke(cli, args, color=True)
    plain = CliRunner().invoke(cli, args)
    assert coloured.exit_code == 0 and plain.exit_code == 0
    assert "\x1b[" in coloured.stdout and "\x1b[" not in plain.stdout
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.stdout) == plain.stdout
    no_color = CliRunner().invoke(cli, args, color=True, env={"NO_COLOR": "1"})
    assert "\x1b[" not in no_color.stdout


def test_csv_round_trips(fixture_db: Database, run) -> None:
    out = run("report", "status", "--campaign", "tp-2012", "--format", "csv", "--as-of", AS_OF)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["acronym"] for r in rows] == sorted(EXPECTED_ROWS)
    by = {r["acronym"]: r for r in rows}
    assert by["ECOWAS"]["days_waiting"] == "60" and by["ECOWAS"]["overdue"] == "yes"
    assert by["ECOWAS"]["followups_sent"] == "2"
    assert by["GCC"]["first_response_date"] == "2012-06-01"
    assert by["GCC"]["language"] == "ar" and by["GCC"]["region"] == "mena"
    assert by["SADC"]["sent_date"] == "" and by["SADC"]["letter_status"] == "draft"
    assert by["AU"]["name"] == "African Union" and by["AU"]["channel"] == "post"
    # A summary that looks like a formula is neutralised for spreadsheets.
    assert by["IGAD"]["summary"] == '\'=HYPERLINK("x")'


def test_json_round_trips(fixture_db: Database, run) -> None:
    out = run("report", "status", "--campaign", "tp-2012", "--format", "json", "--as-of", AS_OF)
    data = json.loads(out.stdout)
    assert data["campaign"]["slug"] == "tp-2012"
    assert data["campaign"]["dialogue_date"] == "2012-09-05"
    assert data["overdue_after_days"] == 21
    t = data["totals"]
    assert (t["recipients"], t["sent"], t["answered"], t["commitments"]) == (9, 8, 4, 2)
    assert t["response_rate"] == 0.5 and t["median_days_to_answer"] == 20.0
    assert [o["acronym"] for o in t["overdue"]] == ["ECOWAS", "OSCE"]
    assert {g["key"]: g["rate"] for g in t["by_kind"]}["regional"] == 0.4
    rows = {r["acronym"]: r for r in data["recipients"]}
    assert rows["ASEAN"]["first_response_at"] == "2012-05-11T10:00:00+00:00"
    assert rows["ASEAN"]["region_label"] == "Asia-Pacific"
    assert rows["OSCE"]["overdue"] is True and rows["OSCE"]["days_waiting"] == 41


def _md_tables(text: str) -> list[list[list[str]]]:
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


def test_markdown_tables_parse_back(fixture_db: Database, run) -> None:
    out = run("report", "status", "--campaign", "tp-2012", "--format", "md", "--as-of", AS_OF)
    text = out.stdout
    assert text.startswith("# Status of Letters ahead of the 2012 dialogue (`tp-2012`)")
    tables = _md_tables(text)
    summary = {row[0]: row[1] for row in tables[0][2:]}
    assert summary["Recipients"] == "9" and summary["Response rate (of sent)"] == "50%"
    assert summary["Median days to answer"] == "20 days"
    recipients = tables[-1]
    header, rows = recipients[0], recipients[2:]
    assert all(len(r) == len(header) for r in rows)
    by = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert set(by) == set(EXPECTED_ROWS)
    assert by["AU"]["Summary"] == "Will speak | pillar 3"
    assert by["ECOWAS"]["Days waiting"] == "60 (overdue)"
    assert by["GCC"]["Region"] == "Middle East and North Africa"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.cells: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.in_table = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table" and a.get("id") == "recipients":
            self.in_table = True
        if self.in_table and tag == "tr":
            self._row = []
        if self.in_table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if self.in_table and tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if self.in_table and tag == "tr" and self._row is not None:
            self.cells.append(self._row)
            self._row = None
        if tag == "table":
            self.in_table = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data + " ")


def test_html_is_self_contained_and_escaped(fixture_db: Database, run, tmp_path: Path) -> None:
    with fixture_db.session() as s:
        s.get(Organization, 1).name = "<script>alert('x')</script> & Co"
    out = tmp_path / "status.html"
    result = run(
        "report", "status", "--campaign", "tp-2012", "--format", "html", "--out", out,
        "--as-of", AS_OF,
    )  # fmt: skip
    assert result.stdout == ""
    assert f"Wrote the status of tp-2012 to {out}" in result.stderr
    page = out.read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(page)
    tags = [t for t, _a in parser.tags]
    assert "script" not in tags  # the name was escaped, and the page has no scripts
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in page
    assert tags.count("svg") == 3
    for tag, attrs in parser.tags:
        for name in ("src", "href", "xlink:href"):
            value = attrs.get(name) or ""
            assert not value or value.startswith("#"), (tag, name, value)
    assert not re.search(r"https?://(?!www\.w3\.org/)", page.replace('xmlns="', "")), "external URL"
    assert "@import" not in page and "@font-face" not in page
    assert set(re.findall(r"url\((.)", page)) <= {"#"}  # only references inside the page
    header, *rows = parser.cells
    assert header[0] == "Organization" and len(rows) == 9
    by = {r[0].split()[0]: r for r in rows}
    assert header[4] == "Days waiting" and by["ECOWAS"][4] == "60 overdue"
    assert by["AU"][2] == "sent fr · post"
    assert header[7] == "Stance" and by["AU"][7] == "Commitment to speak"


def test_html_report_with_two_thousand_recipients(db: Database, run, tmp_path: Path) -> None:
    now = dt.datetime(2012, 7, 1, tzinfo=dt.UTC)
    regions, kinds = list(Region), list(OrgKind)
    with db.session() as s:
        s.add(Campaign(slug="big", title="Every organization we know"))
        s.flush()
        orgs = [
            {
                "id": i,
                "acronym": f"O{i}",
                "acronym_key": f"o{i}",
                "name": f"Organization <{i}> & partners",
                "region": regions[i % len(regions)],
                "kind": kinds[i % len(kinds)],
                "languages": [],
                "tags": [],
                "created_at": now,
                "updated_at": now,
            }
            for i in range(1, 2001)
        ]
        s.execute(sa.insert(Organization), orgs)
        s.execute(
            sa.insert(Contact),
            [{"id": i, "organization_id": i, "name": f"Office {i}"} for i in range(1, 2001)],
        )
        s.execute(
            sa.insert(Letter),
            [
                {
                    "campaign_id": 1,
                    "organization_id": i,
                    "contact_id": i,
                    "language": "en",
                    "subject": "s",
                    "body": "b",
                    "template_name": "t",
                    "template_hash": "0" * 64,
                    "status": LetterStatus.SENT if i % 7 else LetterStatus.DRAFT,
                    "sent_at": now - dt.timedelta(days=i % 40) if i % 7 else None,
                }
                for i in range(1, 2001)
            ],
        )
        s.execute(
            sa.insert(Response),
            [
                {
                    "campaign_id": 1,
                    "organization_id": i,
                    "received_at": now - dt.timedelta(days=i % 5),
                    "stance": list(Stance)[i % len(Stance)],
                }
                for i in range(1, 2001)
                if i % 7 and i % 3 == 0
            ],
        )
    out = tmp_path / "big.html"
    run("report", "status", "--campaign", "big", "--format", "html", "--out", out)
    parser = _Collect()
    parser.feed(out.read_text(encoding="utf-8"))
    assert len(parser.cells) == 2001  # header and one row per organization
    assert [t for t, _a in parser.tags].count("svg") == 3
    table = run("report", "status", "--campaign", "big").stdout
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "2000 recipients" in table


def test_dialogue_report(fixture_db: Database, run) -> None:
    with fixture_db.session() as s:
        report = dialogue_report(s, dialogue="ga-2012", now=NOW)
    assert report.dialogue.states_spoke == 56
    assert [c.slug for c in report.campaigns] == ["tp-2012"]
    assert report.campaigns[0].totals.response_rate == pytest.approx(0.5)
    assert report.totals.recipients == 9 and report.totals.commitments == 2
    assert {o.acronym for o in report.organizations if o.committed} == {"AU", "GCC"}
    table = run("report", "dialogue", "--dialogue", "ga-2012", "--as-of", AS_OF).stdout
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "56 member states, 2 regional organizations, 3 civil-society speakers" in " ".join(
        table.split()
    )
    data = json.loads(run("report", "dialogue", "--dialogue", "ga-2012", "--format", "json").stdout)
    assert data["dialogue"]["date"] == "2012-09-05"
    assert data["campaigns"][0]["totals"]["sent"] == 8
    rows = list(
        csv.DictReader(
            io.StringIO(
                run("report", "dialogue", "--dialogue", "ga-2012", "--format", "csv").stdout
            )
        )
    )
    assert {r["acronym"]: r["committed"] for r in rows}["GCC"] == "yes"
    md = run("report", "dialogue", "--dialogue", "ga-2012", "--format", "md").stdout
    assert _md_tables(md)[0][2][0] == "tp-2012"


def test_dialogue_and_history_as_html(fixture_db: Database, run) -> None:
    with fixture_db.session() as s:
        s.get(Dialogue, 1).outcome_notes = "Spoke <b>first</b> & last"
    page = run("report", "dialogue", "--dialogue", "ga-2012", "--format", "html").stdout
    assert "Spoke &lt;b&gt;first&lt;/b&gt; &amp; last" in page
    parser = _Collect()
    parser.feed(page)
    ids = {a.get("id") for _t, a in parser.tags}
    assert {"campaigns", "organizations"} <= ids
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    history = run("report", "history", "--org", "OSCE", "--format", "html").stdout
    assert "OSCE: Organization for Security and Co-operation in Europe" in history
    assert history.count("<tr>") == 3  # header and two years
    assert "Supportive" in history and "no answer" in history


def test_history_across_years(fixture_db: Database, run) -> None:
    with fixture_db.session() as s:
        report = history_report(s, org="osce")
    assert [(r.year, r.campaign_slug) for r in report.rows] == [
        (2011, "roles-2011"),
        (2012, "tp-2012"),
    ]
    assert report.rows[0].stance == "supportive" and report.rows[0].answered
    assert not report.rows[1].answered and report.rows[1].sent_at == at("2012-05-20T09:00")
    assert (report.campaigns, report.sent, report.answered) == (2, 2, 1)
    assert report.response_rate == pytest.approx(0.5)
    table = run("report", "history", "--org", "OSCE").stdout
    assert max(len(line) for line in table.splitlines()) <= 80
    lines = [line for line in table.splitlines() if line.startswith("20")]
    assert lines[0].split()[:2] == ["2011", "roles-2011"] and "supportive" in lines[0]
    assert "no answer" in lines[1]
    rows = list(
        csv.DictReader(
            io.StringIO(run("report", "history", "--org", "osce", "--format", "csv").stdout)
        )
    )
    assert [r["year"] for r in rows] == ["2011", "2012"]
    data = json.loads(run("report", "history", "--org", "AU", "--format", "json").stdout)
    assert data["rows"][0]["committed"] is True
    md = run("report", "history", "--org", "OSCE", "--format", "md").stdout
    assert [r[0] for r in _md_tables(md)[0][2:]] == ["2011", "2012"]


def test_status_path_does_not_import_plotting(fixture_db: Database, db_url: str) -> None:
    code = (
        "import sys\n"
        "from outreach.cli import cli\n"
        "try:\n"
        f"    cli.main(['--db', {db_url!r}, 'report', 'status', '--campaign', 'tp-2012'],"
        " prog_name='outreach')\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "heavy = ('matplotlib', 'jinja2', 'numpy')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stdout


# --- a realistic campaign in headless Chromium --------------------------------------

NAMES = {
    "ASEAN": "Association of Southeast Asian Nations",
    "AU": "African Union",
    "CARICOM": "Caribbean Community",
    "EAC": "East African Community",
    "ECOWAS": "Economic Community of West African States",
    "EU": "European Union",
    "GCC": "Gulf Cooperation Council",
    "ICGLR": "International Conference on the Great Lakes Region",
    "IGAD": "Intergovernmental Authority on Development",
    "LAS": "League of Arab States",
    "OAS": "Organization of American States",
    "OIC": "Organization of Islamic Cooperation",
    "OSCE": "Organization for Security and Co-operation in Europe",
    "SADC": "Southern African Development Community",
    "UNASUR": "Union of South American Nations",
    "CELAC": "Community of Latin American and Caribbean States",
    "SICA": "Central American Integration System",
    "PIF": "Pacific Islands Forum",
    "CoE": "Council of Europe",
    "LAS-PARL": "Arab Parliament",
}

REALISTIC = [
    # acronym, region, kind, language, channel, sent (day of May), reminders,
    # answer (days after sending), stance
    ("ASEAN", "asia-pacific", "regional", "en", "email", 2, 1, 24, "acknowledgement"),
    ("AU", "africa", "regional", "fr", "post", 2, 0, 16, "commitment"),
    ("CARICOM", "americas", "sub-regional", "en", "email", 2, 0, 9, "supportive"),
    ("EAC", "africa", "sub-regional", "en", "email", 3, 2, None, None),
    ("ECOWAS", "africa", "sub-regional", "fr", "email", 3, 1, 30, "supportive"),
    ("EU", "europe", "regional", "en", "email", 2, 0, 7, "commitment"),
    ("GCC", "mena", "sub-regional", "ar", "post", 3, 0, 19, "acknowledgement"),
    ("ICGLR", "africa", "sub-regional", "fr", "email", 3, 2, None, None),
    ("IGAD", "africa", "sub-regional", "en", "email", 3, 1, 35, "neutral"),
    ("LAS", "mena", "regional", "ar", "post", 4, 1, None, None),
    ("OAS", "americas", "regional", "es", "email", 2, 0, 12, "commitment"),
    ("OIC", "mena", "regional", "ar", "fax", 4, 1, 40, "decline"),
    ("OSCE", "europe", "regional", "en", "email", 2, 0, 20, "supportive"),
    ("SADC", "africa", "sub-regional", "pt", "email", 4, 2, None, None),
    ("UNASUR", "americas", "regional", "es", "email", 28, 0, None, None),
    ("CELAC", "americas", "regional", "es", "email", None, 0, None, None),
    ("SICA", "americas", "sub-regional", "es", "email", 29, 0, 36, "acknowledgement"),
    ("PIF", "asia-pacific", "regional", "en", "email", 10, 1, None, None),
    ("CoE", "europe", "regional", "fr", "hand", 10, 0, 22, "acknowledgement"),
    ("LAS-PARL", "mena", "sub-regional", "ar", "email", None, 0, None, None),
]

SUMMARIES = {
    "acknowledgement": (
        "The office acknowledged the letter and passed it to the political affairs department."
    ),
    "commitment": "Confirmed that its permanent observer will take the floor at the dialogue.",
    "supportive": "Welcomed the initiative and shared its recent early-warning work.",
    "neutral": "Asked for the Secretary-General's report before taking a position.",
    "decline": "Will not speak this year; may send a written statement instead.",
}


def build_realistic(db: Database) -> None:
    """About twenty organizations, four languages, reminders, mixed answers."""
    with db.session() as s:
        b = Builder(s)
        dialogue = Dialogue(
            slug="ga-2012",
            title="General Assembly informal interactive dialogue: timely and decisive response",
            date=dt.date(2012, 9, 5),
            report_symbol="A/66/874-S/2012/578",
        )
        s.add(dialogue)
        s.flush()
        camp = Campaign(
            slug="third-pillar-2012",
            title="Regional organizations and the third pillar, 2012",
            dialogue_id=dialogue.id,
            status=CampaignStatus.ACTIVE,
            signatory="Coalition secretariat",
            starts_on=dt.date(2012, 5, 2),
        )
        s.add(camp)
        s.flush()
        for acr, region, kind, lang, channel, sent, reminders, answer, stance in REALISTIC:
            b.org(acr, NAMES[acr], Region(region), OrgKind(kind))
            if sent is None:
                b.letter(camp, acr, status=LetterStatus.APPROVED, language=lang)
                continue
            sent_at = dt.datetime(2012, 5, 1, 9, tzinfo=dt.UTC) + dt.timedelta(days=sent - 1)
            b.letter(
                camp, acr, sent=sent_at.isoformat()[:16], language=lang, channel=Channel(channel)
            )
            for i in range(reminders):
                when = sent_at + dt.timedelta(days=18 + 14 * i)
                b.letter(camp, acr, round=i + 1, sent=when.isoformat()[:16], language=lang)
            if answer is not None:
                when = sent_at + dt.timedelta(days=answer)
                b.response(camp, acr, when.isoformat()[:16], Stance(stance), SUMMARIES[stance])


def _artifact_dir() -> Path:
    folder = Path(
        os.environ.get("OUTREACH_TEST_ARTIFACTS")
        or Path(__file__).resolve().parent.parent / "test-artifacts"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


CHART_PROBE = """(() => {
  const charts = {};
  for (const fig of document.querySelectorAll('figure.chart')) {
    const svg = fig.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : null;
    charts[fig.id] = svg ? {shapes: svg.querySelectorAll('path, rect, use').length,
                            texts: svg.querySelectorAll('text').length,
                            width: box.width, height: box.height} : null;
  }
  return {charts, rows: document.querySelectorAll('#recipients tbody tr').length,
          title: document.title};
})()"""


@pytest.mark.slow
def test_html_report_in_headless_chromium(db: Database, run, tmp_path: Path) -> None:
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    build_realistic(db)
    page = tmp_path / "report.html"
    run(
        "report", "status", "--campaign", "third-pillar-2012", "--format", "html",
        "--out", page, "--as-of", "2012-07-20T12:00",
    )  # fmt: skip
    with Chromium(binary, timeout=90) as browser:
        visit = browser.visit(page, evaluate=CHART_PROBE, pdf=True)
    artifacts = _artifact_dir()
    (artifacts / "report-status.png").write_bytes(visit.screenshot)
    (artifacts / "report-status.pdf").write_bytes(visit.pdf)
    assert visit.console_errors == [] and visit.exceptions == [] and visit.log_errors == []
    assert visit.external_requests == [], visit.external_requests
    assert visit.requests == [visit.url]  # the page itself and nothing else
    probe = visit.evaluated
    assert probe["title"] == "Status: Regional organizations and the third pillar, 2012"
    assert probe["rows"] == 20
    for name in ("chart-region", "chart-stance", "chart-timeline"):
        chart = probe["charts"][name]
        assert chart and chart["shapes"] > 5 and chart["texts"] > 3, (name, chart)
        assert chart["width"] > 300 and chart["height"] > 100, (name, chart)
    assert visit.screenshot.startswith(b"\x89PNG") and len(visit.screenshot) > 20_000
    assert visit.pdf.startswith(b"%PDF")


def test_report_tables_mirror_the_models() -> None:
    """The reports read Core copies of the tables (so a report never loads the
    ORM); they must keep every column of the models, with the same types."""
    from outreach import tables as _tables
    from outreach.models import Base

    for light in _tables.metadata.sorted_tables:
        model = Base.metadata.tables[light.name]
        assert [c.name for c in light.columns] == [c.name for c in model.columns], light.name
        for column in light.columns:
            assert type(column.type) is type(model.columns[column.name].type), (
                f"{light.name}.{column.name}"
            )


def test_report_command_does_not_load_the_orm(run, db_url) -> None:
    from .conftest import run_in_fresh_python

    run("info")  # the database exists and is migrated
    out, orm = run_in_fresh_python("--db", db_url, "report", "status", "--campaign", "nope")
    assert "no campaign 'nope'" in out.stderr
    assert not orm
