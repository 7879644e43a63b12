"""The enumerations of the schema, stored as their values (what users type).

Plain Python, importable without SQLAlchemy: the tables
(:mod:`outreach.schema.tables`) store them, and code that only compares or
prints them needs nothing more.
"""

import enum


class OrgKind(enum.StrEnum):
    REGIONAL = "regional"
    SUBREGIONAL = "sub-regional"
    UN_BODY = "un-body"
    MEMBER_STATE = "member-state"
    CIVIL_SOCIETY = "civil-society"
    OTHER = "other"


class Region(enum.StrEnum):
    AFRICA = "africa"
    AMERICAS = "americas"
    ASIA_PACIFIC = "asia-pacific"
    EUROPE = "europe"
    MENA = "mena"
    GLOBAL = "global"

    @property
    def label(self) -> str:
        return REGION_LABELS[self]


REGION_LABELS = {
    Region.AFRICA: "Africa",
    Region.AMERICAS: "Americas",
    Region.ASIA_PACIFIC: "Asia-Pacific",
    Region.EUROPE: "Europe",
    Region.MENA: "Middle East and North Africa",
    Region.GLOBAL: "Global",
}


class ContactKind(enum.StrEnum):
    PERSON = "person"
    OFFICE = "office"


class RecipientRole(enum.StrEnum):
    """How a contact is on a campaign's letter to their organization."""

    #: Addressed: the contact gets the letter.
    TO = "to"
    #: Copied: named on the letter's cc line (and copied on the e-mail).
    CC = "cc"


class UNBody(enum.StrEnum):
    GENERAL_ASSEMBLY = "general-assembly"
    SECURITY_COUNCIL = "security-council"
    HUMAN_RIGHTS_COUNCIL = "human-rights-council"
    OTHER = "other"


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


class LetterStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: The mail server reported it undeliverable (a delivery status notification).
    BOUNCED = "bounced"


class Channel(enum.StrEnum):
    EMAIL = "email"
    POST = "post"
    FAX = "fax"
    HAND = "hand"
    PHONE = "phone"
    OTHER = "other"


class Stance(enum.StrEnum):
    COMMITMENT = "commitment"
    SUPPORTIVE = "supportive"
    ACKNOWLEDGEMENT = "acknowledgement"
    NEUTRAL = "neutral"
    DECLINE = "decline"
    OTHER = "other"


class InboundStatus(enum.StrEnum):
    #: Matched automatically to an organization when imported: a response was made.
    MATCHED = "matched"
    #: Not matched: waiting for a coordinator (``outreach responses unmatched``).
    UNMATCHED = "unmatched"
    #: Matched by hand (``outreach responses assign``).
    ASSIGNED = "assigned"
    #: Set aside by hand (``outreach responses ignore``): spam, bounces, noise.
    IGNORED = "ignored"
    #: A delivery status notification, linked to the letter it reports on.
    BOUNCE = "bounce"
    #: An automatic reply (out of office, RFC 3834), noted on its letter.
    AUTO_REPLY = "auto-reply"
