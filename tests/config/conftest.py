"""Settings tests: each runs with its own empty user config folder, none of
the OUTREACH_* variables of the person running them, and an in-memory
keyring."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from click.testing import CliRunner, Result
from keyring.backend import KeyringBackend

from outreach import configfile
from outreach.cli import cli


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps passwords in a dict, for the tests."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture(autouse=True)
def clean_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The user's settings file lives under tmp_path/xdg; yields it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for spec in configfile.KEYS.values():
        monkeypatch.delenv(spec.env, raising=False)
    for name in (*configfile.PASSWORD_ENV.values(), "OUTREACH_SMTP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path / "xdg" / "outreach" / "config.toml"


@pytest.fixture
def user_file(clean_settings: Path) -> Path:
    return clean_settings


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(before)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def outreach() -> Callable[..., Result]:
    """Run ``outreach ARGS`` (no database options): checks the exit code."""

    def invoke(*args: Any, expect: int = 0, input: str | None = None) -> Result:
        result = CliRunner().invoke(cli, list(map(str, args)), input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == expect, (
            f"exit {result.exit_code}, wanted {expect}\n{result.stdout}\n{result.stderr}"
        )
        return result

    return invoke


#: A command that prints its arguments, for password and token commands.
def echo_command(*words: str) -> str:
    import shlex

    code = "import sys; print(' '.join(sys.argv[1:]))"
    return shlex.join([sys.executable, "-c", code, *words])


def failing_command(printed: str, status: int = 3) -> str:
    import shlex

    code = f"import sys; print({printed!r}); sys.exit({status})"
    return shlex.join([sys.executable, "-c", code])
