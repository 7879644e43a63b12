"""The one rule for a campaign becoming active, on a Core connection (letter
generation uses it without the ORM; :func:`outreach.campaigns.activate_campaign`
is its ORM form)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from outreach.db.activity import record_activity
from outreach.schema import tables
from outreach.schema.enums import CampaignStatus
from outreach.schema.types import utcnow


def activate(conn: sa.Connection, campaign: Any, *, actor: str | None = None) -> bool:
    """A draft *campaign* (a row or object with ``id``, ``slug``, ``status``)
    becomes active, with its activity row; whether it changed."""
    if campaign.status != CampaignStatus.DRAFT:
        return False
    conn.execute(
        tables.campaigns.update()
        .where(tables.campaigns.c.id == campaign.id)
        .values(status=CampaignStatus.ACTIVE, updated_at=utcnow())
    )
    record_activity(
        conn,
        actor=actor,
        action="update",
        entity="campaign",
        entity_id=campaign.id,
        summary=f"campaign {campaign.slug} is active",
        changes={"status": ["draft", "active"]},
    )
    return True
