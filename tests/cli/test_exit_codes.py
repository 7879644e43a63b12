"""Each exit status of outreach/cli/exits.py, distinct, documented in the
README's "Exit codes" table, and returned where it says."""

from __future__ import annotations

import re
from pathlib import Path

import click
from click.testing import CliRunner

from outreach.cli import exits

README = Path(__file__).resolve().parents[2] / "README.md"


def test_exit_codes_are_distinct_and_match_the_database_layer():
    from outreach.db.locks import INTERRUPTED_EXIT, LOCK_TIMEOUT_EXIT
    from outreach.errors import OutreachError

    codes = [code for code, _meaning in exits.EXIT_CODES.values()]
    assert len(set(codes)) == len(codes)
    assert exits.LOCK_TIMEOUT == LOCK_TIMEOUT_EXIT == 75
    assert exits.INTERRUPTED == INTERRUPTED_EXIT == 130
    assert OutreachError.exit_code == exits.USER_ERROR == 1
    assert click.UsageError("x").exit_code == exits.USAGE == 2
    assert exits.PARTIAL_SEND == 3


def test_readme_table_lists_every_exit_code():
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (.+?) \|$", section, re.MULTILINE)
    assert [(int(code), name, meaning) for code, name, meaning in rows] == [
        (code, name, meaning) for name, (code, meaning) in exits.EXIT_CODES.items()
    ]


def test_ok_user_error_and_usage(run):
    """PARTIAL_SEND is tested against a loopback SMTP server in test_json_results."""
    assert run("campaigns", "list", expect=exits.OK).exit_code == 0
    missing = run("letters", "send", "--campaign", "no-such", expect=exits.USER_ERROR)
    assert missing.stderr.startswith("Error: ") and "Traceback" not in missing.output
    usage = run("letters", "send", "--no-such-option", expect=exits.USAGE)
    assert "No such option" in usage.stderr


def test_lock_timeout(db, db_url, monkeypatch):
    from outreach.schema.models import Organization

    monkeypatch.setenv("OUTREACH_LOCK_TIMEOUT", "0.2")
    with db.session(immediate=True) as holder:
        holder.add(Organization(acronym="AU", name="African Union"))
        holder.flush()
        from outreach.cli import cli

        result = CliRunner().invoke(cli, ["--db", db_url, "orgs", "add", "OAS", "OAS name"])
    assert result.exit_code == exits.LOCK_TIMEOUT, result.output


def test_interrupted(db_url, monkeypatch):
    """Ctrl-C while a command works (here: `info` reading the schema revision)."""
    import outreach.db
    from outreach.cli import cli

    def stopped(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(outreach.db.Database, "current_revision", stopped)
    result = CliRunner().invoke(cli, ["--db", db_url, "info"])
    assert result.exit_code == exits.INTERRUPTED, result.output
    assert "stopped (Ctrl-C)" in result.stderr
