"""OAuth2 for SMTP: AUTH XOAUTH2 with a token from smtp.oauth_token_command,
against the loopback aiosmtpd server."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from outreach.sending.settings import SmtpSettings
from outreach.sending.transport import FatalTransportError, SmtpTransport

from ..mailfixtures import Recorder, SmtpServer, free_port, seed_campaign
from .conftest import echo_command, failing_command, write

USER = "secretariat@coalition.example"
TOKEN = "ya29.good-token"


@dataclass
class OAuthRecorder(Recorder):
    """A recording server that offers XOAUTH2 and takes one token only."""

    logins: list[str] = field(default_factory=list)

    async def auth_XOAUTH2(self, server, args):
        blob = args[1] if len(args) > 1 else ""
        text = base64.b64decode(blob).decode()
        self.logins.append(text)
        if text == f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01":
            return AuthResult(success=True, auth_data=USER)
        # as the big providers do: the error as a challenge, then 535
        details = json.dumps({"status": "401", "schemes": "Bearer"})
        await server.challenge_auth(details)
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        return "250 OK"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    recorder = OAuthRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, recorder, controller)
    finally:
        controller.stop()


def _settings(server: SmtpServer, token_command: str) -> SmtpSettings:
    return SmtpSettings(
        host=server.host,
        port=server.port,
        security="none",
        user=USER,
        oauth_token_command=token_command,
    )


def test_the_login_is_xoauth2_with_the_commands_token(server):
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = USER, "au@africa-union.org", "Hello"
    msg.set_content("Text.")
    with SmtpTransport(_settings(server, echo_command(TOKEN))) as transport:
        assert transport.send(msg, USER, ["au@africa-union.org"]) == []
    assert server.recorder.logins == [f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01"]
    assert server.recorder.count() == 1


def test_a_wrong_token_is_refused_in_one_line(server):
    transport = SmtpTransport(_settings(server, echo_command("expired-token")))
    with pytest.raises(FatalTransportError) as caught:
        transport.open()
    message = str(caught.value)
    assert "refused the login: 535 5.7.8 Username and Password not accepted" in message
    assert "check the user and the token smtp.oauth_token_command prints" in message
    assert "expired-token" not in message and "\n" not in message


def test_a_failing_token_command_stops_the_send_in_one_line(server):
    transport = SmtpTransport(_settings(server, failing_command("ya29.leaked")))
    with pytest.raises(FatalTransportError) as caught:
        transport.open()
    assert "smtp.oauth_token_command" in str(caught.value)
    assert "exit status 3" in str(caught.value)
    assert "leaked" not in str(caught.value)
    assert server.recorder.logins == []


def test_a_server_without_xoauth2_is_named(smtp_plain):
    transport = SmtpTransport(_settings(smtp_plain, echo_command(TOKEN)))
    with pytest.raises(FatalTransportError, match="does not offer OAuth2 login"):
        transport.open()


@pytest.fixture
def smtp_plain() -> Iterator[SmtpServer]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN"],
    )  # fmt: skip
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, recorder, controller)
    finally:
        controller.stop()


def test_letters_send_takes_the_server_and_the_token_from_the_settings(
    db, db_url, server, user_file
):
    """No --smtp-* option: the settings file says where and how, and no
    password is asked for."""
    from ..sending.test_send import letters_cmd

    seed_campaign(db, letters=2)
    write(
        user_file,
        f'[smtp]\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
        f'user = "{USER}"\noauth_token_command = {json.dumps(echo_command(TOKEN))}\n',
    )
    result = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", "--retry-delay", "0")
    assert "Sent 2 letter(s)" in result.stdout
    assert server.recorder.count() == 2
    assert "SMTP password for" not in result.stderr  # never asked for
