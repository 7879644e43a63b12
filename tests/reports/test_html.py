"""Reports as self-contained HTML pages: escaped, nothing fetched, large
campaigns, and the status page in headless Chromium."""

from __future__ import annotations

import datetime as dt
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa

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

from ..chromium_cdp import Chromium, chromium_binary
from ._fixtures import AS_OF, Builder


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
        or Path(__file__).resolve().parents[2] / "test-artifacts"
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
