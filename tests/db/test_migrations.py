"""The migrations: pytest-alembic's built-in checks, plus "no rows lost"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from pytest_alembic import Config as AlembicTestConfig
from pytest_alembic.tests import (  # noqa: F401  (collected as tests)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from outreach.db import Database, make_engine
from outreach.resources import migrations_path


@pytest.fixture
def alembic_config() -> AlembicTestConfig:
    return AlembicTestConfig(config_options={"script_location": str(migrations_path())})


@pytest.fixture
def alembic_engine(empty_db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


def _revisions_oldest_first(db: Database) -> list[str]:
    return [r.revision for r in reversed(db.history())]


def _seed_first_revision(conn: sa.Connection) -> dict[str, int]:
    """Fill every table the way the first schema revision shaped it."""
    now = dt.datetime(2012, 3, 1, 9, 30, tzinfo=dt.UTC)
    stamp = {"created_at": now, "updated_at": now}
    md = sa.MetaData()
    md.reflect(conn)
    t = md.tables
    for row in [
        dict(
            id=1,
            acronym="GCC",
            acronym_key="gcc",
            name="Cooperation Council for the Arab States of the Gulf",
            kind="sub-regional",
            region="mena",
            hq_city="Riyadh",
            hq_country="SA",
            languages=["ar"],
            tags=["2012"],
            **stamp,
        ),
        dict(
            id=2,
            acronym="OEA",
            acronym_key="oea",
            name="Organización de los Estados Americanos",
            kind="regional",
            region="americas",
            languages=["es", "en", "pt", "fr"],
            tags=[],
            **stamp,
        ),
    ]:
        conn.execute(t["organizations"].insert(), row)
    for row in [
        dict(
            id=1,
            organization_id=1,
            kind="office",
            name="Office of the Secretary-General",
            salutation="Your Excellency",
            language="ar",
            is_primary=True,
            do_not_contact=False,
            tags=[],
            **stamp,
        ),
        dict(
            id=2,
            organization_id=2,
            kind="person",
            name="José Müller-Ñúñez",
            email="Jose@example.org",
            email_key="jose@example.org",
            language="es",
            is_primary=True,
            do_not_contact=False,
            tags=[],
            **stamp,
        ),
    ]:
        conn.execute(t["contacts"].insert(), row)
    conn.execute(
        t["dialogues"].insert(),
        [dict(id=1, slug="ga-2012", body="general-assembly", title="Third pillar", **stamp)],
    )
    conn.execute(
        t["campaigns"].insert(),
        [
            dict(
                id=1,
                slug="2012-regional",
                title="Regional letters 2012",
                dialogue_id=1,
                sender={},
                variables={},
                status="active",
                **stamp,
            )
        ],
    )
    conn.execute(
        t["letters"].insert(),
        [
            dict(
                id=1,
                campaign_id=1,
                organization_id=1,
                contact_id=1,
                round=0,
                version=1,
                language="ar",
                subject="الحوار",
                body="نص الرسالة",
                template_name="letter",
                template_hash="0" * 64,
                status="sent",
                channel="email",
                sent_at=now,
                message_id="<1@outreach.test>",
                **stamp,
            )
        ],
    )
    conn.execute(
        t["responses"].insert(),
        [
            dict(
                id=1,
                campaign_id=1,
                organization_id=1,
                letter_id=1,
                received_at=now,
                channel="post",
                stance="supportive",
                summary="Reply from the Secretary-General",
                **stamp,
            )
        ],
    )
    conn.execute(
        t["attachments"].insert(),
        [dict(id=1, response_id=1, filename="reply.pdf", size=10, sha256="a" * 64, created_at=now)],
    )
    conn.execute(
        t["activity"].insert(),
        [dict(id=1, at=now, actor="tester", action="create", entity="organization", entity_id=1)],
    )
    return {name: 0 for name in t}


def test_upgrade_keeps_every_row(empty_db_url: str) -> None:
    """A database filled at the first revision keeps all its rows through every
    later migration, and through a downgrade back and a second upgrade."""
    db = Database(empty_db_url, check_schema=False)
    revisions = _revisions_oldest_first(db)
    db.upgrade(revisions[0])
    with db.engine.begin() as conn:
        _seed_first_revision(conn)

    def snapshot() -> dict[str, list[tuple]]:
        with db.engine.connect() as conn:
            md = sa.MetaData()
            md.reflect(conn)
            return {
                name: sorted(conn.execute(sa.select(table.c.id)).scalars())
                for name, table in md.tables.items()
                if name != "alembic_version"
            }

    before = snapshot()
    assert all(before[name] for name in before), before
    db.upgrade("head")
    after = snapshot()
    for name, ids in before.items():
        assert after[name] == ids, f"rows lost from {name} by the upgrade"
    if len(revisions) > 1:
        db.downgrade(revisions[0])
        db.upgrade("head")
        again = snapshot()
        for name, ids in before.items():
            assert again[name] == ids, f"rows lost from {name} by downgrade and upgrade"
    with db.session() as session:
        name = session.execute(sa.text("SELECT name FROM contacts WHERE id = 2")).scalar_one()
        assert name == "José Müller-Ñúñez"
    db.dispose()


def test_fast_revision_reader_agrees_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    from outreach.db import migrations as db_module

    script = ScriptDirectory.from_config(db_module.alembic_config())
    assert db_module.head_revision() == script.get_current_head()
    assert db_module.known_revisions() == {s.revision for s in script.walk_revisions()}
