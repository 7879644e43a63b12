"""How much a backup writes, counted beforehand for a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:  # pragma: no cover
    from outreach.db import Database


def backup_size(db: Database, folder: Path | None) -> int:
    """The rows of every table in *db* (at whatever revision it is) and the
    files in the attachments *folder*: what ``backup``'s progress counts."""
    total = 0
    if db.current_revision() is not None:
        with db.connect() as conn:
            names = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
            total = sum(
                conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
                for name in names
            )
    if folder is not None and folder.is_dir():
        total += sum(1 for p in folder.rglob("*") if p.is_file())
    return total
