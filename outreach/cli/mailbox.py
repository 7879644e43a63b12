"""What the commands that talk to an IMAP mailbox share: the server and login
options, and the login itself (the options, else the settings; a password, an
OAuth2 token, or a prompt)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from outreach.cli.output import echo, safe

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option("--host", metavar="HOST", help="The IMAP server.  [default: imap.host setting]"),
    click.option(
        "--port", type=click.IntRange(1, 65535), help="[default: 993 with --ssl, else 143]"
    ),
    click.option("--ssl", "security", flag_value="ssl", help="TLS from the start (the default)."),
    click.option("--starttls", "security", flag_value="starttls", help="Plain, then STARTTLS."),
    click.option(
        "--no-tls",
        "security",
        flag_value="none",
        help="No encryption at all: only for a server on this machine or a trusted network.",
    ),
    click.option("--user", metavar="USER", help="The login.  [default: imap.user setting]"),
    click.option(
        "--password-command",
        metavar="CMD",
        help="A command printing the password (run without a shell).  "
        "[default: $OUTREACH_IMAP_PASSWORD, the settings, else asked]",
    ),
)


def imap_server_options(fn: F) -> F:
    """The IMAP server and login options (host, port, security, user, password command)."""
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def imap_login(
    host: str | None,
    port: int | None,
    security: str | None,
    user: str | None,
    folder: str | None,
    password_command: str | None,
    *,
    default_folder: str,
) -> tuple[Any, str]:
    """(account, password or OAuth2 token): the options, else the settings
    (files and environment, `outreach config show`)."""
    from outreach import configfile
    from outreach.errors import ConfigurationError
    from outreach.responses.imap import ENV_IMAP_PASSWORD, ImapAccount, find_password

    settings = configfile.load()
    host = host or settings.get("imap.host")
    user = user or settings.get("imap.user")
    for value, name in ((host, "host"), (user, "user")):
        if not value:
            raise ConfigurationError(
                f"no IMAP {name}: give --{name}, or set it once", hint=f"config set imap.{name} X"
            )
    port = port or settings.get("imap.port")
    security = security or settings.get("imap.security", "ssl")
    folder = folder or (
        settings.get("imap.folder", default_folder) if default_folder == "INBOX" else default_folder
    )
    # OAuth2 (Microsoft 365, Gmail) when a token command is set and no password is given
    token = None
    if not password_command and not os.environ.get(ENV_IMAP_PASSWORD):
        token = configfile.oauth_token("imap", settings)
    account = ImapAccount(
        host=host, user=user, port=port, security=security, folder=folder, oauth=bool(token)
    )
    if security == "none" and host not in ("127.0.0.1", "::1", "localhost"):
        echo(
            f"Warning: --no-tls: the login of {user} goes to {account.key} in clear text.",
            err=True,
        )
    prompt = None
    if sys.stdin.isatty():

        def prompt(text: str) -> str:
            return click.prompt(safe(text), hide_input=True, err=True)

    return account, token or find_password(account, command=password_command, prompt=prompt)
