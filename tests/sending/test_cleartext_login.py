"""``--smtp-security none`` with a login warns, once, that the password goes
in clear text (issue 11, 7g)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from ..mailfixtures import seed_campaign
from .badsmtp import BadSmtpServer
from .test_send import letters_cmd

WARNING = "in clear text"


@pytest.fixture
def server() -> Iterator[BadSmtpServer]:
    srv = BadSmtpServer(offer_auth=True)
    try:
        yield srv
    finally:
        srv.stop()


def _send(db_url, server, *extra, security="none", expect=None):
    argv = ["--smtp-host", server.host, "--smtp-port", str(server.port)]
    return letters_cmd(
        db_url,
        "send",
        "--campaign",
        "iid-2012",
        "--send",
        "--retry-delay",
        "0",
        *argv,
        "--smtp-security",
        security,
        *extra,
        expect=expect,
    )


def test_login_without_encryption_warns_once_per_run(db, db_url, server, monkeypatch):
    seed_campaign(db, letters=3)
    monkeypatch.setenv("OUTREACH_SMTP_PASSWORD", "s3cret")
    result = _send(db_url, server, "--smtp-user", "sec", expect=0)
    assert "Sent 3 letter(s)" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if WARNING in line]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("Warning: --smtp-security none")
    assert "sec" in warnings[0] and f"{server.host}:{server.port}" in warnings[0]
    assert "s3cret" not in result.stdout + result.stderr
    # And it did go in clear text: the server read it.
    assert any(base64.b64encode(b"\0sec\0s3cret") in line for line in server.auth_lines)


def test_prompted_password_is_warned_about_before_the_prompt(db, db_url, server, monkeypatch):
    from click.testing import CliRunner

    from outreach.cli.sending import COMMANDS

    seed_campaign(db, letters=1)
    monkeypatch.delenv("OUTREACH_SMTP_PASSWORD", raising=False)
    command = {c.name: c for c in COMMANDS}["send"]
    argv = ["--db", db_url, "--campaign", "iid-2012", "--send", *server.argv()]
    result = CliRunner().invoke(command, [*argv, "--smtp-user", "sec"], input="typed\n")
    assert result.exit_code == 0, result.output
    assert result.stderr.count(WARNING) == 1
    assert result.stderr.index(WARNING) < result.stderr.index("SMTP password for sec")


@pytest.mark.parametrize(
    ("security", "user", "password"),
    [
        ("none", None, None),
        ("none", None, "s3cret"),  # no user: the password is never sent
        ("starttls", "sec", "s3cret"),
        ("ssl", "sec", "s3cret"),
    ],
)
def test_no_warning_without_a_clear_text_login(
    db, db_url, server, monkeypatch, security, user, password
):
    seed_campaign(db, letters=2)
    if password:
        monkeypatch.setenv("OUTREACH_SMTP_PASSWORD", password)
    else:
        monkeypatch.delenv("OUTREACH_SMTP_PASSWORD", raising=False)
    extra = ("--smtp-user", user) if user else ()
    # This server speaks no TLS: starttls and ssl stop before any login.
    result = _send(db_url, server, *extra, security=security)
    assert WARNING not in result.stderr + result.stdout
    assert server.auth_lines == []
    assert result.exit_code == (0 if security == "none" else 1)
