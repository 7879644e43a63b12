"""Database access: engines, units of work (sessions and connections) and
the schema check; the migrations themselves are in :mod:`outreach.db.migrations`.

:class:`Database` is the library's entry point::

    db = Database("campaign.db")          # or a postgresql:// URL
    db.init()                             # create or upgrade the schema
    with db.session() as session:         # one unit of work, committed on exit
        ...

Service functions take that ``session`` and never commit; whoever opened it
(a CLI command, a test, a script) owns the transaction.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from outreach.config import ACTOR_KEY, current_user, database_url, mask_url, redact
from outreach.db import migrations
from outreach.db.locks import (
    LockWait,
    deferred_interrupt,
    is_read_only_refusal,
    read_only_error,
)
from outreach.errors import DatabaseError, SchemaError
from outreach.schema import tables

if TYPE_CHECKING:  # the ORM loads on the first session, not on import
    from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: What a postgresql:// URL says when the driver is not installed.
PG_DRIVER_MISSING = "PostgreSQL needs the driver: pip install 'outreach[pg]'"
#: Page size of new SQLite databases. A stored letter is about 2 KB: with
#: SQLite's default 4 KB pages each takes a page of its own, half empty, so a
#: batch of letters writes twice its size (and twice again when the WAL is
#: copied back). 16 KB pages hold seven letters: a third less to write, and
#: generating a batch is markedly faster. Set only on a database that is
#: still empty; an existing one keeps its page size.
SQLITE_PAGE_SIZE = 16_384

#: PostgreSQL advisory lock taken by ``session(immediate=True)``: commands that
#: write queue for it one after another, as they queue for SQLite's write lock,
#: so two coordinators' imports never race each other into a unique violation.
#: (Advisory locks are per database; the number spells "outreach".)
PG_WRITE_LOCK_KEY = 0x6F75747265616368

#: Where a session opened by :meth:`Database.session` keeps its :class:`Database`.
DATABASE_KEY = "outreach.database"


@dataclass(frozen=True)
class DatabaseInfo:
    url: str
    backend: str
    revision: str | None
    head: str
    counts: dict[str, int]


def _busy_ms(lock: LockWait | None) -> int:
    return SQLITE_BUSY_TIMEOUT_MS if lock is None else int(lock.timeout * 1000)


def _sqlite_on_connect(lock: LockWait | None) -> Any:
    def on_connect(dbapi_conn: Any, record: Any) -> None:
        _sqlite_connect_settings(dbapi_conn, _busy_ms(lock))

    return on_connect


def _sqlite_connect_settings(dbapi_conn: Any, busy_ms: int) -> None:
    # Let SQLAlchemy (not the driver) decide when transactions begin.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
    cur.execute("PRAGMA foreign_keys = ON")
    # before WAL is switched on, which fixes the page size of a new file
    cur.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _sqlite_private_file(path: Path) -> Any:
    """A ``do_connect`` hook that creates a new database file ``0600`` before
    SQLite would create it with the umask; its ``-wal`` and ``-shm`` files
    take the database file's permissions (see :mod:`outreach.files`)."""

    def do_connect(*_args: Any) -> None:
        if not path.exists():
            from outreach.files import create_private_file

            with contextlib.suppress(OSError):  # SQLite then reports the problem itself
                create_private_file(path)

    return do_connect


def _is_busy(exc: BaseException) -> bool:
    import sqlite3

    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_BUSY or (code is None and "locked" in str(exc))


def _sqlite_on_begin(lock: LockWait | None) -> Any:
    """``BEGIN`` as the execution options ask; an ``IMMEDIATE`` one first tries
    the write lock without waiting, so that *lock* can say at once that it waits."""

    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("outreach_begin", "")
        if mode != "IMMEDIATE" or lock is None:
            conn.exec_driver_sql(f"BEGIN {mode}".strip())
            return
        import sqlite3

        raw = conn.connection.driver_connection
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
            if lock.timeout <= 0:
                raise lock.timed_out()
            lock.waiting()
            raw.execute(f"PRAGMA busy_timeout = {_busy_ms(lock)}")
            try:
                raw.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    raise lock.timed_out() from None
                raise
        finally:
            raw.execute(f"PRAGMA busy_timeout = {_busy_ms(lock)}")

    return on_begin


def make_engine(url: str, *, lock: LockWait | None = None, **kwargs: Any) -> Engine:
    """Create an engine for *url* with outreach's settings for its backend;
    *lock* says how writes wait for another command's write lock."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).parent
            if not folder.is_dir():
                raise DatabaseError(
                    f"database {database}: folder {folder} does not exist; create it or "
                    "choose another path",
                    field="db",
                )
        kwargs.setdefault("connect_args", {}).setdefault("timeout", _busy_ms(lock) / 1000)
        engine = sa.create_engine(sa_url, **kwargs)
        if database and database != ":memory:" and not database.startswith("file:"):
            event.listen(engine, "do_connect", _sqlite_private_file(Path(database)))
        event.listen(engine, "connect", _sqlite_on_connect(lock))
        event.listen(engine, "begin", _sqlite_on_begin(lock))
        return engine
    if sa_url.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        try:
            return sa.create_engine(sa_url, **kwargs)
        except ImportError:
            raise DatabaseError(PG_DRIVER_MISSING) from None
    raise DatabaseError(f"unsupported database {mask_url(url)}: use SQLite or PostgreSQL")


class Database:
    """An outreach database (SQLite file or PostgreSQL), opened lazily."""

    def __init__(
        self,
        url: str | Path | None = None,
        *,
        actor: str | None = None,
        engine: Engine | None = None,
        check_schema: bool = True,
        lock: LockWait | None = None,
    ) -> None:
        if engine is not None:
            self.url = engine.url.render_as_string(hide_password=False)
        else:
            self.url = database_url(url)
        self.actor = current_user(actor)
        self._engine = engine
        self._sessionmaker: sessionmaker[Session] | None = None
        self._check_schema = check_schema
        self._schema_checked = False
        self._may_create = False
        #: How writes wait for another command's write lock (set ``on_wait`` to hear of it).
        self.lock = lock if lock is not None else LockWait.from_env()
        # The session or connection this context has open (see current_unit).
        self._unit: contextvars.ContextVar[Any] = contextvars.ContextVar(
            f"outreach-unit-{id(self)}", default=None
        )

    # -- plumbing ------------------------------------------------------------

    def __repr__(self) -> str:
        return f"Database({self.safe_url!r})"

    @property
    def safe_url(self) -> str:
        """The URL with any password masked: safe to print or log."""
        return mask_url(self.url)

    def redact(self, text: str) -> str:
        """*text* (say a driver's error message) with no trace of the password."""
        return redact(text, self.url)

    @property
    def backend(self) -> str:
        return sa.make_url(self.url).get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @property
    def path(self) -> Path | None:
        """The SQLite file, or ``None`` for a server database."""
        if not self.is_sqlite:
            return None
        database = sa.make_url(self.url).database
        return Path(database) if database and database != ":memory:" else None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url, lock=self.lock)
        return self._engine

    def current_unit(self) -> Session | Connection | None:
        """The session or connection a ``session()``, ``write()`` or ``read()``
        block has open in this context, if any (where the attachments store
        writes a file it is given without one)."""
        return self._unit.get()

    @contextlib.contextmanager
    def _as_unit(self, unit: Any) -> Iterator[None]:
        token = self._unit.set(unit)
        try:
            yield
        finally:
            self._unit.reset(token)

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection, with connection failures turned into :class:`DatabaseError`."""
        path = self.path
        if path is not None and not self._may_create and not path.exists():
            raise SchemaError(f"no database at {path}", hint=f"init --db {path}")
        try:
            conn = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise DatabaseError(
                f"cannot open database {self.safe_url}: {self.redact(_first_line(exc.orig))}"
            ) from None
        with conn:
            yield conn

    @contextlib.contextmanager
    def session(self, *, immediate: bool = False) -> Iterator[Session]:
        """One unit of work: commit when the block ends, roll back on error.

        *immediate* takes SQLite's write lock at the start (``BEGIN
        IMMEDIATE``) so that a command that will write never fails half-way
        on a lock held by another process.
        """
        if self._check_schema and not self._schema_checked:
            self.check_schema()
        if self._sessionmaker is None:
            from sqlalchemy.orm import sessionmaker

            self._sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        session = self._sessionmaker()
        session.info[ACTOR_KEY] = self.actor
        session.info[DATABASE_KEY] = self
        try:
            if immediate and self.is_sqlite:
                session.connection(execution_options={"outreach_begin": "IMMEDIATE"})
            elif immediate:
                _pg_write_lock(session.connection(), self.lock)
            with self._as_unit(session):
                yield session
            with deferred_interrupt():
                session.commit()
        except BaseException as exc:
            session.rollback()
            if is_read_only_refusal(exc):
                raise read_only_error() from None
            raise
        finally:
            session.close()

    @contextlib.contextmanager
    def write(self, *, check_schema: bool = True) -> Iterator[Connection]:
        """A writing unit of work without the ORM: a Core connection that holds
        the write lock from the start (as ``session(immediate=True)``),
        committed when the block ends and rolled back on error. What letter
        generation uses: it inserts thousands of rows and needs no objects.

        ``check_schema=False`` writes whatever the schema's revision (what a
        backup of an older schema, and a restore that migrates, need)."""
        if check_schema and self._check_schema and not self._schema_checked:
            self.check_schema()
        with self.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(outreach_begin="IMMEDIATE")
            conn.info[ACTOR_KEY] = self.actor
            try:
                with conn.begin() as trans:
                    if not self.is_sqlite:
                        _pg_write_lock(conn, self.lock)
                    with self._as_unit(conn):
                        yield conn
                    with deferred_interrupt():
                        trans.commit()
            except BaseException as exc:
                if is_read_only_refusal(exc):
                    raise read_only_error() from None
                raise
            finally:
                conn.info.pop(ACTOR_KEY, None)

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only unit of work without the ORM: a Core connection in a
        transaction that is rolled back at the end (what the reports use)."""
        if self._check_schema and not self._schema_checked:
            self.check_schema()
        with self.connect() as conn, conn.begin() as trans:
            try:
                with self._as_unit(conn):
                    yield conn
            finally:
                trans.rollback()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only unit of work that sees one consistent state of the whole
        database, whatever its schema revision (what a backup reads): on
        PostgreSQL a ``REPEATABLE READ, READ ONLY`` transaction; on SQLite (WAL)
        one read transaction, a snapshot from its first read. Rolled back at
        the end."""
        with self.connect() as conn, conn.begin() as trans:
            try:
                if not self.is_sqlite:
                    conn.exec_driver_sql(
                        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                    )
                yield conn
            finally:
                trans.rollback()

    # -- durable steps (sending) ---------------------------------------------

    @contextlib.contextmanager
    def durable(self) -> Iterator[Connection]:
        """A connection for a run of many small units of work, each committed
        durably before the next (:meth:`step`): what sending's at-most-once
        protocol needs, where a letter's state change must survive this
        process dying and a crash of the machine or the database server.

        On SQLite the writes are synced to disk at each commit (``synchronous =
        FULL``, for the connection's lifetime here) and each step takes the
        write lock at its start (``BEGIN IMMEDIATE``). What the connection
        holds across steps (PostgreSQL advisory locks) is the caller's.
        """
        with self.connect() as conn:
            if self.is_sqlite:
                # Outside any transaction: straight on the driver's connection.
                conn.connection.driver_connection.execute("PRAGMA synchronous = FULL")
                conn.execution_options(outreach_begin="IMMEDIATE")
            try:
                yield conn
            finally:
                if self.is_sqlite:
                    conn.rollback()
                    conn.connection.driver_connection.execute("PRAGMA synchronous = NORMAL")

    @staticmethod
    @contextlib.contextmanager
    def step(conn: Connection) -> Iterator[Connection]:
        """One short unit of work on a :meth:`durable` connection: committed
        when the block ends, rolled back on error (the transaction begins
        with the block's first statement). A Ctrl-C during the step is held
        back until it has committed: a durable step is never cut in half."""
        try:
            with deferred_interrupt():
                yield conn
                conn.commit()
        except BaseException as exc:
            conn.rollback()
            if is_read_only_refusal(exc):
                raise read_only_error() from None
            raise

    # -- schema --------------------------------------------------------------

    def current_revision(self) -> str | None:
        """The schema revision stamped in the database, ``None`` if none."""
        if self.path is not None and not self.path.exists():
            return None
        with self.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def check_schema(self) -> None:
        """Raise :class:`SchemaError` unless the schema is exactly what this code expects."""
        with self.connect() as conn:
            # The stamp is read first: every command checks it, and asking the
            # catalogue whether the table exists costs a second round trip.
            try:
                rev = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            except sa.exc.DBAPIError:
                conn.rollback()
                inspector = sa.inspect(conn)
                if inspector.has_table("alembic_version"):
                    raise
                if inspector.get_table_names():
                    raise _not_an_outreach_database(self.safe_url) from None
                raise SchemaError(
                    f"{self.safe_url} has no outreach schema yet", hint="init"
                ) from None
        head = migrations.head_revision()
        if rev == head:
            self._schema_checked = True
            return
        if rev is None:
            raise SchemaError(f"{self.safe_url} has no schema revision", hint="init")
        if rev in migrations.known_revisions():
            raise SchemaError(
                f"the database schema is at revision {rev}, older than this outreach ({head})",
                hint="db upgrade",
            )
        raise SchemaError(
            f"the database schema ({rev}) is newer than this outreach knows ({head}): "
            "upgrade outreach (pip install -U outreach)"
        )

    def _run_alembic(self, command_name: str, revision: str) -> None:
        self._may_create = True
        with self.connect() as conn:
            migrations.run(conn, command_name, revision)
            conn.commit()
        self._schema_checked = False

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema up to *revision* (default: the newest)."""
        current = self.current_revision()
        if current is not None and current not in migrations.known_revisions():
            raise SchemaError(
                f"the database schema ({current}) is newer than this outreach knows: "
                "upgrade outreach (pip install -U outreach)"
            )
        self._run_alembic("upgrade", revision)

    def downgrade(self, revision: str) -> None:
        """Take the schema down to *revision* (``base`` drops every table)."""
        self._run_alembic("downgrade", revision)

    def init(self) -> bool:
        """Create the schema, or upgrade it to the newest; safe to run again.

        Returns True if anything changed.
        """
        self._may_create = True
        if not self.is_sqlite:
            from outreach.db.roles import create_database_if_missing

            create_database_if_missing(self)
        before = self.current_revision()
        if before is None:
            with self.connect() as conn:
                existing = sa.inspect(conn).get_table_names()
            if existing:
                raise _not_an_outreach_database(self.safe_url)
        self.upgrade("head")
        return before != migrations.head_revision()

    def history(self) -> list[migrations.Revision]:
        """Every migration, newest first."""
        return migrations.history(self.current_revision())

    def info(self) -> DatabaseInfo:
        """What ``outreach info`` shows: the database, its revision and row counts."""
        if self.path is not None and not self.path.exists():
            raise SchemaError(f"no database at {self.path}", hint=f"init --db {self.path}")
        revision = self.current_revision()
        counts: dict[str, int] = {}
        if revision is not None:
            with self.connect() as conn:
                for table in tables.TABLES:
                    counts[table.name] = conn.execute(
                        sa.select(sa.func.count()).select_from(table)
                    ).scalar_one()
        return DatabaseInfo(
            url=self.safe_url,
            backend=self.backend,
            revision=revision,
            head=migrations.head_revision(),
            counts=counts,
        )


def _pg_write_lock(conn: Connection, lock: LockWait) -> None:
    """Take the write lock, released when the transaction ends: at once if it
    is free, else after telling *lock* and waiting at most its timeout."""
    key = {"key": PG_WRITE_LOCK_KEY}
    if conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), key).scalar():
        return
    if lock.timeout <= 0:
        raise lock.timed_out()
    lock.waiting()
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(lock.timeout * 1000))}")
    try:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), key)
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise lock.timed_out() from None
    conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")


def _not_an_outreach_database(safe_url: str) -> SchemaError:
    return SchemaError(
        f"{safe_url} is not an outreach database (it has other tables); choose another",
        field="db",
    )


def _first_line(exc: BaseException | None) -> str:
    text = str(exc or "").strip()
    return text.splitlines()[0] if text else type(exc).__name__
