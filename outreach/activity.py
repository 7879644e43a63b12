"""The activity log: every change made through outreach leaves a row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outreach.config import ACTOR_KEY, current_user

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from outreach.models import Activity


def actor_of(session: Session | sa.Connection) -> str:
    """Who is acting: the actor given to the database, else the login name."""
    return session.info.get(ACTOR_KEY) or current_user()


def record_activity(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: int | None = None,
    organization_id: int | None = None,
    summary: str | None = None,
    changes: dict[str, Any] | None = None,
) -> Activity:
    """Add an ``Activity`` row to *session* (the caller commits)."""
    from outreach.models import Activity

    row = Activity(
        actor=actor_of(session),
        action=action,
        entity=entity,
        entity_id=entity_id,
        organization_id=organization_id,
        summary=summary,
        changes=changes,
    )
    session.add(row)
    return row


def insert_activity(
    conn: sa.Connection,
    *,
    actor: str | None = None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    organization_id: int | None = None,
    summary: str | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """:func:`record_activity` for work done on a Core connection, without
    the ORM (in the connection's transaction; the caller commits). *actor*
    defaults to the one the connection was opened for."""
    from outreach import tables
    from outreach.types import utcnow

    conn.execute(
        tables.activity.insert().values(
            at=utcnow(),
            actor=actor or actor_of(conn),
            action=action,
            entity=entity,
            entity_id=entity_id,
            organization_id=organization_id,
            summary=summary,
            changes=changes,
        )
    )
