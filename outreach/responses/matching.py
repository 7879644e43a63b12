"""Which organization (and letter) an imported message answers, and whether
it is an answer at all.

Matching, in order:

1. ``In-Reply-To`` / ``References`` name a letter's Message-ID (or an earlier
   reply already matched): that letter's organization and campaign.
2. The sender's address is a contact's: that contact's organization.
3. The sender's domain (or a parent domain) belongs to exactly one
   organization, through its website or its contacts' addresses.

A letter is known by its Message-ID and by those it went out with before
it was resent (``previous_message_ids``): a reply to the first sending
still finds it. Automatic replies (out of office) and delivery failure
reports are told apart (:mod:`outreach.responses.bounces`): they are not
answers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.responses.bounces import AutoReply, Bounce, Notice, classify
from outreach.responses.mailbox import MESSAGE_ID, header
from outreach.responses.records import answered_letter
from outreach.schema.models import Campaign, Contact, Letter, Organization, Response, Stance

PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.fr",
        "hotmail.com",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "gmx.com",
        "gmx.de",
        "proton.me",
        "protonmail.com",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
    }
)


_ACK = re.compile(
    r"\b(acknowledg\w*|receipt|received your|accus\w*\s+(de\s+)?r[ée]ception|bien re[çc]u|"
    r"acuse de recibo|hemos recibido|recebemos|recebido)\b",
    re.IGNORECASE,
)


def guess_stance(subject: str, body: str) -> Stance:
    """Only the obvious: an acknowledgement of receipt; anything else is left
    as ``other`` for the coordinator to read and classify."""
    return Stance.ACKNOWLEDGEMENT if _ACK.search(f"{subject}\n{body[:2000]}") else Stance.OTHER


def automatic_kind(msg: EmailMessage, from_address: str) -> str | None:
    """'delivery failure report' or 'automatic reply' when the message is one
    (see :func:`outreach.responses.bounces.classify`)."""
    found = classify(msg, from_address)
    if isinstance(found, Bounce):
        return "delivery delay report" if found.delayed else "delivery failure report"
    if isinstance(found, Notice):
        return found.what
    return "automatic reply" if isinstance(found, AutoReply) else None


def _domain_of_url(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url if "//" in url else f"//{url}").hostname
    if not host:
        return None
    host = host.casefold()
    return host[4:] if host.startswith("www.") else host


def _parent_domains(domain: str) -> Iterator[str]:
    labels = domain.split(".")
    for i in range(len(labels) - 1):
        yield ".".join(labels[i:])


# --- the matcher ------------------------------------------------------------------------


@dataclass
class Match:
    organization_id: int
    campaign_id: int | None
    letter_id: int | None
    contact_id: int | None
    how: str


class Matcher:
    """What the database knows, loaded once per import."""

    def __init__(self, session: Session, own_addresses: Sequence[str] = ()) -> None:
        self.session = session
        self.letters: dict[str, tuple[int, int, int, int]] = {}
        for r in session.execute(
            sa.select(
                Letter.id,
                Letter.message_id,
                Letter.previous_message_ids,
                Letter.organization_id,
                Letter.campaign_id,
                Letter.contact_id,
            ).where(
                sa.or_(Letter.message_id.is_not(None), Letter.previous_message_ids.is_not(None))
            )
        ):
            known = (r.id, r.organization_id, r.campaign_id, r.contact_id)
            for old_id in r.previous_message_ids or ():
                if isinstance(old_id, str):
                    self.letters.setdefault(old_id, known)
            if r.message_id:
                self.letters[r.message_id] = known
        self.replies: dict[str, tuple[int, int | None, int | None]] = {
            r.message_id: (r.organization_id, r.campaign_id, r.letter_id)
            for r in session.execute(
                sa.select(
                    Response.message_id,
                    Response.organization_id,
                    Response.campaign_id,
                    Response.letter_id,
                ).where(Response.message_id.is_not(None))
            )
        }
        self.contacts: dict[str, tuple[int, int]] = {
            r.email_key: (r.id, r.organization_id)
            for r in session.execute(
                sa.select(Contact.id, Contact.email_key, Contact.organization_id).where(
                    Contact.email_key.is_not(None)
                )
            )
        }
        self.domains: dict[str, set[int]] = {}
        for org_id, website in session.execute(
            sa.select(Organization.id, Organization.website).where(
                Organization.website.is_not(None)
            )
        ):
            domain = _domain_of_url(website)
            if domain:
                self.domains.setdefault(domain, set()).add(org_id)
        for email_key, (_cid, org_id) in self.contacts.items():
            domain = email_key.rsplit("@", 1)[-1]
            self.domains.setdefault(domain, set()).add(org_id)
        own = {a.strip().casefold() for a in own_addresses if a}
        for details in session.scalars(sa.select(Campaign.sender)):
            for key in ("email", "reply_to", "bcc"):
                if isinstance(details, dict) and details.get(key):
                    own.add(str(details[key]).strip().casefold())
        self.own_addresses = own
        self.own_domains = {a.rsplit("@", 1)[-1] for a in own if "@" in a}
        self.acronyms = dict(
            session.execute(sa.select(Organization.id, Organization.acronym)).all()
        )

    def match(self, msg: EmailMessage, from_address: str, when: dt.datetime | None) -> Match | str:
        """A :class:`Match`, or the reason there is none."""
        refs = MESSAGE_ID.findall(header(msg, "In-Reply-To")) + list(
            reversed(MESSAGE_ID.findall(header(msg, "References")))
        )
        for ref in refs:
            if ref in self.letters:
                letter_id, org_id, campaign_id, _contact_id = self.letters[ref]
                return Match(
                    org_id,
                    campaign_id,
                    letter_id,
                    self._contact_at(from_address, org_id),
                    "reply to the letter",
                )
            if ref in self.replies:
                org_id, campaign_id, letter_id = self.replies[ref]
                return Match(
                    org_id,
                    campaign_id,
                    letter_id,
                    self._contact_at(from_address, org_id),
                    "same thread as a response",
                )
        if not from_address or "@" not in from_address:
            return "no sender address"
        if from_address in self.contacts:
            contact_id, org_id = self.contacts[from_address]
            return self._with_letter(org_id, contact_id, when, "sender is a contact")
        domain = from_address.rsplit("@", 1)[1]
        if domain in self.own_domains:
            return "sent from the secretariat's own domain"
        if domain in PUBLIC_MAIL_DOMAINS:
            return f"unknown sender at a public mail service ({domain})"
        for candidate in _parent_domains(domain):
            orgs = self.domains.get(candidate)
            if not orgs:
                continue
            if len(orgs) > 1:
                names = ", ".join(sorted(self.acronyms.get(o, str(o)) for o in orgs))
                return f"domain {candidate} is shared by {names}"
            (org_id,) = orgs
            return self._with_letter(org_id, None, when, f"sender's domain {candidate}")
        return "no letter, contact or organization matches"

    def _contact_at(self, from_address: str, org_id: int) -> int | None:
        """The sender's contact id, if the sender is a contact of *org_id*."""
        found = self.contacts.get(from_address) if from_address else None
        return found[0] if found and found[1] == org_id else None

    def _with_letter(
        self, org_id: int, contact_id: int | None, when: dt.datetime | None, how: str
    ) -> Match:
        return letter_match(
            self.session, organization_id=org_id, contact_id=contact_id, when=when, how=how
        )


def letter_match(
    session: Session,
    *,
    organization_id: int,
    contact_id: int | None,
    when: dt.datetime | None,
    how: str,
    campaign_id: int | None = None,
) -> Match:
    """A match to *organization_id*, answering its latest letter sent before
    *when* (in *campaign_id*, when given; else that letter's campaign)."""
    letter_id, campaign_id = answered_letter(
        session,
        organization_id=organization_id,
        campaign_id=campaign_id,
        contact_id=contact_id,
        before=when,
    )
    return Match(organization_id, campaign_id, letter_id, contact_id, how)
