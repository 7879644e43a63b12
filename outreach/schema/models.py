"""The ORM classes, mapped onto the tables of :mod:`outreach.schema.tables`.

SQLAlchemy's "declarative with imperative table": each class takes its
``__table__`` from the one schema declaration, so no column is declared here;
a class adds only what the ORM needs on top of the table: relationships and
the validators that keep the folded keys (``acronym_key``, ``email_key``) in
step with what was typed.
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship, validates

from outreach.schema import tables
from outreach.schema.enums import (  # noqa: F401  (re-exported: the schema's enumerations)
    REGION_LABELS,
    CampaignStatus,
    Channel,
    ContactKind,
    InboundStatus,
    LetterStatus,
    OrgKind,
    Region,
    Stance,
    UNBody,
)


class Base(DeclarativeBase):
    metadata = tables.metadata


# --- the directory -----------------------------------------------------------


class Organization(Base):
    """A regional or sub-regional organization, UN body, mission or NGO."""

    __table__ = tables.organizations

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="organization", order_by="Contact.id"
    )
    #: The organization this one is an organ of, if any.
    parent: Mapped[Organization | None] = relationship(
        remote_side=[tables.organizations.c.id], foreign_keys=[tables.organizations.c.parent_id]
    )

    @validates("acronym")
    def _set_acronym_key(self, _key: str, value: str) -> str:
        self.acronym_key = value.strip().casefold()
        return value.strip()

    def __repr__(self) -> str:
        return f"<Organization {self.acronym}>"


class Contact(Base):
    """A person or an office at an organization: who a letter is addressed to."""

    __table__ = tables.contacts

    organization: Mapped[Organization] = relationship(back_populates="contacts")

    @validates("email")
    def _set_email_key(self, _key: str, value: str | None) -> str | None:
        value = value.strip() if value else None
        self.email_key = value.casefold() if value else None
        return value

    def __repr__(self) -> str:
        return f"<Contact {self.name!r} at {self.organization_id}>"


# --- dialogues and campaigns ---------------------------------------------------


class Dialogue(Base):
    """A UN meeting that campaigns work toward."""

    __table__ = tables.dialogues

    campaigns: Mapped[list[Campaign]] = relationship(back_populates="dialogue")


class Campaign(Base):
    """One outreach effort ahead of a dialogue.

    ``reference_pattern`` makes its letters' references (None: the default
    pattern); ``reference_seq`` is the last sequence number one of them got.
    """

    __table__ = tables.campaigns

    dialogue: Mapped[Dialogue | None] = relationship(back_populates="campaigns")


class CampaignRecipient(Base):
    """An organization a campaign writes to, optionally to a chosen contact."""

    __table__ = tables.campaign_recipients

    campaign: Mapped[Campaign] = relationship()
    organization: Mapped[Organization] = relationship()
    contact: Mapped[Contact | None] = relationship()


# --- correspondence -------------------------------------------------------------


class Letter(Base):
    """One rendered letter to one recipient in a campaign.

    Regenerating an unsent letter adds a new ``version`` and marks the old one
    superseded; a sent letter is never rewritten. ``round`` 0 is the letter
    itself, 1 the first reminder, and so on. ``reference`` is its reference
    number, kept by every version (None on letters made before references).
    """

    __table__ = tables.letters

    campaign: Mapped[Campaign] = relationship()
    organization: Mapped[Organization] = relationship()
    contact: Mapped[Contact] = relationship()


class Response(Base):
    """What came back from an organization, matched to its letter where possible."""

    __table__ = tables.responses

    campaign: Mapped[Campaign | None] = relationship()
    organization: Mapped[Organization] = relationship()
    letter: Mapped[Letter | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="response", order_by="Attachment.id"
    )


class Attachment(Base):
    """A file that came with a response, kept in the content-addressed store."""

    __table__ = tables.attachments

    response: Mapped[Response] = relationship(back_populates="attachments")


class Activity(Base):
    """Append-only log: who did what to which record, and when."""

    __table__ = tables.activity


class InboundMessage(Base):
    """An e-mail read by ``outreach responses import``, matched or not.

    Every imported message leaves one row (so importing a mailbox twice adds
    nothing); its raw bytes are kept in the attachments store by SHA-256.
    """

    __table__ = tables.inbound_messages

    response: Mapped[Response | None] = relationship()




class StoredFile(Base):
    """The contents of an attachment or a raw e-mail, kept by the database."""

    __table__ = tables.stored_files


class MailboxState(Base):
    """How far an IMAP mailbox folder has been read."""

    __table__ = tables.mailbox_state


#: The mapped classes in an order that respects foreign keys (the order of
#: ``tables.TABLES``).
TABLES = [
    Organization,
    Contact,
    Dialogue,
    Campaign,
    CampaignRecipient,
    Letter,
    Response,
    Attachment,
    Activity,
    InboundMessage,
    StoredFile,
    MailboxState,
]
