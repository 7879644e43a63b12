"""The database: the only package that talks to the driver or commits.

- :mod:`~outreach.db.database`: :class:`Database` (engines; ``session()``,
  ``write()``, ``read()``; the schema check),
- :mod:`~outreach.db.migrations`: the revision graph and Alembic,
- :mod:`~outreach.db.activity`: the one writer of the activity log,
- :mod:`~outreach.db.bulk`: the one bulk row writer (COPY on PostgreSQL).

:class:`Database` is the library's entry point::

    db = Database("campaign.db")          # or a postgresql:// URL
    db.init()                             # create or upgrade the schema
    with db.session() as session:         # one unit of work, committed on exit
        ...
"""

from outreach.db.database import (
    PG_WRITE_LOCK_KEY,
    SQLITE_BUSY_TIMEOUT_MS,
    Database,
    DatabaseInfo,
    make_engine,
)
from outreach.db.migrations import Revision, head_revision, known_revisions

__all__ = [
    "PG_WRITE_LOCK_KEY",
    "SQLITE_BUSY_TIMEOUT_MS",
    "Database",
    "DatabaseInfo",
    "Revision",
    "head_revision",
    "known_revisions",
    "make_engine",
]
