"""What a send needs to know: the SMTP server (:class:`SmtpSettings`), who
the letters come from (:class:`MailIdentity`), how fast (:class:`Rate`,
:func:`parse_rate`) and how patiently (:class:`RetryPolicy`); and the
environment variables they are read from. The settings files
(:mod:`outreach.configfile`) sit between the defaults and the environment.
The SMTP password comes from the environment, ``smtp.password_command`` or
the system keyring (or is prompted for) and is never stored; with
``smtp.oauth_token_command`` the login is OAuth2 (XOAUTH2) instead."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from outreach import configfile
from outreach.addresses import ascii_domain
from outreach.errors import ConfigurationError, ValidationError
from outreach.safetext import text_problem
from outreach.sending import headers as mailheaders

if TYPE_CHECKING:  # pragma: no cover
    from outreach.schema.models import Campaign


ENV_SMTP_HOST = "OUTREACH_SMTP_HOST"
ENV_SMTP_PORT = "OUTREACH_SMTP_PORT"
ENV_SMTP_SECURITY = "OUTREACH_SMTP_SECURITY"
ENV_SMTP_USER = "OUTREACH_SMTP_USER"
#: The SMTP password is read from here (or prompted for); it is never stored.
ENV_SMTP_PASSWORD = "OUTREACH_SMTP_PASSWORD"
#: Seconds to wait for the SMTP server at each step (connecting, each reply).
ENV_SMTP_TIMEOUT = "OUTREACH_SMTP_TIMEOUT"
ENV_MAIL_FROM = "OUTREACH_MAIL_FROM"
ENV_MAIL_REPLY_TO = "OUTREACH_MAIL_REPLY_TO"
ENV_MAIL_BCC = "OUTREACH_MAIL_BCC"

SECURITY_MODES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect. The password is held only in memory."""

    host: str = "localhost"
    port: int | None = None
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    #: A command printing an OAuth2 access token: the login is then XOAUTH2,
    #: with a token fetched for each connection.
    oauth_token_command: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ConfigurationError(
                f"SMTP security {self.security!r} is not known: use ssl, starttls or none"
            )
        if not self.host or any(c in self.host for c in "\r\n /"):
            raise ConfigurationError(f"SMTP host {self.host!r} is not a host name")
        if not 0 < self.timeout < float("inf"):
            raise ConfigurationError(
                f"SMTP timeout {self.timeout!r}: give a number of seconds above zero"
            )

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    def describe(self) -> str:
        """A safe one-line description (never the password)."""
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.host}:{self.effective_port} ({self.security})"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        config: configfile.Settings | None = None,
        **overrides: Any,
    ) -> SmtpSettings:
        """Settings from the ``[smtp]`` section of the settings files (*config*,
        read with *environ* when not given), the ``OUTREACH_SMTP_*`` variables
        over them and *overrides* (not None) on top. Without a password given,
        one from ``smtp.password_command`` or the keyring is looked up (unless
        the login is OAuth2)."""
        env = os.environ if environ is None else environ
        conf = config if config is not None else configfile.load(env)
        values: dict[str, Any] = {
            "host": conf.get("smtp.host") or "localhost",
            "port": conf.get("smtp.port"),
            "security": conf.get("smtp.security") or "starttls",
            "user": conf.get("smtp.user"),
            "password": env.get(ENV_SMTP_PASSWORD) or None,
            "timeout": env.get(ENV_SMTP_TIMEOUT) or None,
            "oauth_token_command": conf.get("smtp.oauth_token_command"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["user"] and not values["password"] and not values["oauth_token_command"]:
            values["password"] = configfile.password(
                "smtp", conf, env, user=values["user"], host=values["host"]
            )
        if values["port"] is not None:
            try:
                values["port"] = int(values["port"])
            except ValueError:
                raise ConfigurationError(f"SMTP port {values['port']!r} is not a number") from None
        if values["timeout"] is None:
            del values["timeout"]
        else:
            try:
                values["timeout"] = float(values["timeout"])
            except ValueError:
                raise ConfigurationError(
                    f"SMTP timeout {values['timeout']!r} ({ENV_SMTP_TIMEOUT}) is not a number "
                    "of seconds"
                ) from None
        return cls(**values)


@dataclass(frozen=True)
class MailIdentity:
    """Who the letters come from: From, Reply-To and the archive BCC."""

    from_address: str
    from_name: str | None = None
    reply_to: str | None = None
    #: The secretariat's own archive address: receives a blind copy of every letter.
    bcc: str | None = None

    def __post_init__(self) -> None:
        problems = []
        for label, value in (
            ("From address", self.from_address),
            ("From name", self.from_name),
            ("Reply-To", self.reply_to),
            ("BCC", self.bcc),
        ):
            if value is not None and mailheaders.has_line_break(value):
                problems.append(f"{label}: contains a line break")
            elif value is not None and (problem := text_problem(value)) is not None:
                problems.append(f"{label}: {problem}")
        for label, value in (
            ("From address", self.from_address),
            ("Reply-To", self.reply_to),
            ("BCC", self.bcc),
        ):
            if value is not None and not mailheaders.looks_like_address(value):
                problems.append(f"{label}: {value!r} is not an e-mail address")
        if problems:
            raise ValidationError("the sender identity is not usable", problems)

    @property
    def domain(self) -> str:
        """The From address's domain, in ASCII (for Message-IDs)."""
        return ascii_domain(self.from_address.rsplit("@", 1)[1])

    @classmethod
    def for_campaign(
        cls,
        campaign: Campaign,
        *,
        from_address: str | None = None,
        from_name: str | None = None,
        reply_to: str | None = None,
        bcc: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> MailIdentity:
        """Explicit values first, then the campaign's ``sender`` details, then
        ``OUTREACH_MAIL_FROM`` / ``_REPLY_TO`` / ``_BCC``."""
        env = os.environ if environ is None else environ
        details = campaign.sender or {}
        address = (
            from_address
            or details.get("email")
            or env.get(ENV_MAIL_FROM)
            or configfile.load(env).get("smtp.from")
        )
        if not address:
            raise ConfigurationError(
                f"campaign {campaign.slug} has no sender address: give one, set {ENV_MAIL_FROM} "
                "or smtp.from in the settings",
                field="from",
            )
        return cls.from_details(
            details,
            signatory=campaign.signatory,
            from_address=address,
            from_name=from_name,
            reply_to=reply_to,
            bcc=bcc,
            environ=env,
        )

    @classmethod
    def from_details(
        cls,
        details: Mapping[str, Any],
        *,
        signatory: str | None,
        from_address: str | None = None,
        from_name: str | None = None,
        reply_to: str | None = None,
        bcc: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> MailIdentity:
        """The identity made of a campaign's ``sender`` details (*details*):
        explicit values first, then the details, then *environ*'s
        ``OUTREACH_MAIL_REPLY_TO`` / ``_BCC``. The From name is the sender's
        name, else its organization, else the *signatory*."""
        env = environ or {}
        return cls(
            from_address=from_address or details.get("email") or "",
            from_name=from_name or details.get("name") or details.get("organization") or signatory,
            reply_to=reply_to or details.get("reply_to") or env.get(ENV_MAIL_REPLY_TO) or None,
            bcc=bcc or details.get("bcc") or env.get(ENV_MAIL_BCC) or None,
        )


@dataclass(frozen=True)
class Rate:
    """At most ``count`` messages every ``seconds``; sent evenly spaced."""

    count: int
    seconds: float

    @property
    def interval(self) -> float:
        return self.seconds / self.count

    def __str__(self) -> str:
        return f"{self.count} per {self.seconds:g} s"


_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_RATE = re.compile(
    r"^\s*(?P<count>\d+)\s*(?:/|per|a|every)\s*(?P<n>\d+(?:\.\d+)?)?\s*(?P<unit>[a-z]+)\s*$",
    re.IGNORECASE,
)


def parse_rate(text: str | None) -> Rate | None:
    """``"30/min"``, ``"50 per 5 min"``, ``"1/s"``, ``"200/hour"``; ``None``,
    ``""``, ``"0"`` or ``"unlimited"`` mean no limit."""
    if text is None or text.strip().lower() in ("", "0", "unlimited", "none", "max"):
        return None
    m = _RATE.match(text)
    unit = m and _UNITS.get(m["unit"].lower())
    if not m or not unit:
        raise ValidationError(
            f"rate {text!r} is not understood: write it like 30/min, 50 per 5 min or 1/s"
        )
    count = int(m["count"])
    seconds = float(m["n"] or 1) * unit
    if count <= 0 or seconds <= 0:
        raise ValidationError(f"rate {text!r}: the count and the period must be above zero")
    return Rate(count, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential back-off for transient failures."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number *attempt* (1-based)."""
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
