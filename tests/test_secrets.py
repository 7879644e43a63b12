"""Database passwords never appear in what outreach prints.

Every command (found by walking the CLI, so new commands are covered too) is
run without --help, with its required arguments filled in, against
PostgreSQL URLs holding a password: one pointing at a closed port, one at a
real database (the test server trusts local connections, so the password is
accepted and ignored). The password must not appear in stdout or stderr,
nor in any exception that escapes.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from outreach.cli import cli
from outreach.config import mask_url
from outreach.db import Database

from .conftest import scratch_pg_database

SECRET = "s3cr3tPw"
#: The password as it is written in a URL (with characters that need escaping).
PASSWORD_IN_URL = f"{SECRET}%40x%2Fy"
#: What must never be printed: the password written raw or decoded.
FORBIDDEN = (SECRET, "s3cr3t")

UNREACHABLE = f"postgresql://outreach:{PASSWORD_IN_URL}@127.0.0.1:1/outreach"


def _leaf_commands(group: click.Group, ctx: click.Context, prefix=()) -> Iterator:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, click.Context(command, parent=ctx), (*prefix, name))
        elif command is not None:
            yield (*prefix, name), command


ALL_COMMANDS = sorted(_leaf_commands(cli, click.Context(cli)), key=lambda item: item[0])


def _value_for(param: click.Parameter, tmp_path: Path) -> str:
    kind = param.type
    if isinstance(kind, click.Choice):
        return str(kind.choices[0])
    if isinstance(kind, click.File):
        if "r" in kind.mode:
            return str(_input_file(tmp_path))
        return str(tmp_path / f"out-{param.name}")
    if isinstance(kind, click.Path):
        if kind.exists:
            return str(tmp_path if not kind.file_okay else _input_file(tmp_path))
        return str(tmp_path / f"out-{param.name}")
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return "1"
    if isinstance(kind, click.DateTime):
        return "2024-03-01"
    return "x"


def _input_file(tmp_path: Path) -> Path:
    path = tmp_path / "input.csv"
    if not path.exists():
        path.write_text("acronym,name\nAU,African Union\n", encoding="utf-8")
    return path


def _argv(path: tuple[str, ...], command: click.Command, tmp_path: Path) -> list[str]:
    args: list[str] = [*path]
    for param in command.params:
        if not param.required:
            continue
        value = _value_for(param, tmp_path)
        if isinstance(param, click.Option):
            if param.is_flag:
                args.append(param.opts[0])
            else:
                args += [param.opts[0], value]
        else:
            args.append(value)
    return args


def _assert_secret_kept(result, argv) -> None:
    shown = result.output + (result.stderr or "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        shown += "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    for text in FORBIDDEN:
        assert text not in shown, f"{' '.join(argv)} printed the password:\n{shown}"


def _invoke(argv: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, argv, input="", env=env, catch_exceptions=True)


def test_the_walk_finds_the_commands() -> None:
    names = {" ".join(path) for path, _ in ALL_COMMANDS}
    assert {"init", "info", "backup", "restore", "log", "db upgrade"} <= names


@pytest.mark.parametrize(
    ("path", "command"), ALL_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_unreachable_server_password_never_printed(path, command, tmp_path: Path) -> None:
    argv = ["--db", UNREACHABLE, *_argv(path, command, tmp_path)]
    result = _invoke(argv)
    _assert_secret_kept(result, argv)
    # and the same through the environment variable
    env_argv = _argv(path, command, tmp_path)
    result = _invoke(env_argv, env={"OUTREACH_DATABASE_URL": UNREACHABLE})
    _assert_secret_kept(result, env_argv)


@pytest.fixture(scope="module")
def reachable_url() -> Iterator[str]:
    """A migrated PostgreSQL database, reached through a URL with a password."""
    with scratch_pg_database("outreach_secrets") as url:
        with_password = (
            f"postgresql://{url.username}:{PASSWORD_IN_URL}@{url.host}:{url.port or 5432}"
            f"/{url.database}"
        )
        db = Database(with_password, check_schema=False)
        db.init()
        db.dispose()
        yield with_password


@pytest.mark.parametrize(
    ("path", "command"), ALL_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_reachable_server_password_never_printed(
    path, command, tmp_path: Path, reachable_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTREACH_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    argv = ["--db", reachable_url, *_argv(path, command, tmp_path)]
    result = _invoke(argv)
    _assert_secret_kept(result, argv)


def test_info_and_errors_show_the_masked_url(reachable_url: str) -> None:
    result = _invoke(["--db", reachable_url, "info"])
    assert result.exit_code == 0, result.output
    assert ":***@" in result.stdout
    result = _invoke(["--db", UNREACHABLE, "info"])
    assert result.exit_code == 1
    assert "postgresql+psycopg://outreach:***@127.0.0.1:1/outreach" in result.stderr
    assert SECRET not in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://u:{SECRET}@x@127.0.0.1:1/db",  # an unescaped @ in the password
        f"postgresql://u:{SECRET}/x@127.0.0.1:1/db",  # an unescaped / in the password
        f"postgresql://u:{SECRET}@127.0.0.1:notaport/db",  # a malformed port
        f"postgresql://u@127.0.0.1:1/db?password={SECRET}",  # password as a parameter
        f"mysql://u:{SECRET}@127.0.0.1/db",  # an unsupported backend
    ],
)
def test_odd_urls_never_leak_the_password(url: str) -> None:
    assert SECRET not in mask_url(url)
    for argv in (["--db", url, "info"], ["--db", url, "init"], ["--db", url, "log"]):
        result = _invoke(argv)
        _assert_secret_kept(result, argv)
        assert result.exit_code != 0
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{argv}: traceback instead of a clean error"
        )


def test_a_backup_and_the_activity_log_hold_no_password(reachable_url: str, tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "b.zip"
    env = {"OUTREACH_ATTACHMENTS_DIR": str(tmp_path / "attachments")}
    result = _invoke(["--db", reachable_url, "backup", str(archive)], env=env)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            assert SECRET.encode() not in zf.read(name), name
    result = _invoke(["--db", reachable_url, "restore", str(archive), "--force"], env=env)
    assert result.exit_code == 0, result.output
    assert "Emptied" in result.stderr and ":***@" in result.stderr
    log = _invoke(["--db", reachable_url, "log", "--format", "json"])
    assert log.exit_code == 0 and "restore" in log.stdout
    for text in FORBIDDEN:
        assert text not in log.stdout
