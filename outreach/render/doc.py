"""What the output formats take: one rendered letter, :class:`LetterDoc`.

Letters (``outreach.letters``) make them, from a fresh rendering or from a
stored letter; the formats in this package only read them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


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
