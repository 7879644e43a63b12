"""mailboxes over IMAP, bounces and automatic replies, files kept by the database

Letters may be ``bounced``; a letter keeps when and why it bounced, an
automatic reply to it, and the Message-IDs it went out with before a resend.
A contact's e-mail address can be flagged as bouncing. The queue of imported
e-mail knows bounces and automatic replies and the letter they report on.
Responses keep their subject (a hand-logged reply and its e-mail are one).
The activity log records the database role on PostgreSQL. ``stored_files``
holds attachments and raw mails in the database itself; ``mailbox_state``
remembers how far each IMAP folder was read.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LETTER_OLD = ("draft", "approved", "sending", "sent", "failed", "cancelled")
_LETTER_NEW = (*_LETTER_OLD, "bounced")
_INBOUND_OLD = ("matched", "unmatched", "assigned", "ignored")
_INBOUND_NEW = (*_INBOUND_OLD, "bounce", "auto-reply")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _recheck(table: str, name: str, column: str, values: Sequence[str], batch) -> None:
    batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
    batch.create_check_constraint(name, _in(column, values))


def upgrade() -> None:
    with op.batch_alter_table("letters") as batch:
        _recheck("letters", "letter_status", "status", _LETTER_NEW, batch)
        batch.add_column(sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("bounce_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("auto_reply_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("auto_reply_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("previous_message_ids", sa.JSON(), nullable=True))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("email_bounced_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("email_bounce_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=500), nullable=True))
    with op.batch_alter_table("activity") as batch:
        batch.add_column(sa.Column("db_role", sa.String(length=120), nullable=True))
    with op.batch_alter_table("inbound_messages") as batch:
        _recheck("inbound_messages", "inbound_status", "status", _INBOUND_NEW, batch)
        batch.add_column(sa.Column("letter_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_inbound_messages_letter_id_letters"),
            "letters",
            ["letter_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_inbound_messages_letter_id"), ["letter_id"], unique=False)
    op.create_table(
        "stored_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_stored_files_sha256")),
    )
    op.create_table(
        "mailbox_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=400), nullable=False),
        sa.Column("folder", sa.String(length=400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox_state")),
        sa.UniqueConstraint("account", "folder", name=op.f("uq_mailbox_state_account_folder")),
    )


def downgrade() -> None:
    op.drop_table("mailbox_state")
    op.drop_table("stored_files")
    # What the older schema cannot hold is folded into what it can.
    op.execute(
        "UPDATE inbound_messages SET status = 'ignored' WHERE status IN ('bounce', 'auto-reply')"
    )
    op.execute("UPDATE letters SET status = 'sent' WHERE status = 'bounced'")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_index(op.f("ix_inbound_messages_letter_id"))
        batch.drop_constraint(op.f("fk_inbound_messages_letter_id_letters"), type_="foreignkey")
        batch.drop_column("letter_id")
        _recheck("inbound_messages", "inbound_status", "status", _INBOUND_OLD, batch)
    with op.batch_alter_table("activity") as batch:
        batch.drop_column("db_role")
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("subject")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("email_bounce_reason")
        batch.drop_column("email_bounced_at")
    with op.batch_alter_table("letters") as batch:
        for column in (
            "previous_message_ids", "auto_reply_note", "auto_reply_at", "bounce_reason",
            "bounced_at",
        ):  # fmt: skip
            batch.drop_column(column)
        _recheck("letters", "letter_status", "status", _LETTER_OLD, batch)
