"""The schema, declared once: organizations, contacts, dialogues, campaigns,
letters, responses, the queue of imported e-mail and the activity log.

These are SQLAlchemy Core tables. The ORM classes in
:mod:`outreach.schema.models` are mapped onto these very ``Table`` objects, so
the fast Core paths (reports, letter generation, bulk imports) and the ORM
read and write the same declaration; the Core paths never load
``sqlalchemy.orm``, so this module must not import it.

The tables are created by the Alembic migrations in ``migrations/``, never by
``create_all``; ``tests/db/test_migrations.py`` proves the two agree. The
naming convention gives every constraint and index the name the migrations
created it with: do not rename them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)

from outreach.schema.enums import (
    CampaignStatus,
    Channel,
    ContactKind,
    InboundStatus,
    LetterStatus,
    OrgKind,
    RecipientRole,
    Region,
    Stance,
    UNBody,
)
from outreach.schema.types import UTCDateTime, str_enum, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def _id() -> Column:
    return Column("id", Integer, primary_key=True)


def _ref(name: str, target: str, ondelete: str, **kw: object) -> Column:
    """A foreign key column *name* to ``target.id``."""
    return Column(name, Integer, ForeignKey(f"{target}.id", ondelete=ondelete), **kw)


def _stamps() -> list[Column]:
    return [
        Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow),
    ]


# --- the directory -----------------------------------------------------------

#: A regional or sub-regional organization, UN body, mission or NGO.
organizations = sa.Table(
    "organizations",
    metadata,
    _id(),
    Column("acronym", String(40), nullable=False),
    # ``acronym`` folded to lower case; unique, so "au" and "AU" are one organization.
    Column("acronym_key", String(40), nullable=False, unique=True),
    Column("name", String(300), nullable=False, index=True),
    Column("kind", str_enum(OrgKind, "org_kind"), nullable=False, default=OrgKind.OTHER),
    Column("region", str_enum(Region, "region")),
    Column("hq_city", String(120)),
    # ISO 3166-1 alpha-2 code.
    Column("hq_country", String(2)),
    # Official working languages, ISO 639-1 codes, in the organization's order.
    Column("languages", JSON, nullable=False, default=list),
    Column("website", String(300)),
    Column("tags", JSON, nullable=False, default=list),
    Column("notes", Text),
    # Set when the organization is removed while letters or responses point at it.
    Column("archived_at", UTCDateTime()),
    *_stamps(),
    # The organization this one is an organ of (the Inter-American Court of
    # the OAS, PARLACEN of SICA).
    _ref("parent_id", "organizations", "SET NULL", index=True),
    # Text per language: {"fr": {"name": "Union africaine", "acronym": "UA",
    # "definite": "l'Union africaine"}, ...}; see outreach.directory.i18n.
    Column("i18n", JSON, nullable=False, default=dict, server_default=sa.text("'{}'")),
)

#: A person or an office at an organization: who a letter is addressed to.
contacts = sa.Table(
    "contacts",
    metadata,
    _id(),
    _ref("organization_id", "organizations", "RESTRICT", nullable=False),
    Column(
        "kind", str_enum(ContactKind, "contact_kind"), nullable=False, default=ContactKind.PERSON
    ),
    # A person's full name, or an office such as "Office of the Secretary-General".
    Column("name", String(300), nullable=False),
    Column("position", String(300)),
    # How the letter opens, e.g. "Your Excellency" or "Dear Madam Secretary-General".
    Column("salutation", String(300)),
    Column("email", String(320)),
    # ``email`` folded to lower case; unique when set.
    Column("email_key", String(320), unique=True),
    Column("postal_address", Text),
    Column("phone", String(64)),
    # Preferred language, ISO 639-1 code.
    Column("language", String(16)),
    Column("is_primary", Boolean, nullable=False, default=False),
    Column("do_not_contact", Boolean, nullable=False, default=False),
    Column("do_not_contact_reason", Text),
    Column("tags", JSON, nullable=False, default=list),
    Column("notes", Text),
    Column("archived_at", UTCDateTime()),
    # Set when the person's data was erased on request; the row stays so that
    # counts of letters and responses survive.
    Column("forgotten_at", UTCDateTime()),
    *_stamps(),
    Index("ix_contacts_organization_id_is_primary", "organization_id", "is_primary"),
    # How the contact is addressed whatever the language: "excellency", "dr", ...
    # (outreach.directory.i18n.HONORIFICS); the words come per language.
    Column("honorific", String(40)),
    # The channel letters to this contact take unless one is chosen for them.
    Column("preferred_channel", str_enum(Channel, "contact_channel")),
    # Text per language: {"fr": {"position": "...", "salutation": "..."}, ...}.
    Column("i18n", JSON, nullable=False, default=dict, server_default=sa.text("'{}'")),
    # Set when mail to ``email`` bounced (cleared when the address changes).
    Column("email_bounced_at", UTCDateTime()),
    Column("email_bounce_reason", Text),
)

# --- dialogues and campaigns ---------------------------------------------------

#: A UN meeting that campaigns work toward.
dialogues = sa.Table(
    "dialogues",
    metadata,
    _id(),
    Column("slug", String(80), nullable=False, unique=True),
    Column("body", str_enum(UNBody, "un_body"), nullable=False, default=UNBody.GENERAL_ASSEMBLY),
    Column("title", String(500), nullable=False),
    Column("theme", Text),
    # Often not announced until late: NULL means "to be announced".
    Column("date", Date),
    # The Secretary-General's report symbol, e.g. A/66/874-S/2012/578.
    Column("report_symbol", String(120)),
    Column("states_spoke", Integer),
    Column("regional_orgs_spoke", Integer),
    Column("civil_society_spoke", Integer),
    Column("outcome_notes", Text),
    *_stamps(),
)

#: One outreach effort ahead of a dialogue.
campaigns = sa.Table(
    "campaigns",
    metadata,
    _id(),
    Column("slug", String(80), nullable=False, unique=True),
    Column("title", String(500), nullable=False),
    _ref("dialogue_id", "dialogues", "RESTRICT", index=True),
    # Template name (without language or format suffix), e.g. "third-pillar".
    Column("template", String(200)),
    Column("signatory", String(300)),
    # Sender details for the letterhead and the e-mail headers.
    Column("sender", JSON, nullable=False, default=dict),
    # Extra template variables.
    Column("variables", JSON, nullable=False, default=dict),
    Column(
        "status",
        str_enum(CampaignStatus, "campaign_status"),
        nullable=False,
        default=CampaignStatus.DRAFT,
    ),
    Column("starts_on", Date),
    Column("ends_on", Date),
    Column("closed_at", UTCDateTime()),
    # (revision 0002) the reminder template and the language of the template
    # without a language suffix.
    Column("followup_template", String(200)),
    Column("default_language", String(16), nullable=False, default="en", server_default="en"),
    *_stamps(),
    # The folder of the campaign's own templates (before the shipped ones).
    Column("templates_folder", String(1000)),
    # (revision 0006) how its letters' references are made, e.g.
    # "{campaign}/{year}/{seq:03}" (NULL: that default; outreach.letters.references),
    # and the last sequence number a letter of the campaign got (never given twice).
    Column("reference_pattern", String(80)),
    Column("reference_seq", Integer, nullable=False, default=0, server_default="0"),
)

#: An organization a campaign writes to, optionally to a chosen contact, as
#: an addressee (``to``) or copied (``cc``). A row without a contact writes to
#: the organization's primary contact.
campaign_recipients = sa.Table(
    "campaign_recipients",
    metadata,
    _id(),
    _ref("campaign_id", "campaigns", "CASCADE", nullable=False),
    _ref("organization_id", "organizations", "RESTRICT", nullable=False, index=True),
    # Write to this contact instead of the organization's primary contact.
    _ref("contact_id", "contacts", "SET NULL", index=True),
    Column("added_at", UTCDateTime(), nullable=False, default=utcnow),
    Column(
        "role",
        str_enum(RecipientRole, "recipient_role"),
        nullable=False,
        default=RecipientRole.TO,
        server_default=RecipientRole.TO.value,
    ),
    sa.UniqueConstraint("campaign_id", "organization_id", "contact_id"),
    # One organization-level row (no contact named) per campaign and organization.
    Index(
        "ux_campaign_recipients_organization_level",
        "campaign_id",
        "organization_id",
        unique=True,
        sqlite_where=sa.text("contact_id IS NULL"),
        postgresql_where=sa.text("contact_id IS NULL"),
    ),
)

# --- correspondence -------------------------------------------------------------

#: One rendered letter to one recipient in a campaign. Regenerating an unsent
#: letter adds a new ``version`` and marks the old one superseded; a sent
#: letter is never rewritten. ``round`` 0 is the letter itself, 1 the first
#: reminder, and so on.
letters = sa.Table(
    "letters",
    metadata,
    _id(),
    _ref("campaign_id", "campaigns", "RESTRICT", nullable=False),
    _ref("organization_id", "organizations", "RESTRICT", nullable=False, index=True),
    _ref("contact_id", "contacts", "RESTRICT", nullable=False, index=True),
    Column("round", Integer, nullable=False, default=0),
    # The letter this one reminds about (follow-ups only).
    _ref("followup_of_id", "letters", "RESTRICT", index=True),
    Column("version", Integer, nullable=False, default=1),
    Column("superseded_at", UTCDateTime()),
    Column("language", String(16), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("template_name", String(300), nullable=False),
    # SHA-256 of the template sources the letter was rendered from.
    Column("template_hash", String(64), nullable=False),
    Column(
        "status",
        str_enum(LetterStatus, "letter_status"),
        nullable=False,
        default=LetterStatus.DRAFT,
    ),
    Column("channel", str_enum(Channel, "letter_channel"), nullable=False, default=Channel.EMAIL),
    # The address used, as it was when the letter was made.
    Column("to_address", Text),
    Column("approved_at", UTCDateTime()),
    Column("sent_at", UTCDateTime()),
    Column("message_id", String(255), unique=True),
    # The last failure (server reply) for a letter that could not be sent.
    Column("error", Text),
    *_stamps(),
    sa.UniqueConstraint("campaign_id", "contact_id", "round", "version"),
    # The date the letter carries (what templates see as ``today``).
    Column("dated", Date),
    # SHA-256 of what the letter was made from besides its template: the
    # campaign's variables, sender and signatory (outreach.letters.basis).
    Column("basis", String(64)),
    # Who the letter is copied to, as they were: [{"contact_id", "name", "email",
    # "position"}].
    Column("cc", JSON),
    # What ``letters check`` found: [{"code", "severity", "message"}].
    Column("checks", JSON),
    # Why the letter may be approved despite an error of the check.
    Column("check_override", Text),
    # When and why the mail server reported the letter undeliverable.
    Column("bounced_at", UTCDateTime()),
    Column("bounce_reason", Text),
    # An automatic reply (out of office) to the letter: when, and what it said.
    Column("auto_reply_at", UTCDateTime()),
    Column("auto_reply_note", Text),
    # Message-IDs the letter went out with before a resend (oldest first).
    Column("previous_message_ids", JSON),
    # (revision 0006) The letter's reference number ("third-pillar-2012/2012/007";
    # NULL on letters made before references). Every version of a letter keeps
    # the reference of the version it revises, and each version keeps the one
    # it was printed with, so a reference names one letter with all its
    # versions and (reference, version) one row. That no two letters share a
    # reference is kept by the campaign's reference_seq and checked before the
    # letters are stored (outreach.letters.references).
    Column("reference", String(120)),
    sa.UniqueConstraint("reference", "version"),
    Index("ix_letters_campaign_id_organization_id", "campaign_id", "organization_id"),
    Index("ix_letters_campaign_id_status", "campaign_id", "status"),
)

#: What came back from an organization, matched to its letter where possible.
responses = sa.Table(
    "responses",
    metadata,
    _id(),
    _ref("campaign_id", "campaigns", "RESTRICT"),
    _ref("organization_id", "organizations", "RESTRICT", nullable=False, index=True),
    _ref("letter_id", "letters", "RESTRICT", index=True),
    _ref("contact_id", "contacts", "RESTRICT", index=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("channel", str_enum(Channel, "response_channel"), nullable=False, default=Channel.EMAIL),
    # Who it came from, as written on it (name and/or address).
    Column("sender", String(500)),
    Column("stance", str_enum(Stance, "stance"), nullable=False, default=Stance.OTHER),
    Column("summary", Text),
    # Message-ID of an imported e-mail, so importing a mailbox twice adds nothing.
    Column("message_id", String(255), unique=True),
    *_stamps(),
    # The subject of the reply (matching a hand-logged reply to its e-mail).
    Column("subject", String(500)),
    Index("ix_responses_campaign_id_organization_id", "campaign_id", "organization_id"),
)

#: A file that came with a response, kept in the content-addressed store.
attachments = sa.Table(
    "attachments",
    metadata,
    _id(),
    _ref("response_id", "responses", "CASCADE", nullable=False, index=True),
    Column("filename", String(300), nullable=False),
    Column("content_type", String(200)),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
)

#: Append-only log: who did what to which record, and when.
activity = sa.Table(
    "activity",
    metadata,
    _id(),
    Column("at", UTCDateTime(), nullable=False, default=utcnow, index=True),
    Column("actor", String(120), nullable=False),
    # What was done: create, update, remove, archive, merge, send, import, ...
    Column("action", String(40), nullable=False),
    # Which table the record is in ("organization", "letter", ...).
    Column("entity", String(40), nullable=False),
    Column("entity_id", Integer),
    # The organization the change concerns, for ``outreach log --org``.
    Column("organization_id", Integer, index=True),
    Column("summary", Text),
    # ``{"field": [before, after], ...}`` for edits.
    Column("changes", JSON),
    Index("ix_activity_entity_entity_id", "entity", "entity_id"),
    # On PostgreSQL, the authenticated database role that made the change
    # (``actor`` is the name the coordinator gave, which anyone can choose).
    Column("db_role", String(120)),
)

# --- the queue of imported e-mail ------------------------------------------------

#: An e-mail read by ``outreach responses import``, matched or not. Every
#: imported message leaves one row (so importing a mailbox twice adds
#: nothing); its raw bytes are kept in the attachments store by SHA-256.
inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    _id(),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("from_address", String(500)),
    Column("to_address", Text),
    Column("subject", Text),
    Column("date", UTCDateTime()),
    Column("raw_size", Integer, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    Column(
        "status",
        str_enum(InboundStatus, "inbound_status"),
        nullable=False,
        default=InboundStatus.UNMATCHED,
        index=True,
    ),
    # Why it was (not) matched: "thread", "contact", "domain", "automatic reply", ...
    Column("reason", Text),
    _ref("response_id", "responses", "SET NULL", index=True),
    Column("imported_at", UTCDateTime(), nullable=False, default=utcnow),
    # The letter a bounce or an automatic reply reports on.
    _ref("letter_id", "letters", "SET NULL", index=True),
)

# --- files kept by the database ---------------------------------------------------

#: Contents of attachments and raw e-mail kept in the database itself, by their
#: SHA-256, so that every coordinator sharing a PostgreSQL database opens the
#: same files (``outreach.attachments``).
stored_files = sa.Table(
    "stored_files",
    metadata,
    _id(),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
)

# --- mailboxes read over IMAP ------------------------------------------------------

#: How far a mailbox folder has been read: its UIDVALIDITY and the highest UID
#: imported (``outreach responses fetch``); a new UIDVALIDITY reads it again,
#: and Message-IDs keep that from importing anything twice.
mailbox_state = sa.Table(
    "mailbox_state",
    metadata,
    _id(),
    # "user@host:port"
    Column("account", String(400), nullable=False),
    Column("folder", String(400), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False, default=0),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow),
    sa.UniqueConstraint("account", "folder"),
)

#: Every table, in an order that respects foreign keys (what ``outreach info``
#: counts, what backups write, and the order tests fill and empty them in).
TABLES = [
    organizations,
    contacts,
    dialogues,
    campaigns,
    campaign_recipients,
    letters,
    responses,
    attachments,
    activity,
    inbound_messages,
    stored_files,
    mailbox_state,
]
