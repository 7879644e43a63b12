"""Settings read from the caller and the environment (never at import time)."""

from __future__ import annotations

import getpass
import os
import re
from pathlib import Path

from outreach.errors import ConfigurationError

ENV_DATABASE_URL = "OUTREACH_DATABASE_URL"

#: Key in ``Session.info`` holding who is acting (set by ``Database.session``).
ACTOR_KEY = "outreach.actor"
ENV_USER = "OUTREACH_USER"

#: The database used when neither ``--db`` nor ``OUTREACH_DATABASE_URL`` is given.
DEFAULT_DATABASE_FILE = "outreach.db"

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def database_url(value: str | os.PathLike[str] | None = None) -> str:
    """Resolve the database URL.

    Order: *value* (the ``--db`` option), else ``$OUTREACH_DATABASE_URL``, else
    ``outreach.db`` in the current directory. A plain path means SQLite; a
    ``postgresql://`` URL is given the psycopg 3 driver.
    """
    raw = os.fspath(value) if value is not None else os.environ.get(ENV_DATABASE_URL, "")
    raw = raw.strip()
    if not raw:
        raw = DEFAULT_DATABASE_FILE
    if raw.startswith("sqlite:"):
        return raw
    if _URL_SCHEME.match(raw):
        scheme, rest = raw.split("://", 1)
        if scheme in ("postgresql", "postgres"):
            return _checked_url("postgresql+psycopg://" + rest)
        if scheme.startswith("postgresql+") or scheme.startswith("sqlite+"):
            return _checked_url(raw)
        raise ConfigurationError(
            f"database URL scheme {scheme!r} is not supported: use a file path "
            "(SQLite) or postgresql://user@host/dbname"
        )
    path = Path(raw).expanduser()
    if path.is_dir():
        raise ConfigurationError(
            f"--db {raw}: is a folder; give a file name such as {raw}/outreach.db"
        )
    return "sqlite:///" + str(path.resolve())


def _checked_url(url: str) -> str:
    """*url* if SQLAlchemy can parse it; else an error that does not show the password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(
            f"database URL {mask_url(url)} is malformed ({mask_url(str(exc))}); "
            "write it as postgresql://user:password@host:port/dbname"
        ) from None
    return url


def mask_url(url: str) -> str:
    """Return *url* with any password replaced by ``***``.

    Masks everything between ``user:`` and the last ``@`` (a password may
    itself hold ``@`` or ``/``) and ``password=`` query parameters.
    """
    url = re.sub(r"(://[^:/@?#]*:).*@", r"\1***@", url)
    return re.sub(r"(?i)([?&](?:password|passwd|pwd)=)[^&]*", r"\1***", url)


def current_user(explicit: str | None = None) -> str:
    """Who is acting: ``--as``, else ``$OUTREACH_USER``, else the login name."""
    if explicit:
        return explicit
    env = os.environ.get(ENV_USER)
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers, odd environments)
        return "unknown"
