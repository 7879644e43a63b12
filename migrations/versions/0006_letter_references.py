"""a reference number per letter

A campaign may have its own ``reference_pattern`` (NULL: the default,
``{campaign}/{year}/{seq:03}``) and counts the sequence numbers it has given
in ``reference_seq``. Each letter keeps its ``reference``; every version of
a letter keeps the reference of the letter it revises, so ``(reference,
version)`` is unique. Letters made before this revision keep NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("reference_pattern", sa.String(length=80), nullable=True))
        batch.add_column(
            sa.Column("reference_seq", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("letters") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=120), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_letters_reference_version"), ["reference", "version"]
        )


def downgrade() -> None:
    with op.batch_alter_table("letters") as batch:
        batch.drop_constraint(op.f("uq_letters_reference_version"), type_="unique")
        batch.drop_column("reference")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("reference_seq")
        batch.drop_column("reference_pattern")
