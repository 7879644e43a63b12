"""Every file outreach creates is its owner's alone, whatever the umask.

The policy (README, "Files and permissions"; outreach/files.py): files
outreach creates are 0600 (attachment store files 0400), folders it creates
0700; a file or folder that already exists keeps its permissions. Each kind
of file the CLI writes is made here under several umasks and stat'ed: the
SQLite database and its -wal/-shm files, the attachments store and raw mails,
backups and restored attachments, reports, exports and personal-data exports,
rejected import rows, failed-send CSV, letters (md/pdf/docx/eml) and the demo
folder.
"""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.db import Database
from outreach.files import PRIVATE_DIR, PRIVATE_FILE

from ._letters_fixtures import seed
from .conftest import BACKEND


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o000, 0o077], ids=lambda m: f"umask{m:03o}")
def umask(request) -> int:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _reply_eml(path: Path) -> Path:
    msg = EmailMessage()
    msg["From"] = "sg@gcc.example"
    msg["To"] = "info@coalition.example"
    msg["Subject"] = "Re: Third pillar"
    msg["Message-ID"] = "<modes@gcc.example>"
    msg.set_content("We will attend.")
    msg.add_attachment(b"%PDF-1.4 reply", maintype="application", subtype="pdf", filename="r.pdf")
    path.write_bytes(bytes(msg))
    return path


def test_every_file_the_cli_creates_is_owner_only(db, run, tmp_path: Path, umask: int) -> None:
    seed(db)
    store = tmp_path / "new" / "store"  # two folders outreach must create
    env = {"OUTREACH_ATTACHMENTS_DIR": str(store)}
    expected: dict[Path, int] = {}

    # letters, in every file format, into folders that do not exist yet
    letters = tmp_path / "out" / "letters"
    run("letters", "generate", "--campaign", "tp", "--out", letters, "--format", "md,pdf,docx,eml")
    expected[tmp_path / "out"] = PRIVATE_DIR
    expected[letters] = PRIVATE_DIR
    written = tmp_path / "written"
    run("letters", "write", "1", "2", "--out", written, "--format", "eml,docx")
    expected[written] = PRIVATE_DIR
    for folder in (letters, written):
        files = list(folder.iterdir())
        kinds = {".eml", ".docx"} if folder == written else {".md", ".pdf", ".docx", ".eml"}
        assert {p.suffix for p in files} >= kinds
        expected.update({p: PRIVATE_FILE for p in files})

    # attachments: a raw mail and its attachment, and a file attached by hand
    run("responses", "import", _reply_eml(tmp_path / "reply.eml"), env=env)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 scanned")
    run("responses", "log", "--org", "AU", "--summary", "By post", "--attach", scan, env=env)
    # (kept in the database itself now: no file of them beside it)
    stored = [p for p in store.rglob("*")] if store.exists() else []
    assert not any(p.is_file() for p in stored)

    # reports, exports, the personal-data export, rejected rows
    for fmt in ("html", "csv"):
        run("report", "status", "--campaign", "tp", "--format", fmt, "--out", tmp_path / f"r.{fmt}")
        expected[tmp_path / f"r.{fmt}"] = PRIVATE_FILE
    run("orgs", "export", "-o", tmp_path / "orgs.json")
    run("contacts", "export", "-o", tmp_path / "contacts.csv")
    run("contacts", "export-person", "sg@gcc.example", "-o", tmp_path / "person.json")
    bad = tmp_path / "bad.csv"
    bad.write_text("acronym,name\nOK1,Fine\n,no acronym\n", encoding="utf-8")
    run("orgs", "import", bad, "--skip-invalid")
    for name in ("orgs.json", "contacts.csv", "person.json", "bad.rejects.csv"):
        expected[tmp_path / name] = PRIVATE_FILE

    # a failed-send report (library: sending needs no server to write it)
    from outreach.sending import LetterOutcome, SendReport

    report = SendReport(campaign="tp", dry_run=True)
    report.outcomes.append(LetterOutcome(1, "AU", "SG", "sg@au.example", "s", "failed", error="x"))
    report.write_failures_csv(tmp_path / "failures.csv")
    expected[tmp_path / "failures.csv"] = PRIVATE_FILE

    # a backup, and a restore of it into a new SQLite database and store
    run("backup", tmp_path / "b.zip", env=env)
    expected[tmp_path / "b.zip"] = PRIVATE_FILE
    restored_store = tmp_path / "restored-store"
    fresh = tmp_path / "restored.db"
    result = run("--db", fresh, "restore", tmp_path / "b.zip",
                 env={"OUTREACH_ATTACHMENTS_DIR": str(restored_store)})  # fmt: skip
    assert result.exit_code == 0
    expected[fresh] = PRIVATE_FILE
    # the files come back in the database (stored_files), not into a folder
    assert not restored_store.exists() or not any(p.is_file() for p in restored_store.rglob("*"))

    if BACKEND == "sqlite":
        expected[Path(db.path)] = _mode(Path(db.path))  # the fixture's copy: not made by outreach

    wrong = {str(p): f"{_mode(p):o} (want {m:o})" for p, m in expected.items() if _mode(p) != m}
    assert not wrong, wrong
    # and nothing outreach made under tmp_path is missing from the list
    ours = {p for p in tmp_path.rglob("*") if p not in expected}
    ours -= {tmp_path / "reply.eml", scan, bad}
    ours = {p for p in ours if not p.name.startswith(("outreach.db", "restored.db-"))}
    assert not ours, sorted(map(str, ours))


def test_a_new_sqlite_database_and_its_wal_files_are_owner_only(tmp_path: Path, run, umask) -> None:
    path = tmp_path / "new.db"
    run("--db", path, "init")
    assert _mode(path) == PRIVATE_FILE
    db = Database(path)
    with db.session() as session:  # a write keeps the -wal and -shm files open
        session.execute(sa.text("UPDATE organizations SET notes = NULL"))
        for suffix in ("-wal", "-shm"):
            companion = Path(f"{path}{suffix}")
            assert companion.exists() and _mode(companion) == PRIVATE_FILE, suffix
    db.dispose()
    # the library makes a new database the same way
    demo_db = tmp_path / "made-by-library.db"
    Database(demo_db, check_schema=False).init()
    assert _mode(demo_db) == PRIVATE_FILE


def test_a_file_that_exists_keeps_its_permissions(db, run, tmp_path: Path) -> None:
    seed(db)
    old = os.umask(0o022)
    try:
        report = tmp_path / "shared.html"
        report.write_text("old", encoding="utf-8")
        os.chmod(report, 0o644)  # the user shares this report on purpose
        run("report", "status", "--campaign", "tp", "--format", "html", "--out", report)
        assert _mode(report) == 0o644 and "old" not in report.read_text(encoding="utf-8")
        export = tmp_path / "orgs.csv"
        export.write_text("", encoding="utf-8")
        os.chmod(export, 0o640)
        run("orgs", "export", "-o", export)
        assert _mode(export) == 0o640 and "acronym" in export.read_text(encoding="utf-8")
        backup = tmp_path / "b.zip"
        run("backup", backup)
        assert _mode(backup) == PRIVATE_FILE
        run("backup", backup, "--force")
        assert _mode(backup) == PRIVATE_FILE
        folder = tmp_path / "existing"
        folder.mkdir(mode=0o755)
        os.chmod(folder, 0o755)
        run("letters", "generate", "--campaign", "tp", "--out", folder)
        assert _mode(folder) == 0o755  # a folder the user made is left alone
        assert all(_mode(p) == PRIVATE_FILE for p in folder.iterdir())
        # no temporary file left behind
        assert not [p for p in tmp_path.rglob(".*.tmp")]
    finally:
        os.umask(old)


def test_export_to_a_device_is_written_not_replaced(db, run, tmp_path: Path) -> None:
    seed(db)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    import threading

    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    run("orgs", "export", "-o", pipe)
    reader.join(10)
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # still the pipe, not a file put in its place
    assert b"acronym" in got[0]


def test_the_demo_folder_is_owner_only(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from outreach.cli import cli

    old = os.umask(0o022)
    try:
        folder = tmp_path / "demo" / "here"
        result = CliRunner().invoke(cli, ["demo", "--folder", str(folder)])
        assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    made = [tmp_path / "demo", *(tmp_path / "demo").rglob("*")]
    assert len(made) > 10
    too_open = {
        str(p): f"{_mode(p):o}"
        for p in made
        if _mode(p) & ~(PRIVATE_DIR if p.is_dir() else PRIVATE_FILE)
    }
    assert not too_open, too_open


def test_files_written_together_are_all_there_owner_only_and_leave_no_temporary(
    tmp_path: Path,
) -> None:
    from outreach.files import write_files_together

    (tmp_path / "AU.pdf").write_bytes(b"old")
    os.chmod(tmp_path / "AU.pdf", 0o640)
    written = write_files_together(tmp_path, [("AU.pdf", b"new"), ("LAS.pdf", b"\x00\x01")])
    assert written == [tmp_path / "AU.pdf", tmp_path / "LAS.pdf"]
    assert (tmp_path / "AU.pdf").read_bytes() == b"new"
    assert stat.S_IMODE((tmp_path / "AU.pdf").stat().st_mode) == 0o640  # kept
    assert stat.S_IMODE((tmp_path / "LAS.pdf").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AU.pdf", "LAS.pdf"]


def test_a_batch_that_fails_half_way_renames_nothing_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    from outreach.files import write_files_together

    def outputs():  # the second file's bytes never come
        yield "AU.pdf", b"one"
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError):
        write_files_together(tmp_path, outputs())
    assert list(tmp_path.iterdir()) == []
