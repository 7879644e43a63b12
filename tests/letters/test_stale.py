"""No stale letter goes out: approve and send refuse letters made before the
campaign's variables, sender or template changed; the campaign keeps its
templates folder; the letter's date."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.models import Letter

from .._letters_fixtures import seed, wording_template


def _ids(db: Database) -> list[int]:
    with db.session() as s:
        return list(
            s.scalars(sa.select(Letter.id).where(Letter.superseded_at.is_(None)).order_by(Letter.id))
        )


def test_letter_date_is_stored_and_seen_by_templates(db: Database, run) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp", "--date", "2012-06-01")
    with db.session() as s:
        letter = s.scalars(sa.select(Letter).order_by(Letter.id)).first()
        assert letter.dated.isoformat() == "2012-06-01"
        assert letter.basis and len(letter.basis) == 64
    shown = run("letters", "show", str(letter.id), "--format", "json")
    assert '"dated": "2012-06-01"' in shown.stdout
    bad = run("letters", "generate", "--campaign", "tp", "--date", "June 1", expect=2)
    assert "YYYY-MM-DD" in bad.stderr


def test_approve_and_send_refuse_letters_made_before_a_change(db: Database, run) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp", "--date", "2012-06-01")
    first = _ids(db)[0]
    run("letters", "approve", str(first))
    run("campaigns", "edit", "tp", "--set", "reply_by=2012-07-01", "--sender-email", "x@c.example")
    sent = run("letters", "send", "--campaign", "tp", expect=1)
    assert f"letter {first}: variables, sender changed since letter {first} was made" in sent.stderr
    assert "letters generate --campaign tp" in sent.stderr
    second = _ids(db)[1]
    refused = run("letters", "approve", str(second), expect=1)
    assert f"letter {second}: variables, sender changed since letter {second} was made" in (
        refused.stderr
    )
    assert "generate again" in refused.stderr
    again = run("letters", "generate", "--campaign", "tp", "--date", "2012-06-01")
    assert "5 new versions" in again.stdout
    run("letters", "approve", "--campaign", "tp", "--all")


def test_changed_template_source_is_refused(db: Database, run, tmp_path: Path) -> None:
    tpl = wording_template(tmp_path)
    seed(db, template="mine", templates=str(tpl.parent))
    # generate finds the folder stored with the campaign (no --templates)
    run("letters", "generate", "--campaign", "tp", "--date", "2012-06-01")
    letter_id = _ids(db)[0]
    tpl.write_text(tpl.read_text().replace("First", "Second"))
    refused = run("letters", "approve", str(letter_id), expect=1)
    assert "the template's text changed since" in refused.stderr


def test_letters_made_before_the_basis_are_not_refused(db: Database, run) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp", "--date", "2012-06-01")
    with db.session() as s:
        s.execute(sa.update(Letter).values(basis=None))
    run("campaigns", "edit", "tp", "--set", "reply_by=2012-07-01")
    assert "Approved 5 letters" in run("letters", "approve", "--campaign", "tp", "--all").stdout


def test_campaign_stores_its_templates_folder(db: Database, run, tmp_path: Path) -> None:
    seed(db)
    folder = tmp_path / "mine"
    folder.mkdir()
    run("campaigns", "edit", "tp", "--templates", str(folder))
    shown = run("campaigns", "show", "tp")
    assert str(folder.resolve()) in shown.stdout
    data = json.loads(run("campaigns", "show", "tp", "--format", "json").stdout)
    assert data["templates_folder"] == str(folder.resolve())
    assert data["sender"] == {
        "organization": "Coalition for RtoP",
        "email": "info@coalition.example",
    }
    assert data["variables"] == {"reply_by": "2012-06-15"}
    assert data["recipients"] == 5
    assert data["slug"] == "tp" and data["template"] == "third-pillar"
