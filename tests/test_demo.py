"""`outreach demo`: a whole campaign on a fresh SQLite file, twice."""

from __future__ import annotations

import mailbox
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from outreach.cli import cli
from outreach.demodata import POSTAL


def _demo(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["demo", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_demo_builds_a_complete_campaign_and_can_run_again(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    code, out, err = _demo("--out", str(folder))
    assert code == 0, err
    db = folder / "demo.db"
    with sqlite3.connect(db) as conn:
        languages = {r[0] for r in conn.execute("SELECT DISTINCT language FROM letters")}
        sent = conn.execute("SELECT count(*) FROM letters WHERE status = 'sent'").fetchone()[0]
        reminders = conn.execute(
            "SELECT count(*) FROM letters WHERE round > 0 AND status = 'sent'"
        ).fetchone()[0]
        channels = {r[0] for r in conn.execute("SELECT DISTINCT channel FROM responses")}
        attachments = conn.execute("SELECT count(*) FROM attachments").fetchone()[0]
    assert {"en", "fr", "es", "ar"} <= languages
    assert sent >= 10 and reminders >= 1
    assert channels == {"email", "post"} and attachments >= 1
    outbox = len(mailbox.mbox(folder / "outbox.mbox"))
    assert outbox >= 5
    page = (folder / "status.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    assert "ORG" in out and "Overdue" in out and str(folder / "status.html") in out
    assert "Replies: 1 by post" in err
    # Again: the same result from a fresh start, nothing doubled.
    code, out2, err2 = _demo("--out", str(folder))
    assert code == 0, err2
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 1
        assert (
            conn.execute("SELECT count(*) FROM letters WHERE status = 'sent'").fetchone()[0] == sent
        )
    assert len(mailbox.mbox(folder / "outbox.mbox")) == outbox
    assert out2.splitlines()[-1] == out.splitlines()[-1]


def test_demo_refuses_a_database_that_is_not_a_demo(tmp_path: Path) -> None:
    precious = tmp_path / "work.db"
    CliRunner().invoke(cli, ["--db", str(precious), "init"])
    with sqlite3.connect(precious) as conn:
        conn.execute(
            "INSERT INTO campaigns (slug, title, sender, variables, status, created_at,"
            " updated_at) VALUES ('real', 'Real work', '{}', '{}', 'active',"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    before = precious.read_bytes()
    code, _out, err = _demo("--db", str(precious), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "is not an outreach demo database" in err
    assert precious.read_bytes() == before
    # Nor does it clear a folder it did not make.
    mine = tmp_path / "mine"
    (mine / "letters").mkdir(parents=True)
    (mine / "letters" / "keep.md.j2").write_text("mine", encoding="utf-8")
    code, _out, err = _demo("--out", str(mine))
    assert code == 1 and "was not made by `outreach demo`" in err
    assert (mine / "letters" / "keep.md.j2").read_text(encoding="utf-8") == "mine"


#: English words that have no business in a letter in another language
#: (proper names, symbols and addresses aside).
ENGLISH = {
    "the", "of", "and", "your", "excellency", "dear", "secretariat", "organization",
    "behalf", "please", "accept", "regards", "with", "which", "would", "our", "states",
}  # fmt: skip


def test_the_demo_writes_every_language_in_its_own_words(tmp_path: Path) -> None:
    """Seven languages; the French letter to the AU opens in French and names
    l'Union africaine; no letter outside English carries English words; the
    check finds nothing in any letter, sent or not."""
    import datetime as dt
    import re

    from outreach.letters.checks import check_text

    folder = tmp_path / "demo"
    code, _out, err = _demo("--out", str(folder))
    assert code == 0, err
    with sqlite3.connect(folder / "demo.db") as conn:
        letters = conn.execute(
            "SELECT o.acronym, l.language, l.subject, l.body, l.dated FROM letters l "
            "JOIN organizations o ON o.id = l.organization_id WHERE l.superseded_at IS NULL"
        ).fetchall()
    assert {row[1] for row in letters} == {"en", "fr", "es", "ar", "ru", "zh", "pt"}
    au = next(body for acr, lang, _s, body, _d in letters if acr == "AU" and lang == "fr")
    lines = [line for line in au.splitlines() if line.strip()]
    assert "Excellence," in lines
    assert "de l'Union africaine" in au and "Président de la Commission" in au
    assert "Je vous prie d'agréer, Excellence," in au
    for acronym, language, subject, body, _dated in letters:
        if language == "en":
            continue
        address = set(POSTAL.get(acronym, "").splitlines())  # as the envelope has it
        kept = [line for line in body.splitlines() if line not in address]
        text = re.sub(r"\S+@\S+", " ", "\n".join([subject, *kept]))
        words = {w.casefold() for w in re.findall(r"[A-Za-z]+", text)}
        assert not words & ENGLISH, (acronym, language, sorted(words & ENGLISH))
    for acronym, language, subject, body, dated in letters:
        findings = check_text(
            language=language,
            subject=subject,
            body=body,
            dated=dt.date.fromisoformat(dated) if dated else None,
            names=["Ana Ribeiro"],  # the signatory, as the campaign's check passes it
        )
        assert findings == [], (acronym, language, findings)
    checked = CliRunner().invoke(
        cli,
        ["--db", str(folder / "demo.db"), "letters", "check", "--campaign", "demo-third-pillar"],
    )
    assert checked.exit_code == 0 and "no problems" in checked.stdout
