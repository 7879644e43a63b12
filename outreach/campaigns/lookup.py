"""Finding a campaign or a dialogue by the reference a user gives: the one
rule, for ORM sessions and Core connections alike.

A reference is an id (a number, or text of decimal digits) or a slug; an id
is tried first, then the slug. This module works on Core tables only and
never loads ``sqlalchemy.orm``: letter generation and the reports use it
from a cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.errors import NotFoundError
from outreach.schema import tables

if TYPE_CHECKING:  # for the annotations only: this module never loads the ORM
    from sqlalchemy.orm import Session


def reference_clauses(columns: Any, ref: str | int) -> list[sa.ColumnElement[bool]]:
    """The conditions to try in turn for *ref*: its id, then its slug.
    *columns* has ``id`` and ``slug``: a table's ``.c`` or an ORM class."""
    clauses = []
    if isinstance(ref, int) or str(ref).isdecimal():
        clauses.append(columns.id == int(ref))
    clauses.append(columns.slug == str(ref).strip())
    return clauses


def slug_suggestion(conn: Any, slugs: Any, ref: str | int) -> str:
    """``" (did you mean third-pillar?)"`` for a *ref* no row has, from the
    column *slugs* (one query, made once the lookup has failed), or ``""``.
    *conn* is a Core connection or an ORM session."""
    from outreach.suggest import suggestion

    return suggestion(str(ref), conn.execute(sa.select(slugs)).scalars())


def not_found(what: str, ref: str | int, near: str = "") -> NotFoundError:
    """The error for a *what* (``"campaign"``, ``"dialogue"``) that *ref* does
    not name; *near* ends it (a :func:`slug_suggestion`)."""
    return NotFoundError(f"no {what} {ref!r}{near}", hint=f"{what}s list")


def find_row(conn: sa.Connection, table: sa.Table, ref: str | int, what: str) -> sa.Row[Any]:
    """The row of *table* that *ref* names, or :class:`NotFoundError`."""
    for clause in reference_clauses(table.c, ref):
        row = conn.execute(sa.select(table).where(clause)).first()
        if row is not None:
            return row
    raise not_found(what, ref, slug_suggestion(conn, table.c.slug, ref))


def find_object(session: Session, model: type, ref: str | int, what: str) -> Any:
    """The ORM object of *model* (mapped on a table with ``id`` and ``slug``)
    that *ref* names in *session*, or :class:`NotFoundError`."""
    for clause in reference_clauses(model, ref):
        found = session.scalar(sa.select(model).where(clause))
        if found is not None:
            return found
    raise not_found(what, ref, slug_suggestion(session, model.slug, ref))


def find_campaign_row(conn: sa.Connection, ref: str | int) -> sa.Row[Any]:
    """The ``campaigns`` row *ref* (id or slug) names, read through Core."""
    return find_row(conn, tables.campaigns, ref, "campaign")


def find_dialogue_row(conn: sa.Connection, ref: str | int) -> sa.Row[Any]:
    """The ``dialogues`` row *ref* (id or slug) names, read through Core."""
    return find_row(conn, tables.dialogues, ref, "dialogue")
