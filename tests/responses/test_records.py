"""Responses logged by hand: attachments, showing, editing, refusing bad input,
moving a response to another organization."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from outreach.attachments import AttachmentStore
from outreach.schema.models import (
    Letter,
    Response,
)

from ..conftest import BACKEND, row_counts
from ._fixtures import PDF, sent_campaign


def test_log_show_edit_with_attachments(db, tmp_path, run, monkeypatch):
    sent_campaign(db)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(PDF)
    same = tmp_path / "same-scan.pdf"
    same.write_bytes(PDF)
    if BACKEND == "sqlite":
        # On SQLite the store sits beside the database file.
        monkeypatch.delenv("OUTREACH_ATTACHMENTS_DIR")
    result = run(
        "responses",
        "log",
        "--org",
        "GCC",
        "--campaign",
        "iid-2012",
        "--received",
        "2012-04-02",
        "--channel",
        "post",
        "--from",
        "Dr. Abdullatif Al-Zayani",
        "--stance",
        "commitment",
        "--summary",
        "Will speak at the dialogue.",
        "--attach",
        scan,
        "--attach",
        same,
    )
    assert "Logged response 1 from GCC" in result.stdout
    assert "scan.pdf (application/pdf" in result.stdout
    with db.session() as session:
        response = session.get(Response, 1)
        assert response.letter_id is not None
        assert response.received_at.date() == dt.date(2012, 4, 2)
        shas = {a.sha256 for a in response.attachments}
    assert len(shas) == 1
    # kept once, by the database itself (every coordinator opens the same scan)
    store = AttachmentStore.for_database(db)
    with db.session() as session:
        assert store.read(shas.pop(), session=session) == PDF
    assert not store.root.exists() or not any(p.is_file() for p in store.root.rglob("*"))

    shown = json.loads(run("responses", "show", "1", "--format", "json").stdout)
    assert shown["stance"] == "commitment" and len(shown["attachments"]) == 2
    assert shown["attachments"][0]["path"] == "(in the database)"
    out = tmp_path / "opened"
    saved = run("responses", "show", "1", "--out", out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["same-scan.pdf", "scan.pdf"] and (out / "scan.pdf").read_bytes() == PDF
    assert f"Saved {out / 'scan.pdf'}" in saved.stderr

    run("responses", "edit", "1", "--stance", "supportive", "--summary", "Will attend.")
    listed = json.loads(
        run("responses", "list", "--campaign", "iid-2012", "--format", "json").stdout
    )
    assert [(r["acronym"], r["stance"], r["attachments"]) for r in listed] == [
        ("GCC", "supportive", 2)
    ]
    with db.session() as session:
        from outreach.schema.models import Activity

        changes = session.scalars(
            sa.select(Activity.changes).where(
                Activity.entity == "response", Activity.action == "update"
            )
        ).one()
    assert changes["stance"] == ["commitment", "supportive"]


def test_log_refuses_bad_input_and_writes_nothing(db, db_url, tmp_path, run):
    sent_campaign(db)
    before = row_counts(db_url)
    result = run("responses", "log", "--org", "NOPE", expect=1)
    assert "no organization 'NOPE'" in result.stderr
    result = run("responses", "log", "--org", "GCC", "--attach", tmp_path / "missing.pdf", expect=1)
    assert "missing.pdf: no such file" in result.stderr
    result = run("responses", "log", "--org", "GCC", "--received", "2999-01-01", expect=1)
    assert "in the future" in result.stderr
    assert row_counts(db_url) == before


def test_edit_moves_a_response_to_another_organization(db, run):
    sent_campaign(db)
    run("responses", "log", "--org", "GCC", "--campaign", "iid-2012", "--stance", "decline")
    result = run("responses", "edit", "1", "--org", "au", "--format", "json")
    record = json.loads(result.stdout)
    assert record["organization"].startswith("AU ")
    with db.session() as session:
        response = session.get(Response, 1)
        letter = session.get(Letter, response.letter_id)
        assert letter.organization.acronym == "AU"
    result = run("responses", "edit", "1", "--letter", "1", expect=1)
    assert "letter 1 was not written to this organization" in result.stderr
    result = run("responses", "edit", "1", expect=1)
    assert "nothing to change" in result.stderr
