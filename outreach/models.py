"""The schema: organizations, contacts, dialogues, campaigns, letters,
responses and the activity log.

The tables are created by the Alembic migrations in ``migrations/``, never by
``create_all``; ``tests/test_migrations.py`` proves the two agree.
"""

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from outreach.enums import (  # noqa: F401  (re-exported: the schema's enumerations)
    REGION_LABELS,
    CampaignStatus,
    Channel,
    ContactKind,
    LetterStatus,
    OrgKind,
    Region,
    Stance,
    UNBody,
)
from outreach.types import UTCDateTime, str_enum, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- the directory -----------------------------------------------------------


class Organization(TimestampMixin, Base):
    """A regional or sub-regional organization, UN body, mission or NGO."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    acronym: Mapped[str] = mapped_column(String(40))
    #: ``acronym`` folded to lower case; unique, so "au" and "AU" are one organization.
    acronym_key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind, "org_kind"), default=OrgKind.OTHER)
    region: Mapped[Region | None] = mapped_column(str_enum(Region, "region"))
    hq_city: Mapped[str | None] = mapped_column(String(120))
    #: ISO 3166-1 alpha-2 code.
    hq_country: Mapped[str | None] = mapped_column(String(2))
    #: Official working languages, ISO 639-1 codes, in the organization's order.
    languages: Mapped[list[str]] = mapped_column(default=list)
    website: Mapped[str | None] = mapped_column(String(300))
    tags: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    #: Set when the organization is removed while letters or responses point at it.
    archived_at: Mapped[dt.datetime | None]

    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="organization", order_by="Contact.id"
    )

    @validates("acronym")
    def _set_acronym_key(self, _key: str, value: str) -> str:
        self.acronym_key = value.strip().casefold()
        return value.strip()

    def __repr__(self) -> str:
        return f"<Organization {self.acronym}>"


class Contact(TimestampMixin, Base):
    """A person or an office at an organization: who a letter is addressed to."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_organization_id_is_primary", "organization_id", "is_primary"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    kind: Mapped[ContactKind] = mapped_column(
        str_enum(ContactKind, "contact_kind"), default=ContactKind.PERSON
    )
    #: A person's full name, or an office such as "Office of the Secretary-General".
    name: Mapped[str] = mapped_column(String(300))
    position: Mapped[str | None] = mapped_column(String(300))
    #: How the letter opens, e.g. "Your Excellency" or "Dear Madam Secretary-General".
    salutation: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    #: ``email`` folded to lower case; unique when set.
    email_key: Mapped[str | None] = mapped_column(String(320), unique=True)
    postal_address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(64))
    #: Preferred language, ISO 639-1 code.
    language: Mapped[str | None] = mapped_column(String(16))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    do_not_contact_reason: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[dt.datetime | None]
    #: Set when the person's data was erased on request; the row stays so that
    #: counts of letters and responses survive.
    forgotten_at: Mapped[dt.datetime | None]

    organization: Mapped[Organization] = relationship(back_populates="contacts")

    @validates("email")
    def _set_email_key(self, _key: str, value: str | None) -> str | None:
        value = value.strip() if value else None
        self.email_key = value.casefold() if value else None
        return value

    def __repr__(self) -> str:
        return f"<Contact {self.name!r} at {self.organization_id}>"


# --- dialogues and campaigns ---------------------------------------------------


class Dialogue(TimestampMixin, Base):
    """A UN meeting that campaigns work toward."""

    __tablename__ = "dialogues"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    body: Mapped[UNBody] = mapped_column(
        str_enum(UNBody, "un_body"), default=UNBody.GENERAL_ASSEMBLY
    )
    title: Mapped[str] = mapped_column(String(500))
    theme: Mapped[str | None] = mapped_column(Text)
    #: Often not announced until late: ``None`` means "to be announced".
    date: Mapped[dt.date | None] = mapped_column(Date)
    #: The Secretary-General's report symbol, e.g. A/66/874-S/2012/578.
    report_symbol: Mapped[str | None] = mapped_column(String(120))
    states_spoke: Mapped[int | None] = mapped_column(Integer)
    regional_orgs_spoke: Mapped[int | None] = mapped_column(Integer)
    civil_society_spoke: Mapped[int | None] = mapped_column(Integer)
    outcome_notes: Mapped[str | None] = mapped_column(Text)

    campaigns: Mapped[list["Campaign"]] = relationship(back_populates="dialogue")


class Campaign(TimestampMixin, Base):
    """One outreach effort ahead of a dialogue."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    dialogue_id: Mapped[int | None] = mapped_column(
        ForeignKey("dialogues.id", ondelete="RESTRICT"), index=True
    )
    #: Template name (without language or format suffix), e.g. "third-pillar".
    template: Mapped[str | None] = mapped_column(String(200))
    signatory: Mapped[str | None] = mapped_column(String(300))
    #: Sender details for the letterhead and the e-mail headers.
    sender: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Extra template variables.
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus, "campaign_status"), default=CampaignStatus.DRAFT
    )
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None]
    # (letters area, revision 0002) the reminder template and the language of
    # the template without a language suffix.
    followup_template: Mapped[str | None] = mapped_column(String(200))
    default_language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")

    dialogue: Mapped[Dialogue | None] = relationship(back_populates="campaigns")


# --- correspondence -------------------------------------------------------------


class Letter(TimestampMixin, Base):
    """One rendered letter to one recipient in a campaign.

    Regenerating an unsent letter adds a new ``version`` and marks the old one
    superseded; a sent letter is never rewritten. ``round`` 0 is the letter
    itself, 1 the first reminder, and so on.
    """

    __tablename__ = "letters"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id", "round", "version"),
        Index("ix_letters_campaign_id_organization_id", "campaign_id", "organization_id"),
        Index("ix_letters_campaign_id_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), index=True
    )
    round: Mapped[int] = mapped_column(Integer, default=0)
    #: The letter this one reminds about (follow-ups only).
    followup_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    superseded_at: Mapped[dt.datetime | None]
    language: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    template_name: Mapped[str] = mapped_column(String(300))
    #: SHA-256 of the template sources the letter was rendered from.
    template_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[LetterStatus] = mapped_column(
        str_enum(LetterStatus, "letter_status"), default=LetterStatus.DRAFT
    )
    channel: Mapped[Channel] = mapped_column(
        str_enum(Channel, "letter_channel"), default=Channel.EMAIL
    )
    #: The address used, as it was when the letter was made.
    to_address: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: The last failure (server reply) for a letter that could not be sent.
    error: Mapped[str | None] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship()
    organization: Mapped[Organization] = relationship()
    contact: Mapped[Contact] = relationship()


class Response(TimestampMixin, Base):
    """What came back from an organization, matched to its letter where possible."""

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_campaign_id_organization_id", "campaign_id", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="RESTRICT"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), index=True
    )
    received_at: Mapped[dt.datetime]
    channel: Mapped[Channel] = mapped_column(
        str_enum(Channel, "response_channel"), default=Channel.EMAIL
    )
    #: Who it came from, as written on it (name and/or address).
    sender: Mapped[str | None] = mapped_column(String(500))
    stance: Mapped[Stance] = mapped_column(str_enum(Stance, "stance"), default=Stance.OTHER)
    summary: Mapped[str | None] = mapped_column(Text)
    #: Message-ID of an imported e-mail, so importing a mailbox twice adds nothing.
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)

    campaign: Mapped[Campaign | None] = relationship()
    organization: Mapped[Organization] = relationship()
    letter: Mapped[Letter | None] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="response", order_by="Attachment.id"
    )


class Attachment(Base):
    """A file that came with a response, kept in the content-addressed store."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    response: Mapped[Response] = relationship(back_populates="attachments")


class Activity(Base):
    """Append-only log: who did what to which record, and when."""

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_entity_entity_id", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    #: What was done: create, update, remove, archive, merge, send, import, ...
    action: Mapped[str] = mapped_column(String(40))
    #: Which table the record is in ("organization", "letter", ...).
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    #: The organization the change concerns, for ``outreach log --org``.
    organization_id: Mapped[int | None] = mapped_column(Integer, index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    #: ``{"field": [before, after], ...}`` for edits.
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


#: Tables in an order that respects foreign keys (used by info and tests).
TABLES = [
    Organization,
    Contact,
    Dialogue,
    Campaign,
    Letter,
    Response,
    Attachment,
    Activity,
]


# --- sending and responses: the queue of imported e-mail (issue 5) --------------


class InboundStatus(enum.StrEnum):
    #: Matched automatically to an organization when imported: a response was made.
    MATCHED = "matched"
    #: Not matched: waiting for a coordinator (``outreach responses unmatched``).
    UNMATCHED = "unmatched"
    #: Matched by hand (``outreach responses assign``).
    ASSIGNED = "assigned"
    #: Set aside by hand (``outreach responses ignore``): spam, bounces, noise.
    IGNORED = "ignored"


class InboundMessage(Base):
    """An e-mail read by ``outreach responses import``, matched or not.

    Every imported message leaves one row (so importing a mailbox twice adds
    nothing); its raw bytes are kept in the attachments store by SHA-256.
    """

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    from_address: Mapped[str | None] = mapped_column(String(500))
    to_address: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    date: Mapped[dt.datetime | None]
    raw_size: Mapped[int] = mapped_column(Integer)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[InboundStatus] = mapped_column(
        str_enum(InboundStatus, "inbound_status"), default=InboundStatus.UNMATCHED, index=True
    )
    #: Why it was (not) matched: "thread", "contact", "domain", "automatic reply", ...
    reason: Mapped[str | None] = mapped_column(Text)
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("responses.id", ondelete="SET NULL"), index=True
    )
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    response: Mapped[Response | None] = relationship()


TABLES.append(InboundMessage)


# --- campaigns and letters: campaign recipients (revision 0002) -------------------


class CampaignRecipient(Base):
    """An organization a campaign writes to, optionally to a chosen contact."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (UniqueConstraint("campaign_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    #: Write to this contact instead of the organization's primary contact.
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    organization: Mapped[Organization] = relationship()
    contact: Mapped[Contact | None] = relationship()


TABLES.insert(TABLES.index(Letter), CampaignRecipient)
