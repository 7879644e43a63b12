"""text per language, organs, several addressees per organization, letter checks

Organizations gain ``i18n`` (name, acronym and article forms per language)
and ``parent_id`` (the organization they are an organ of); contacts gain
``i18n`` (position and salutation per language), ``honorific`` and
``preferred_channel``. A campaign keeps its ``templates_folder``. A campaign's
recipients may name several contacts of one organization, each ``to`` or
``cc``. Letters keep the date they carry, the basis they were made from (to
refuse stale ones), who they are copied to, what ``letters check`` found and
the reason an error was overridden.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHANNELS = ("email", "post", "fax", "hand", "phone", "other")


def _enum(name: str, values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("i18n", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch.create_foreign_key(
            op.f("fk_organizations_parent_id_organizations"),
            "organizations",
            ["parent_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_organizations_parent_id"), ["parent_id"], unique=False)
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("honorific", sa.String(length=40), nullable=True))
        batch.add_column(
            sa.Column("preferred_channel", _enum("contact_channel", _CHANNELS), nullable=True)
        )
        batch.add_column(
            sa.Column("i18n", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("templates_folder", sa.String(length=1000), nullable=True))
    with op.batch_alter_table("campaign_recipients") as batch:
        batch.add_column(
            sa.Column(
                "role", _enum("recipient_role", ("to", "cc")), nullable=False, server_default="to"
            )
        )
        batch.drop_constraint(
            op.f("uq_campaign_recipients_campaign_id_organization_id"), type_="unique"
        )
        batch.create_unique_constraint(
            op.f("uq_campaign_recipients_campaign_id_organization_id_contact_id"),
            ["campaign_id", "organization_id", "contact_id"],
        )
    op.create_index(
        "ux_campaign_recipients_organization_level",
        "campaign_recipients",
        ["campaign_id", "organization_id"],
        unique=True,
        sqlite_where=sa.text("contact_id IS NULL"),
        postgresql_where=sa.text("contact_id IS NULL"),
    )
    with op.batch_alter_table("letters") as batch:
        batch.add_column(sa.Column("dated", sa.Date(), nullable=True))
        batch.add_column(sa.Column("basis", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("cc", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("checks", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("check_override", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("letters") as batch:
        for column in ("check_override", "checks", "cc", "basis", "dated"):
            batch.drop_column(column)
    op.drop_index("ux_campaign_recipients_organization_level", table_name="campaign_recipients")
    # Back to one row per campaign and organization: the first one added stays.
    op.execute(
        "DELETE FROM campaign_recipients WHERE id NOT IN ("
        "SELECT min(id) FROM campaign_recipients GROUP BY campaign_id, organization_id)"
    )
    with op.batch_alter_table("campaign_recipients") as batch:
        batch.drop_constraint(
            op.f("uq_campaign_recipients_campaign_id_organization_id_contact_id"), type_="unique"
        )
        batch.create_unique_constraint(
            op.f("uq_campaign_recipients_campaign_id_organization_id"),
            ["campaign_id", "organization_id"],
        )
        batch.drop_constraint(op.f("ck_campaign_recipients_recipient_role"), type_="check")
        batch.drop_column("role")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("templates_folder")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_constraint(op.f("ck_contacts_contact_channel"), type_="check")
        for column in ("i18n", "preferred_channel", "honorific"):
            batch.drop_column(column)
    with op.batch_alter_table("organizations") as batch:
        batch.drop_index(op.f("ix_organizations_parent_id"))
        batch.drop_constraint(op.f("fk_organizations_parent_id_organizations"), type_="foreignkey")
        batch.drop_column("i18n")
        batch.drop_column("parent_id")
