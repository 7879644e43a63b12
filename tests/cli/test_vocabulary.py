"""One vocabulary for every command's options (issue 16, point 1).

The walk below fails on a spelling outside :mod:`outreach.cli.vocabulary`,
on a spelling that takes another kind of value than elsewhere, and on a
hidden option that is neither an old spelling kept working nor one of the
listed exceptions; the rest checks what a user sees of it: the old spellings
work with a note, the dates read one way with one error, and a time typed in
is the user's local time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from outreach.cli import cli
from outreach.cli.options import RENAMED
from outreach.cli.vocabulary import HIDDEN, KIND_EXCEPTIONS, KINDS, SHORT, VOCABULARY
from outreach.cli.when import DAY_FORMS, MOMENT_FORMS, SPAN_FORMS, Day, Duration, Moment

from .._letters_fixtures import seed


def _commands() -> Iterator[tuple[str, click.Command]]:
    def walk(cmd: click.Command, path: list[str], ctx: click.Context) -> Iterator:
        yield " ".join(path) or "outreach", cmd
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None, name
                yield from walk(sub, [*path, name], click.Context(sub, parent=ctx, info_name=name))

    yield from walk(cli, [], click.Context(cli, info_name="outreach"))


COMMANDS = dict(_commands())


def _options() -> Iterator[tuple[str, click.Option]]:
    for path, cmd in COMMANDS.items():
        for param in cmd.params:
            if isinstance(param, click.Option):
                yield path, param


def _kind_of(option: click.Option) -> set[str]:
    kinds = set()
    if isinstance(option.type, click.Path):
        kinds.add("path")
    if option.multiple:
        kinds.add("repeatable")
    if option.is_flag:
        kinds.add("flag")
    for name, cls in (("day", Day), ("moment", Moment), ("span", Duration)):
        if isinstance(option.type, cls):
            kinds.add(name)
    return kinds


def test_the_walk_sees_every_command() -> None:
    assert len(COMMANDS) > 70
    assert {"letters send", "contacts import", "responses unmatched", "outreach"} <= COMMANDS.keys()


def test_every_spelling_is_in_the_vocabulary() -> None:
    outside = sorted(
        f"{path}: {spelling}"
        for path, option in _options()
        if not option.hidden
        for spelling in [*option.opts, *option.secondary_opts]
        if spelling.startswith("--") and spelling not in VOCABULARY
    )
    assert not outside, "spellings outside outreach/cli/vocabulary.py:\n" + "\n".join(outside)


def test_short_options_stand_for_one_long_spelling_each() -> None:
    wrong = []
    for path, option in _options():
        for spelling in [*option.opts, *option.secondary_opts]:
            short = spelling.startswith("-") and not spelling.startswith("--")
            if short and SHORT.get(spelling) not in option.opts + option.secondary_opts:
                wrong.append(f"{path}: {spelling} on {option.opts}")
    assert not wrong, wrong


def test_a_spelling_takes_the_same_kind_of_value_everywhere() -> None:
    wrong = []
    for path, option in _options():
        if option.hidden:
            continue
        for spelling in option.opts:
            kind = KINDS.get(spelling)
            if kind and kind not in _kind_of(option) and (path, spelling) not in KIND_EXCEPTIONS:
                found = _kind_of(option) or "text"
                wrong.append(f"{path}: {spelling} should be {kind}, is {found}")
    assert not wrong, "\n".join(wrong)


def test_every_yes_has_its_short_form_and_every_date_its_type() -> None:
    for path, option in _options():
        if "--yes" in option.opts:
            assert "-y" in option.opts, path
        if option.name and option.name.endswith(("_date", "_on", "_at")) and not option.hidden:
            assert _kind_of(option) & {"day", "moment"}, (path, option.opts)


def test_hidden_options_are_old_spellings_or_listed() -> None:
    wrong = []
    for path, option in _options():
        if not option.hidden:
            continue
        if option.name in RENAMED:
            old, new = RENAMED[option.name]
            visible = {
                s for o in COMMANDS[path].params if isinstance(o, click.Option) and not o.hidden
                for s in o.opts
            }
            if new not in visible:
                wrong.append(f"{path}: {old} is kept for {new}, which the command lacks")
        elif not set(option.opts) & HIDDEN.keys():
            wrong.append(f"{path}: hidden {option.opts} is neither an old spelling nor listed")
    assert not wrong, "\n".join(wrong)


def test_help_shows_only_the_new_spellings(run) -> None:
    for args, old, new in [
        (("contacts", "export"), "--output", "--out"),
        (("orgs", "edit"), "--tags", "--tag"),
        (("backup",), "--overwrite", "--force"),
        (("letters", "list"), "--all", "--superseded"),
        (("contacts", "import"), "--from", "--input-format"),
        (("dialogues", "add"), "--body", "--un-body"),
        (("demo",), "--folder", "--out"),
        (("responses", "show"), "--save", "--out"),
    ]:
        shown = run(*args, "--help").stdout
        assert new in shown and f"{old} " not in shown, (args, old)


# --- the old spellings keep working, with a note ------------------------------------


def test_old_spellings_work_and_say_what_to_write(run, db, tmp_path: Path) -> None:
    seed(db)
    out = tmp_path / "orgs.csv"
    result = run("orgs", "export", "--output", str(out))
    assert out.read_text().startswith("acronym")
    assert "note: --output is now --out" in result.stderr

    result = run("orgs", "edit", "AU", "--tags", "partner, 2012")
    assert "note: --tags is now --tag" in result.stderr
    assert json.loads(run("orgs", "show", "AU", "--format", "json").stdout)["tags"] == [
        "partner",
        "2012",
    ]

    result = run("contacts", "import", str(out), "--from", "csv", "--dry-run", expect=None)
    assert "note: --from is now --input-format" in result.stderr

    archive = tmp_path / "b.zip"
    run("backup", str(archive))
    result = run("backup", str(archive), "--overwrite")
    assert "note: --overwrite is now --force" in result.stderr
    refused = run("backup", str(archive), expect=1)
    assert "--force" in refused.stderr and "--overwrite" not in refused.stderr


def test_old_and_new_spelling_together_is_a_usage_error(run, db, tmp_path: Path) -> None:
    seed(db)
    result = run("orgs", "export", "--output", "a.csv", "--out", "b.csv", expect=2)
    assert "--output is the old spelling of --out: give only --out" in result.stderr


def test_tags_are_given_whole_on_edit_and_filter_by_any(run, db) -> None:
    seed(db)
    run("orgs", "edit", "AU", "--tag", "partner", "--tag", "2012")
    run("orgs", "edit", "OAS", "--tag", "observer")
    listed = run("orgs", "list", "--tag", "2012", "--tag", "observer", "--format", "json")
    assert {o["acronym"] for o in json.loads(listed.stdout)} == {"AU", "OAS"}
    run("orgs", "edit", "AU", "--tag", "")
    assert json.loads(run("orgs", "show", "AU", "--format", "json").stdout)["tags"] == []


def test_the_organization_by_position_or_by_org(run, db) -> None:
    seed(db)
    assert "(AU)" in run("contacts", "add", "--org", "AU", "Office of the Chairperson").stdout
    assert "(AU)" in run("contacts", "add", "AU", "Office of the Deputy").stdout
    assert run("orgs", "show", "--org", "AU").stdout == run("orgs", "show", "AU").stdout
    both = run("orgs", "show", "AU", "--org", "OAS", expect=2)
    assert "two organizations given (AU and --org OAS): give one" in both.stderr
    missing = run("contacts", "add", "--org", "AU", expect=2)
    assert "missing NAME" in missing.stderr


# --- one type for days, moments and spans -----------------------------------------------


def _date_options() -> list[tuple[str, str, str]]:
    found = []
    for path, option in _options():
        if option.hidden:
            continue
        for kind, forms in (("day", DAY_FORMS), ("moment", MOMENT_FORMS), ("span", SPAN_FORMS)):
            if kind in _kind_of(option):
                found.append((path, option.opts[0], forms))
    return found


DATE_OPTIONS = _date_options()


def test_the_date_options_are_many() -> None:
    assert len(DATE_OPTIONS) >= 18


@pytest.mark.parametrize(("path", "spelling", "forms"), DATE_OPTIONS)
def test_every_date_option_gives_the_same_error(run, path: str, spelling: str, forms: str) -> None:
    args = [] if path == "outreach" else path.split()
    result = run(*args, spelling, "the 5th of Sept", expect=2)
    assert f"Invalid value for '{spelling}'" in result.stderr
    assert forms in result.stderr, result.stderr
    assert "%Y" not in result.stderr


@pytest.fixture
def paris(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_the_users_local_time_and_kept_in_utc(run, db, paris) -> None:
    import sqlalchemy as sa

    seed(db)
    run("responses", "log", "--org", "AU", "--received", "2026-11-30 15:00", "--summary", "x")
    run("responses", "log", "--org", "OAS", "--received", "2026-07-01", "--summary", "y")
    with db.engine.connect() as conn:
        stored = dict(
            conn.execute(sa.text("SELECT summary, received_at FROM responses")).all()
        )
    as_utc = {
        k: v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v)
        for k, v in stored.items()
    }
    assert as_utc["x"].replace(tzinfo=None) == dt.datetime(2026, 11, 30, 14, 0)
    assert as_utc["y"].replace(tzinfo=None) == dt.datetime(2026, 7, 1, 10, 0)  # noon in Paris
    listed = run("responses", "list", "--format", "csv").stdout
    assert "2026-11-30 15:00" in listed and "2026-07-01 12:00" in listed
    since = run("responses", "list", "--since", "2026-11-30 14:30", "--format", "json").stdout
    assert [r["summary"] for r in json.loads(since)] == ["x"]


def test_relative_days(run, db) -> None:
    seed(db)
    today = dt.date.today()
    run("dialogues", "edit", "ga-2012", "--date", "+8w")
    shown = json.loads(run("dialogues", "show", "ga-2012", "--format", "json").stdout)
    assert shown["date"] == (today + dt.timedelta(weeks=8)).isoformat()
    run("dialogues", "edit", "ga-2012", "--date", "tba")
    run("dialogues", "edit", "ga-2012", "--date", "yesterday")
    shown = json.loads(run("dialogues", "show", "ga-2012", "--format", "json").stdout)
    assert shown["date"] == (today - dt.timedelta(days=1)).isoformat()
    assert os.environ.get("TZ") != "Europe/Paris"


def test_an_empty_templates_folder_means_the_shipped_letters_only(run, db, tmp_path) -> None:
    seed(db)
    mine = tmp_path / "mine"
    mine.mkdir()
    run("campaigns", "edit", "tp", "--templates", str(mine))
    shown = json.loads(run("campaigns", "show", "tp", "--format", "json").stdout)
    assert shown["templates_folder"] == str(mine.resolve())
    run("campaigns", "edit", "tp", "--templates", "")
    shown = json.loads(run("campaigns", "show", "tp", "--format", "json").stdout)
    assert shown["templates_folder"] is None
