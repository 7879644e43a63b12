"""Small read-only questions the command line asks about a campaign's letters."""

from __future__ import annotations

import sqlalchemy as sa

from outreach.campaigns.lookup import find_campaign_row
from outreach.schema import tables


def recipient_count(conn: sa.Connection, campaign: str | int) -> int:
    """How many recipients the campaign (slug or id) has: what generation
    goes over, and what its ``progress`` counts up to."""
    row = find_campaign_row(conn, campaign)
    recipients = tables.campaign_recipients.c
    return conn.scalar(sa.select(sa.func.count()).where(recipients.campaign_id == row.id)) or 0
