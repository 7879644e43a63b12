"""PostgreSQL roles and databases: who is writing (the authenticated role the
activity log records), read-only roles for members who only read reports,
and creating the database itself on ``init``. SQLite has no roles: these
say so in one line."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from outreach.errors import ConfigurationError, DatabaseError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from outreach.db.database import Database

#: Where the authenticated role is cached on a connection (one query per connection).
DB_ROLE_KEY = "outreach.db_role"
_ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def db_role_of(unit: Any) -> str | None:
    """The PostgreSQL role *unit* (a session or connection) authenticated as
    (``session_user``: a ``SET ROLE`` cannot change it), ``None`` on SQLite;
    asked once and kept in the connection's info."""
    # a Core connection as it is, an ORM session's own (the ORM is not loaded
    # for a Core connection: generation and reports never import it)
    conn = unit if isinstance(unit, sa.Connection) else unit.connection()
    if conn.dialect.name != "postgresql":
        return None
    info = conn.info
    if DB_ROLE_KEY not in info:
        info[DB_ROLE_KEY] = conn.exec_driver_sql("SELECT session_user").scalar()
    return info[DB_ROLE_KEY]  # type: ignore[no-any-return]


def _quoted(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def check_role_name(role: str) -> str:
    if not _ROLE_NAME.match(role or ""):
        raise ValidationError(
            f"{role!r} is not a role name: letters, digits and underscores, starting with a "
            "letter, at most 63",
            field="role",
        )
    return role


def grant_read_only(db: Database, role: str) -> bool:
    """Let *role* read every table of *db* and nothing else, creating it (able
    to log in, without a password) when it does not exist; tables added later
    are readable too. Returns True when the role was created."""
    if db.is_sqlite:
        raise ConfigurationError("read-only roles are for PostgreSQL only: SQLite has no roles")
    check_role_name(role)
    from outreach.db.activity import record_activity

    with db.write() as conn:
        q = _quoted(conn, role)
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        try:
            if not exists:
                conn.exec_driver_sql(f"CREATE ROLE {q} LOGIN")
            dbname = conn.exec_driver_sql("SELECT current_database()").scalar()
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            qs = _quoted(conn, schema)
            for sql in (
                f"GRANT CONNECT ON DATABASE {_quoted(conn, dbname)} TO {q}",
                f"GRANT USAGE ON SCHEMA {qs} TO {q}",
                f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
                f"ON ALL TABLES IN SCHEMA {qs} FROM {q}",
                f"REVOKE CREATE ON SCHEMA {qs} FROM {q}",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA {qs} TO {q}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {qs} GRANT SELECT ON TABLES TO {q}",
            ):
                conn.exec_driver_sql(sql)
        except sa.exc.ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42501":
                raise
            raise DatabaseError(
                f"the role this command connected as may not create or grant roles: "
                f"{_first_line(exc.orig)}; ask the database's owner"
            ) from None
        record_activity(
            conn,
            action="grant",
            entity="database",
            summary=f"role {role} may read every table (read-only)"
            + ("; created" if not exists else ""),
        )
    return not exists


def create_database_if_missing(db: Database) -> bool:
    """Create *db*'s PostgreSQL database when the server says it does not
    exist, through the server's ``postgres`` maintenance database. Returns
    True when it was created; a one-line :class:`DatabaseError` when the role
    may not."""
    if db.is_sqlite:
        return False
    url = sa.make_url(db.url)
    try:
        with db.engine.connect():
            return False
    except sa.exc.OperationalError as exc:
        if "does not exist" not in str(exc.orig) or not url.database:
            raise DatabaseError(
                f"cannot open database {db.safe_url}: {db.redact(_first_line(exc.orig))}"
            ) from None
    from outreach.db.database import make_engine

    engine = make_engine(
        url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {_quoted(conn, url.database)}")
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(
            f"database {url.database} does not exist and could not be created "
            f"({db.redact(_first_line(exc.orig))}): ask the server's administrator to create it"
        ) from None
    finally:
        engine.dispose()
    db.dispose()
    return True


def _first_line(exc: BaseException | None) -> str:
    text = str(exc or "").strip()
    return text.splitlines()[0] if text else type(exc).__name__
