"""The command line's skeleton: start-up, help, init, info, db, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import outreach
from outreach.cli import cli
from outreach.db import Database
from outreach.db import migrations as db_module

from ..conftest import BACKEND, row_counts


def _all_commands(group: click.Group, ctx: click.Context, prefix=()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, click.Context(command, parent=ctx), (*prefix, name))


def test_help_and_version_do_not_load_the_database_layer() -> None:
    code = (
        "import sys\n"
        "from outreach.cli import cli\n"
        "for args in (['--help'], ['--version']):\n"
        "    try:\n"
        "        cli.main(args, prog_name='outreach')\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, e.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'alembic', 'jinja2') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    assert "Usage: outreach" in out.stdout
    assert f"outreach, version {outreach.__version__}" in out.stdout


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "outreach", "--version"], capture_output=True, text=True, check=True
    )
    assert outreach.__version__ in out.stdout


def test_every_command_has_working_help() -> None:
    ctx = click.Context(cli)
    seen = []
    for path, _command in _all_commands(cli, ctx):
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output
        seen.append(" ".join(path))
    assert {"init", "info", "db upgrade", "db downgrade", "db current", "db history"} <= set(seen)


def test_init_is_safe_to_run_twice_and_info_shows_the_schema(empty_db_url, tmp_path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["init", "--db", empty_db_url])
    assert first.exit_code == 0, first.output
    assert "Database ready at schema" in first.output
    second = runner.invoke(cli, ["--db", empty_db_url, "init"])
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.output

    info = runner.invoke(cli, ["info", "--db", empty_db_url, "--format", "json"])
    assert info.exit_code == 0, info.output
    data = json.loads(info.stdout)
    assert data["backend"] == BACKEND
    assert data["status"] == "up to date"
    assert data["rows"]["organizations"] == 0
    assert set(data["rows"]) >= {
        "organizations",
        "contacts",
        "dialogues",
        "campaigns",
        "letters",
        "responses",
        "attachments",
        "activity",
    }


def test_plain_path_means_sqlite_and_url_comes_from_the_environment(tmp_path, monkeypatch) -> None:
    path = tmp_path / "sub" / "campaign.db"
    path.parent.mkdir()
    monkeypatch.setenv("OUTREACH_DATABASE_URL", str(path))
    runner = CliRunner()
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 0, result.output
    assert path.exists()
    assert f"sqlite:///{path}" in result.output
    table = runner.invoke(cli, ["info"])
    assert "up to date" in table.output
    assert "organizations" in table.output


def test_default_database_is_outreach_db_in_the_current_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("OUTREACH_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # the default is relative to where the user stands
    assert Database().url == f"sqlite:///{tmp_path / 'outreach.db'}"


def test_info_masks_the_password() -> None:
    result = CliRunner().invoke(cli, ["info", "--db", "postgresql://coord:s3cret@127.0.0.1:1/none"])
    assert result.exit_code == 1
    assert "s3cret" not in result.output
    assert "coord:***@" in result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "--db", "mysql://root@localhost/x"], "not supported"),
        (["init", "--db", "/no/such/folder/x.db"], "does not exist"),
        (["info", "--db", "/tmp/no-such-outreach.db"], "run `outreach init"),
    ],
)
def test_bad_database_option_is_one_line_error(args, message) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_uninitialised_database_says_run_init(tmp_path) -> None:
    path = tmp_path / "new.db"
    db = Database(path)
    with pytest.raises(outreach.SchemaError) as raised, db.session():
        pass
    assert raised.value.hint == f"init --db {path}"
    assert not path.exists(), "opening a missing database must not create it"


def test_schema_behind_the_code_says_run_db_upgrade(db_url, monkeypatch) -> None:
    # a newer migration "9999" that this database has not had yet
    graph = db_module._revision_graph()
    monkeypatch.setitem(
        db_module._script_cache, "graph", {**graph, "9999": db_module.head_revision()}
    )
    result = CliRunner().invoke(cli, ["db", "current", "--db", db_url])
    assert "outreach db upgrade" in result.output
    assert "run `outreach db upgrade`" in result.output
    with pytest.raises(outreach.SchemaError) as raised:
        Database(db_url).check_schema()
    assert raised.value.hint == "db upgrade"
    assert "`" not in raised.value.message


def test_schema_newer_than_the_code_says_upgrade_outreach(own_db_url) -> None:
    import sqlalchemy as sa

    db_url = own_db_url
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    with pytest.raises(outreach.SchemaError, match="newer than this outreach"):
        Database(db_url).check_schema()
    result = CliRunner().invoke(cli, ["init", "--db", db_url])
    assert result.exit_code == 1
    assert "upgrade outreach" in result.stderr
    assert "Traceback" not in result.output
    db.dispose()


def test_db_history_current_downgrade_upgrade(own_db_url) -> None:
    def run(*args, expect=0, input=None):
        result = CliRunner().invoke(cli, ["--db", own_db_url, *args], input=input)
        assert result.exit_code == expect, result.output
        return result

    db_url = own_db_url
    history = run("db", "history", "--format", "json")
    revisions = json.loads(history.stdout)
    assert revisions[-1]["down"] == "-"
    assert "head" in revisions[0]["mark"] and "current" in revisions[0]["mark"]
    assert "(head)" in run("db", "current").stdout

    refused = run("db", "downgrade", "base", expect=1, input="n\n")
    assert "Aborted" in refused.output
    run("db", "downgrade", "base", "--yes")
    assert "none" in run("db", "current").stdout
    upgraded = run("db", "upgrade")
    assert "upgraded from empty" in upgraded.stdout
    assert row_counts(db_url)["organizations"] == 0


def test_not_an_outreach_database_is_refused(empty_db_url) -> None:
    import sqlalchemy as sa

    db = Database(empty_db_url, check_schema=False)
    db._may_create = True
    with db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE something_else (id INTEGER)"))
    with pytest.raises(outreach.SchemaError, match="not an outreach database"):
        db.init()
    db.dispose()


def test_file_system_errors_are_one_line(tmp_path) -> None:
    from outreach.cli.state import handle_errors

    @click.command()
    @click.pass_context
    def writes(ctx: click.Context) -> None:
        with handle_errors(ctx):
            (tmp_path / "out.csv").mkdir()
            (tmp_path / "out.csv").write_text("x")  # a folder where a file should be

    result = CliRunner().invoke(writes, [])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "out.csv: is a folder, not a file; choose another path" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
