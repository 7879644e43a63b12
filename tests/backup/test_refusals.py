"""Backup and restore refuse what they must (an existing file, a non-empty
database, a damaged or hostile archive) in one line, changing nothing."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.backup.archive import ArchiveError, safe_relpath
from outreach.backup.restore import restore
from outreach.backup.write import attachments_folder, backup
from outreach.db import Database
from outreach.errors import ConflictError
from outreach.schema import models as m
from outreach.schema.tables import stored_files

from ..conftest import BACKEND, table_dump
from ._fixtures import (
    _cli,
    _files,
    _reseal,
    _resealed,
    _rewrite,
    _without_restore_rows,
    fill,
)


def test_backup_refuses_to_overwrite_and_leaves_no_partial_file(run, tmp_path: Path) -> None:
    archive = tmp_path / "b.zip"
    archive.write_text("keep me")
    result = run("backup", str(archive), expect=1)
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert archive.read_text() == "keep me"
    run("backup", str(archive), "--force")
    assert zipfile.is_zipfile(archive)
    result = run("backup", str(tmp_path))  # a folder: named after the time
    made = [p for p in tmp_path.iterdir() if p.name.startswith("outreach-backup-")]
    assert len(made) == 1 and made[0].name.endswith("Z.zip")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_restore_refuses_a_non_empty_database_unless_forced(
    run, db: Database, db_url: str, tmp_path: Path
) -> None:
    other = Database(tmp_path / "other.db", actor="amina")
    other.init()
    fill(other)
    archive = tmp_path / "b.zip"
    backup(other, archive)
    expected = table_dump(other.url)
    other.dispose()

    with db.session() as s:
        s.add(m.Organization(acronym="SADC", name="Southern African Development Community"))
    before = table_dump(db_url)
    result = run("restore", str(archive), expect=1)
    assert "is not empty" in result.stderr and "--force" in result.stderr
    assert result.stderr.count("\n") == 1
    assert table_dump(db_url) == before

    result = run("restore", str(archive), "--force")
    assert "Emptied" in result.stderr and "deleted 1 rows" in result.stderr
    after = table_dump(db_url)
    expected["activity"] = [r for r in expected["activity"] if "backup" not in r]
    assert _without_restore_rows(after) == _without_restore_rows(expected)
    assert not any("SADC" in r for r in after["organizations"])
    with pytest.raises(ConflictError):
        restore(db, archive)


def _break_checksum(name: str, data: bytes) -> bytes:
    if name == "tables/organizations.jsonl":
        return data.replace("القاهرة".encode(), "الاسكندرية".encode())
    return data


def _bad_version(name: str, data: bytes) -> bytes:
    if name == "manifest.json":
        manifest = json.loads(data)
        manifest["format_version"] = 99
        return json.dumps(manifest).encode()
    return data


def _bad_format(name: str, data: bytes) -> bytes:
    if name == "manifest.json":
        manifest = json.loads(data)
        manifest["format"] = "something-else"
        return json.dumps(manifest).encode()
    return data


def _no_manifest(name: str, data: bytes) -> bytes | None:
    return None if name == "manifest.json" else data


def _future_schema(name: str, data: bytes) -> bytes:
    if name == "manifest.json":
        manifest = json.loads(data)
        manifest["schema_revision"] = "9999_from_the_future"
        return json.dumps(manifest).encode()
    return data


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_break_checksum, "checksum mismatch"),
        (_bad_version, "format 99"),
        (_bad_format, "not an outreach backup"),
        (_no_manifest, "not an outreach backup"),
        (_future_schema, "does not know"),
        ("truncate", "not a readable outreach backup"),
        ("garbage", "not a readable outreach backup"),
    ],
)
def test_a_damaged_archive_gives_one_line_and_changes_nothing(
    run, archive_and_target, db_url: str, tmp_path: Path, damage, message: str
) -> None:
    archive, before = archive_and_target
    bad = tmp_path / "bad.zip"
    if damage == "truncate":
        data = archive.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        bad.write_bytes(b"PK\x03\x04 this is not really a zip file")
    else:
        _rewrite(archive, bad, damage)
    files_before = _files(attachments_folder(Database(db_url)))
    result = run("restore", str(bad), "--force", expect=1)
    assert message in result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    assert table_dump(db_url) == before
    assert _files(attachments_folder(Database(db_url))) == files_before


def _dangling_foreign_key(name: str, data: bytes) -> bytes:
    if name == "tables/letters.jsonl":
        rows = [json.loads(x) for x in data.decode().splitlines()]
        rows[-1]["contact_id"] = 424242
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    return data


def _unknown_enum(name: str, data: bytes) -> bytes:
    if name == "tables/responses.jsonl":
        return data.replace(b'"supportive"', b'"enthusiastic"')
    return data


def _bad_timestamp(name: str, data: bytes) -> bytes:
    if name == "tables/letters.jsonl":
        return data.replace(b"2012-03-14T09:30:00.123456Z", b"14/03/2012 9h30")
    return data


def _wrong_type(name: str, data: bytes) -> bytes:
    if name == "tables/dialogues.jsonl":
        return data.replace(b'"states_spoke":56', b'"states_spoke":"fifty-six"')
    return data


def _not_utf8(name: str, data: bytes) -> bytes:
    if name == "tables/contacts.jsonl":
        return data.replace("Aïssata".encode(), "Aïssata".encode("latin-1"))
    return data


def _missing_row(name: str, data: bytes) -> bytes:
    if name == "tables/activity.jsonl":
        return b"".join(data.splitlines(keepends=True)[1:])
    return data


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_dangling_foreign_key, ""),
        (_unknown_enum, "responses"),
        (_bad_timestamp, "sent_at"),
        (_missing_row, "manifest says"),
        (_wrong_type, "dialogues, row 1: column states_spoke: str value 'fifty-six'"),
        (_not_utf8, "not UTF-8"),
    ],
)
def test_a_restore_failing_half_way_changes_nothing(
    run, archive_and_target, db_url: str, tmp_path: Path, damage, message: str
) -> None:
    archive, before = archive_and_target
    bad = tmp_path / "bad.zip"
    _rewrite(archive, bad, _resealed(damage))
    folder = attachments_folder(Database(db_url))
    files_before = _files(folder)
    result = run("restore", str(bad), "--force", expect=1)
    assert message in result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert table_dump(db_url) == before
    assert _files(folder) == files_before


def test_a_failed_restore_into_a_new_sqlite_file_leaves_no_file(
    archive_and_target, tmp_path: Path
) -> None:
    archive, _before = archive_and_target
    bad = tmp_path / "bad.zip"
    _rewrite(archive, bad, _resealed(_dangling_foreign_key))
    new = tmp_path / "new" / "restored.db"
    new.parent.mkdir()
    result = _cli("--db", str(new), "restore", str(bad))
    assert result.exit_code == 1
    assert list(new.parent.iterdir()) == []
    result = _cli("--db", str(new), "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert new.exists()


def test_an_attachment_path_cannot_escape_the_store(
    run, archive_and_target, db_url: str, tmp_path: Path
) -> None:
    archive, before = archive_and_target
    bad = tmp_path / "evil.zip"
    evil = "attachments/../../escaped.txt"

    def add_evil(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            manifest = json.loads(data)
            _reseal(evil, b"owned", manifest)
            return json.dumps(manifest).encode()
        return data

    _rewrite(archive, bad, add_evil)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr(evil, b"owned")
    result = run("restore", str(bad), "--force", expect=1)
    assert "unsafe" in result.stderr
    assert table_dump(db_url) == before
    assert not list(tmp_path.rglob("escaped.txt"))
    with pytest.raises(ArchiveError):
        safe_relpath("/etc/passwd")
    assert safe_relpath("ab/abcdef") == "ab/abcdef"


def test_backup_restore_help_and_bad_file(run, tmp_path: Path) -> None:
    result = run("restore", str(tmp_path / "missing.zip"), expect=1)
    assert "no such file" in result.stderr
    assert BACKEND in ("sqlite", "postgresql")


def test_backup_fails_on_a_missing_file_unless_allowed(
    run, db: Database, tmp_path: Path
) -> None:
    fill(db)
    with db.session() as s:
        victim = s.scalars(sa.select(m.Attachment)).first()
        s.execute(sa.delete(stored_files).where(stored_files.c.sha256 == victim.sha256))
    result = run("backup", str(tmp_path / "b.zip"), expect=1)
    assert victim.sha256 in result.stderr and f"attachments #{victim.id}" in result.stderr
    assert "--allow-missing" in result.stderr and "no backup was written" in result.stderr
    assert not (tmp_path / "b.zip").exists()
    result = run("backup", str(tmp_path / "b.zip"), "--allow-missing")
    assert "Backup written to" in result.stdout
    assert "Warning:" in result.stderr and victim.sha256 in result.stderr


def test_backup_reads_files_still_in_an_older_attachments_folder(
    run, db: Database, tmp_path: Path
) -> None:
    """A database from before files were kept in it: its files are in the folder."""
    fill(db)
    folder = attachments_folder(db)
    with db.session() as s:
        victim = s.scalars(sa.select(m.Attachment)).first()
        data = s.execute(
            sa.select(stored_files.c.data).where(stored_files.c.sha256 == victim.sha256)
        ).scalar_one()
        s.execute(sa.delete(stored_files).where(stored_files.c.sha256 == victim.sha256))
    path = folder / victim.sha256[:2] / victim.sha256
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    run("backup", str(tmp_path / "b.zip"))
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        assert zf.read(f"attachments/{victim.sha256[:2]}/{victim.sha256}") == data
