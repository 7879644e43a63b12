"""Finding an organization by its acronym through Core, the one rule for it.

An acronym matches in any case and with surrounding blanks ignored: the
stored ``acronym_key`` is the acronym folded this way. This module never
loads ``sqlalchemy.orm``: letter previews and the reports use it from a cold
start (the ORM lookups are in :mod:`.records`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from outreach.schema import tables

_ORG = tables.organizations.c


def acronym_key(acronym: str) -> str:
    """*acronym* as the ``acronym_key`` column stores it."""
    return acronym.strip().casefold()


def find_org_row(conn: Any, acronym: str, *columns: Any) -> sa.Row[Any] | None:
    """The ``organizations`` row whose acronym is *acronym* (any case), with
    *columns* (all of them if none are given), or ``None``. *conn* is a Core
    connection or anything else that executes a Core statement."""
    stmt = sa.select(*columns) if columns else sa.select(tables.organizations)
    return conn.execute(stmt.where(_ORG.acronym_key == acronym_key(acronym))).first()
