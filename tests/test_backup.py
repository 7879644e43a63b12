"""Backup and restore: complete, portable, verified, all-or-nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from outreach import backup as backup_module
from outreach import models as m
from outreach.activity import record_activity
from outreach.backup import ArchiveError, attachments_folder, backup, restore
from outreach.cli import cli
from outreach.db import Database, head_revision, make_engine
from outreach.errors import ConflictError
from outreach.models import Base

from .conftest import BACKEND, table_dump

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
UTC = dt.UTC


# --- helpers ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _attachments_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite keeps attachment files beside the database; a PostgreSQL test
    database keeps them under this test's tmp_path, never in the home folder."""
    if BACKEND == "postgresql":
        monkeypatch.setenv("OUTREACH_ATTACHMENTS_DIR", str(tmp_path / "server-attachments"))
    else:
        monkeypatch.delenv("OUTREACH_ATTACHMENTS_DIR", raising=False)


def _pg_admin_url() -> str:
    raw = os.environ.get("OUTREACH_TEST_DATABASE_URL", "").strip()
    if raw.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    return raw if raw.startswith("postgresql") else PG_ADMIN_URL


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; skips only when no server answers."""
    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError:
        admin.dispose()
        if os.environ.get("OUTREACH_TEST_DATABASE_URL"):
            raise
        pytest.skip("no PostgreSQL server at 127.0.0.1:5432")
    name = f"outreach_backup_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _store_file(db: Database, data: bytes) -> str:
    """Put *data* in *db*'s attachment store; return its SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        from outreach.attachments import AttachmentStore
    except ImportError:  # pragma: no cover - the store module is optional here
        AttachmentStore = None
    if AttachmentStore is not None:
        assert AttachmentStore.for_database(db).put_bytes(data).sha256 == digest
        return digest
    folder = attachments_folder(db)
    assert folder is not None
    path = folder / digest[:2] / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def fill(db: Database) -> None:
    """A small but awkward secretariat: Arabic and accents, JSON, nulls, follow-ups,
    microsecond timestamps, files with arbitrary bytes."""
    pdf = b"%PDF-1.4\n" + bytes(range(256)) + "رسالة".encode()
    scan = b"\x00\xff" * 500
    sha_pdf = _store_file(db, pdf)
    sha_scan = _store_file(db, scan)
    with db.session() as s:
        las = m.Organization(
            acronym="LAS",
            name="جامعة الدول العربية",
            kind=m.OrgKind.REGIONAL,
            region=m.Region.MENA,
            hq_city="القاهرة",
            hq_country="EG",
            languages=["ar"],
            tags=["gulf", "إقليمي"],
            notes="Wrote back in 2012.\nSecond line; quotes \" and 'single'.",
        )
        ecowas = m.Organization(
            acronym="ECOWAS",
            name="Communauté économique des États de l'Afrique de l'Ouest",
            kind=m.OrgKind.SUBREGIONAL,
            region=m.Region.AFRICA,
            languages=["en", "fr", "pt"],
            archived_at=dt.datetime(2020, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        )
        s.add_all([las, ecowas])
        s.flush()
        sg = m.Contact(
            organization=las,
            kind=m.ContactKind.OFFICE,
            name="مكتب الأمين العام",
            salutation="معالي الأمين العام",
            email="SG@LAS.example",
            language="ar",
            is_primary=True,
            tags=[],
        )
        dnc = m.Contact(
            organization=ecowas,
            name="Aïssata Traoré",
            email=None,
            do_not_contact=True,
            do_not_contact_reason="Asked not to be written to",
            postal_address="Abuja\nNigeria",
        )
        s.add_all([sg, dnc])
        dialogue = m.Dialogue(
            slug="2012-third-pillar",
            title="Timely and decisive response",
            date=dt.date(2012, 9, 5),
            report_symbol="A/66/874-S/2012/578",
            states_spoke=56,
        )
        tba = m.Dialogue(slug="next", title="To be announced", date=None)
        s.add_all([dialogue, tba])
        s.flush()
        campaign = m.Campaign(
            slug="2012-letters",
            title="Letters ahead of the 2012 dialogue",
            dialogue=dialogue,
            template="third-pillar",
            sender={"name": "Secrétariat", "address": ["Line 1", "Ligne 2"], "n": 3},
            variables={"deadline": "2012-07-01", "nested": {"ok": True, "none": None}},
            status=m.CampaignStatus.ACTIVE,
            starts_on=dt.date(2012, 3, 1),
        )
        s.add(campaign)
        s.flush()
        if hasattr(m, "CampaignRecipient"):
            s.add(m.CampaignRecipient(campaign=campaign, organization=las, contact=sg))
            s.add(m.CampaignRecipient(campaign=campaign, organization=ecowas))
        letter = m.Letter(
            campaign=campaign,
            organization=las,
            contact=sg,
            language="ar",
            subject="الحوار التفاعلي غير الرسمي",
            body="معالي الأمين العام،\n\nنكتب إليكم…",
            template_name="third-pillar.ar.md.j2",
            template_hash="a" * 64,
            status=m.LetterStatus.SENT,
            sent_at=dt.datetime(2012, 3, 14, 9, 30, 0, 123456, tzinfo=UTC),
            message_id="<1@outreach.example>",
        )
        s.add(letter)
        s.flush()
        reminder = m.Letter(
            campaign=campaign,
            organization=las,
            contact=sg,
            round=1,
            followup_of_id=letter.id,
            language="ar",
            subject="تذكير",
            body="…",
            template_name="third-pillar-reminder.ar.md.j2",
            template_hash="b" * 64,
        )
        s.add(reminder)
        s.flush()
        response = m.Response(
            campaign=campaign,
            organization=las,
            letter=letter,
            contact_id=sg.id,
            received_at=dt.datetime(2012, 4, 2, 8, 0, tzinfo=UTC),
            channel=m.Channel.POST,
            sender="الأمين العام لمجلس التعاون",
            stance=m.Stance.SUPPORTIVE,
            summary="Supports the dialogue; will send a representative.",
        )
        s.add(response)
        s.flush()
        s.add(
            m.Attachment(
                response=response,
                filename="رد.pdf",
                content_type="application/pdf",
                size=len(pdf),
                sha256=sha_pdf,
            )
        )
        s.add(m.Attachment(response=response, filename="scan.bin", size=len(scan), sha256=sha_scan))
        if hasattr(m, "InboundMessage"):
            s.add(
                m.InboundMessage(
                    message_id="<reply@las.example>",
                    from_address="sg@las.example",
                    subject="رد",
                    date=dt.datetime(2012, 4, 2, 7, 59, tzinfo=UTC),
                    raw_size=len(scan),
                    raw_sha256=sha_scan,
                    status=m.InboundStatus.MATCHED,
                    response_id=response.id,
                )
            )
        record_activity(s, action="create", entity="organization", entity_id=las.id)
        record_activity(
            s,
            action="update",
            entity="organization",
            entity_id=las.id,
            organization_id=las.id,
            changes={"name": ["League", "جامعة الدول العربية"], "tags": [[], ["gulf"]]},
        )


def _sql_null_json(url: str) -> dict[str, int]:
    """How many JSON cells are SQL NULL, per column: must survive a round trip."""
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for col in table.columns:
                if isinstance(col.type, sa.JSON):
                    out[f"{table.name}.{col.name}"] = conn.execute(
                        sa.select(sa.func.count()).select_from(table).where(col.is_(None))
                    ).scalar_one()
    engine.dispose()
    return out


def _without_restore_rows(dump: dict) -> dict:
    """The dump minus the activity rows that backup/restore add about themselves."""
    out = dict(dump)
    actions = {c.name: i for i, c in enumerate(Base.metadata.tables["activity"].columns)}
    out["activity"] = [
        row for row in dump["activity"] if row[actions["action"]] not in ("backup", "restore")
    ]
    return out


def _files(folder: Path | None) -> dict[str, bytes]:
    if folder is None or not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["--as", "tester", *args], env=env, catch_exceptions=False)


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _rewrite(src: Path, dest: Path, change) -> None:
    """Copy the zip *src* to *dest*, passing (name, bytes) through *change*."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)


def _reseal(name: str, data: bytes, manifest: dict) -> None:
    manifest["members"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


# --- round trips -------------------------------------------------------------------------


def test_every_table_has_data_in_the_round_trip_fixture(tmp_path: Path) -> None:
    db = Database(tmp_path / "src.db", actor="amina")
    db.init()
    fill(db)
    empty = [t for t, rows in table_dump(db.url).items() if not rows]
    db.dispose()
    assert not empty, f"add rows for {empty} to tests/test_backup.py fill()"


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
    assert len(original_files) == 2

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
    assert result.missing_attachments == [] and result.attachments == 2
    manifest = backup_module.read_manifest(archive)
    assert manifest["format"] == "outreach-backup"
    assert manifest["format_version"] == backup_module.FORMAT_VERSION
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


def zf_read(archive: Path, name: str) -> list[str]:
    with zipfile.ZipFile(archive) as zf:
        return zf.read(name).decode("utf-8").splitlines()


def test_backup_refuses_to_overwrite_and_leaves_no_partial_file(run, tmp_path: Path) -> None:
    archive = tmp_path / "b.zip"
    archive.write_text("keep me")
    result = run("backup", str(archive), expect=1)
    assert "already exists" in result.stderr and "--overwrite" in result.stderr
    assert archive.read_text() == "keep me"
    run("backup", str(archive), "--overwrite")
    assert zipfile.is_zipfile(archive)
    result = run("backup", str(tmp_path))  # a folder: named after the time
    made = [p for p in tmp_path.iterdir() if p.name.startswith("outreach-backup-")]
    assert len(made) == 1 and made[0].name.endswith("Z.zip")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- refusing, forcing, failing --------------------------------------------------------


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


@pytest.fixture
def archive_and_target(db: Database, db_url: str, tmp_path: Path):
    """A good archive, and a non-empty target database with its dump."""
    source = Database(tmp_path / "source.db", actor="amina")
    source.init()
    fill(source)
    archive = tmp_path / "good.zip"
    backup(source, archive)
    source.dispose()
    with db.session() as s:
        s.add(m.Organization(acronym="IGAD", name="Intergovernmental Authority on Development"))
    return archive, table_dump(db_url)


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


def _resealed(change):
    """A damage that keeps the checksums right, so only loading can catch it."""
    manifest_holder: dict = {}

    def apply(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            manifest = json.loads(data)
            for member, new in manifest_holder.items():
                _reseal(member, new, manifest)
            return json.dumps(manifest).encode()
        new = change(name, data)
        if new != data:
            manifest_holder[name] = new
        return new

    return apply


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
        backup_module._safe_relpath("/etc/passwd")
    assert backup_module._safe_relpath("ab/abcdef") == "ab/abcdef"


# --- older schemas --------------------------------------------------------------------------


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


def test_backup_restore_help_and_bad_file(run, tmp_path: Path) -> None:
    result = run("restore", str(tmp_path / "missing.zip"), expect=1)
    assert "no such file" in result.stderr
    assert BACKEND in ("sqlite", "postgresql")


def test_backup_warns_about_attachment_files_missing_from_the_store(
    run, db: Database, tmp_path: Path
) -> None:
    fill(db)
    folder = attachments_folder(db)
    victim = next(p for p in folder.rglob("*") if p.is_file())
    victim.unlink()
    result = run("backup", str(tmp_path / "b.zip"))
    assert "Backup written to" in result.stdout
    assert "Warning:" in result.stderr and victim.name in result.stderr
