"""One organization across the years."""

from __future__ import annotations

import csv
import io
import json

import pytest

from outreach.db import Database
from outreach.reports.history import history_report

from ._fixtures import at, md_tables


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
    assert [r[0] for r in md_tables(md)[0][2:]] == ["2011", "2012"]
