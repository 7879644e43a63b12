"""The settings files: which wins, what a bad file says, and what `config
set` writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from outreach import configfile
from outreach.config import current_user, database_url
from outreach.errors import ConfigurationError
from outreach.templating.templates import template_dirs

from .conftest import write


def test_local_file_wins_over_the_users_and_the_environment_over_both(user_file, tmp_path):
    write(user_file, '[smtp]\nhost = "user.example"\nport = 2525\nuser = "maria"\n')
    local = write(tmp_path / "work" / "outreach.toml", '[smtp]\nhost = "local.example"\n')
    settings = configfile.load({}, cwd=tmp_path / "work")
    assert settings["smtp.host"] == "local.example"
    assert settings.setting("smtp.host").source == str(local)
    assert settings["smtp.port"] == 2525
    assert settings.setting("smtp.port").source == str(user_file)
    assert settings.setting("smtp.security").source == "default"

    env = configfile.load({"OUTREACH_SMTP_HOST": "env.example"}, cwd=tmp_path / "work")
    assert env["smtp.host"] == "env.example"
    assert env.setting("smtp.host").source == "$OUTREACH_SMTP_HOST"


def test_relative_paths_in_a_file_are_read_from_its_folder(user_file):
    write(user_file, '[letters]\ntemplates = "my-letters"\nlogo = "logo.png"\npaper = "Letter"\n')
    settings = configfile.load({})
    assert settings["letters.templates"] == str(user_file.parent / "my-letters")
    assert settings["letters.logo"] == str(user_file.parent / "logo.png")
    assert settings["letters.paper"] == "letter"


def test_the_database_url_and_the_name_default_to_the_file(user_file, tmp_path, monkeypatch):
    write(user_file, f'[database]\nurl = "{tmp_path / "shared.db"}"\n[identity]\nname = "Maria"\n')
    assert database_url() == f"sqlite:///{tmp_path / 'shared.db'}"
    assert database_url(tmp_path / "mine.db") == f"sqlite:///{tmp_path / 'mine.db'}"
    assert current_user() == "Maria"
    assert current_user("Ana") == "Ana"
    monkeypatch.setenv("OUTREACH_USER", "Env")
    assert current_user() == "Env"
    monkeypatch.setenv("OUTREACH_DATABASE_URL", str(tmp_path / "env.db"))
    assert database_url() == f"sqlite:///{tmp_path / 'env.db'}"


def test_the_file_names_who_acts_in_the_activity_log(user_file, db_url, outreach):
    write(user_file, f'[database]\nurl = "{db_url}"\n[identity]\nname = "Maria Lopes"\n')
    outreach("orgs", "add", "AU", "African Union", "--kind", "regional")
    assert "Maria Lopes" in outreach("log").stdout


def test_the_templates_folder_defaults_to_the_file(user_file, tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    write(user_file, f'[letters]\ntemplates = "{folder}"\n')
    assert template_dirs()[0] == folder.resolve()
    other = tmp_path / "other"
    other.mkdir()
    assert template_dirs(other)[0] == other.resolve()  # the campaign's own folder wins


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("smtp = [\n", "is not valid TOML"),
        ('[smtp]\nprot = 25\n', "smtp.prot is not a setting; did you mean smtp.port?"),
        ('[smtp]\nport = "many"\n', "smtp.port 'many' is not a port number"),
        ('[smtp]\nport = 70000\n', "smtp.port 70000 is not a port number"),
        ('[smtp]\nsecurity = "tls"\n', "smtp.security 'tls' is not one of ssl, starttls, none"),
        ('[smtp]\nhost = 5\n', "smtp.host 5 is not text"),
        ('[smtp]\npassword = "hunter2"\n', "smtp.password: a password is never read"),
        ('[imap]\npassword = "hunter2"\n', "imap.password: a password is never read"),
        ('smtp = "mail.example"\n', "smtp must be a [smtp] table"),
        ('[smtp]\npassword_command = "\'unclosed"\n', "cannot be split into words"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_file_and_the_key(user_file, outreach, text, said):
    write(user_file, text)
    with pytest.raises(ConfigurationError) as caught:
        configfile.load({})
    message = str(caught.value)
    assert message.startswith(f"settings file {user_file}: ")
    assert said in message
    assert "\n" not in message
    assert "hunter2" not in message
    result = outreach("config", "show", expect=1)
    assert result.stderr.strip().splitlines() == [f"Error: {message}"]


def test_a_file_that_is_not_utf8_or_a_folder(user_file):
    user_file.parent.mkdir(parents=True)
    user_file.write_bytes(b"[smtp]\nhost = \"\xff\"\n")
    with pytest.raises(ConfigurationError, match="is not UTF-8 text; save it as UTF-8"):
        configfile.load({})
    user_file.unlink()
    user_file.mkdir()
    with pytest.raises(ConfigurationError, match="is a folder, not a file"):
        configfile.load({})
    with pytest.raises(ConfigurationError, match="is a folder, not a file"):
        configfile.set_value("smtp.host", "mail.example", user_file)


def test_a_bad_variable_stops_only_what_uses_it(user_file, outreach, monkeypatch, tmp_path):
    monkeypatch.setenv("OUTREACH_SMTP_PORT", "lots")
    settings = configfile.load()
    assert database_url(tmp_path / "x.db").endswith("x.db")
    with pytest.raises(ConfigurationError, match=r"\$OUTREACH_SMTP_PORT \(smtp.port\) 'lots'"):
        settings["smtp.port"]
    shown = outreach("config", "show").stdout
    assert "smtp.port" in shown and "(bad value)" in shown and "OUTREACH_SMTP_PORT" in shown


def test_set_writes_a_private_file_atomically_and_show_says_where(user_file, outreach):
    result = outreach("config", "set", "smtp.host", "mail.coalition.example")
    assert f"Set smtp.host = mail.coalition.example in {user_file}." in result.stdout
    outreach("config", "set", "smtp.port", "465")
    outreach("config", "set", "smtp.security", "SSL")
    assert stat.S_IMODE(user_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(user_file.parent.stat().st_mode) == 0o700
    assert [p.name for p in user_file.parent.iterdir()] == ["config.toml"]  # no leftovers
    settings = configfile.load({})
    assert (settings["smtp.host"], settings["smtp.port"], settings["smtp.security"]) == (
        "mail.coalition.example",
        465,
        "ssl",
    )
    shown = outreach("config", "show").stdout
    line = next(x for x in shown.splitlines() if x.startswith("smtp.host "))
    assert "mail.coalition.example" in line and f"[{user_file}]" in line
    assert outreach("config", "path").stdout.strip() == str(user_file)

    assert "Removed smtp.port" in outreach("config", "unset", "smtp.port").stdout
    assert "was not set" in outreach("config", "unset", "smtp.port").stdout
    assert configfile.load({}).get("smtp.port") is None


def test_set_refuses_passwords_unknown_keys_and_bad_values(user_file, outreach):
    refused = outreach("config", "set", "smtp.password", "hunter2", expect=1)
    assert "passwords are never written to a settings file" in refused.stderr
    assert "run `outreach config set-password smtp`" in refused.stderr
    assert "hunter2" not in refused.stderr
    assert not user_file.exists()
    unknown = outreach("config", "set", "smtp.hots", "x", expect=1)
    assert "smtp.hots is not a setting: did you mean smtp.host?" in unknown.stderr
    bad = outreach("config", "set", "letters.paper", "A5", expect=1)
    assert "letters.paper 'A5' is not one of a4, letter" in bad.stderr
    assert not user_file.exists()


def test_set_leaves_a_broken_file_alone(user_file, outreach):
    write(user_file, "smtp = [\n")
    result = outreach("config", "set", "smtp.host", "mail.example", expect=1)
    assert "is not valid TOML" in result.stderr
    assert user_file.read_text() == "smtp = [\n"


def test_set_notes_a_setting_that_wins_over_the_written_one(user_file, outreach, monkeypatch):
    monkeypatch.setenv("OUTREACH_SMTP_HOST", "env.example")
    result = outreach("config", "set", "smtp.host", "file.example")
    assert "Note: $OUTREACH_SMTP_HOST sets smtp.host too, and wins." in result.stderr


def test_the_local_file_from_the_working_folder(tmp_path):
    """`config set --local` writes ./outreach.toml (run where the campaign lives)."""
    import subprocess
    import sys

    work = tmp_path / "campaign"
    work.mkdir()
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    argv = [sys.executable, "-m", "outreach"]
    done = subprocess.run(
        [*argv, "config", "set", "--local", "identity.name", "Ana"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert f"in {work / 'outreach.toml'}" in done.stdout
    shown = subprocess.run(
        [*argv, "config", "show"], cwd=work, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert f"identity.name             Ana  [{work / 'outreach.toml'}]" in shown
    assert Path(work / "outreach.toml").read_text() == '[identity]\nname = "Ana"\n'


def test_a_database_password_stays_out_of_the_files_and_of_show(user_file, outreach, monkeypatch):
    url = "postgresql://maria:hunter2@db.coalition.example/outreach"
    refused = outreach("config", "set", "database.url", url, expect=1)
    assert "passwords are never written to a settings file" in refused.stderr
    assert "hunter2" not in refused.stderr and not user_file.exists()
    write(user_file, f'[database]\nurl = "{url}"\n')
    with pytest.raises(ConfigurationError, match=r"database\.url holds a password") as caught:
        configfile.load({})
    assert "hunter2" not in str(caught.value)
    user_file.unlink()
    monkeypatch.setenv("OUTREACH_DATABASE_URL", url)
    shown = outreach("config", "show").stdout
    assert "postgresql://maria:***@db.coalition.example/outreach" in shown
    assert "hunter2" not in shown
