"""Backup and restore round trips: every table and value survives, across
backends; the archive describes itself; an older schema is upgraded."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.backup.archive import FORMAT_VERSION, read_manifest
from outreach.backup.restore import restore
from outreach.backup.write import attachments_folder, backup
from outreach.db import Database, head_revision, make_engine
from outreach.db.activity import record_activity
from outreach.schema import models as m
from outreach.schema.models import Base

from ..conftest import table_dump
from ._fixtures import (
    UTC,
    _cli,
    _files,
    _sql_null_json,
    _sqlite_url,
    _without_restore_rows,
    fill,
    zf_read,
)


def test_every_table_has_data_in_the_round_trip_fixture(tmp_path: Path) -> None:
    db = Database(tmp_path / "src.db", actor="amina")
    db.init()
    fill(db)
    empty = [t for t, rows in table_dump(db.url).items() if not rows]
    db.dispose()
    assert not empty, f"add rows for {empty} to tests/backup/_fixtures.py fill()"


def test_sqlite_to_postgresql_to_sqlite_gives_identical_data(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each database has its own attachment store: beside the SQLite files,
    # $OUTREACH_ATTACHMENTS_DIR for PostgreSQL.
    pg_store = {"OUTREACH_ATTACHMENTS_DIR": str(tmp_path / "pg-attachments")}
    monkeypatch.delenv("OUTREACH_ATTACHMENTS_DIR", raising=False)
    source = Database(tmp_path / "source.db", actor="amina")
    source.init()
    fill(source)
    original = table_dump(source.url)
    original_null_json = _sql_null_json(source.url)
    original_files = _files(attachments_folder(source))
    assert len(original_files) == 1  # the other file is in the database (stored_files)

    first = tmp_path / "from-sqlite.zip"
    result = _cli("--db", str(tmp_path / "source.db"), "backup", str(first))
    assert result.exit_code == 0, result.output
    assert "Backup written to" in result.stdout

    result = _cli("--db", pg_url, "restore", str(first), env=pg_store)
    assert result.exit_code == 0, result.output
    assert "Restored" in result.stdout
    on_pg = table_dump(pg_url)
    assert _without_restore_rows(on_pg) == original
    assert _sql_null_json(pg_url) == original_null_json
    pg_db = Database(pg_url)
    assert _files(tmp_path / "pg-attachments") == original_files
    shutil.rmtree(attachments_folder(source))  # the files must come from the archive

    second = tmp_path / "from-postgresql.zip"
    result = _cli("--db", pg_url, "backup", str(second), env=pg_store)
    assert result.exit_code == 0, result.output
    pg_before_second_backup = table_dump(pg_url)
    pg_before_second_backup["activity"] = pg_before_second_backup["activity"][:-1]

    final_path = tmp_path / "final.db"
    result = _cli("--db", str(final_path), "restore", str(second))
    assert result.exit_code == 0, result.output
    final = table_dump(_sqlite_url(final_path))
    assert _without_restore_rows(final) == original
    # Exactly what PostgreSQL had (including its restore record), row by row.
    assert final["activity"][:-1] == pg_before_second_backup["activity"]
    assert _sql_null_json(_sqlite_url(final_path)) == original_null_json
    final_db = Database(final_path)
    assert attachments_folder(final_db) == tmp_path / "final-attachments"
    assert _files(attachments_folder(final_db)) == original_files

    # New rows on PostgreSQL get fresh ids, in every table restored with ids.
    with pg_db.session() as s:
        org = m.Organization(acronym="OAS", name="Organization of American States")
        s.add(org)
        record_activity(s, action="create", entity="organization")
        s.flush()
        assert org.id == max(r[0] for r in original["organizations"]) + 1
    engine = make_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            seq = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
            ).scalar()
            top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
            assert conn.execute(sa.text("SELECT nextval(:s)"), {"s": seq}).scalar() > top, table
    engine.dispose()
    for db in (source, pg_db, final_db):
        db.dispose()


def test_round_trip_on_the_test_backend(db: Database, empty_db_url: str, tmp_path: Path) -> None:
    fill(db)
    before = table_dump(db.url)
    archive = tmp_path / "b.zip"
    backup(db, archive)
    target = Database(empty_db_url, actor="omar")
    result = restore(target, archive)
    assert result.total_rows == sum(len(rows) for rows in before.values())
    after = table_dump(empty_db_url)
    assert _without_restore_rows(after) == before
    restored = [r for r in after["activity"] if "restore" in r]
    assert len(restored) == 1 and "omar" in restored[0]
    # new rows do not collide with restored ids (PostgreSQL sequences were moved)
    with target.session() as s:
        for model in (m.Organization, m.Letter, m.Activity):
            assert s.scalar(sa.select(sa.func.max(model.id))) is not None
        org = m.Organization(acronym="CARICOM", name="Caribbean Community")
        s.add(org)
        s.flush()
        assert org.id == max(r[0] for r in before["organizations"]) + 1
    target.dispose()


def test_backup_records_activity_and_describes_itself(db: Database, tmp_path: Path) -> None:
    fill(db)
    archive = tmp_path / "b.zip"
    result = backup(db, archive)
    # the pdf and one more in stored_files, the scan in the older folder
    assert result.missing_attachments == [] and result.attachments == 3
    manifest = read_manifest(archive)
    assert manifest["format"] == "outreach-backup"
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["schema_revision"] == head_revision() == result.schema_revision
    assert manifest["created_at"].endswith("Z")
    assert {t.name for t in Base.metadata.sorted_tables} == set(manifest["tables"])
    assert manifest["tables"]["letters"]["rows"] == 2
    with db.session() as s:
        last = s.scalars(sa.select(m.Activity).order_by(m.Activity.id.desc())).first()
    assert last.action == "backup" and last.actor == "tester"
    with zipfile.ZipFile(archive) as zf:
        lines = zf.read("tables/organizations.jsonl").decode("utf-8").splitlines()
        dialogue = json.loads(zf.read("tables/dialogues.jsonl").decode().splitlines()[0])
        letters = [json.loads(x) for x in zf.read("tables/letters.jsonl").decode().splitlines()]
    las = json.loads(lines[0])
    assert las["name"] == "جامعة الدول العربية"  # readable UTF-8, not \u escapes
    assert "جامعة" in lines[0]
    assert las["languages"] == ["ar"] and las["kind"] == "regional"
    assert dialogue["date"] == "2012-09-05"
    assert letters[0]["sent_at"] == "2012-03-14T09:30:00.123456Z"
    contact = json.loads(zf_read(archive, "tables/contacts.jsonl")[1])
    assert contact["do_not_contact"] is True


def test_an_archive_from_an_older_schema_is_restored_and_upgraded(
    empty_db_url: str, db: Database, tmp_path: Path
) -> None:
    first = "0001"
    old = Database(tmp_path / "old.db", actor="amina", check_schema=False)
    old.upgrade(first)
    with old.connect() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        conn.execute(
            meta.tables["organizations"].insert(),
            [
                {
                    "id": 7,
                    "acronym": "GCC",
                    "acronym_key": "gcc",
                    "name": "مجلس التعاون لدول الخليج العربية",
                    "kind": "sub-regional",
                    "languages": ["ar"],
                    "tags": [],
                    "created_at": dt.datetime(2012, 3, 1, 10, 0),
                    "updated_at": dt.datetime(2012, 3, 1, 10, 0),
                }
            ],
        )
        conn.commit()
    archive = tmp_path / "old.zip"
    old.dispose()
    old = Database(tmp_path / "old.db", actor="amina")  # checks the schema by default
    result = backup(old, archive)
    with old.connect() as conn:
        assert conn.execute(sa.text("SELECT action FROM activity")).scalars().all() == ["backup"]
    old.dispose()
    assert result.schema_revision == first

    result = _cli("--db", db.url, "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert f"upgraded from schema {first}" in result.stdout
    with db.session() as s:
        gcc = s.get(m.Organization, 7)
        assert gcc.name == "مجلس التعاون لدول الخليج العربية"
        assert gcc.created_at == dt.datetime(2012, 3, 1, 10, 0, tzinfo=UTC)
        assert gcc.kind is m.OrgKind.SUBREGIONAL
        s.add(m.Organization(acronym="AU", name="African Union"))
        s.flush()
    assert Database(db.url).current_revision() == head_revision()
