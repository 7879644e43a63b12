"""Passwords: from the keyring or a password command, never from a file;
what `config show` says about them, and the SMTP settings built from the
files."""

from __future__ import annotations

import json

import keyring.backends.fail
import pytest

from outreach import configfile
from outreach.errors import ConfigurationError
from outreach.sending.settings import SmtpSettings

from .conftest import echo_command, failing_command, write

SMTP = '[smtp]\nhost = "mail.coalition.example"\nuser = "maria"\n'


def test_a_password_command_runs_without_a_shell():
    # a shell would expand $HOME and the ';'; without one they are plain words
    command = echo_command("pa ss", "$HOME;", "x")
    assert configfile.run_secret_command("smtp.password_command", command) == "pa ss $HOME; x"


def test_a_failing_password_command_is_one_line_without_its_output():
    command = failing_command("hunter2-the-secret")
    with pytest.raises(ConfigurationError) as caught:
        configfile.run_secret_command("smtp.password_command", command)
    message = str(caught.value)
    assert "smtp.password_command" in message and "exit status 3" in message
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (failing_command("", status=0), "printed nothing"),
        (echo_command(), "printed nothing"),
        ("no-such-program-here --get", "the program 'no-such-program-here' is not found"),
        ("/", "cannot be run"),
    ],
)
def test_a_password_command_that_gives_no_password(command, said):
    with pytest.raises(ConfigurationError, match=said):
        configfile.run_secret_command("smtp.password_command", command)


def test_smtp_settings_come_from_the_file_then_the_environment_then_options(user_file):
    write(user_file, SMTP + 'port = 2525\nsecurity = "ssl"\n')
    settings = SmtpSettings.from_env({"OUTREACH_SMTP_PASSWORD": "pw"})
    assert settings.describe() == "maria@mail.coalition.example:2525 (ssl)"
    assert settings.password == "pw"
    settings = SmtpSettings.from_env(
        {"OUTREACH_SMTP_HOST": "env.example", "OUTREACH_SMTP_PASSWORD": "pw"}, port=587
    )
    assert settings.describe() == "maria@env.example:587 (ssl)"


def test_the_smtp_password_from_the_command(user_file):
    write(user_file, SMTP + f"password_command = {json.dumps(echo_command('from-the-command'))}\n")
    assert SmtpSettings.from_env({}).password == "from-the-command"
    # the environment's password wins and the command is not run
    assert SmtpSettings.from_env({"OUTREACH_SMTP_PASSWORD": "env"}).password == "env"


def test_the_smtp_password_from_the_keyring(user_file, memory_keyring, outreach):
    write(user_file, SMTP)
    assert SmtpSettings.from_env({}).password is None  # the command line will ask
    result = outreach("config", "set-password", "smtp", input="s3cret\ns3cret\n")
    assert "Stored the smtp password in the system keyring" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr
    assert memory_keyring.passwords == {("outreach", "smtp:maria@mail.coalition.example"): "s3cret"}
    assert SmtpSettings.from_env({}).password == "s3cret"
    # another account on the command line has its own entry
    assert SmtpSettings.from_env({}, user="ana").password is None
    assert not user_file.read_text().count("s3cret")


def test_show_says_where_each_password_comes_from(user_file, memory_keyring, outreach, monkeypatch):
    write(user_file, SMTP)
    line = lambda: next(  # noqa: E731
        x for x in outreach("config", "show").stdout.splitlines() if x.startswith("smtp.password ")
    )
    assert line().split()[1:] == ["(not", "set)"]
    configfile.store_password("smtp", "s3cret", configfile.load())
    assert "(keyring)" in line()
    write(user_file, SMTP + f"password_command = {json.dumps(echo_command('x'))}\n")
    assert "(command)" in line()
    monkeypatch.setenv("OUTREACH_SMTP_PASSWORD", "env-secret")
    assert "($OUTREACH_SMTP_PASSWORD)" in line()
    shown = outreach("config", "show").stdout
    assert "s3cret" not in shown and "env-secret" not in shown


def test_set_password_without_a_keyring_or_an_account(user_file, outreach):
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        write(user_file, SMTP)
        result = outreach("config", "set-password", "smtp", input="a\na\n", expect=1)
        assert "the system keyring cannot store the password" in result.stderr
        assert "give smtp.password_command instead" in result.stderr
    finally:
        keyring.set_keyring(before)
    user_file.unlink()
    result = outreach("config", "set-password", "imap", expect=1)
    assert "imap.user and imap.host must be set before a password can be stored" in result.stderr


def test_the_imap_password_from_the_settings_command_or_the_keyring(user_file, memory_keyring):
    from outreach.responses.imap import ImapAccount, find_password

    account = ImapAccount(host="imap.coalition.example", user="maria")
    write(user_file, '[imap]\nhost = "imap.coalition.example"\nuser = "maria"\n')
    configfile.store_password("imap", "from-the-keyring", configfile.load({}))
    assert find_password(account, env={}) == "from-the-keyring"
    write(
        user_file,
        '[imap]\nhost = "imap.coalition.example"\nuser = "maria"\n'
        f"password_command = {json.dumps(echo_command('from-the-command'))}\n",
    )
    assert find_password(account, env={}) == "from-the-command"
    assert find_password(account, env={"OUTREACH_IMAP_PASSWORD": "env"}) == "env"


def test_only_the_first_line_a_password_command_prints_is_the_password():
    import shlex
    import sys

    code = "print('  first-line  '); print('url: https://example.org')"
    command = shlex.join([sys.executable, "-c", code])
    assert configfile.run_secret_command("smtp.password_command", command) == "first-line"
