"""The schema is declared once: the ORM classes are mapped onto the Core
tables themselves, and the Core side never needs the ORM."""

from __future__ import annotations

import subprocess
import sys

from outreach.schema import models, tables


def test_every_model_is_mapped_onto_its_core_table() -> None:
    assert models.Base.metadata is tables.metadata
    mapped = {cls.__table__.name: cls.__table__ for cls in models.TABLES}
    assert set(mapped) == set(tables.metadata.tables)
    for table in tables.TABLES:
        assert mapped[table.name] is table, table.name
    assert [cls.__table__ for cls in models.TABLES] == tables.TABLES


def test_the_table_order_respects_foreign_keys() -> None:
    seen: set[str] = set()
    for table in tables.TABLES:
        for fk in table.foreign_keys:
            assert fk.column.table.name in seen | {table.name}, (table.name, fk.target_fullname)
        seen.add(table.name)


def test_the_core_tables_load_without_the_orm() -> None:
    code = (
        "import sys\n"
        "import outreach.schema.tables, outreach.db.activity, outreach.db.bulk\n"
        "print('ORM', 'sqlalchemy.orm' in sys.modules, 'outreach.schema.models' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ORM False False" in out.stdout
