"""The tables that reports and letter generation use, declared with
SQLAlchemy Core alone.

Reports only read, and generating letters is one bulk insert: neither needs
the ORM, and loading the ORM and the mapped classes costs a tenth of a second
from a cold start, which both of them notice. These declarations mirror
``outreach.models`` column for column (same names, same types, so values come
back as they do through the models: aware UTC datetimes, enum members, JSON
lists); ``tests/reports/test_cold_start.py`` checks that they still match.
"""

from __future__ import annotations

import sqlalchemy as sa

from outreach.enums import (
    CampaignStatus,
    Channel,
    ContactKind,
    LetterStatus,
    OrgKind,
    Region,
    Stance,
    UNBody,
)
from outreach.types import UTCDateTime, str_enum

metadata = sa.MetaData()


def _stamps() -> list[sa.Column]:
    return [sa.Column("created_at", UTCDateTime()), sa.Column("updated_at", UTCDateTime())]


organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("acronym", sa.String(40)),
    sa.Column("acronym_key", sa.String(40)),
    sa.Column("name", sa.String(300)),
    sa.Column("kind", str_enum(OrgKind, "org_kind")),
    sa.Column("region", str_enum(Region, "region")),
    sa.Column("hq_city", sa.String(120)),
    sa.Column("hq_country", sa.String(2)),
    sa.Column("languages", sa.JSON),
    sa.Column("website", sa.String(300)),
    sa.Column("tags", sa.JSON),
    sa.Column("notes", sa.Text),
    sa.Column("archived_at", UTCDateTime()),
    *_stamps(),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("organization_id", sa.Integer),
    sa.Column("kind", str_enum(ContactKind, "contact_kind")),
    sa.Column("name", sa.String(300)),
    sa.Column("position", sa.String(300)),
    sa.Column("salutation", sa.String(300)),
    sa.Column("email", sa.String(320)),
    sa.Column("email_key", sa.String(320)),
    sa.Column("postal_address", sa.Text),
    sa.Column("phone", sa.String(64)),
    sa.Column("language", sa.String(16)),
    sa.Column("is_primary", sa.Boolean),
    sa.Column("do_not_contact", sa.Boolean),
    sa.Column("do_not_contact_reason", sa.Text),
    sa.Column("tags", sa.JSON),
    sa.Column("notes", sa.Text),
    sa.Column("archived_at", UTCDateTime()),
    sa.Column("forgotten_at", UTCDateTime()),
    *_stamps(),
)

dialogues = sa.Table(
    "dialogues",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(80)),
    sa.Column("body", str_enum(UNBody, "un_body")),
    sa.Column("title", sa.String(500)),
    sa.Column("theme", sa.Text),
    sa.Column("date", sa.Date),
    sa.Column("report_symbol", sa.String(120)),
    sa.Column("states_spoke", sa.Integer),
    sa.Column("regional_orgs_spoke", sa.Integer),
    sa.Column("civil_society_spoke", sa.Integer),
    sa.Column("outcome_notes", sa.Text),
    *_stamps(),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(80)),
    sa.Column("title", sa.String(500)),
    sa.Column("dialogue_id", sa.Integer),
    sa.Column("template", sa.String(200)),
    sa.Column("signatory", sa.String(300)),
    sa.Column("sender", sa.JSON),
    sa.Column("variables", sa.JSON),
    sa.Column("status", str_enum(CampaignStatus, "campaign_status")),
    sa.Column("starts_on", sa.Date),
    sa.Column("ends_on", sa.Date),
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("followup_template", sa.String(200)),
    sa.Column("default_language", sa.String(16)),
    *_stamps(),
)

campaign_recipients = sa.Table(
    "campaign_recipients",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer),
    sa.Column("organization_id", sa.Integer),
    sa.Column("contact_id", sa.Integer),
    sa.Column("added_at", UTCDateTime()),
)

letters = sa.Table(
    "letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer),
    sa.Column("organization_id", sa.Integer),
    sa.Column("contact_id", sa.Integer),
    sa.Column("round", sa.Integer),
    sa.Column("followup_of_id", sa.Integer),
    sa.Column("version", sa.Integer),
    sa.Column("superseded_at", UTCDateTime()),
    sa.Column("language", sa.String(16)),
    sa.Column("subject", sa.String(500)),
    sa.Column("body", sa.Text),
    sa.Column("template_name", sa.String(300)),
    sa.Column("template_hash", sa.String(64)),
    sa.Column("status", str_enum(LetterStatus, "letter_status")),
    sa.Column("channel", str_enum(Channel, "letter_channel")),
    sa.Column("to_address", sa.Text),
    sa.Column("approved_at", UTCDateTime()),
    sa.Column("sent_at", UTCDateTime()),
    sa.Column("message_id", sa.String(255)),
    sa.Column("error", sa.Text),
    *_stamps(),
)

responses = sa.Table(
    "responses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer),
    sa.Column("organization_id", sa.Integer),
    sa.Column("letter_id", sa.Integer),
    sa.Column("contact_id", sa.Integer),
    sa.Column("received_at", UTCDateTime()),
    sa.Column("channel", str_enum(Channel, "response_channel")),
    sa.Column("sender", sa.String(500)),
    sa.Column("stance", str_enum(Stance, "stance")),
    sa.Column("summary", sa.Text),
    sa.Column("message_id", sa.String(255)),
    *_stamps(),
)

activity = sa.Table(
    "activity",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime()),
    sa.Column("actor", sa.String(120)),
    sa.Column("action", sa.String(40)),
    sa.Column("entity", sa.String(40)),
    sa.Column("entity_id", sa.Integer),
    sa.Column("organization_id", sa.Integer),
    sa.Column("summary", sa.Text),
    sa.Column("changes", sa.JSON),
)
