"""campaign recipients

Adds ``campaign_recipients`` (which organizations a campaign writes to, with an
optional contact override) and the campaign's follow-up template and default
template language.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:15:04.894070
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_recipients_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_campaign_recipients_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_campaign_recipients_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
        sa.UniqueConstraint(
            "campaign_id",
            "organization_id",
            name=op.f("uq_campaign_recipients_campaign_id_organization_id"),
        ),
    )
    op.create_index(
        op.f("ix_campaign_recipients_organization_id"),
        "campaign_recipients",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_campaign_recipients_contact_id"),
        "campaign_recipients",
        ["contact_id"],
        unique=False,
    )
    # Plain ADD COLUMN on both backends: rebuilding ``campaigns`` on SQLite
    # would trip the foreign keys that point at it.
    op.add_column("campaigns", sa.Column("followup_template", sa.String(length=200)))
    op.add_column(
        "campaigns",
        sa.Column("default_language", sa.String(length=16), nullable=False, server_default="en"),
    )


def downgrade() -> None:
    # SQLite (3.35+) and PostgreSQL both drop a plain column in place.
    op.execute("ALTER TABLE campaigns DROP COLUMN default_language")
    op.execute("ALTER TABLE campaigns DROP COLUMN followup_template")
    op.drop_index(op.f("ix_campaign_recipients_contact_id"), table_name="campaign_recipients")
    op.drop_index(op.f("ix_campaign_recipients_organization_id"), table_name="campaign_recipients")
    op.drop_table("campaign_recipients")
