"""Letters as RFC 5322 e-mail messages, ready to send."""

from __future__ import annotations

import contextlib
import email.utils
import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from outreach.errors import ValidationError
from outreach.render.html import to_html
from outreach.render.markdown import to_text
from outreach.sending.headers import (
    POLICY,
    HeaderError,
    addr_spec,
    mailbox,
    message_id,
    put,
    unstructured,
)

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")


def _safe(doc: LetterDoc, make: Callable[..., str], *args: Any) -> str:
    """A header value from :mod:`outreach.sending.headers`; its refusal names the letter."""
    try:
        return make(*args)
    except HeaderError as exc:
        raise ValidationError(f"{doc.acronym}: {exc}") from None


def _addr_spec(addr: str | None, what: str, doc: LetterDoc) -> str:
    addr = (addr or "").strip()
    if not addr:
        raise ValidationError(f"{doc.acronym}: no {what} e-mail address for the .eml file")
    local, at, domain = addr.rpartition("@")
    if at and not domain.isascii():
        with contextlib.suppress(UnicodeError):  # if so, refused just below
            addr = f"{local}@{domain.encode('idna').decode('ascii')}"
    if not addr.isascii():
        raise ValidationError(
            f"{doc.acronym}: {what} address {addr!r} is not valid: a mail header needs an "
            "ASCII address before the @"
        )
    return _safe(doc, addr_spec, addr, f"{what} address")


def build_message(doc: LetterDoc) -> EmailMessage:
    """The letter as an e-mail message. Every header made from data is built
    by :mod:`outreach.sending.headers` (checked, encoded and folded by outreach,
    stored as it is), never parsed or re-folded by the standard library."""
    msg = EmailMessage(policy=POLICY)
    sender = doc.sender or {}
    from_addr = _addr_spec(sender.get("email"), "sender", doc)
    name = sender.get("name") or sender.get("organization") or None
    put(msg, "From", _safe(doc, mailbox, "From", name, from_addr, "the sender address"))
    to_addr = doc.to_address if doc.channel == "email" and doc.to_address else doc.contact_email
    to_addr = _addr_spec(to_addr, "recipient", doc)
    put(msg, "To", _safe(doc, mailbox, "To", doc.contact, to_addr, "the recipient address"))
    put(msg, "Subject", _safe(doc, unstructured, "Subject", doc.subject or "", "the subject"))
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg_id = doc.message_id or email.utils.make_msgid(domain="outreach.invalid")
    put(msg, "Message-ID", _safe(doc, message_id, msg_id))
    campaign = _safe(doc, unstructured, "X-Outreach-Campaign", doc.campaign or "", "the campaign")
    put(msg, "X-Outreach-Campaign", campaign)
    msg.set_content(to_text(doc.body), cte="quoted-printable")
    msg.add_alternative(to_html(doc), subtype="html", cte="quoted-printable")
    # after add_alternative, which moves Content-* headers into the first part
    if doc.language and _LANGUAGE_TAG.fullmatch(doc.language):
        put(msg, "Content-Language", doc.language)
    return msg


def to_eml(doc: LetterDoc) -> bytes:
    return build_message(doc).as_bytes(policy=POLICY)
