"""``outreach config``: the settings files, what is in effect and where it comes from."""

from __future__ import annotations

import click

from outreach.cli.output import echo as safe_echo
from outreach.errors import ConfigurationError


def _target(local: bool):  # type: ignore[no-untyped-def]
    from outreach import configfile

    return configfile.local_file() if local else configfile.user_file()


local_option = click.option(
    "--local",
    is_flag=True,
    help="The working folder's outreach.toml (wins over your own file) instead of yours.",
)


@click.group("config")
def config_group() -> None:
    """Settings: your file, then ./outreach.toml, then OUTREACH_* variables,
    then command-line options (each wins over the one before).

    Passwords are never written to a file: store them with `outreach config
    set-password smtp` (the system keyring) or give smtp.password_command.
    """


@config_group.command("show")
def show_cmd() -> None:
    """The settings in effect and where each comes from."""
    from outreach import configfile
    from outreach.config import mask_url

    settings = configfile.load()
    for path in settings.files:
        state = "folder!" if path.is_dir() else "read" if path.exists() else "none"
        safe_echo(f"# {path} ({state})")
    rows: list[tuple[str, str, str]] = []
    for key in configfile.KEYS:
        try:
            found = settings.setting(key)
        except ConfigurationError as exc:
            rows.append((key, "(bad value)", str(exc)))
            continue
        value = "(not set)" if found.value is None else str(found.value)
        if key == "database.url":
            value = mask_url(value)
        rows.append((key, value, found.source))
        section, _, name = key.partition(".")
        if name == "user" and section in configfile.SECRET_SECTIONS:
            rows.append(
                (f"{section}.password", configfile.password_source(section, settings), "")
            )
    width = max(len(key) for key, _, _ in rows)
    for key, value, source in rows:
        safe_echo(f"{key:<{width}}  {value}" + (f"  [{source}]" if source else ""))


@config_group.command("path")
@local_option
def path_cmd(local: bool) -> None:
    """Print the settings file that `config set` writes."""
    safe_echo(str(_target(local)))


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@local_option
def set_cmd(key: str, value: str, local: bool) -> None:
    """Write KEY (such as smtp.host) = VALUE to your settings file."""
    from outreach import configfile

    path = _target(local)
    written = configfile.set_value(key, value, path)
    safe_echo(f"Set {key} = {written} in {path}.")
    try:
        found = configfile.load().setting(key)
    except ConfigurationError:
        return
    if found.source != str(path):
        safe_echo(f"Note: {found.source} sets {key} too, and wins.", err=True)


@config_group.command("unset")
@click.argument("key")
@local_option
def unset_cmd(key: str, local: bool) -> None:
    """Remove KEY from your settings file."""
    from outreach import configfile

    path = _target(local)
    if configfile.unset_value(key, path):
        safe_echo(f"Removed {key} from {path}.")
    else:
        safe_echo(f"{key} was not set in {path}.")


@config_group.command("set-password")
@click.argument("section", type=click.Choice(["smtp", "imap"]))
def set_password_cmd(section: str) -> None:
    """Store the SMTP or IMAP password in the system keyring (asked for, not echoed)."""
    from outreach import configfile

    settings = configfile.load()
    account = configfile.keyring_account(section, settings)
    secret = click.prompt(
        f"Password for {account.partition(':')[2]}",
        hide_input=True,
        confirmation_prompt=True,
        err=True,
    )
    configfile.store_password(section, secret, settings)
    safe_echo(f"Stored the {section} password in the system keyring ({account}).")
