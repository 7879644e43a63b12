"""Sending letters by e-mail, at most once; marking letters delivered another way.

- :mod:`~outreach.sending.settings`: SMTP settings, the sender's identity,
  the rate and the retry policy (and the environment variables they read);
- :mod:`~outreach.sending.message` (with :mod:`~outreach.sending.headers`):
  the one RFC 5322 builder, for sending and for ``.eml`` files;
- :mod:`~outreach.sending.transport`: one SMTP connection per batch, strict
  replies, permanent / transient / in-doubt failures;
- :mod:`~outreach.sending.ledger`: the at-most-once state changes of a letter
  (``sending``, ``sent``, in doubt) and settling them (confirm, resend);
- :mod:`~outreach.sending.claims`: who is sending a letter right now;
- :mod:`~outreach.sending.plan`: which letters a batch sends, and why not the others;
- :mod:`~outreach.sending.report`: what a batch did (:class:`SendReport`);
- :mod:`~outreach.sending.batch`: :class:`Sender`, which sends a campaign's batch;
- :mod:`~outreach.sending.manual`: letters delivered by post, fax or hand.

Names are re-exported here lazily (PEP 562), so ``import outreach.sending``
loads nothing until a name is used.
"""

from __future__ import annotations

from outreach.lazy import homes_of, lazy_exports

_MODULES = {
    "settings": (
        "DEFAULT_PORTS",
        "ENV_MAIL_BCC",
        "ENV_MAIL_FROM",
        "ENV_MAIL_REPLY_TO",
        "ENV_SMTP_HOST",
        "ENV_SMTP_PASSWORD",
        "ENV_SMTP_PORT",
        "ENV_SMTP_SECURITY",
        "ENV_SMTP_TIMEOUT",
        "ENV_SMTP_USER",
        "SECURITY_MODES",
        "MailIdentity",
        "Rate",
        "RetryPolicy",
        "SmtpSettings",
        "parse_rate",
    ),
    "message": (
        "LETTER_POLICY",
        "LetterMail",
        "MessageError",
        "build_message",
        "envelope_address",
        "envelope_recipients",
        "html_document",
        "plain_text",
    ),
    "transport": (
        "ConnectionLost",
        "FatalTransportError",
        "InDoubt",
        "PermanentFailure",
        "SmtpTransport",
        "TransientFailure",
    ),
    "ledger": ("PendingLetter", "confirm_letters", "in_doubt_letters", "resend_letters"),
    "claims": ("PG_SENDING_LOCK_NS", "this_process_claim"),
    "report": (
        "FAILED",
        "IN_DOUBT",
        "SENT",
        "WOULD_FAIL",
        "WOULD_SEND",
        "LetterOutcome",
        "SendReport",
    ),
    "batch": ("Sender", "campaign_by_slug"),
    "manual": ("MANUAL_CHANNELS", "mark_sent"),
}
_LAZY = homes_of(_MODULES)

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
