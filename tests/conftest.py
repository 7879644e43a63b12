"""Fixtures: a migrated database per test, quickly, on SQLite or PostgreSQL.

The backend is chosen by ``OUTREACH_TEST_DATABASE_URL``: unset means SQLite
files under pytest's tmp_path; a ``postgresql://`` URL names a server database
the suite may use (the suite creates and drops its own databases beside it).
If that server cannot be reached the whole run fails: it never skips.

SQLite: the schema is migrated once per session into a template file, and each
test gets a copy. PostgreSQL: one migrated database per session, emptied with
TRUNCATE after each test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from outreach.cli import cli
from outreach.db import Database, make_engine
from outreach.schema.models import Base

TEST_URL_ENV = "OUTREACH_TEST_DATABASE_URL"


def pytest_configure(config: pytest.Config) -> None:
    """Keep the developer's own settings out of the tests: a config folder of
    the run's own (no ~/.config/outreach/config.toml), no OS keyring, and no
    ./outreach.toml picked up from wherever pytest was started."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="outreach-test-config-"))
    os.environ["XDG_CONFIG_HOME"] = str(home)
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


def _pg_base_url() -> str | None:
    raw = os.environ.get(TEST_URL_ENV, "").strip()
    if not raw:
        return None
    if raw.startswith("postgres://") or raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw.split("://", 1)[1]
    if not raw.startswith("postgresql"):
        raise pytest.UsageError(f"{TEST_URL_ENV} must be a postgresql:// URL (got {raw!r})")
    return raw


PG_BASE_URL = _pg_base_url()
BACKEND = "postgresql" if PG_BASE_URL else "sqlite"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``no_database`` touches no test database (it runs the
    README in a folder of its own, or LibreOffice on a file): it runs in the
    SQLite pass, and the PostgreSQL pass of .ci/run does not repeat it."""
    if BACKEND != "postgresql":
        return
    skip = pytest.mark.skip(reason="uses no test database: runs in the SQLite pass")
    for item in items:
        if item.get_closest_marker("no_database"):
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    where = sa.make_url(PG_BASE_URL).render_as_string() if PG_BASE_URL else "SQLite files"
    return f"outreach test database: {BACKEND} ({where})"


class PgServer:
    """Creates and drops throw-away databases on the test server."""

    def __init__(self, base_url: str) -> None:
        self.base_url = sa.make_url(base_url)
        self.admin = sa.create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        try:
            with self.admin.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            pytest.exit(
                f"PostgreSQL at {self.base_url.render_as_string()} is unreachable: "
                f"{str(exc.orig).strip().splitlines()[0]}",
                returncode=3,
            )

    def create(self, prefix: str = "outreach_test") -> str:
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return self.base_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = sa.make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


#: The server tests of PostgreSQL-only behaviour use when the suite runs on SQLite.
PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def scratch_pg_database(prefix: str) -> Iterator[sa.URL]:
    """A new, empty database on the test server (or on 127.0.0.1:5432 when
    the suite runs on SQLite), dropped afterwards; its URL. Skips when no
    server answers, unless the suite was pointed at one (then it fails)."""
    admin = sa.create_engine(PG_BASE_URL or PG_DEFAULT_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError:
        admin.dispose()
        if PG_BASE_URL:
            raise
        pytest.skip("no PostgreSQL server at 127.0.0.1:5432")
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | None]:
    if PG_BASE_URL is None:
        yield None
        return
    server = PgServer(PG_BASE_URL)
    yield server
    server.admin.dispose()


@pytest.fixture
def empty_db_url(tmp_path: Path, pg_server: PgServer | None) -> Iterator[str]:
    """A URL to a brand-new, empty database (no schema)."""
    if pg_server is None:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = pg_server.create("outreach_empty")
    try:
        yield url
    finally:
        pg_server.drop(url)


@pytest.fixture
def own_db_url(empty_db_url: str) -> str:
    """A migrated database that this test alone uses, even on PostgreSQL: for
    tests that change the schema itself."""
    database = Database(empty_db_url, check_schema=False)
    database.init()
    database.dispose()
    return empty_db_url


@pytest.fixture(scope="session")
def _template_db(
    tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer | None
) -> Iterator[str]:
    if pg_server is None:
        path = tmp_path_factory.mktemp("template") / "template.db"
        db = Database(path, check_schema=False)
        db.init()
        with db.engine.connect() as conn:  # fold the WAL into the file before copying
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
        yield str(path)
        return
    url = pg_server.create()
    db = Database(url, check_schema=False)
    db.init()
    db.dispose()
    yield url
    pg_server.drop(url)


#: The statement that empties a test database, made once per database URL.
_EMPTYING: dict[str, str] = {}


def _truncate_all(url: str) -> None:
    """Empty every table and start every sequence again at 1: DELETE, children
    first, then setval, in one round trip (TRUNCATE makes new files for every
    table and costs five times as much on the few rows a test leaves)."""
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        statement = _EMPTYING.get(url)
        if statement is None:
            sequences = conn.execute(
                sa.text(
                    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename)"
                    " FROM pg_sequences"
                )
            ).scalars()
            parts = [f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)]
            parts += [f"SELECT setval('{name}', 1, false)" for name in sequences]
            statement = _EMPTYING[url] = "; ".join(parts)
        conn.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture
def db_url(_template_db: str, tmp_path: Path) -> Iterator[str]:
    """A URL to a migrated, empty outreach database for this test alone."""
    if PG_BASE_URL is None:
        path = tmp_path / "outreach.db"
        shutil.copyfile(_template_db, path)
        yield f"sqlite:///{path}"
        return
    try:
        yield _template_db
    finally:
        _truncate_all(_template_db)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """The library's :class:`Database` on this test's database."""
    database = Database(db_url, actor="tester")
    yield database
    database.dispose()


@pytest.fixture
def run(db_url: str) -> Callable[..., Result]:
    """Run the CLI against this test's database: ``run("orgs", "list")``.

    Fails the test on an unexpected exit code (``expect=`` to change it) or on
    any traceback; returns the ``Result`` with ``stdout`` and ``stderr``.
    """

    def invoke(*args: Any, expect: int | None = 0, input: str | None = None, env=None) -> Result:
        runner = CliRunner()
        argv = ["--db", db_url, "--as", "tester", *map(str, args)]
        result = runner.invoke(cli, argv, input=input, env=env, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        if expect is not None:
            assert result.exit_code == expect, (
                f"exit {result.exit_code}, wanted {expect}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    return invoke


def row_counts(url: str) -> dict[str, int]:
    """Rows per table: used to prove that a refused change wrote nothing."""
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        out = {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }
    engine.dispose()
    return out


def table_dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered: proves a database is unchanged."""
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        out = {
            t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in Base.metadata.sorted_tables
        }
    engine.dispose()
    return out


def run_in_fresh_python(*args: str) -> tuple[Any, bool]:
    """Run the CLI with *args* in a new interpreter: (the finished process,
    whether the ORM or the mapped classes got loaded). The commands that must
    be fast from a cold start work on Core tables alone."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from outreach.cli import cli\n"
        f"args = {list(args)!r}\n"
        "try:\n"
        "    cli.main(args, prog_name='outreach')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('ORM', 'sqlalchemy.orm' in sys.modules or 'outreach.schema.models' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return done, "ORM True" in done.stdout
