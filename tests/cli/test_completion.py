"""Dynamic shell completion of campaign slugs, acronyms, dialogue slugs and
template names: from the database the command would use, silent on failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from outreach.cli import cli
from outreach.cli.completion import template_names

from ..mailfixtures import seed_campaign


def complete(words: str, *, env: dict[str, str] | None = None) -> list[str]:
    """What bash would be offered for the command line *words* (the last word
    being completed; a trailing space: a new, empty word)."""
    parts = words.split(" ")
    result = CliRunner().invoke(
        cli,
        [],
        prog_name="outreach",
        env={
            "_OUTREACH_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            **(env or {}),
        },
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if "," in line]


def test_campaign_slugs_and_acronyms(db, db_url):
    seed_campaign(db, letters=4)
    assert complete(f"outreach --db {db_url} letters send --campaign ") == ["iid-2012"]
    assert complete(f"outreach letters send --db {db_url} --campaign ii") == ["iid-2012"]
    assert complete(f"outreach --db {db_url} campaigns show ") == ["iid-2012"]
    assert complete(f"outreach --db {db_url} orgs show a") == ["ASEAN", "AU"]
    assert complete(f"outreach --db {db_url} letters generate --org G") == ["GCC"]
    assert "OAS" in complete(f"outreach --db {db_url} report history --org ")
    # a new acronym is not an existing one
    assert complete(f"outreach --db {db_url} orgs add ") == []


def test_database_from_the_environment(db, db_url):
    seed_campaign(db, letters=1)
    found = complete("outreach followups --campaign ", env={"OUTREACH_DATABASE_URL": db_url})
    assert found == ["iid-2012"]


def test_template_names(tmp_path):
    assert {"third-pillar", "third-pillar-reminder"} <= set(
        complete("outreach campaigns create x --template ")
    )
    own = tmp_path / "tpl"
    own.mkdir()
    (own / "mine.md.j2").write_text("x", encoding="utf-8")
    (own / "mine.fr.md.j2").write_text("x", encoding="utf-8")
    (own / "letterhead.md.j2").write_text("x", encoding="utf-8")
    found = complete(f"outreach campaigns create x --templates {own} --followup-template m")
    assert found == ["mine"]
    assert template_names([own, tmp_path / "missing"]) == ["mine"]


@pytest.mark.parametrize(
    "url",
    [
        "{tmp}/does-not-exist.db",
        "postgresql://nobody@127.0.0.1:1/none",
        "mysql://x",
        "sqlite:///{tmp}",
        "x;DROP-TABLE-campaigns;--",
    ],
)
def test_no_database_no_suggestions_and_no_file(tmp_path: Path, url: str):
    url = url.format(tmp=tmp_path)
    assert complete(f"outreach --db {url} letters send --campaign ") == []
    assert not (tmp_path / "does-not-exist.db").exists()


def test_hostile_names_are_not_offered(db, db_url):
    from outreach.schema.models import Organization

    seed_campaign(db, letters=1)
    with db.session() as session:
        for acronym in ("EV\nIL", "ESC\x1b[2J", "RLO\u202eX", "SP ACE"):
            session.add(Organization(acronym=acronym, name=f"Name of {acronym!r}"))
    found = complete(f"outreach --db {db_url} orgs show ")
    assert "SP ACE" in found and "GCC" in found
    assert not [f for f in found if any(c in f for c in "\n\x1b\u202e")]
