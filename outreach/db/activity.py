"""The activity log's one writer: every change made through outreach leaves
a row, whether it was made in an ORM session or on a Core connection.

On PostgreSQL every row also records the role the database authenticated
(``db_role``, :func:`outreach.db.roles.db_role_of`) beside the declared actor,
so that a name given with the actor option cannot pass for someone else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.config import ACTOR_KEY, current_user
from outreach.db.bulk import insert_rows
from outreach.db.roles import db_role_of
from outreach.schema import tables
from outreach.schema.types import utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from outreach.schema.models import Activity

#: The columns of an activity row, in the order :func:`record_activities` takes them.
COLUMNS = ("at", "actor", "action", "entity", "entity_id", "organization_id", "summary", "changes")

# Built once: building the statement costs more than running it, and sending
# writes one row per letter.
_INSERT = tables.activity.insert()


def actor_of(session: Session | sa.Connection) -> str:
    """Who is acting: the actor given to the database, else the login name."""
    return session.info.get(ACTOR_KEY) or current_user()


def record_activity(
    session: Session | sa.Connection,
    *,
    action: str,
    entity: str,
    entity_id: int | None = None,
    organization_id: int | None = None,
    summary: str | None = None,
    changes: dict[str, Any] | None = None,
    actor: str | None = None,
    at: dt.datetime | None = None,
) -> Activity | None:
    """Log a change in *session*'s transaction (the caller commits).

    In an ORM session the ``Activity`` row is added and returned; on a Core
    connection (letter generation, sending, which never load the ORM) it is
    inserted directly and nothing is returned. *actor* defaults to the one the
    session or connection was opened for, *at* to now."""
    values = {
        "actor": actor or actor_of(session),
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "organization_id": organization_id,
        "summary": summary,
        "changes": changes,
    }
    role = db_role_of(session)
    if role is not None:  # (left out on SQLite: a backup may write to an older schema)
        values["db_role"] = role
    if isinstance(session, sa.Connection):
        session.execute(_INSERT, {"at": at or utcnow(), **values})
        return None
    from outreach.schema.models import Activity

    # Without *at*, the column's default stamps the row when it is flushed.
    row = Activity(**values) if at is None else Activity(at=at, **values)
    session.add(row)
    return row


def record_activities(conn: sa.Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Log many changes at once (a bulk import's), in *conn*'s transaction:
    each row holds the values of :data:`COLUMNS`, in that order. Returns how
    many were written."""
    role = db_role_of(conn)
    if role is None:
        return insert_rows(conn, tables.activity, COLUMNS, list(rows))
    return insert_rows(
        conn, tables.activity, (*COLUMNS, "db_role"), [(*row, role) for row in rows]
    )
