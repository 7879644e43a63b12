"""Reports start fast: they read the Core tables, never load the ORM, and a
text report never imports the plotting or templating libraries."""

from __future__ import annotations

import subprocess
import sys

from outreach.db import Database


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


def test_report_command_does_not_load_the_orm(run, db_url) -> None:
    from ..conftest import run_in_fresh_python

    run("info")  # the database exists and is migrated
    out, orm = run_in_fresh_python("--db", db_url, "report", "status", "--campaign", "nope")
    assert "no campaign 'nope'" in out.stderr
    assert not orm
