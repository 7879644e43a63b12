"""What the backup tests share: a database with rows in every table, fresh
PostgreSQL databases, archive rewriting and resealing, attachment folders."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from outreach.backup.write import attachments_folder, backup
from outreach.cli import cli
from outreach.db import Database, make_engine
from outreach.db.activity import record_activity
from outreach.schema import models as m
from outreach.schema.models import Base

from ..conftest import BACKEND, scratch_pg_database, table_dump

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _attachments_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite keeps attachment files beside the database; a PostgreSQL test
    database keeps them under this test's tmp_path, never in the home folder."""
    if BACKEND == "postgresql":
        monkeypatch.setenv("OUTREACH_ATTACHMENTS_DIR", str(tmp_path / "server-attachments"))
    else:
        monkeypatch.delenv("OUTREACH_ATTACHMENTS_DIR", raising=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; skips only when no server answers."""
    with scratch_pg_database("outreach_backup") as url:
        yield url.render_as_string(hide_password=False)


def _store_file(db: Database, data: bytes, *, legacy: bool = False) -> str:
    """Put *data* in *db*'s attachment store (the database), or with *legacy*
    in the folder where older versions kept files; return its SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        from outreach.attachments import AttachmentStore
    except ImportError:  # pragma: no cover - the store module is optional here
        AttachmentStore = None
    if AttachmentStore is not None and not legacy:
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
    sha_scan = _store_file(db, scan, legacy=True)  # a file from an older version
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
        if hasattr(m, "StoredFile"):
            # every byte value and a NUL: the database keeps files as they are
            # (the store already keeps the pdf and the scan there; one more of its own)
            raw = scan + bytes(range(256))
            s.add(m.StoredFile(sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), data=raw))
            s.add(
                m.MailboxState(
                    account="secretariat@imap.example:993", folder="INBOX/Réponses",
                    uidvalidity=3_000_000_001, last_uid=42,
                )
            )  # fmt: skip
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


def zf_read(archive: Path, name: str) -> list[str]:
    with zipfile.ZipFile(archive) as zf:
        return zf.read(name).decode("utf-8").splitlines()


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
