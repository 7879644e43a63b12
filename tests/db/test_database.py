"""The database layer: sessions, constraints, timestamps, SQLite settings."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from outreach.config import database_url, mask_url
from outreach.db import Database, make_engine
from outreach.db.activity import record_activity
from outreach.schema import models as m

from ..conftest import BACKEND, row_counts


def _org(acronym: str = "AU", **kw) -> m.Organization:
    kw.setdefault("name", "African Union")
    return m.Organization(acronym=acronym, **kw)


def test_acronyms_are_unique_whatever_the_case(db: Database) -> None:
    with db.session() as s:
        s.add(_org("AU"))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(_org("au ", name="Another"))
    with db.session() as s:
        orgs = s.scalars(sa.select(m.Organization)).all()
        assert [o.acronym for o in orgs] == ["AU"]


def test_contact_email_unique_ignoring_case_and_blank_allowed_many_times(db: Database) -> None:
    with db.session() as s:
        org = _org()
        s.add(org)
        s.flush()
        s.add(
            m.Contact(organization=org, name="Office of the Chairperson", kind=m.ContactKind.OFFICE)
        )
        s.add(m.Contact(organization=org, name="Desk officer", email=None))
        s.add(m.Contact(organization=org, name="A. Person", email="Desk@AU.example"))
    with pytest.raises(IntegrityError), db.session() as s:
        org = s.scalars(sa.select(m.Organization)).one()
        s.add(m.Contact(organization=org, name="Other", email="desk@au.example"))
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(m.Contact)) == 3


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(m.Contact(organization_id=999, name="Nobody"))


def test_timestamps_are_utc_aware_and_naive_ones_refused(db: Database) -> None:
    tz = dt.timezone(dt.timedelta(hours=3))  # Riyadh
    local = dt.datetime(2012, 4, 2, 12, 0, tzinfo=tz)
    with db.session() as s:
        org = _org("GCC", name="Gulf Cooperation Council")
        s.add(org)
        s.flush()
        org.archived_at = local
    with db.session() as s:
        org = s.scalars(sa.select(m.Organization)).one()
        assert org.created_at.tzinfo is not None
        assert org.created_at.utcoffset() == dt.timedelta(0)
        assert org.archived_at == local
        assert org.archived_at.hour == 9
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), db.session() as s:
        org = s.scalars(sa.select(m.Organization)).one()
        org.archived_at = dt.datetime(2012, 4, 2, 12, 0)


def test_session_rolls_back_everything_on_error(db: Database, db_url: str) -> None:
    before = row_counts(db_url)
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(_org("ECOWAS", name="Economic Community of West African States"))
        s.flush()
        record_activity(s, action="create", entity="organization", entity_id=1)
        raise RuntimeError("boom")
    assert row_counts(db_url) == before


def test_activity_records_the_actor(db: Database) -> None:
    with db.session() as s:
        org = _org()
        s.add(org)
        s.flush()
        record_activity(
            s,
            action="create",
            entity="organization",
            entity_id=org.id,
            organization_id=org.id,
            summary="added AU",
            changes={"name": [None, "African Union"]},
        )
    with db.session() as s:
        row = s.scalars(sa.select(m.Activity)).one()
        assert (row.actor, row.action, row.entity, row.summary) == (
            "tester",
            "create",
            "organization",
            "added AU",
        )
        assert row.changes == {"name": [None, "African Union"]}
        assert row.at.tzinfo is not None


def test_unicode_round_trips_exactly(db: Database) -> None:
    names = ["Organisation des États américains", "جامعة الدول العربية", "Comunidad Andina — Ñ"]
    with db.session() as s:
        for i, name in enumerate(names):
            s.add(_org(f"X{i}", name=name, languages=["ar", "fr"]))
    with db.session() as s:
        got = s.scalars(sa.select(m.Organization.name).order_by(m.Organization.id)).all()
        assert got == names
        assert s.scalars(sa.select(m.Organization)).first().languages == ["ar", "fr"]


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite connection settings")
def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(db: Database) -> None:
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        # letters are about 2 KB: a new database stores several per page
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 16_384


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite connection settings")
def test_an_existing_sqlite_database_keeps_its_page_size(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA page_size = 4096")
        raw.execute("CREATE TABLE kept (x INTEGER)")
        raw.execute("INSERT INTO kept VALUES (42)")
    raw.close()
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("SELECT x FROM kept").scalar() == 42
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_database_url_resolution(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("OUTREACH_DATABASE_URL", raising=False)
    assert database_url(tmp_path / "a.db") == f"sqlite:///{tmp_path / 'a.db'}"
    assert database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    monkeypatch.setenv("OUTREACH_DATABASE_URL", "postgresql://u@h/env")
    assert database_url(None) == "postgresql+psycopg://u@h/env"
    assert database_url("other.db").endswith("/other.db")
    assert mask_url("postgresql+psycopg://u:p%40ss@h/d") == "postgresql+psycopg://u:***@h/d"
