"""The one bulk row writer (COPY on PostgreSQL, chunked executemany on
SQLite) stores what an ORM or Core insert would store."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from outreach.db import Database, bulk
from outreach.db.activity import COLUMNS, record_activities, record_activity
from outreach.schema import tables
from outreach.schema.enums import OrgKind, Region

NOW = dt.datetime(2012, 9, 5, 14, 30, 15, 123456, tzinfo=dt.UTC)
AWKWARD = [
    "tab\there",
    "new\nline and\r\ncrlf",
    "back\\slash \\N \\t",
    "quote ' and \" and ''",
    "unicode: Côte d'Ivoire, الاتحاد الأفريقي, 中文, 🌍",
    "",
    "percent %s %(x)s ?",
]
ORG_COLUMNS = (
    "acronym",
    "acronym_key",
    "name",
    "kind",
    "region",
    "languages",
    "tags",
    "notes",
    "archived_at",
    "created_at",
    "updated_at",
)


def _org_row(i: int, notes: str | None, **kw) -> list:
    row = {
        "acronym": f"O{i}",
        "acronym_key": f"o{i}",
        "name": f"Organization {i}",
        "kind": OrgKind.REGIONAL,
        "region": Region.AFRICA if i % 2 else None,
        "languages": ["en", "fr"] if i % 2 else [],
        "tags": [notes or "x", "ü"],
        "notes": notes,
        "archived_at": None,
        "created_at": NOW,
        "updated_at": NOW + dt.timedelta(seconds=i),
        **kw,
    }
    return [row[c] for c in ORG_COLUMNS]


def _stored(db: Database) -> list[sa.Row]:
    with db.read() as conn:
        t = tables.organizations
        return conn.execute(sa.select(*(t.c[c] for c in ORG_COLUMNS)).order_by(t.c.id)).all()


@pytest.mark.parametrize("how", ["insert_rows", "row_writer"])
def test_values_come_back_as_they_went_in(db: Database, how: str) -> None:
    rows = [_org_row(i, text) for i, text in enumerate([*AWKWARD, None])]
    with db.write() as conn:
        if how == "insert_rows":
            assert bulk.insert_rows(conn, tables.organizations, ORG_COLUMNS, rows) == len(rows)
        else:
            with bulk.row_writer(conn, tables.organizations, ORG_COLUMNS) as write:
                for row in rows:
                    write(row)
    stored = _stored(db)
    assert [list(r) for r in stored] == rows
    assert all(r.created_at.tzinfo is not None for r in stored)
    assert stored[-1].notes is None
    assert type(stored[0].kind) is OrgKind


def test_constants_are_written_once_and_stored_for_every_row(db: Database) -> None:
    rows = [[f"C{i}", f"c{i}", f"Name {i}"] for i in range(2500)]  # more than a chunk
    constants = {
        "kind": OrgKind.OTHER,
        "languages": ["ar"],
        "tags": [],
        "notes": "same\tfor\\all\n",
        "created_at": NOW,
        "updated_at": NOW,
    }
    columns = ("acronym", "acronym_key", "name")
    with db.write() as conn, bulk.row_writer(conn, tables.organizations, columns, constants) as w:
        for row in rows:
            w(row)
    with db.read() as conn:
        t = tables.organizations
        got = conn.execute(sa.select(t).order_by(t.c.id)).all()
    assert len(got) == 2500
    assert {(r.kind, tuple(r.languages), r.notes, r.created_at) for r in got} == {
        (OrgKind.OTHER, ("ar",), "same\tfor\\all\n", NOW)
    }
    assert [r.acronym for r in got[:2]] == ["C0", "C1"]


def test_an_error_in_the_block_leaves_nothing(db: Database) -> None:
    with (
        pytest.raises(RuntimeError),
        db.write() as conn,
        bulk.row_writer(conn, tables.organizations, ORG_COLUMNS) as write,
    ):
        write(_org_row(1, "a"))
        raise RuntimeError("stop")
    assert _stored(db) == []


def test_nothing_to_insert(db: Database) -> None:
    with db.write() as conn:
        assert bulk.insert_rows(conn, tables.organizations, ORG_COLUMNS, []) == 0
    assert _stored(db) == []


def test_json_none_is_stored_as_the_column_stores_it(db: Database) -> None:
    rows = [
        [NOW, "tester", "import", "contact", 1, None, "with changes", {"name": ["a", "b\tc"]}],
        [NOW, "tester", "import", "contact", 2, None, None, None],
    ]
    with db.write() as conn:
        assert record_activities(conn, rows) == 2
        record_activity(conn, action="update", entity="contact", entity_id=3, at=NOW)
    with db.read() as conn:
        a = tables.activity
        got = conn.execute(sa.select(*(a.c[c] for c in COLUMNS)).order_by(a.c.id)).all()
    assert [list(r) for r in got[:2]] == rows
    assert got[2].at == NOW and got[2].changes is None
    # the bulk row with no changes reads back like the one written by record_activity
    assert got[1].changes == got[2].changes


def _changes_nulls(db: Database) -> list[tuple[int, bool]]:
    """(entity_id, whether ``changes`` is SQL NULL) for every activity row."""
    with db.read() as conn:
        a = tables.activity
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(a.c.entity_id, a.c.changes.is_(sa.null())).order_by(a.c.id)
            )
        ]


@pytest.mark.parametrize("how", ["insert_rows", "row_writer"])
def test_none_as_null_stores_sql_null_in_json_columns(db: Database, how: str) -> None:
    rows = [
        [NOW, "tester", "import", "contact", 1, None, None, None],
        [NOW, "tester", "import", "contact", 2, None, None, {"a": None}],
        [NOW, "tester", "import", "contact", 3, None, None, sa.JSON.NULL],
    ]
    with db.write() as conn:
        if how == "insert_rows":
            bulk.insert_rows(conn, tables.activity, COLUMNS, rows, none_as_null=True)
            bulk.insert_rows(conn, tables.activity, COLUMNS, rows[:1], none_as_null=True)
        else:
            with bulk.row_writer(conn, tables.activity, COLUMNS, none_as_null=True) as write:
                for row in [*rows, rows[0]]:
                    write(row)
        bulk.insert_rows(conn, tables.activity, COLUMNS, rows[:1])  # JSON null, as before
    assert _changes_nulls(db) == [(1, True), (2, False), (3, False), (1, True), (1, False)]
    with db.read() as conn:
        a = tables.activity
        query = sa.select(a.c.entity_id, a.c.changes).where(a.c.entity_id > 1)
        got = dict(conn.execute(query).all())
    assert got == {2: {"a": None}, 3: None}  # 3: JSON null


@pytest.mark.parametrize("how", ["insert_rows", "row_writer"])
def test_progress_is_told_of_every_chunk(
    db: Database, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "INSERT_CHUNK", 3)
    seen: list[int] = []
    rows = [_org_row(i, f"n{i}") for i in range(7)]
    with db.write() as conn:
        if how == "insert_rows":
            bulk.insert_rows(conn, tables.organizations, ORG_COLUMNS, rows, progress=seen.append)
        else:
            with bulk.row_writer(
                conn, tables.organizations, ORG_COLUMNS, progress=seen.append
            ) as write:
                for row in rows:
                    write(row)
    assert seen == [3, 3, 1]
    assert len(_stored(db)) == 7


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (_org_row(1, "again"), sa.exc.IntegrityError),
        (_org_row(2, "a\x00b"), sa.exc.DBAPIError),
    ],
    ids=["repeated key", "NUL"],
)
def test_a_refused_row_raises_sqlalchemys_error(db: Database, row: list, error: type) -> None:
    if db.is_sqlite and "a\x00b" in row:
        pytest.skip("SQLite stores NUL")
    with (
        pytest.raises(error),
        db.write() as conn,
        bulk.row_writer(conn, tables.organizations, ORG_COLUMNS) as write,
    ):
        write(_org_row(1, "first"))
        write(row)
    assert _stored(db) == []
