"""Reports never let stored text drive the terminal, and CSV/JSON keep it exact.

Names, titles, notes and summaries written straight to the database (the
door refuses control characters today; an old database may still hold them):

* ``report status|dialogue|history`` as a table (coloured, as on a terminal,
  or not), as Markdown and as HTML show ESC/CSI, OSC, BEL, a lone CR, C1 CSI
  (U+009B), separators and bidi overrides as visible escapes (``\\x1b``);
* ``--format json`` round-trips the exact stored text (escaped the JSON way);
* ``--format csv`` round-trips it too: a cell holding a lone CR is quoted
  (it used to be left bare and split the row), ESC is not stripped by click.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from outreach.cli import cli
from outreach.csvcells import csv_text
from outreach.db import Database
from outreach.schema.models import Campaign, CampaignStatus, Dialogue, OrgKind, Region, Stance

from .reports._fixtures import AS_OF, Builder

#: What a stored name may hold to take over a terminal.
ATTACKS = {
    "ESC": "Red\x1b[31mUnion\x1b[0m",
    "OSC": "Title\x1b]0;owned\x07Union",
    "BEL": "Ring\x07\x07Union",
    "CR": "Good Union\rEvil Union",
    "C1": "C1\x9b2JUnion",
    "RLO": "Bidi\u202eUnion",
    "LS": "Line\u2028Sep",
    "NEL": "Next\x85Line",
    "DEL": "Del\x7fete",
    "CLIP": "Clip\x1b]52;c;ZWNobyBvd25lZA==\x1b\\Union",
}

_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_OUR_COLOURS = re.compile(r"\x1b\[(?:[0-9;]*)m")


def raw_controls(text: str) -> list[str]:
    """Control characters in printed text (a lone CR counts; CR LF does not)."""
    return _RAW.findall(text.replace("\r\n", "\n"))


@pytest.fixture
def hostile(db: Database) -> dict[str, str]:
    """A campaign, its dialogue and one organization an attack, every stored
    text that a report prints holding one. Returns acronym -> org name."""
    names = {}
    with db.session() as s:
        b = Builder(s)
        dialogue = Dialogue(
            slug="ga-2012",
            title=f"Dialogue {ATTACKS['OSC']}",
            date=dt.date(2012, 9, 5),
            theme=f"Theme {ATTACKS['RLO']}",
            report_symbol=f"A/66/{ATTACKS['C1']}",
            outcome_notes=f"Notes {ATTACKS['CR']} and {ATTACKS['ESC']}",
        )
        s.add(dialogue)
        s.flush()
        camp = Campaign(
            slug="tp",
            title=f"Campaign {ATTACKS['OSC']} {ATTACKS['CR']}",
            dialogue_id=dialogue.id,
            status=CampaignStatus.ACTIVE,
            starts_on=dt.date(2012, 5, 1),
            signatory=f"Sig {ATTACKS['BEL']}",
        )
        s.add(camp)
        s.flush()
        for key, attack in ATTACKS.items():
            acronym = f"O-{key}"
            names[acronym] = attack
            b.org(acronym, attack, Region.AFRICA, OrgKind.REGIONAL)
            b.letter(camp, acronym, sent="2012-05-01T09:00")
            b.response(camp, acronym, "2012-05-11T10:00", Stance.SUPPORTIVE, f"Said {attack}")
        # An acronym holding an attack, too (acronyms are checked at the door).
        b.org("X\x1b[2J\rY", f"Z{ATTACKS['ESC']}", Region.AFRICA, OrgKind.REGIONAL)
        b.letter(camp, "X\x1b[2J\rY", sent="2012-05-01T09:00")
        names["X\x1b[2J\rY"] = f"Z{ATTACKS['ESC']}"
    return names


def _report(run, kind: str, *args: str) -> str:
    return run("report", kind, *args).stdout


REPORTS = {
    "status": ("status", "--campaign", "tp", "--as-of", AS_OF),
    "dialogue": ("dialogue", "--dialogue", "ga-2012", "--as-of", AS_OF),
    "history-name": ("history", "--org", "O-CLIP"),
    "history-acronym": ("history", "--org", "X\x1b[2J\rY"),
}


@pytest.mark.parametrize("report", sorted(REPORTS))
@pytest.mark.parametrize("fmt", ["table", "md"])
def test_table_and_markdown_show_controls_as_escapes(hostile, run, report, fmt):
    out = _report(run, *REPORTS[report], "--format", fmt)
    assert raw_controls(out) == [], out
    flat = " ".join(out.split())
    if report == "status":
        assert "\\x1b]0;owned\\x07" in flat  # the campaign title, visibly
        assert "\\x0d" in flat  # the lone CR, visibly
    if report == "dialogue":
        assert "\\u202e" in flat and "\\x9b2J" in flat
    if report == "history-name":
        assert "\\x1b]52;c;" in flat


def test_coloured_table_carries_no_escape_but_its_own_colours(hostile, db_url):
    """As on a terminal (click keeps colour codes): the only ESC left are the
    table's own colour codes."""
    for kind, *args in REPORTS.values():
        argv = ["--db", db_url, "report", kind, *args]
        result = CliRunner().invoke(cli, argv, color=True)
        assert result.exit_code == 0, result.output
        out = result.stdout
        if kind != "history":
            assert "\x1b[1m" in out  # coloured: the header is bold
        assert raw_controls(_OUR_COLOURS.sub("", out)) == [], out
        # A stored "ESC [ 2 J" (clear the screen) shows as text.
        assert "\\x1b[2J" in out or args == ["--org", "O-CLIP"]


def test_table_lines_stay_80_columns(hostile, run):
    out = _report(run, *REPORTS["status"])
    assert max(len(line) for line in out.splitlines()) <= 80


def test_html_page_shows_controls_as_escapes(hostile, run, tmp_path: Path):
    page = tmp_path / "status.html"
    run("report", "status", "--campaign", "tp", "--as-of", AS_OF, "--format", "html", "--out", page)
    html = page.read_text(encoding="utf-8")
    assert raw_controls(html) == []
    assert "\\x1b]0;owned\\x07" in html and "\\u202e" in html


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_json_round_trips_the_exact_text(hostile, run, report):
    out = _report(run, *REPORTS[report], "--format", "json")
    assert raw_controls(out) == []  # C0 by json, C1/separators/bidi as \u escapes
    data = json.loads(out)
    if report == "status":
        assert data["campaign"]["title"] == f"Campaign {ATTACKS['OSC']} {ATTACKS['CR']}"
        assert data["campaign"]["signatory"] == f"Sig {ATTACKS['BEL']}"
        got = {r["acronym"]: r["name"] for r in data["recipients"]}
        assert got == hostile
        summaries = {r["acronym"]: r["summary"] for r in data["recipients"]}
        assert summaries["O-CLIP"] == f"Said {ATTACKS['CLIP']}"
    elif report == "dialogue":
        d = data["dialogue"]
        assert d["title"] == f"Dialogue {ATTACKS['OSC']}"
        assert d["theme"] == f"Theme {ATTACKS['RLO']}"
        assert d["outcome_notes"] == f"Notes {ATTACKS['CR']} and {ATTACKS['ESC']}"
        assert {o["acronym"]: o["name"] for o in data["organizations"]} == hostile
    elif report == "history-name":
        assert data["name"] == ATTACKS["CLIP"]
        assert data["rows"][0]["campaign_title"] == f"Campaign {ATTACKS['OSC']} {ATTACKS['CR']}"
    else:
        assert data["acronym"] == "X\x1b[2J\rY"


def test_csv_quotes_a_lone_cr_and_keeps_every_value(hostile, run):
    out = _report(run, *REPORTS["status"], "--format", "csv")
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert len(rows) == 1 + len(hostile)  # the header and one row an organization
    assert {r[0]: r[1] for r in rows[1:]} == hostile  # ESC not stripped, CR not split
    out = _report(run, *REPORTS["history-name"], "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [r["campaign_title"] for r in rows] == [f"Campaign {ATTACKS['OSC']} {ATTACKS['CR']}"]
    out = _report(run, *REPORTS["dialogue"], "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert {r["acronym"]: r["name"] for r in rows} == hostile


@pytest.mark.parametrize(
    "cell",
    ["a\rb", "\r", "a\r\nb", "a\nb", "\rlead", "trail\r", 'q"\r"', "a,\rb", "=1+\r2"],
)
def test_csv_text_keeps_any_line_break_in_its_cell(cell):
    text = csv_text([["h1", "h2"], [cell, "x"], ["y", cell]])
    assert text.endswith("\n") and not text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    expected = "'" + cell if cell.startswith(("=", "\r")) else cell
    assert rows == [["h1", "h2"], [expected, "x"], ["y", expected]]
