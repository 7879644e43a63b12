"""Revision 0006 on a database that already has letters: the letters made
before references keep none (NULL) and still list and show; the next
generation gives the unsent ones a version with a reference, leaves the sent
ones as they went, and numbers from 1."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from click.testing import CliRunner

from outreach.cli import cli
from outreach.db import Database
from outreach.letters import generate
from outreach.schema.models import Letter, LetterStatus, Organization
from outreach.schema.types import utcnow

from .._letters_fixtures import seed


def _columns(db: Database, table: str) -> set[str]:
    with db.engine.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _cli(url: str, *args: object, expect: int = 0):
    result = CliRunner().invoke(cli, ["--db", url, "--as", "tester", *map(str, args)])
    assert result.exit_code == expect, result.output
    assert "Traceback" not in result.output
    return result


def test_letters_from_before_references_keep_none_and_still_list_and_show(
    own_db_url: str,
) -> None:
    db = Database(own_db_url, actor="tester")
    seed(db)
    with db.write() as conn:
        generate(conn, campaign="tp", date=dt.date(2012, 7, 12))
    with db.session() as s:
        au = s.scalar(
            sa.select(Letter)
            .join(Organization, Letter.organization_id == Organization.id)
            .where(Organization.acronym == "AU")
        )
        au.status, au.sent_at = LetterStatus.SENT, utcnow() - dt.timedelta(days=20)
        au_id = au.id
    db.dispose()

    # The database as revision 0005 had it, letters and all.
    old = Database(own_db_url, check_schema=False)
    old.downgrade("0005")
    assert old.current_revision() == "0005"
    assert "reference" not in _columns(old, "letters")
    assert not {"reference_pattern", "reference_seq"} & _columns(old, "campaigns")
    old.dispose()

    _cli(own_db_url, "db", "upgrade")
    db = Database(own_db_url, actor="tester")
    assert db.current_revision() == "0006"
    with db.session() as s:
        assert s.scalars(sa.select(Letter.reference)).all() == [None] * 5
    listed = json.loads(_cli(own_db_url, "letters", "list", "--format", "json").stdout)
    assert len(listed) == 5 and all(row["reference"] is None for row in listed)
    table = _cli(own_db_url, "letters", "list").stdout
    assert "REFERENCE" in table.splitlines()[0]
    shown = json.loads(_cli(own_db_url, "letters", "show", au_id, "--format", "json").stdout)
    assert shown["reference"] is None and shown["status"] == "sent"
    assert "reference" in _cli(own_db_url, "letters", "show", au_id).stdout
    shown = json.loads(_cli(own_db_url, "campaigns", "show", "tp", "--format", "json").stdout)
    assert shown["reference_pattern"] is None and shown["references_given"] == 0

    # Generating again: the sent letter stays as it went; the unsent ones get
    # a version with a reference, numbered from 1.
    with db.write() as conn:
        result = generate(conn, campaign="tp", date=dt.date(2012, 7, 12))
    assert (result.frozen, result.new_versions, result.created) == (1, 4, 0)
    with db.session() as s:
        rows = s.execute(
            sa.select(Organization.acronym, Letter.version, Letter.reference)
            .join(Organization, Letter.organization_id == Organization.id)
            .where(Letter.superseded_at.is_(None))
            .order_by(Organization.acronym_key)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("AU", 1, None),
        ("ECOWAS", 2, "tp/2012/001"),
        ("GCC", 2, "tp/2012/002"),
        ("LAS", 2, "tp/2012/003"),
        ("OAS", 2, "tp/2012/004"),
    ]
    # and again: nothing more changes
    with db.write() as conn:
        again = generate(conn, campaign="tp", date=dt.date(2012, 7, 12))
    assert (again.unchanged, again.new_versions, again.created) == (4, 0, 0)
    # A reminder of the old sent letter is a new letter: it gets a number.
    with db.write() as conn:
        generate(conn, campaign="tp", followup=True, date=dt.date(2012, 7, 30))
    with db.session() as s:
        reminder = s.scalar(sa.select(Letter).where(Letter.round == 1))
        assert reminder.followup_of_id == au_id
        assert reminder.reference == "tp/2012/005"
    db.dispose()
