"""letters check: what it flags in stored letters, the generate summary's
counts, and approval blocked by a check error unless overridden with a reason."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.models import Activity, Letter, Organization

from .._letters_fixtures import seed


def _letter(db: Database, acronym: str) -> Letter:
    with db.session() as s:
        return s.scalar(
            sa.select(Letter)
            .join(Organization, Letter.organization_id == Organization.id)
            .where(Organization.acronym_key == acronym.casefold(), Letter.superseded_at.is_(None))
        )


def _spoil(db: Database, letter_id: int, body: str) -> None:
    with db.session() as s:
        s.execute(sa.update(Letter).where(Letter.id == letter_id).values(body=body))


def test_check_flags_a_spoilt_letter_and_blocks_approval(db: Database, run) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp", "--date", "2012-06-01")
    las = _letter(db, "LAS")
    assert las.language == "ar" and las.dated.isoformat() == "2012-06-01"
    _spoil(db, las.id, las.body + "\n\nYour Excellency, we await None .\n")
    out = run("letters", "check", "--campaign", "tp").stdout
    assert f"letter {las.id}  LAS" in out
    assert 'error  script: Latin words in a ar letter' in out and '"Excellency"' in out
    assert "error  unfilled: \"None\" where a value was expected" in out
    data = json.loads(run("letters", "check", "--campaign", "tp", "--format", "json").stdout)
    codes = {f["code"] for r in data["findings"] for f in r["findings"] if r["letter_id"] == las.id}
    assert {"script", "unfilled"} <= codes
    refused = run("letters", "approve", str(las.id), expect=1)
    assert f"letter {las.id} (LAS): " in refused.stderr and "check errors" in refused.stderr
    bad = run("letters", "approve", str(las.id), "--override", str(las.id), expect=2)
    assert "--reason" in bad.stderr
    reason = "quoted on purpose"
    ok = run("letters", "approve", str(las.id), "--override", str(las.id), "--reason", reason)
    assert "Approved 1 letters" in ok.stdout
    assert _letter(db, "LAS").check_override == "quoted on purpose"
    with db.session() as s:
        logged = s.scalar(sa.select(Activity.summary).where(Activity.action == "override"))
    assert logged == f"letter {las.id}: check errors overridden: quoted on purpose"


def test_past_reply_by_and_the_generate_summary(db: Database, run) -> None:
    seed(db)
    out = run("letters", "generate", "--campaign", "tp", "--date", "2012-07-01").stdout
    assert "Checks: 0 errors" in out
    assert "reply_by 2012-06-15 is before the letter's date 2012-07-01" in out


def test_clean_campaign_prints_one_line(db: Database, run) -> None:
    seed(db)
    with db.session() as s:
        # letters in the contacts' languages: no language findings
        s.execute(sa.update(Organization).values(languages=["en"]))
    run("letters", "generate", "--campaign", "tp", "--date", "2012-06-01")
    out = run("letters", "check", "--campaign", "tp").stdout
    assert out.strip().splitlines() == [out.strip()]
    assert "no problems" in out


def test_language_not_the_contacts_says_why(db: Database, run) -> None:
    seed(db)
    with db.session() as s:
        s.execute(sa.update(Organization).values(languages=["de"]))
    out = run("letters", "generate", "--campaign", "tp", "--date", "2012-06-01").stdout
    assert "de -> en: no de variant" in out
    assert "de -> en: no de variant" in run("letters", "check", "--campaign", "tp").stdout


def test_a_portuguese_contact_without_a_portuguese_letter_is_told(
    db: Database, run, tmp_path
) -> None:
    """The issue's case: a campaign template in English and Spanish only, a
    contact who reads Portuguese at an organization working in Spanish."""
    from outreach.schema.models import Contact

    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "mine.md.j2").write_text(
        "{% block subject %}A letter{% endblock %}{{ contact|salutation }}\n\nText.\n",
        encoding="utf-8",
    )
    (folder / "mine.es.md.j2").write_text(
        "{% block subject %}Una carta{% endblock %}{{ contact|salutation }}\n\nTexto.\n",
        encoding="utf-8",
    )
    seed(db, template="mine", templates=str(folder))
    with db.session() as s:
        oas = s.scalars(sa.select(Organization).where(Organization.acronym == "OAS")).one()
        oas.languages = ["es"]
        s.execute(sa.update(Contact).where(Contact.organization_id == oas.id).values(language="pt"))
    out = run(
        "letters", "generate", "--campaign", "tp", "--templates", folder, "--date", "2012-06-01"
    ).stdout
    assert "pt -> es: no pt variant" in out
    assert "pt -> es: no pt variant" in run("letters", "check", "--campaign", "tp").stdout


HOSTILE_BODIES = {
    "one long word": "x" * 300_000,
    "angle brackets": "<" * 300_000,
    "link brackets": "](" * 300_000,
    "at signs": "a@" * 300_000,
    "dots": "a." * 300_000,
    "schemes": "http://" * 100_000,
    "spaces before a comma": " " * 300_000 + ",",
    "dates": "2012-01-01 " * 30_000,
    "mixed scripts": "ب" * 150_000 + "a" * 150_000,
}


@pytest.mark.parametrize("shape", sorted(HOSTILE_BODIES))
def test_the_checks_read_a_huge_hostile_letter_in_one_pass(shape: str) -> None:
    """A letter the template limits let through (up to a million characters
    and more) is checked in one pass over it: no pattern tries every start
    position again (which took minutes for a run of "<" or "](")."""
    import datetime as dt
    import signal

    from outreach.letters.checks import check_text

    def too_slow(*_args: object) -> None:
        raise AssertionError(f"checking a letter of {shape} does not finish")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(60)  # a guard against a hang, not a speed target
    try:
        findings = check_text(
            language="fr",
            subject="Objet",
            body=HOSTILE_BODIES[shape],
            dated=dt.date(2026, 1, 1),
            dates={"reply_by": dt.date(2012, 1, 1)},
        )
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert isinstance(findings, list)
