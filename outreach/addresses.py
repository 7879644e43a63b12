"""E-mail address pieces shared by letter generation and sending."""

from __future__ import annotations

#: The domain used when a campaign has no usable sender address.
FALLBACK_DOMAIN = "outreach.invalid"


def ascii_domain(domain: str) -> str:
    """An internationalised domain in its ASCII (IDNA) form: Message-IDs and
    SMTP envelopes must be ASCII (``coalition-société.org`` becomes
    ``xn--coalition-socit-onbb.org``)."""
    domain = domain.strip().rstrip(">")
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return FALLBACK_DOMAIN
