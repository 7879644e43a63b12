"""The activity log: every change made through outreach leaves a row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.config import ACTOR_KEY, current_user

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from outreach.models import Activity


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
) -> Activity | None:
    """Log a change in *session*'s transaction (the caller commits).

    In an ORM session the ``Activity`` row is added and returned; on a Core
    connection (letter generation, which never loads the ORM) it is inserted
    directly and nothing is returned. *actor* defaults to the one the session
    or connection was opened for."""
    values = {
        "actor": actor or actor_of(session),
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "organization_id": organization_id,
        "summary": summary,
        "changes": changes,
    }
    if isinstance(session, sa.Connection):
        from outreach import tables
        from outreach.types import utcnow

        session.execute(tables.activity.insert().values(at=utcnow(), **values))
        return None
    from outreach.models import Activity

    row = Activity(**values)
    session.add(row)
    return row
