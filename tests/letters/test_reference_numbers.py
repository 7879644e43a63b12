"""Reference numbers on generated letters: one per letter, in order, never
given twice, kept by a letter's new versions, new for each reminder; what
templates, ``letters list/show/preview`` and ``campaigns show`` say."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from outreach.db import Database
from outreach.errors import ConflictError, ValidationError
from outreach.letters import generate
from outreach.letters.references import check_free, make_reference, parse_pattern, reserve
from outreach.schema.models import Campaign, Contact, Letter, LetterStatus, Organization
from outreach.schema.types import utcnow
from outreach.templating import TemplateError

from .._letters_fixtures import failing_template, seed
from ..conftest import BACKEND, row_counts

DAY = dt.date(2012, 7, 12)


def _letters(db: Database, **where) -> list[tuple[str, int, int, str | None, bool]]:
    """(acronym, round, version, reference, superseded) of every letter, by id."""
    with db.session() as s:
        stmt = (
            sa.select(
                Organization.acronym,
                Letter.round,
                Letter.version,
                Letter.reference,
                Letter.superseded_at.is_not(None),
            )
            .join(Organization, Letter.organization_id == Organization.id)
            .order_by(Letter.id)
        )
        return [tuple(row) for row in s.execute(stmt)]


def _counter(db: Database, slug: str = "tp") -> int:
    with db.session() as s:
        return s.scalar(sa.select(Campaign.reference_seq).where(Campaign.slug == slug))


def _template(tmp_path: Path, body: str = "First wording.") -> Path:
    """A ``mine`` template that prints the reference in its subject and body."""
    folder = tmp_path / "tpl"
    folder.mkdir(exist_ok=True)
    tpl = folder / "mine.md.j2"
    tpl.write_text(
        '{% extends "letterhead.md.j2" %}'
        "{% block subject %}Our ref. {{ reference }}: the dialogue{% endblock %}"
        "{% block body %}" + body + " (ref. {{ reference }}){% endblock %}\n",
        encoding="utf-8",
    )
    return tpl


def _generate(db: Database, **kw):
    with db.write() as conn:
        return generate(conn, campaign="tp", date=DAY, **kw)


def test_letters_are_numbered_in_the_order_they_are_made(db: Database, run) -> None:
    seed(db)
    result = _generate(db)
    assert [(a, r) for a, _round, _v, r, _s in _letters(db)] == [
        ("AU", "tp/2012/001"),
        ("ECOWAS", "tp/2012/002"),
        ("GCC", "tp/2012/003"),
        ("LAS", "tp/2012/004"),
        ("OAS", "tp/2012/005"),
    ]
    assert sorted(doc.reference for doc in result.letters) == [
        f"tp/2012/{n:03}" for n in range(1, 6)
    ]
    assert _counter(db) == 5
    # the same run again: nothing new, no number given
    again = _generate(db)
    assert again.unchanged == 5 and _counter(db) == 5
    assert {doc.reference for doc in again.letters} == {f"tp/2012/{n:03}" for n in range(1, 6)}


def test_templates_print_the_reference_in_the_subject_and_body(
    db: Database, tmp_path: Path
) -> None:
    tpl = _template(tmp_path)
    seed(db, template="mine", templates=str(tpl.parent))
    _generate(db, templates=tpl.parent)
    with db.session() as s:
        au = s.scalar(
            sa.select(Letter)
            .join(Organization, Letter.organization_id == Organization.id)
            .where(Organization.acronym == "AU")
        )
        assert au.reference == "tp/2012/001"
        assert au.subject == "Our ref. tp/2012/001: the dialogue"
        assert "First wording. (ref. tp/2012/001)" in au.body


def test_the_reference_is_no_foreign_word_in_an_arabic_letter(
    db: Database, tmp_path: Path, run
) -> None:
    """The reference is in Latin letters in every language: the script check
    of an Arabic letter does not count it (at generation, nor in `letters check`)."""
    tpl = _template(tmp_path)
    (tpl.parent / "mine.ar.md.j2").write_text(
        # no letterhead: nothing but the reference in Latin letters
        "{% block subject %}الحوار التفاعلي {{ reference }}{% endblock %}"
        "{% block body %}إشارتنا {{ reference }}{% endblock %}\n",
        encoding="utf-8",
    )
    seed(db, template="mine", templates=str(tpl.parent))
    result = _generate(db, templates=tpl.parent)
    las = next(doc for doc in result.letters if doc.acronym == "LAS")
    assert las.language == "ar" and las.reference in las.body
    assert not [n for n in result.check_notes if "LAS" in n]
    checked = json.loads(run("letters", "check", "--campaign", "tp", "--format", "json").stdout)
    codes = {
        f["code"]
        for entry in checked["findings"]
        if entry["organization"] == "LAS"
        for f in entry["findings"]
    }
    assert "script" not in codes


def test_campaign_variables_may_not_be_called_reference(db: Database, run) -> None:
    seed(db)
    result = run("campaigns", "edit", "tp", "--set", "reference=A/66/874", expect=1)
    assert "'reference' is reserved for the template context" in result.stderr


def test_a_new_version_keeps_its_reference_and_history_keeps_it_too(
    db: Database, tmp_path: Path, run
) -> None:
    tpl = _template(tmp_path)
    seed(db, template="mine", templates=str(tpl.parent))
    _generate(db, templates=tpl.parent)
    first = dict((a, r) for a, _round, _v, r, _s in _letters(db))
    for wording in ("Second wording.", "Third wording."):
        _template(tmp_path, wording)
        result = _generate(db, templates=tpl.parent)
        assert result.new_versions == 5 and result.created == 0
    rows = _letters(db)
    assert len(rows) == 15
    # every version of a letter carries the letter's reference
    assert {(a, v, r) for a, _round, v, r, _s in rows} == {
        (a, v, first[a]) for a in first for v in (1, 2, 3)
    }
    assert _counter(db) == 5
    current = [r for _a, _round, _v, r, superseded in rows if not superseded]
    assert sorted(current) == sorted(first.values())
    # a superseded version still shows the reference it was printed with
    with db.session() as s:
        old = s.scalar(
            sa.select(Letter).where(Letter.version == 1, Letter.reference == first["LAS"])
        )
        assert old.superseded_at is not None
        assert "(ref. tp/2012/004)" in old.body
        old_id = old.id
    shown = run("letters", "show", old_id, "--no-body").stdout
    assert "tp/2012/004" in shown
    as_json = json.loads(run("letters", "show", old_id, "--format", "json").stdout)
    assert as_json["reference"] == "tp/2012/004" and as_json["version"] == 1


def test_reminders_get_their_own_references(db: Database, run) -> None:
    seed(db)
    _generate(db)
    with db.session() as s:
        for letter in s.scalars(sa.select(Letter)):
            letter.status = LetterStatus.SENT
            letter.sent_at = utcnow() - dt.timedelta(days=20)
    _generate(db, followup=True)
    rows = _letters(db)
    letters = {a: r for a, round_, _v, r, _s in rows if round_ == 0}
    reminders = {a: r for a, round_, _v, r, _s in rows if round_ == 1}
    assert sorted(reminders.values()) == [f"tp/2012/{n:03}" for n in range(6, 11)]
    assert not set(letters.values()) & set(reminders.values())
    # the reminders again, unchanged: the same references
    again = _generate(db, followup=True)
    assert again.unchanged == 5 and _counter(db) == 10
    listed = json.loads(run("letters", "list", "--round", "1", "--format", "json").stdout)
    assert {row["org"]: row["reference"] for row in listed} == reminders


def test_the_round_can_be_part_of_the_reference(db: Database, run) -> None:
    seed(db)
    run("campaigns", "edit", "tp", "--reference-pattern", "{CAMPAIGN}-{acronym}-{round}/{seq:04}")
    _generate(db)
    sent_at = utcnow() - dt.timedelta(days=20)  # one moment: the reminders go by acronym
    with db.session() as s:
        for letter in s.scalars(sa.select(Letter)):
            letter.status = LetterStatus.SENT
            letter.sent_at = sent_at
    _generate(db, followup=True)
    refs = {(a, round_): r for a, round_, _v, r, _s in _letters(db)}
    assert refs[("AU", 0)] == "TP-AU-0/0001"
    assert refs[("AU", 1)] == "TP-AU-1/0006"


def test_no_reference_is_ever_given_twice(db: Database, tmp_path: Path) -> None:
    """Regenerating after changes, twice, and reminders: all references of
    different letters differ, and all versions of a letter share one."""
    tpl = _template(tmp_path)
    seed(db, template="mine", templates=str(tpl.parent))
    _generate(db, templates=tpl.parent)
    _template(tmp_path, "Changed.")
    _generate(db, templates=tpl.parent)
    _template(tmp_path, "Changed again.")
    _generate(db, templates=tpl.parent)
    with db.session() as s:
        rows = s.execute(
            sa.select(Letter.contact_id, Letter.round, Letter.version, Letter.reference)
        ).all()
    by_reference: dict[str, set[tuple[int, int]]] = {}
    for contact_id, round_, _version, reference in rows:
        by_reference.setdefault(reference, set()).add((contact_id, round_))
    assert all(len(owners) == 1 for owners in by_reference.values())
    assert len(by_reference) == 5
    assert len({(r.reference, r.version) for r in rows}) == len(rows) == 15


def test_a_failed_batch_gives_its_numbers_back(db: Database, tmp_path: Path) -> None:
    folder = failing_template(tmp_path, "LAS")
    seed(db, template="mine", templates=str(folder))
    with pytest.raises(TemplateError):
        _generate(db, templates=folder)
    assert _counter(db) == 0 and _letters(db) == []
    (folder / "mine.md.j2").write_text(
        '{% extends "letterhead.md.j2" %}{% block subject %}Hi{% endblock %}'
        "{% block body %}Fine.{% endblock %}\n",
        encoding="utf-8",
    )
    _generate(db, templates=folder)
    assert [r for *_x, r, _s in _letters(db)] == [f"tp/2012/{n:03}" for n in range(1, 6)]


def test_two_generations_at_once_share_out_the_numbers(db: Database) -> None:
    seed(db)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def generate_for(orgs: list[str]) -> None:
        database = Database(db.url, actor="tester")
        try:
            barrier.wait()
            with database.write() as conn:
                generate(conn, campaign="tp", organizations=orgs, date=DAY)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            database.dispose()

    threads = [
        threading.Thread(target=generate_for, args=(orgs,))
        for orgs in (["AU", "ECOWAS", "GCC"], ["LAS", "OAS"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    refs = sorted(r for *_x, r, _s in _letters(db))
    assert refs == [f"tp/2012/{n:03}" for n in range(1, 6)]
    assert _counter(db) == 5


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks: PostgreSQL")
def test_the_counter_row_lock_serializes_transactions_without_the_write_lock(
    db: Database,
) -> None:
    """Without the write lock, two transactions moving one campaign's counter
    still get different numbers: the second waits for the first to end."""
    seed(db)
    with db.session() as s:
        campaign_id = s.scalar(sa.select(Campaign.id).where(Campaign.slug == "tp"))
    engine = db.engine
    got: list[int] = []
    with engine.connect() as first:
        first.begin()
        got.append(reserve(first, campaign_id, 3))

        def second() -> None:
            with engine.connect() as conn, conn.begin():
                got.append(reserve(conn, campaign_id, 2))

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "the second transaction did not wait for the first"
        first.commit()
    thread.join(30)
    assert got == [1, 4]
    assert _counter(db) == 5


def test_a_reference_another_campaign_has_is_refused_in_one_line(
    db: Database, db_url: str, run
) -> None:
    seed(db)
    run("campaigns", "edit", "tp", "--reference-pattern", "OSAA/{year}/{seq:03}")
    run("letters", "generate", "--campaign", "tp", "--date", "2012-07-12")
    run("campaigns", "clone", "tp", "tp2")
    counts = row_counts(db_url)
    result = run("letters", "generate", "--campaign", "tp2", "--date", "2012-07-12", expect=1)
    line = result.stderr.strip()
    assert "\n" not in line
    assert "'OSAA/2012/001' is letter 1's already (campaign tp): put {campaign} in it" in line
    assert "outreach campaigns edit tp2 --reference-pattern PATTERN" in line
    assert "Traceback" not in result.output
    assert row_counts(db_url) == counts
    assert _counter(db, "tp2") == 0
    run("campaigns", "edit", "tp2", "--reference-pattern", "OSAA/{campaign}/{seq:03}")
    run("letters", "generate", "--campaign", "tp2", "--date", "2012-07-12")
    with db.session() as s:
        refs = s.scalars(sa.select(Letter.reference).order_by(Letter.id)).all()
    assert refs[5:] == [f"OSAA/tp2/{n:03}" for n in range(1, 6)]


def test_references_one_batch_would_repeat_are_refused(db: Database) -> None:
    seed(db)
    camp = SimpleNamespace(slug="tp")
    pattern = parse_pattern("{acronym}{seq}")
    with db.read() as conn:
        check_free(conn, camp, pattern, ["AU1", "A11"])
        with pytest.raises(ConflictError) as caught:
            check_free(conn, camp, pattern, ["A11", "AU1", "A11"])
    assert "makes 'A11' for two letters: put a separator" in caught.value.message


def test_too_long_a_reference_is_refused() -> None:
    camp = SimpleNamespace(slug="x" * 80)
    job = SimpleNamespace(org={"id": 1, "acronym": "AU"}, round=0)
    pattern = parse_pattern("{campaign}/{CAMPAIGN}/{seq}")
    with pytest.raises(ValidationError) as caught:
        make_reference(pattern, camp, job, seq=1, language="en", year=2012)
    assert "163 characters long: a reference is at most 120" in caught.value.message
    assert caught.value.hint == f"campaigns edit {'x' * 80} --reference-pattern PATTERN"


def test_a_stored_pattern_that_no_longer_passes_stops_generation(
    db: Database, db_url: str, run
) -> None:
    seed(db)
    with db.session() as s:
        s.scalar(sa.select(Campaign)).reference_pattern = "{campaign.__class__}/{seq}"
    counts = row_counts(db_url)
    result = run("letters", "generate", "--campaign", "tp", expect=1)
    assert result.stderr.strip().splitlines() == [
        "Error: campaign tp: the reference pattern uses '{campaign.__class__}': use only "
        "{campaign}, {CAMPAIGN}, {year}, {seq}, {acronym}, {round}, {lang}, as they are "
        "(no '.', '[' or positions): see `outreach campaigns edit tp --reference-pattern "
        "PATTERN`"
    ]
    assert row_counts(db_url) == counts


def test_changing_channel_keeps_the_reference(db: Database, run) -> None:
    seed(db)
    _generate(db)
    with db.session() as s:
        letter = s.scalar(sa.select(Letter).order_by(Letter.id))
        s.get(Contact, letter.contact_id).postal_address = "Roosevelt Street\nAddis Ababa"
        letter_id, reference = letter.id, letter.reference
    run("letters", "set-channel", letter_id, "post")
    with db.session() as s:
        versions = s.execute(
            sa.select(Letter.version, Letter.reference, Letter.channel)
            .where(Letter.reference == reference)
            .order_by(Letter.version)
        ).all()
    assert [(v, r, c.value) for v, r, c in versions] == [
        (1, reference, "email"),
        (2, reference, "post"),
    ]


def test_letters_list_and_show_print_the_reference(db: Database, run) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp", "--date", "2012-07-12")
    table = run("letters", "list", "--campaign", "tp").stdout.splitlines()
    at = table[0].index("REFERENCE")
    assert [line[at:].split()[0] for line in table[1:] if line.strip()] == [
        f"tp/2012/{n:03}" for n in range(1, 6)
    ]
    csv_out = run("letters", "list", "--campaign", "tp", "--format", "csv").stdout
    assert "reference" in csv_out.splitlines()[0].split(",")
    assert "tp/2012/003" in csv_out
    with db.session() as s:
        las = s.scalar(sa.select(Letter).where(Letter.reference == "tp/2012/004"))
        las_id = las.id
    shown = run("letters", "show", las_id, "--no-body").stdout
    assert any(
        line.split()[:2] == ["reference", "tp/2012/004"]
        or line.replace(":", " ").split()[:2] == ["reference", "tp/2012/004"]
        for line in shown.splitlines()
    ), shown
    # the stored letter as the output formats get it
    from outreach.letters.review import get_letter, letter_doc

    with db.session() as s:
        assert letter_doc(get_letter(s, las_id)).reference == "tp/2012/004"


def test_preview_shows_the_reference_the_letter_would_get(db: Database, db_url: str, run) -> None:
    seed(db)
    counts = row_counts(db_url)
    before = run("letters", "preview", "--campaign", "tp", "--org", "LAS")
    assert "Reference: tp/" in before.stderr and "/001" in before.stderr
    assert row_counts(db_url) == counts and _counter(db) == 0
    run("letters", "generate", "--campaign", "tp", "--date", "2012-07-12")
    # a letter that exists: the reference its next version keeps
    after = run("letters", "preview", "--campaign", "tp", "--org", "LAS")
    assert "Reference: tp/2012/004" in after.stderr
    # a reminder (none exists yet): the campaign's next number
    reminder = run("letters", "preview", "--campaign", "tp", "--org", "LAS", "--followup")
    assert "/006" in reminder.stderr
    assert _counter(db) == 5


def test_campaigns_create_edit_and_show_the_pattern(db: Database, db_url: str, run) -> None:
    run("campaigns", "create", "iid", "--title", "Dialogue", "--reference-pattern", "R/{seq:04}")
    shown = json.loads(run("campaigns", "show", "iid", "--format", "json").stdout)
    assert shown["reference_pattern"] == "R/{seq:04}" and shown["references_given"] == 0
    run("campaigns", "edit", "iid", "--reference-pattern", "{CAMPAIGN}/{year}/{seq:03}")
    table = run("campaigns", "show", "iid").stdout
    assert "{CAMPAIGN}/{year}/{seq:03}" in table
    run("campaigns", "create", "plain", "--title", "Plain")
    assert "{campaign}/{year}/{seq:03} (the default)" in run("campaigns", "show", "plain").stdout
    plain = json.loads(run("campaigns", "show", "plain", "--format", "json").stdout)
    assert plain["reference_pattern"] is None


@pytest.mark.parametrize(
    "pattern",
    ["", "{campaign}/{year}", "{campaign.__class__}/{seq}", "{seq!r}", "{seq", "{seq}\x1b[2J"],
)
def test_hostile_patterns_on_the_command_line_are_one_line(
    db: Database, db_url: str, run, pattern: str
) -> None:
    run("campaigns", "create", "iid", "--title", "Dialogue")
    counts = row_counts(db_url)
    for argv in (
        ("campaigns", "create", "other", "--title", "Other", "--reference-pattern", pattern),
        ("campaigns", "edit", "iid", "--reference-pattern", pattern),
    ):
        result = run(*argv, expect=1)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: --reference-pattern: the reference pattern")
        assert "\x1b" not in result.stderr and "Traceback" not in result.output
    assert row_counts(db_url) == counts
