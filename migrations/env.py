"""Alembic environment for outreach.

The metadata comes from ``outreach.schema.models``. The database comes from the
caller: a connection handed in as ``config.attributes["connection"]`` (what
``outreach init`` and ``outreach db`` do), else ``sqlalchemy.url`` in the
config, else ``-x db=URL`` or ``$OUTREACH_DATABASE_URL`` on the ``alembic``
command line.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

from outreach.schema.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    from outreach.config import database_url

    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    return database_url(context.get_x_argument(as_dictionary=True).get("db"))


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=False,
        **kwargs,
    )


def run_migrations_offline() -> None:
    url = _url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    _configure(connection=connection, render_as_batch=sqlite)
    if not sqlite:
        with context.begin_transaction():
            context.run_migrations()
        return
    # SQLite changes a table by copying it into a new one and dropping the old:
    # with foreign keys enforced, dropping a table that others point at fails.
    # Outside a transaction they are switched off for the migration; inside
    # one (a restore migrating its own new database) that pragma does nothing,
    # so they are deferred to the commit instead, when the new table stands
    # where the old one was. Either way every reference is checked at the end.
    driver = connection.connection.driver_connection
    outside = not (connection.in_transaction() or driver.in_transaction)
    if outside:
        driver.execute("PRAGMA foreign_keys = OFF")
    try:
        with context.begin_transaction():
            if not outside:
                connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration broke references: {broken[:5]}")
    finally:
        if outside:
            if connection.in_transaction():
                connection.commit()
            driver.execute("PRAGMA foreign_keys = ON")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Engine):  # pytest-alembic hands in an engine
        with connection.connect() as conn:
            _run_with(conn)
            conn.commit()
        return
    if connection is not None:
        _run_with(connection)
        return
    from outreach.db import make_engine

    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _run_with(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
