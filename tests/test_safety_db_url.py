"""A PostgreSQL password written raw in a URL (``@``, ``:``, ``/``, ``%``,
``#``, ``?`` unencoded) is taken as the user meant it, and no piece of it
shows in any output or error.

The user name and password end at the LAST ``@`` (a host never holds one);
outreach percent-encodes them before SQLAlchemy parses the URL. Before that,
``postgresql://maria:p@ss@w0rd@db.example/outreach`` connected to the "host"
``ss@w0rd@db.example`` and the driver's error printed it. Every password here
is checked for all its pieces of three characters or more, through the CLI
(``--db`` and ``OUTREACH_DATABASE_URL``) and the library, against a closed
port, a host that does not resolve and a real server (which trusts local
connections: a wrong password still connects, so the command must work).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from outreach.cli import cli
from outreach.config import database_url, mask_url, redact
from outreach.db import Database
from outreach.errors import OutreachError

from .conftest import scratch_pg_database

PASSWORDS = [
    "Qx7@Zr9w@Mk3v",  # raw @, twice
    "Jv4:Lp8/Tn2q",  # raw : and /
    "Hb6%Ws1#Yc5?Ud3/Ke7",  # raw %, #, ? and /
    "Fm2@Gq4:Rx6%Nz8#",  # a bit of everything
    "@Pt5Ow1@",  # starts and ends with @
]
CLOSED = "127.0.0.1:1"
BOGUS_HOST = "no-such-host.invalid"


def _fragments(password: str) -> set[str]:
    size = len(password)
    return {password[i : i + n] for n in range(3, size + 1) for i in range(size - n + 1)}


def _assert_no_fragment(text: str, password: str, what: str) -> None:
    leaked = sorted(f for f in _fragments(password) if f in text)
    assert not leaked, f"{what} shows {leaked!r} of the password {password!r}:\n{text}"


def _invoke(argv: list[str], env: dict[str, str] | None = None):
    result = CliRunner().invoke(cli, argv, input="", env=env, catch_exceptions=True)
    shown = result.output + (result.stderr or "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        shown += "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return result, shown


COMMANDS = [["orgs", "list"], ["init"], ["info"], ["db", "current"], ["db", "upgrade"], ["log"]]


@pytest.mark.parametrize(
    ("password", "where"),
    # a host that does not resolve costs a DNS look-up each time: one password there
    [*((p, CLOSED) for p in PASSWORDS), (PASSWORDS[3], BOGUS_HOST)],
)
def test_unreachable_server_shows_no_piece_of_a_raw_password(password: str, where: str) -> None:
    url = f"postgresql://maria:{password}@{where}/outreach"
    for command in COMMANDS:
        for argv, env in (
            (["--db", url, *command], None),
            (command, {"OUTREACH_DATABASE_URL": url}),
        ):
            result, shown = _invoke(argv, env)
            _assert_no_fragment(shown, password, " ".join(argv))
            assert result.exit_code == 1, shown
            assert result.exception is None or isinstance(result.exception, SystemExit), shown
            # the host named in the error is the one the user meant
            host = where.split(":")[0]
            assert f"postgresql+psycopg://maria:***@{where}/outreach" in shown, shown
            assert host in shown


@pytest.mark.parametrize("password", PASSWORDS)
def test_library_errors_show_no_piece_of_a_raw_password(password: str) -> None:
    for where in (CLOSED, BOGUS_HOST) if password == PASSWORDS[0] else (CLOSED,):
        db = Database(f"postgresql://maria:{password}@{where}/outreach", check_schema=False)
        _assert_no_fragment(repr(db) + db.safe_url, password, "Database")
        for action in (db.init, db.info, db.current_revision, db.check_schema):
            with pytest.raises(OutreachError) as caught:
                action()
            exc = caught.value
            text = str(exc) + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            _assert_no_fragment(text, password, action.__name__)
            assert where.split(":")[0] in str(exc)
        db.dispose()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://maria:p@ss@w0rd@db.example/outreach",
         "postgresql+psycopg://maria:p%40ss%40w0rd@db.example/outreach"),
        ("postgresql://maria:se:cr/et@host/db", "postgresql+psycopg://maria:se%3Acr%2Fet@host/db"),
        ("postgresql://maria:a%b#c?d/e@host:5433/db",
         "postgresql+psycopg://maria:a%25b%23c%3Fd%2Fe@host:5433/db"),
        ("postgresql://maria:p%40ss@host/db", "postgresql+psycopg://maria:p%40ss@host/db"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgres://u:pw@/d?host=/tmp", "postgresql+psycopg://u:pw@/d?host=/tmp"),
        ("postgresql:///d?host=/var/run/postgresql", "postgresql+psycopg:///d?host=/var/run/postgresql"),
        ("postgresql+psycopg://maria:p@ss@h/d", "postgresql+psycopg://maria:p%40ss@h/d"),
        ("postgresql://maria:p@ss@h", "postgresql+psycopg://maria:p%40ss@h"),
        # an @ in the query string stays there
        ("postgresql://u:pw@host/db?application_name=a@b",
         "postgresql+psycopg://u:pw@host/db?application_name=a@b"),
        ("postgresql://u:p@h/d@host/db?application_name=a@b",
         "postgresql+psycopg://u:p%40h%2Fd@host/db?application_name=a@b"),
        ("postgresql://maria@host/db?application_name=a@b",
         "postgresql+psycopg://maria@host/db?application_name=a@b"),
    ],
)  # fmt: skip
def test_a_raw_password_is_encoded_as_meant(raw: str, expected: str) -> None:
    assert database_url(raw) == expected
    parsed = sa.make_url(expected)
    assert parsed.host in (None, "db.example", "host", "h")
    assert "***" in mask_url(expected) or parsed.password is None
    assert parsed.password is None or parsed.password not in mask_url(expected)


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_malformed_port_after_a_raw_password_is_a_clean_error(password: str) -> None:
    url = f"postgresql://maria:{password}@127.0.0.1:notaport/db"
    result, shown = _invoke(["--db", url, "info"])
    assert result.exit_code == 1 and "malformed" in shown and "notaport" in shown
    _assert_no_fragment(shown, password, "a malformed URL")


def test_redact_takes_every_piece_out() -> None:
    url = database_url("postgresql://maria:Qx7@Zr9w@Mk3v@h/d")
    text = "failed to resolve host 'Zr9w@Mk3v@h' for Qx7@Zr9w@Mk3v (Qx7%40Zr9w%40Mk3v)"
    _assert_no_fragment(redact(text, url), "Qx7@Zr9w@Mk3v", "redact")
    assert mask_url("postgresql://maria:Qx7@Zr9w@Mk3v@h/d") == "postgresql://maria:***@h/d"


# -- a real server (trust authentication: the password is accepted and ignored) ---------


@pytest.fixture(scope="module")
def server_db() -> Iterator[tuple[str, str, int, str]]:
    with scratch_pg_database("outreach_rawpw") as url:
        yield url.username, url.host, url.port or 5432, url.database


def test_a_raw_password_reaches_the_server_it_names(server_db, tmp_path: Path) -> None:
    user, host, port, name = server_db
    env = {"OUTREACH_ATTACHMENTS_DIR": str(tmp_path / "store")}
    for i, password in enumerate(PASSWORDS):
        url = f"postgresql://{user}:{password}@{host}:{port}/{name}"
        steps = [["init"], ["info"], ["orgs", "add", f"RAW{i}", f"Raw {i}"], ["orgs", "list"],
                 ["db", "current"], ["db", "history"]]  # fmt: skip
        for step in steps:
            result, shown = _invoke(["--db", url, *step], env)
            assert result.exit_code == 0, shown
            _assert_no_fragment(shown, password, " ".join(step))
        result, shown = _invoke(["orgs", "list"], {**env, "OUTREACH_DATABASE_URL": url})
        assert result.exit_code == 0 and f"RAW{i}" in shown, shown
        _assert_no_fragment(shown, password, "orgs list through OUTREACH_DATABASE_URL")
        db = Database(url)
        assert db.info().counts["organizations"] == i + 1
        _assert_no_fragment(repr(db) + db.info().url, password, "Database.info")
        db.dispose()


def test_a_sqlite_path_with_at_and_colon_is_kept_and_shown(tmp_path: Path) -> None:
    folder = tmp_path / "team@office:2012"
    folder.mkdir()
    path = folder / "camp@ign.db"
    result, shown = _invoke(["--db", str(path), "init"])
    assert result.exit_code == 0, shown
    assert path.is_file()
    result, shown = _invoke(["--db", str(path), "info"])
    assert result.exit_code == 0 and str(path) in shown and "***" not in shown, shown
    assert Database(path).path == path
