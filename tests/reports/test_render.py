"""One place chooses the format: every report renders in every format
through ``outreach.reports.render_*``, and a text format loads neither the
HTML page nor its libraries."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from outreach.db import Database
from outreach.reports import FORMATS, render_dialogue, render_history, render_status
from outreach.reports.dialogue import dialogue_report
from outreach.reports.history import history_report
from outreach.reports.status import status_report
from outreach.reports.text.csvtext import (
    DIALOGUE_CSV_COLUMNS,
    HISTORY_CSV_COLUMNS,
    STATUS_CSV_COLUMNS,
)

from ._fixtures import NOW


@pytest.fixture
def reports(fixture_db: Database) -> dict[str, tuple]:
    with fixture_db.session() as s:
        return {
            "status": (
                render_status,
                status_report(s, campaign="tp-2012", now=NOW, timeline=True),
                STATUS_CSV_COLUMNS,
                "Campaign  tp-2012",
            ),
            "dialogue": (
                render_dialogue,
                dialogue_report(s, dialogue="ga-2012", now=NOW),
                DIALOGUE_CSV_COLUMNS,
                "Dialogue  ga-2012",
            ),
            "history": (render_history, history_report(s, org="AU"), HISTORY_CSV_COLUMNS, "Org"),
        }


@pytest.mark.parametrize("kind", ["status", "dialogue", "history"])
def test_every_report_renders_in_every_format(reports, kind: str) -> None:
    render, report, csv_header, table_start = reports[kind]
    out = {fmt: render(report, fmt) for fmt in FORMATS}
    assert out["table"].startswith(table_start)
    assert max(len(line) for line in out["table"].splitlines()) <= 80
    assert tuple(next(csv.reader(io.StringIO(out["csv"])))) == csv_header
    assert isinstance(json.loads(out["json"]), dict)
    assert out["md"].startswith("# ")
    assert out["html"].startswith("<!DOCTYPE html>")
    # Colour is for the table only; an unknown format falls back to the table.
    coloured = {fmt: render(report, fmt, color=True) for fmt in FORMATS if fmt != "html"}
    assert "\x1b[" in coloured.pop("table")
    assert coloured == {fmt: out[fmt] for fmt in coloured}
    assert render(report, "nonsense") == out["table"]


def test_text_formats_load_neither_the_html_page_nor_its_libraries(
    fixture_db: Database, db_url: str
) -> None:
    code = f"""
import sys
from outreach.db import Database
from outreach.reports import render_dialogue, render_history, render_status
from outreach.reports.dialogue import dialogue_report
from outreach.reports.history import history_report
from outreach.reports.status import status_report
db = Database({db_url!r})
with db.read() as s:
    for fmt in ("table", "csv", "json", "md"):
        render_status(status_report(s, campaign="tp-2012"), fmt)
        render_dialogue(dialogue_report(s, dialogue="ga-2012"), fmt)
        render_history(history_report(s, org="AU"), fmt)
heavy = ("matplotlib", "jinja2", "outreach.reports.html",
         "sqlalchemy.orm", "outreach.schema.models")
print("LOADED", sorted(m for m in heavy if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stdout, out.stdout + out.stderr
