"""One dialogue across its campaigns."""

from __future__ import annotations

import csv
import io
import json

import pytest

from outreach.db import Database
from outreach.reports.dialogue import dialogue_report

from ._fixtures import AS_OF, NOW, md_tables


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
    assert md_tables(md)[0][2][0] == "tp-2012"
