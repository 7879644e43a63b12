"""Upgrades keep every value: a database filled at the first schema revision
goes up one revision at a time, down again and up again, and after every step
each row still holds exactly the values it had.

``tests/db/test_migrations.py::test_upgrade_keeps_every_row`` checks that row ids
survive; this test checks every column of every row (with accents, Arabic,
JSON, dates, NULLs), fills each revision's new tables as they appear so that
their rows are carried through the later steps too, and finally reads every
row back through the models.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.models import TABLES, Base

ROWS = 3
TEXT = "Organización — الأمانة العامة — Secrétariat"


def _tables_now(conn: sa.Connection) -> dict[str, list[str]]:
    """Table -> columns, as the database has them at its current revision."""
    inspector = sa.inspect(conn)
    return {
        name: [c["name"] for c in inspector.get_columns(name)]
        for name in inspector.get_table_names()
        if name != "alembic_version"
    }


def _value(table: sa.Table, column: sa.Column, i: int, present: dict[str, list[str]]) -> Any:
    """A value of the right shape for row *i* (1-based) of *column*."""
    if column.primary_key:
        return i
    optional = column.nullable and i == 2  # the second row leaves optional columns empty
    fks = list(column.foreign_keys)
    if fks:
        if optional or fks[0].column.table is table:  # self-reference: to row 1, or none
            return None if (optional or i == 1) else 1
        return i  # the parent row of the same number
    if optional:
        return None
    kind = column.type
    if isinstance(kind, sa.Enum):
        return kind.enums[i % len(kind.enums)]
    if isinstance(kind, sa.Boolean):
        return i % 2 == 1
    if isinstance(kind, sa.Integer):
        return 10 * i + 7
    if isinstance(kind, sa.Date):
        return dt.date(2012, 3, i)
    if isinstance(kind, sa.DateTime) or kind.__class__.__name__ == "UTCDateTime":
        return dt.datetime(2012, 3, i, 9, 30, 15, 123456, tzinfo=dt.UTC)
    if isinstance(kind, sa.JSON):
        if column.name in ("languages", "tags"):
            return ["ar", "fr", f"tag-{i}"]
        return {"reply_by": {"$date": "2012-06-15"}, "note": f"{TEXT} {i}", "n": [i, None]}
    if isinstance(kind, sa.LargeBinary):
        return bytes(range(256)) * i + TEXT.encode("utf-8")  # every byte value, and UTF-8
    if isinstance(kind, sa.String | sa.Text):
        text = f"{i}-{column.name}-{TEXT}"
        if column.name in ("hq_country",):
            return ["SA", "ET", "BR"][i % 3]
        if column.name in ("language", "default_language"):
            return ["ar", "fr", "es"][i % 3]
        if column.name.endswith("sha256") or column.name.endswith("_hash"):
            return f"{i:x}" * 64
        if column.name.endswith("_key"):
            text = text.casefold()
        length = getattr(kind, "length", None)
        return text[:length] if length else text
    raise AssertionError(f"no sample value for {table.name}.{column.name} ({kind!r})")


def _fill(conn: sa.Connection, present: dict[str, list[str]], tables: list[str]) -> None:
    """ROWS rows in each of *tables*, through the models' column types (only
    the columns the revision has)."""
    for table in Base.metadata.sorted_tables:
        if table.name not in tables:
            continue
        columns = [table.c[name] for name in present[table.name]]
        # Only the revision's columns, with the models' types (no later defaults).
        shaped = sa.Table(table.name, sa.MetaData(), *(sa.Column(c.name, c.type) for c in columns))
        for i in range(1, ROWS + 1):
            row = {c.name: _value(table, c, i, present) for c in columns}
            conn.execute(sa.insert(shaped).values(row))
    if conn.dialect.name == "postgresql":  # ids were given: move the sequences on
        for name in tables:
            conn.execute(
                sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {ROWS + 10})")
            )


def _snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, each column as the models read it."""
    with db.engine.connect() as conn:
        present = _tables_now(conn)
        out = {}
        for name, columns in present.items():
            table = Base.metadata.tables[name]
            cols = [table.c[c] for c in columns if c in table.c]
            rows = conn.execute(sa.select(*cols).order_by(table.c.id)).mappings().all()
            out[name] = [dict(r) for r in rows]
    return out


def _assert_kept(before: dict, after: dict, step: str) -> None:
    for name, rows in before.items():
        assert name in after, f"{step}: table {name} is gone"
        got = [{k: r[k] for k in rows[0]} for r in after[name]] if rows else after[name]
        assert got == rows, f"{step}: rows of {name} changed"


def test_every_value_survives_each_upgrade_and_downgrade(empty_db_url: str) -> None:
    db = Database(empty_db_url, check_schema=False)
    revisions = [r.revision for r in reversed(db.history())]
    assert len(revisions) >= 2
    db.upgrade(revisions[0])
    with db.engine.begin() as conn:
        present = _tables_now(conn)
        _fill(conn, present, list(present))
    first = _snapshot(db)
    assert all(len(rows) == ROWS for rows in first.values()), first.keys()

    snapshots = {revisions[0]: first}
    for before_rev, after_rev in itertools.pairwise(revisions):
        before = snapshots[before_rev]
        db.upgrade(after_rev)
        after = _snapshot(db)
        _assert_kept(before, after, f"upgrade {before_rev} -> {after_rev}")
        # Down again: exactly what there was; then up again for the next step.
        db.downgrade(before_rev)
        assert _snapshot(db) == before, f"downgrade {after_rev} -> {before_rev}"
        db.upgrade(after_rev)
        _assert_kept(before, _snapshot(db), f"upgrade {before_rev} -> {after_rev} again")
        # Fill the tables this revision added, so later steps carry them too.
        with db.engine.begin() as conn:
            now = _tables_now(conn)
            new = [name for name in now if name not in before]
            _fill(conn, now, new)
        snapshots[after_rev] = _snapshot(db)

    head = snapshots[revisions[-1]]
    assert {m.__table__.name for m in TABLES} <= set(head)
    assert all(len(head[m.__table__.name]) == ROWS for m in TABLES), "a table was left empty"
    if "default_language" in head["campaigns"][0]:
        # The column 0002 added has its default on rows older than it.
        assert {r["default_language"] for r in head["campaigns"]} <= {"en", "ar", "fr", "es"}

    # All the way down to the first revision and back up.
    db.downgrade(revisions[0])
    assert _snapshot(db) == first, "downgrade to the first revision changed its rows"
    db.upgrade("head")
    _assert_kept(first, _snapshot(db), "upgrade from the first revision to head again")

    # The code of today reads every old row through the models.
    db._schema_checked = False
    with db.session() as session:
        for model in TABLES:
            rows = session.scalars(sa.select(model)).all()
            if model.__table__.name in first:
                assert len(rows) == ROWS, model.__table__.name
    db.dispose()
