"""The SMTP transport: one connection for a batch, reopened when it drops.

It tells permanent refusals (:class:`PermanentFailure`) from transient
failures (:class:`TransientFailure`, :class:`ConnectionLost`) and from the one
case where nobody can know whether the server kept the message
(:class:`InDoubt`); it reads the server's replies strictly (a malformed or
endless reply is a failure, never a success)."""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from outreach.sending.message import message_bytes
from outreach.sending.settings import ENV_SMTP_PASSWORD, SmtpSettings


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): do not retry."""


class TransientFailure(Exception):
    """Nothing was delivered and it may work later (4xx, connection lost before DATA)."""


class ConnectionLost(TransientFailure):
    """The connection had dropped before the message was sent: reopen and retry."""


class InDoubt(Exception):
    """The connection broke while the server was taking the message: it may or
    may not have been delivered."""


class FatalTransportError(Exception):
    """The batch cannot go on (cannot connect, login refused)."""


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


_REPLY_LINE = re.compile(rb"([2-5][0-5][0-9])(?:([ -])(.*))?\r?\n", re.DOTALL)


class _StrictReplies:
    """``getreply`` for :class:`smtplib.SMTP`, strict about what a reply is.

    smtplib reads ``"25"``, ``"2500 OK"``, ``"999 x"`` or a reply cut off
    before its line end as if they were real codes, and turns an overlong line
    into a made-up ``500``. Here only RFC 5321 replies count (three digits
    ``[2-5][0-5][0-9]``, then a space, a hyphen or the line end; every line of
    a multiline reply with the same code); anything else comes back as code
    ``-1``, and a reply the server did not finish raises
    :class:`smtplib.SMTPServerDisconnected`.
    """

    file: Any
    sock: Any

    def getreply(self) -> tuple[int, bytes]:
        lines: list[bytes] = []
        code: bytes | None = None
        if self.file is None:
            self.file = self.sock.makefile("rb")
        while True:
            try:
                line = self.file.readline(smtplib._MAXLINE + 1)
            except OSError as exc:
                self.close()  # type: ignore[attr-defined]
                raise smtplib.SMTPServerDisconnected(
                    f"Connection unexpectedly closed: {exc}"
                ) from None
            if len(line) > smtplib._MAXLINE:
                lines.append(line[:80])
                return -1, b"\n".join(lines)
            if not line.endswith(b"\n"):
                self.close()  # type: ignore[attr-defined]
                raise smtplib.SMTPServerDisconnected(
                    "Connection unexpectedly closed"
                    + (f" in the middle of a reply ({line[:80]!r})" if line else "")
                )
            m = _REPLY_LINE.fullmatch(line)
            if m is None or (code is not None and m[1] != code):
                lines.append(line.strip())
                return -1, b"\n".join(lines)
            code = m[1]
            lines.append((m[3] or b"").strip(b" \t\r\n"))
            if m[2] != b"-":
                return int(code), b"\n".join(lines)


class _SMTP(_StrictReplies, smtplib.SMTP):
    pass


class _SMTP_SSL(_StrictReplies, smtplib.SMTP_SSL):
    pass


def _proper(code: int) -> bool:
    """A real SMTP reply code (what :class:`_StrictReplies` returns unless -1)."""
    return 200 <= code <= 559


class SmtpTransport:
    """One SMTP connection, reused for a batch and reopened when it drops."""

    def __init__(self, settings: SmtpSettings, *, local_hostname: str | None = None) -> None:
        self.settings = settings
        self.local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        self.connections_opened = 0

    # -- connection ------------------------------------------------------------

    def open(self) -> None:
        if self._smtp is not None:
            return
        s = self.settings
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = _SMTP_SSL(
                    s.host,
                    s.effective_port,
                    local_hostname=self.local_hostname,
                    timeout=s.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = _SMTP(
                    s.host, s.effective_port, local_hostname=self.local_hostname, timeout=s.timeout
                )
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise FatalTransportError(
                        f"{s.describe()} does not offer STARTTLS: use --smtp-security ssl or "
                        "none (only on a trusted network)"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.oauth_token_command:
                self._login_oauth(smtp)
            elif s.user:
                self._login(smtp)
        except smtplib.SMTPAuthenticationError as exc:
            secret = (
                "the token smtp.oauth_token_command prints"
                if s.oauth_token_command
                else f"the password ({ENV_SMTP_PASSWORD}, smtp.password_command or the keyring)"
            )
            raise FatalTransportError(
                f"{s.describe()} refused the login: {_reply(exc.smtp_code, exc.smtp_error)}; "
                f"check the user and {secret}"
            ) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise TransientFailure(f"cannot connect to {s.describe()}: {exc}") from None
        self._smtp = smtp
        self.connections_opened += 1

    def _login(self, smtp: smtplib.SMTP) -> None:
        """Log in with one mechanism (PLAIN, else LOGIN, else CRAM-MD5): a
        refused password is not tried again through the others."""
        s = self.settings
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        for mechanism in ("PLAIN", "LOGIN", "CRAM-MD5"):
            if mechanism in offered:
                break
        else:
            smtp.close()
            raise FatalTransportError(
                f"{s.describe()} offers no login this program knows "
                f"({' '.join(offered) or 'none'}); remove --smtp-user if it needs none"
            )
        smtp.user, smtp.password = s.user or "", s.password or ""
        method = getattr(smtp, "auth_" + mechanism.lower().replace("-", "_"))
        smtp.auth(mechanism, method, initial_response_ok=mechanism != "CRAM-MD5")

    def _login_oauth(self, smtp: smtplib.SMTP) -> None:
        """Log in with OAuth2 (SASL XOAUTH2), a fresh token from the token command."""
        from outreach import configfile
        from outreach.errors import ConfigurationError

        s = self.settings
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        if "XOAUTH2" not in offered:
            smtp.close()
            raise FatalTransportError(
                f"{s.describe()} does not offer OAuth2 login (XOAUTH2; it offers "
                f"{' '.join(offered) or 'none'}); remove smtp.oauth_token_command to log in "
                "with a password"
            )
        if not s.user or not s.user.isascii():
            smtp.close()
            raise FatalTransportError("an OAuth2 login needs the account's address as smtp.user")
        try:
            token = configfile.run_secret_command(
                "smtp.oauth_token_command", s.oauth_token_command or ""
            )
        except ConfigurationError as exc:
            smtp.close()
            raise FatalTransportError(str(exc)) from None
        if not token.isascii() or any(c in token for c in "\x00\x01 "):
            smtp.close()
            raise FatalTransportError("smtp.oauth_token_command printed something not a token")
        initial = f"user={s.user}\x01auth=Bearer {token}\x01\x01"

        def xoauth2(challenge: bytes | None = None) -> str:
            # After a refusal the server sends its error details as a
            # challenge; an empty answer ends the exchange (with a 535).
            return initial if challenge is None else ""

        smtp.auth("XOAUTH2", xoauth2, initial_response_ok=True)

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one message -------------------------------------------------------------

    def send(self, msg: EmailMessage, from_address: str, recipients: Sequence[str]) -> list[str]:
        """Hand *msg* over. Returns warnings (e.g. the archive BCC refused).

        Raises :class:`PermanentFailure`, :class:`TransientFailure` (nothing was
        delivered) or :class:`InDoubt`. Nothing can be delivered before the
        server has the whole message, ended by the final dot, so:

        - before the body goes out (MAIL FROM, RCPT TO, the DATA command): a
          4xx reply is transient, a 5xx permanent; anything else (a reply that
          is not SMTP, an unexpected code, a dropped connection, a timeout, a
          TLS error) drops the connection, which is never used again (what the
          server would make of the next command is unknown), and the letter is
          retried on a new one: :class:`ConnectionLost`;
        - once the body is on the wire: a 2xx reply means sent, a 4xx or 5xx
          reply transient or permanent; anything else (not SMTP, a 3xx, the
          connection dropped, no reply in time) may mean the server kept it:
          :class:`InDoubt`, never retried.
        """
        self.open()
        smtp = self._smtp
        assert smtp is not None
        data = message_bytes(msg)
        if not from_address.isascii() or not all(r.isascii() for r in recipients):
            raise PermanentFailure("non-ASCII envelope addresses are not supported")
        warnings: list[str] = []
        try:
            code, resp = smtp.mail(from_address, [])
            if code != 250:
                self._refused(code, resp, "the server refused the sender", "MAIL FROM")
            for i, rcpt in enumerate(recipients):
                code, resp = smtp.rcpt(rcpt)
                if code in (250, 251):
                    continue
                if i > 0 and _proper(code) and code >= 400:
                    warnings.append(f"{rcpt} refused: {_reply(code, resp)}")
                    continue
                self._refused(code, resp, f"the server refused {rcpt}", "RCPT TO")
            # smtplib's data() in its two steps: the end of the message is
            # never sent unless the server has said 354.
            smtp.putcmd("data")
            code, resp = smtp.getreply()
            if code != 354:
                self._refused(code, resp, "the server refused the message", "DATA")
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise ConnectionLost(f"connection lost before the message was sent: {exc}") from None
        body = re.sub(rb"(?m)^\.", b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        try:
            smtp.send(body + b".\r\n")
            code, resp = smtp.getreply()
        except Exception as exc:
            self._drop()
            raise InDoubt(
                f"connection lost while the server was taking the message: {exc}"
            ) from None
        if 200 <= code < 300:
            return warnings
        if _proper(code) and code >= 400:
            self._reset()
            self._raise_for(code, resp, "the server refused the message")
        self._drop()
        raise InDoubt(
            f"the server's reply to the message is not an SMTP reply ({_reply(code, resp)}): "
            "it may have kept the message"
        )

    def _refused(self, code: int, resp: bytes | str, what: str, command: str) -> None:
        """Raise for a reply other than the one wanted, before the message went out."""
        if _proper(code) and code >= 400:
            self._reset()
            self._raise_for(code, resp, what)
        self._drop()
        raise ConnectionLost(
            f"the server's reply to {command} is not an SMTP reply ({_reply(code, resp)}); "
            "the message was not sent"
        )

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    @staticmethod
    def _raise_for(code: int, resp: bytes | str, what: str) -> None:
        reply = _reply(code, resp)
        if 400 <= code < 500:
            raise TransientFailure(f"{what}: {reply}")
        raise PermanentFailure(f"{what}: {reply}")
