"""Reports start fast: they read Core copies of the tables, never load the
ORM, and a text report never imports the plotting or templating libraries."""

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
    from ..conftest import run_in_fresh_python

    run("info")  # the database exists and is migrated
    out, orm = run_in_fresh_python("--db", db_url, "report", "status", "--campaign", "nope")
    assert "no campaign 'nope'" in out.stderr
    assert not orm
