"""Issue 16: a campaign, dialogue, organization or template that does not
exist is a one-line error that names the nearest ones that do ("did you mean
...?"), and nothing when none is near; hostile names stay one escaped line."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from outreach.campaigns import create_campaign
from outreach.db import Database
from outreach.resources import letters_path
from outreach.schema.models import Organization

from ._letters_fixtures import seed

LETTERS = str(letters_path())


@pytest.fixture
def seeded(db: Database) -> Database:
    """The letters tests' directory and campaign ``tp``, a campaign
    ``third-pillar``, and the African Union's French acronym (UA)."""
    seed(db)
    with db.session() as s:
        create_campaign(s, slug="third-pillar", title="Third pillar", dialogue="ga-2012")
        au = s.scalar(sa.select(Organization).where(Organization.acronym == "AU"))
        au.i18n = {"fr": {"name": "Union africaine", "acronym": "UA"}}
    return db


def error_line(run, *args: str) -> str:
    """The one line a refused command prints (exit status 1)."""
    result = run(*args, expect=1)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


def test_a_misspelt_campaign_names_the_nearest(seeded: Database, run) -> None:
    wanted = (
        "Error: no campaign 'thrid-pillar' (did you mean third-pillar?): "
        "see `outreach campaigns list`"
    )
    assert error_line(run, "campaigns", "show", "thrid-pillar") == wanted
    assert error_line(run, "letters", "generate", "--campaign", "thrid-pillar") == wanted
    # another case: slugs are matched exactly, suggested without case
    assert error_line(run, "campaigns", "show", "TP") == (
        "Error: no campaign 'TP' (did you mean tp?): see `outreach campaigns list`"
    )
    assert error_line(run, "report", "status", "--campaign", "thrid-pillar") == (
        "Error: no campaign 'thrid-pillar' (did you mean third-pillar? known: third-pillar, tp)"
    )


def test_a_misspelt_acronym_names_the_nearest_in_any_case(seeded: Database, run) -> None:
    hint = "see `outreach orgs list --search ...`"
    assert error_line(run, "orgs", "show", "ECOWASS") == (
        f"Error: no organization 'ECOWASS' (did you mean ECOWAS?): {hint}"
    )
    assert error_line(run, "orgs", "show", "ecowass") == (
        f"Error: no organization 'ecowass' (did you mean ECOWAS?): {hint}"
    )
    # near the French acronym (UA): the organization's own is suggested
    assert error_line(run, "orgs", "show", "UAA") == (
        f"Error: no organization 'UAA' (did you mean AU?): {hint}"
    )
    assert error_line(run, "contacts", "add", "gcc2", "Jane") == (
        f"Error: no organization 'gcc2' (did you mean GCC?): {hint}"
    )
    assert error_line(run, "contacts", "add", "LASS", "Jane") == (
        f"Error: no organization 'LASS' (did you mean LAS?): {hint}"
    )
    assert error_line(run, "responses", "log", "--org", "OAZ", "--campaign", "tp") == (
        f"Error: no organization 'OAZ' (did you mean OAS?): {hint}"
    )
    parent = run("orgs", "edit", "GCC", "--parent", "AUU", expect=1).stderr.splitlines()
    assert parent[-1] == (
        "Error: --parent: organization GCC: no organization 'AUU' to be its parent "
        "(did you mean AU?)"
    )


def test_every_misspelt_acronym_of_a_list_names_its_nearest(seeded: Database, run) -> None:
    assert error_line(run, "campaigns", "add-recipients", "tp", "AUU", "LAS", "ecowass") == (
        "Error: no organization 'AUU' (did you mean AU?), 'ecowass' (did you mean ECOWAS?): "
        "see `outreach orgs list`"
    )
    # a filter naming no organization is refused rather than matching no letter
    assert error_line(run, "letters", "approve", "--campaign", "tp", "--all", "--org", "AUU") == (
        "Error: --org: no organization 'AUU' (did you mean AU?): see `outreach orgs list`"
    )
    assert error_line(run, "report", "history", "--org", "OAZ") == (
        "Error: no organization with acronym 'OAZ' (did you mean OAS?): see `outreach orgs list`"
    )
    assert error_line(run, "log", "--org", "gccc") == (
        "Error: no organization with acronym 'gccc' (did you mean GCC?): see `outreach orgs list`"
    )


def test_a_misspelt_dialogue_names_the_nearest(seeded: Database, run) -> None:
    wanted = "Error: no dialogue 'ga-2021' (did you mean ga-2012?): see `outreach dialogues list`"
    assert error_line(run, "dialogues", "show", "ga-2021") == wanted
    assert error_line(run, "campaigns", "edit", "tp", "--dialogue", "ga-2021") == wanted


def test_a_misspelt_template_names_the_nearest(seeded: Database, run, tmp_path) -> None:
    wanted = (
        f"Error: third-pilar: no template third-pilar.md.j2 in {LETTERS} "
        "(did you mean third-pillar?); check the name or the template folder "
        "($OUTREACH_TEMPLATES); nothing was written"
    )
    create = ("campaigns", "create", "new", "--title", "New")
    assert error_line(run, *create, "--template", "third-pilar") == wanted
    assert error_line(run, "campaigns", "edit", "tp", "--template", "third-pilar") == wanted
    # a folder of the user's own: its templates, not their language variants
    folder = tmp_path / "tpl"
    folder.mkdir()
    for name in ("appeal.md.j2", "appeal.fr.md.j2", "appeal.es.md.j2"):
        (folder / name).write_text("{% block body %}x{% endblock %}\n", encoding="utf-8")
    line = error_line(run, *create, "--templates", str(folder), "--template", "apeal")
    assert "(did you mean appeal?)" in line


def test_nothing_near_suggests_nothing(seeded: Database, run) -> None:
    assert error_line(run, "campaigns", "show", "zzzz") == (
        "Error: no campaign 'zzzz': see `outreach campaigns list`"
    )
    assert error_line(run, "orgs", "show", "QQQQ") == (
        "Error: no organization 'QQQQ': see `outreach orgs list --search ...`"
    )
    assert error_line(run, "dialogues", "show", "xyz") == (
        "Error: no dialogue 'xyz': see `outreach dialogues list`"
    )
    line = error_line(run, "campaigns", "edit", "tp", "--template", "qqqq")
    assert line.startswith("Error: qqqq: no template qqqq.md.j2 in ")
    assert "did you mean" not in line


def test_hostile_names_stay_one_escaped_line(seeded: Database, run) -> None:
    for name in ("thrid-pillar\x1b[2J", "thrid\npillar", "tp\u202e"):
        line = error_line(run, "campaigns", "show", name)
        assert "\x1b" not in line and "\u202e" not in line
        assert line.endswith("see `outreach campaigns list`")
    line = error_line(run, "campaigns", "edit", "tp", "--template", "third\x1b[31m\npilar")
    assert "\x1b" not in line and "third\\x1b[31m\\x0apilar.md.j2" in line
    # markup is neither rendered nor a suggestion
    line = error_line(run, "campaigns", "edit", "tp", "--template", "{{ 7 * 7 }}")
    assert "no template {{ 7 * 7 }}.md.j2" in line and "49" not in line
    assert "did you mean" not in line
    # ten thousand characters: answered at once, nothing suggested
    for args in (
        ("campaigns", "show", "third-pillar" + "x" * 10_000),
        ("orgs", "show", "AU" * 5_000),
        ("campaigns", "edit", "tp", "--template", "third-pillar" * 1_000),
    ):
        started = time.monotonic()
        line = error_line(run, *args)
        assert time.monotonic() - started < 2
        assert "did you mean" not in line


def test_an_import_naming_a_misspelt_organization_names_the_nearest(
    seeded: Database, run, tmp_path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "organization,name,email\n"
        "ECOWASS,Kofi Mensah,kofi@example.org\n"
        "QQQQ,Nobody,no@example.org\n",
        encoding="utf-8",
    )
    lines = run("contacts", "import", str(path), expect=1).stderr.splitlines()
    assert (
        f"{path}:2: organization: no organization 'ECOWASS' (did you mean ECOWAS?): add it "
        "first (`outreach orgs add`), or give its full name in an organization_name column "
        "to create it" in lines
    )
    assert any(
        ln.startswith(f"{path}:3: organization: no organization 'QQQQ': add") for ln in lines
    )
    assert lines[-1].startswith("Error: ") and "nothing imported" in lines[-1]
