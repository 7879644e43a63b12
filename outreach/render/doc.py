"""What the output formats take: one rendered letter, :class:`LetterDoc`.

Letters (``outreach.letters``) make them, from a fresh rendering or from a
stored letter; the formats in this package only read them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from outreach.render.layout import PageSettings

#: The contact's fields that say how to address them (``LetterDoc.contact_details``).
COURTESY_FIELDS = ("kind", "honorific", "salutation", "position", "language", "i18n")


@dataclass
class LetterDoc:
    """A rendered letter with what the output formats need."""

    acronym: str
    organization: str
    contact: str
    contact_email: str | None
    language: str
    subject: str
    body: str
    channel: str
    to_address: str | None
    message_id: str
    sender: dict[str, Any]
    round: int
    campaign: str
    version: int = 1
    id: int | None = None
    organization_id: int | None = None
    contact_id: int | None = None
    template_name: str = ""
    template_hash: str = ""
    date: dt.date | None = None
    #: Fields the letter used that had no text in its language and came from
    #: another one: ("organization.name", "en"), ...
    fallbacks: tuple[tuple[str, str], ...] = ()
    #: The paper the letter is printed on: "a4" or "letter" (US Letter); the
    #: page settings, when given, say it instead.
    paper: str = "a4"
    #: How the letter is printed: paper, logo, footer, signature image, window
    #: envelope, duplex (``outreach.render.layout``); None: plain A4.
    page: PageSettings | None = None
    #: The letter's reference number, as printed and stored.
    reference: str | None = None
    # -- what the e-mail of the letter needs besides the letter (all optional) --
    #: Message-ID of the letter this one follows up: a reminder's e-mail threads to it.
    in_reply_to: str | None = None
    #: Who the letter is copied to: ({"contact_id", "name", "email", "position"}, ...).
    cc: tuple[dict[str, Any], ...] = ()
    #: The campaign's templates folder (None: the shipped ``letters/``): the cover note's.
    templates: str | None = None
    #: The campaign's default language (the one the sender's base details are in).
    default_language: str = "en"
    #: The contact's form of address (``kind``, ``honorific``, ``salutation``...),
    #: for the cover note's salutation.
    contact_details: dict[str, Any] = field(default_factory=dict)
    #: The campaign's e-mail settings (``email_attachments`` and the like).
    variables: dict[str, Any] = field(default_factory=dict)
