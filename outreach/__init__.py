"""outreach: directory, letters, responses and status reports for advocacy coalitions.

Importing the package is cheap: the database layer and the services load on
first use, so ``import outreach`` and ``outreach --help`` stay fast.

    >>> import outreach
    >>> db = outreach.Database("campaign.db")      # doctest: +SKIP
    >>> db.init()                                  # doctest: +SKIP
    >>> with db.session() as session:              # doctest: +SKIP
    ...     session.scalars(select(outreach.schema.models.Organization)).all()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from outreach.errors import (
    ConfigurationError,
    ConflictError,
    DatabaseError,
    NotFoundError,
    OutreachError,
    SchemaError,
    ValidationError,
)
from outreach.lazy import lazy_exports

# name -> module that defines it, under outreach; loaded on first use.
_LAZY = {
    "Database": "db",
    "database_url": "config",
    "models": "schema.models",
    "record_activity": "db.activity",
}

if TYPE_CHECKING:  # pragma: no cover
    from outreach.config import database_url
    from outreach.db import Database
    from outreach.db.activity import record_activity
    from outreach.schema import models

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "Database",
    "DatabaseError",
    "NotFoundError",
    "OutreachError",
    "SchemaError",
    "ValidationError",
    "__version__",
    "database_url",
    "models",
    "record_activity",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
