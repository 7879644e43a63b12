"""Letters as RFC 5322 e-mail messages, ready to send."""

from __future__ import annotations

import email.policy
import email.utils
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TYPE_CHECKING

from outreach.errors import ValidationError
from outreach.render.html import to_html
from outreach.render.markdown import to_text

if TYPE_CHECKING:  # pragma: no cover
    from outreach.letters import LetterDoc


def _clean(value: str | None, what: str, doc: LetterDoc) -> str:
    value = value or ""
    if "\r" in value or "\n" in value:
        raise ValidationError(
            f"{doc.acronym}: the {what} contains a line break, which is not allowed in an "
            "e-mail header; fix it in the directory or the campaign"
        )
    return value


def _address(name: str | None, addr: str | None, what: str, doc: LetterDoc) -> str:
    name = _clean(name, f"{what} name", doc)
    addr = _clean(addr, f"{what} address", doc)
    if not addr:
        raise ValidationError(f"{doc.acronym}: no {what} e-mail address for the .eml file")
    try:
        return str(Address(display_name=name, addr_spec=addr))
    except (ValueError, IndexError) as exc:
        raise ValidationError(
            f"{doc.acronym}: {what} address {addr!r} is not valid: {exc}"
        ) from None


def build_message(doc: LetterDoc) -> EmailMessage:
    msg = EmailMessage(policy=email.policy.default)
    sender = doc.sender or {}
    msg["From"] = _address(
        sender.get("name") or sender.get("organization"),
        sender.get("email"),
        "sender",
        doc,
    )
    to_addr = doc.to_address if doc.channel == "email" and doc.to_address else doc.contact_email
    msg["To"] = _address(doc.contact, to_addr, "recipient", doc)
    msg["Subject"] = _clean(doc.subject, "subject", doc)
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = _clean(doc.message_id, "Message-ID", doc) or email.utils.make_msgid(
        domain="outreach.invalid"
    )
    msg["X-Outreach-Campaign"] = _clean(doc.campaign, "campaign", doc)
    msg.set_content(to_text(doc.body), cte="quoted-printable")
    msg.add_alternative(to_html(doc), subtype="html", cte="quoted-printable")
    # after add_alternative, which moves Content-* headers into the first part
    msg["Content-Language"] = _clean(doc.language, "language", doc)
    return msg


def to_eml(doc: LetterDoc) -> bytes:
    return build_message(doc).as_bytes(policy=email.policy.SMTP)
