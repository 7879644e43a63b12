"""The status report as text, every format parsed back: the 80-column
table (and its colours), CSV, JSON and Markdown."""

from __future__ import annotations

import csv
import io
import json
import re

from click.testing import CliRunner

from outreach.cli import cli
from outreach.db import Database

from ._fixtures import AS_OF, EXPECTED_ROWS, md_tables


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


def test_markdown_tables_parse_back(fixture_db: Database, run) -> None:
    out = run("report", "status", "--campaign", "tp-2012", "--format", "md", "--as-of", AS_OF)
    text = out.stdout
    assert text.startswith("# Status of Letters ahead of the 2012 dialogue (`tp-2012`)")
    tables = md_tables(text)
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
