"""The activity log: every change made through outreach leaves a row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from outreach.config import ACTOR_KEY, current_user
from outreach.models import Activity


def actor_of(session: Session) -> str:
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
