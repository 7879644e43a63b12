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

import importlib
from typing import TYPE_CHECKING, Any

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

# name -> module that defines it; resolved lazily by __getattr__ below.
_LAZY = {
    "Database": "outreach.db",
    "database_url": "outreach.config",
    "models": "outreach.schema.models",
    "record_activity": "outreach.db.activity",
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


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'outreach' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value
