"""Generating letters: idempotence, versions, sent letters, skipping, review commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from outreach.db import Database
from outreach.letters import approve, cancel, generate
from outreach.schema.models import Activity, Contact, Letter, LetterStatus, Organization
from outreach.schema.types import utcnow

from .._letters_fixtures import failing_template, seed, wording_template
from ..conftest import row_counts, run_in_fresh_python, table_dump


def _current(db: Database) -> dict[str, Letter]:
    with db.session() as s:
        rows = s.execute(
            sa.select(Organization.acronym, Letter)
            .join(Organization, Letter.organization_id == Organization.id)
            .where(Letter.superseded_at.is_(None), Letter.round == 0)
        ).all()
        return {acr: letter for acr, letter in rows}


def test_generate_records_letters_and_is_idempotent(db: Database, db_url: str, run) -> None:
    seed(db)
    result = run("letters", "generate", "--campaign", "tp")
    assert "5 new letters" in result.stdout
    letters = _current(db)
    assert len(letters) == 5
    au = letters["AU"]
    assert au.template_name == "third-pillar.md.j2"
    assert len(au.template_hash) == 64
    assert au.to_address == "sg@au.example"
    assert au.status == LetterStatus.DRAFT
    assert au.message_id and au.message_id.endswith("@coalition.example>")
    assert "African Union" in au.body
    before = table_dump(db_url)
    again = run("letters", "generate", "--campaign", "tp")
    assert "0 new letters, 0 new versions, 5 unchanged" in again.stdout
    assert table_dump(db_url) == before


def test_changed_recipient_gets_a_new_version(db: Database, run) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    with db.session() as s:
        org = s.scalar(sa.select(Organization).where(Organization.acronym_key == "au"))
        org.name = "African Union Commission"
    result = run("letters", "generate", "--campaign", "tp")
    assert "0 new letters, 1 new versions, 4 unchanged" in result.stdout
    with db.session() as s:
        rows = s.execute(
            sa.select(Letter.version, Letter.superseded_at, Letter.body)
            .join(Organization, Letter.organization_id == Organization.id)
            .where(Organization.acronym_key == "au")
            .order_by(Letter.version)
        ).all()
    assert [r.version for r in rows] == [1, 2]
    assert rows[0].superseded_at is not None and rows[1].superseded_at is None
    assert "African Union Commission" in rows[1].body
    assert "African Union Commission" not in rows[0].body
    listed = run(
        "letters", "list", "--campaign", "tp", "--org", "AU", "--superseded", "--format", "json"
    )
    assert listed.stdout.count('"org": "AU"') == 2


def test_changed_template_versions_unsent_but_never_sent(db: Database, tmp_path: Path) -> None:
    tpl = wording_template(tmp_path)
    folder = tpl.parent
    seed(db, template="mine", templates=str(folder))
    with db.write() as s:
        generate(s, campaign="tp", templates=folder)
    with db.session() as s:
        sent = s.scalar(
            sa.select(Letter)
            .join(Organization, Letter.organization_id == Organization.id)
            .where(Organization.acronym_key == "las")
        )
        sent.status = LetterStatus.SENT
        sent.sent_at = utcnow()
        sent_id, sent_body = sent.id, sent.body
    tpl.write_text(tpl.read_text().replace("First wording.", "Second wording."))
    with db.write() as s:
        result = generate(s, campaign="tp", templates=folder)
    assert (result.created, result.new_versions, result.unchanged, result.frozen) == (0, 4, 0, 1)
    letters = _current(db)
    assert letters["LAS"].id == sent_id and letters["LAS"].body == sent_body
    assert "First wording." in sent_body
    assert "Second wording." in letters["AU"].body and letters["AU"].version == 2


def test_do_not_contact_and_missing_address_are_skipped_and_listed(
    db: Database, run, db_url: str
) -> None:
    seed(db)
    with db.session() as s:
        oas = s.scalar(
            sa.select(Contact).join(Organization).where(Organization.acronym_key == "oas")
        )
        oas.do_not_contact = True
        gcc = s.scalar(
            sa.select(Contact).join(Organization).where(Organization.acronym_key == "gcc")
        )
        gcc.email = None
    result = run("letters", "generate", "--campaign", "tp")
    assert "3 new letters" in result.stdout
    assert "2 skipped" in result.stdout
    assert "skipped OAS (Secretary-General of OAS): do not contact" in result.stdout
    assert "skipped GCC (Secretary-General of GCC): no e-mail or postal address" in result.stdout
    assert set(_current(db)) == {"AU", "ECOWAS", "LAS"}
    # a contact who prefers delivery by hand needs no address
    with db.session() as s:
        s.get(Contact, gcc.id).preferred_channel = "hand"
    hand = run("letters", "generate", "--campaign", "tp", "--channel", "hand")
    assert "1 new letters" in hand.stdout and "3 by another channel (left alone)" in hand.stdout
    assert "skipped OAS" in hand.stdout and "skipped GCC" not in hand.stdout


def test_preview_writes_nothing(db: Database, db_url: str, run) -> None:
    seed(db)
    before = table_dump(db_url)
    result = run("letters", "preview", "--campaign", "tp", "--org", "ecowas")
    assert "Assunto:" in result.stdout
    assert "Prezado/a Secretary-General of ECOWAS," in result.stdout
    assert "15 de junho de 2012" in result.stdout
    ar = run("letters", "preview", "--campaign", "tp", "--org", "AU", "--language", "ar")
    assert "تحية طيبة وبعد" in ar.stdout
    assert table_dump(db_url) == before


def test_preview_as_a_pdf_file_records_nothing(db: Database, db_url: str, run, tmp_path) -> None:
    """`letters preview --format pdf --out FILE`: the letter as it would be
    printed, looked at before anything is stored."""
    import io

    from pypdf import PdfReader

    seed(db)
    before = table_dump(db_url)
    target = tmp_path / "preview.pdf"
    result = run(
        "letters", "preview", "--campaign", "tp", "--org", "ecowas", "--format", "pdf",
        "--out", target,
    )  # fmt: skip
    assert "a preview: nothing was recorded" in result.stderr
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(target.read_bytes())).pages)
    assert "Assunto:" in text and "15 de junho de 2012" in text
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    refused = run("letters", "preview", "--campaign", "tp", "--org", "ecowas", "--format",
                  "docx", expect=2)  # fmt: skip
    assert "a docx preview is a file: give --out FILE" in refused.stderr
    assert table_dump(db_url) == before


def test_approve_cancel_list_show(db: Database, run) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    letters = _current(db)
    au, las = letters["AU"].id, letters["LAS"].id
    run("letters", "approve", au)
    out = run("letters", "approve", "--campaign", "tp", "--language", "ar", "--all")
    assert "Approved 1 letters" in out.stdout  # LAS only: GCC's contact prefers English
    listed = run("letters", "list", "--campaign", "tp", "--status", "approved", "--format", "csv")
    assert listed.stdout.count("\n") == 1 + 2
    run("letters", "cancel", las)
    shown = run("letters", "show", las)
    assert "cancelled" in shown.stdout
    assert "الموضوع" in shown.stdout
    # generation leaves the cancelled letter alone, and approval survives
    result = run("letters", "generate", "--campaign", "tp")
    assert "1 sent or cancelled" in result.stdout
    again = _current(db)
    assert again["LAS"].status == LetterStatus.CANCELLED
    assert again["AU"].status == LetterStatus.APPROVED
    bad = run("letters", "approve", las, expect=1)
    assert "cancelled, not draft" in bad.stderr
    with db.session() as s:
        actions = set(s.scalars(sa.select(Activity.action).where(Activity.entity == "letter")))
        runs = s.scalars(
            sa.select(Activity.summary).where(
                Activity.entity == "campaign", Activity.action == "generate"
            )
        ).all()
    assert {"approve", "cancel"} <= actions
    assert runs == [
        "campaign tp: 5 new letters, 0 new versions, 0 unchanged, 0 sent or cancelled, 0 skipped"
    ]


def test_library_approve_and_cancel(db: Database) -> None:
    seed(db)
    with db.write() as s:
        generate(s, campaign="tp")
    with db.session() as s:
        assert len(approve(s, campaign="tp")) == 5
        assert len(cancel(s, campaign="tp", organizations=["au"], reason="duplicate")) == 1


def test_followup_reminders(db: Database, run) -> None:
    seed(db)
    with db.write() as s:
        generate(s, campaign="tp")
    long_ago = utcnow() - dt.timedelta(days=20)
    with db.session() as s:
        for letter in s.scalars(sa.select(Letter)):
            letter.status = LetterStatus.SENT
            letter.sent_at = long_ago
    result = run("letters", "generate", "--campaign", "tp", "--followup")
    assert "5 new reminders" in result.stdout
    with db.session() as s:
        reminders = s.scalars(sa.select(Letter).where(Letter.round == 1)).all()
        assert len(reminders) == 5
        for r in reminders:
            assert r.followup_of_id is not None
            original = s.get(Letter, r.followup_of_id)
            assert original.round == 0 and original.language == r.language
            assert original.subject in r.subject
    again = run("letters", "generate", "--campaign", "tp", "--followup")
    assert "0 new reminders" in again.stdout and "5 unchanged" in again.stdout


def test_closed_campaign_refuses_generation(db: Database, db_url: str, run) -> None:
    seed(db)
    run("campaigns", "close", "tp")
    counts = row_counts(db_url)
    result = run("letters", "generate", "--campaign", "tp", expect=1)
    assert "closed" in result.stderr
    assert row_counts(db_url) == counts


def test_write_stored_letters_and_preview_reminder(db: Database, run, tmp_path: Path) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    letters = _current(db)
    out = tmp_path / "files"
    run(
        "letters",
        "write",
        letters["LAS"].id,
        letters["OAS"].id,
        "--out",
        out,
        "--format",
        "md,html",
    )
    assert sorted(p.name for p in out.iterdir()) == ["LAS.html", "LAS.md", "OAS.html", "OAS.md"]
    assert (out / "LAS.md").read_text(encoding="utf-8") == letters["LAS"].body
    reminder = run("letters", "preview", "--campaign", "tp", "--org", "OAS", "--followup")
    assert "Recordatorio:" in reminder.stderr + reminder.stdout


def test_message_ids_use_the_ascii_form_of_an_accented_sender_domain() -> None:
    """Generated letters carry a Message-ID that can go into a header as it
    is, even when the secretariat's own domain has accents."""
    from outreach.letters.renderer import message_ids
    from outreach.schema.models import Campaign

    camp = Campaign(slug="tp", sender={"email": "secretariat@coalition-société.org"})
    message_id = message_ids(camp)()
    assert message_id.isascii()
    assert message_id.endswith(".tp@xn--coalition-socit-onbb.org>")


def test_generate_command_does_not_load_the_orm(db: Database, db_url: str) -> None:
    """Generation works on Core tables: loading the ORM would cost a tenth of
    a second of a 10,000-letter run."""
    seed(db)
    out, orm = run_in_fresh_python(
        "--db", db_url, "--as", "amina", "letters", "generate", "--campaign", "tp"
    )
    assert "tp: 5 new letters" in out.stdout, out.stderr
    assert not orm
    with db.session() as s:
        logged = s.execute(
            sa.select(Activity.action, Activity.actor).where(Activity.entity == "campaign")
        ).all()
    # the run and the campaign turning active, both in the name given with --as
    assert {("generate", "amina"), ("update", "amina")} <= set(logged)


def test_generate_sees_the_callers_uncommitted_changes(db: Database) -> None:
    """generate works in the caller's transaction: a contact renamed earlier in
    it, not yet committed, is the name on the letter; the campaign turns
    active in the same transaction."""
    from outreach.schema import tables

    seed(db)
    with db.write() as conn:
        contacts = tables.contacts
        conn.execute(
            contacts.update()
            .where(contacts.c.email == "sg@au.example")
            .values(name="Moussa Faki Mahamat")
        )
        result = generate(conn, campaign="tp")
        assert result.created == 5
        status = conn.scalar(
            sa.select(tables.campaigns.c.status).where(tables.campaigns.c.slug == "tp")
        )
        assert status == "active"
        au = next(d for d in result.letters if d.acronym == "AU")
        assert "Moussa Faki Mahamat" in au.body
        stored = conn.scalar(sa.select(tables.letters.c.body).where(tables.letters.c.id == au.id))
        assert stored == au.body


def test_generate_logs_the_databases_actor(db: Database) -> None:
    seed(db)
    with db.write() as s:
        generate(s, campaign="tp")
    with db.session() as s:
        logged = s.execute(
            sa.select(Activity.action, Activity.actor).where(
                Activity.action.in_(["generate", "update"])
            )
        ).all()
    assert set(logged) == {("generate", "tester"), ("update", "tester")}


def test_a_failed_generate_leaves_the_callers_transaction_as_it_was(
    db: Database, tmp_path: Path, monkeypatch
) -> None:
    """Letters are stored while later ones still render; a template error on
    the fourth recipient must take the first three back out, and leave the
    caller's transaction usable (on PostgreSQL an aborted COPY would not)."""
    from outreach.db import bulk
    from outreach.errors import OutreachError

    folder = failing_template(tmp_path, "LAS")
    seed(db, template="mine", templates=str(folder))
    monkeypatch.setattr(bulk, "INSERT_CHUNK", 1)  # AU, ECOWAS, GCC go in before LAS fails
    with db.write() as s:
        try:
            generate(s, campaign="tp", templates=folder)
        except OutreachError as exc:
            assert "LAS" in str(exc)
        else:
            raise AssertionError("the template error was not raised")
        # the transaction still works, and committing it stores no letter
        assert s.scalar(sa.select(sa.func.count()).select_from(Letter)) == 0
        s.execute(
            sa.insert(Activity.__table__).values(
                actor="tester", action="note", entity="campaign", summary="still usable"
            )
        )
    assert row_counts(db.url)["letters"] == 0
    assert row_counts(db.url)["activity"] >= 1


def test_progress_runs_over_every_recipient_even_when_some_are_skipped(db: Database) -> None:
    seed(db)
    with db.session() as s:
        for acronym in ("oas", "gcc"):
            contact = s.scalar(
                sa.select(Contact).join(Organization).where(Organization.acronym_key == acronym)
            )
            contact.do_not_contact = True
    calls: list[int] = []
    totals: set[int] = set()

    def progress(done: int, total: int) -> None:
        calls.append(done)
        totals.add(total)

    with db.write() as s:
        result = generate(s, campaign="tp", progress=progress)
    assert result.created == 3 and len(result.skipped) == 2
    assert totals == {5}
    assert calls == sorted(calls) and calls[-1] == 5
    assert calls[-2] >= 3  # the last rendered letter is most of the way along
