"""Settings read from the caller and the environment (never at import time)."""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from outreach.errors import ConfigurationError

ENV_DATABASE_URL = "OUTREACH_DATABASE_URL"

#: Key in ``Session.info`` holding who is acting (set by ``Database.session``).
ACTOR_KEY = "outreach.actor"
ENV_USER = "OUTREACH_USER"

#: The database used when neither ``--db`` nor ``OUTREACH_DATABASE_URL`` is given.
DEFAULT_DATABASE_FILE = "outreach.db"

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def setting(key: str, environ: Mapping[str, str] | None = None) -> Any:
    """The value of the setting *key* (``"letters.templates"``) from the
    environment or a settings file; ``None`` when neither gives one."""
    from outreach import configfile

    return configfile.load(environ).explicit(key)


def database_url(value: str | os.PathLike[str] | None = None) -> str:
    """Resolve the database URL.

    Order: *value* (the ``--db`` option), else ``$OUTREACH_DATABASE_URL``, else
    ``[database] url`` of the settings files (:mod:`outreach.configfile`),
    else ``outreach.db`` in the current directory. A plain path means SQLite;
    a ``postgresql://`` URL is given the psycopg 3 driver.
    """
    raw = os.fspath(value) if value is not None else os.environ.get(ENV_DATABASE_URL, "")
    raw = raw.strip()
    if not raw:
        raw = setting("database.url") or DEFAULT_DATABASE_FILE
    if raw.startswith("sqlite:"):
        return raw
    if _URL_SCHEME.match(raw):
        scheme, rest = raw.split("://", 1)
        if scheme in ("postgresql", "postgres"):
            return _checked_url("postgresql+psycopg://" + _encoded_userinfo(rest))
        if scheme.startswith("postgresql+"):
            return _checked_url(f"{scheme}://{_encoded_userinfo(rest)}")
        if scheme.startswith("sqlite+"):
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


def _encoded_userinfo(rest: str) -> str:
    """*rest* (a server URL after ``scheme://``) with its user name and password
    percent-encoded, so that ``@``, ``:``, ``/``, ``?``, ``#`` or ``%`` written
    raw in a password stay in the password.

    The user name and password end at the last ``@`` that is followed by a
    host (a host name never holds one; a password may), see
    :func:`_userinfo_end`; the password starts at the first ``:``. What is
    already percent-encoded (``p%40ss``) stays as it is.
    """
    from urllib.parse import quote, unquote

    at = _userinfo_end(rest)
    if at < 0:
        return rest
    userinfo, hostpart = rest[:at], rest[at + 1 :]
    user, colon, password = userinfo.partition(":")
    encoded = quote(unquote(user), safe="")
    if colon:
        encoded += ":" + quote(unquote(password), safe="")
    return f"{encoded}@{hostpart}"


#: What follows the user name and password: host[:port][/dbname][?query].
_AFTER_USERINFO = re.compile(r"[^@/?#]*(/[^/?#@]*)?(?:[?#].*)?")


def _userinfo_end(rest: str) -> int:
    """Where the user name and password end in *rest* (a URL after ``://``):
    the last ``@`` followed by a host and a ``/dbname``, else the last ``@``
    (-1 if none). So ``maria:p@ss@w0rd@host/db`` has the password
    ``p@ss@w0rd``, and the ``@`` in ``maria@host/db?application_name=a@b``
    stays in the query."""
    ats = [i for i, c in enumerate(rest) if c == "@"]
    for i in reversed(ats):
        found = _AFTER_USERINFO.fullmatch(rest, i + 1)
        if found and found.group(1):
            return i
    return ats[-1] if ats else -1


def url_password(url: str) -> str | None:
    """The password in *url* (decoded), ``None`` if it has none."""
    from urllib.parse import unquote

    if not _URL_SCHEME.match(url) or url.startswith("sqlite"):
        return None  # a SQLite path may hold ':' and '@' and is no secret
    rest = url.split("://", 1)[1]
    at = _userinfo_end(rest)
    if at < 0:
        return None
    _user, colon, password = rest[:at].partition(":")
    return unquote(password) if colon and password else None


def redact(text: str, url: str | None) -> str:
    """*text* (an error message, maybe from the database driver) with the
    password of *url* taken out: the URL masked, and the password itself,
    encoded or not, and every piece of it between URL punctuation (what a
    driver shows when it took part of a password for the host name)
    replaced by ``***``."""
    text = mask_url(text)
    password = url_password(url) if url else None
    if not password:
        return text
    from urllib.parse import quote

    secrets = {password, quote(password, safe=""), quote(password)}
    secrets.update(re.split(r"[@:/?#%&=\s]+", password))
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _checked_url(url: str) -> str:
    """*url* if SQLAlchemy can parse it; else an error that does not show the password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(
            f"database URL {mask_url(url)} is malformed ({redact(str(exc), url)}); "
            "write it as postgresql://user:password@host:port/dbname"
        ) from None
    return url


def mask_url(url: str) -> str:
    """Return *url* (or a message holding one) with any password replaced by
    ``***``.

    Masks everything between ``user:`` and the ``@`` before the host (a
    password may itself hold ``@`` or ``/``; in a longer message, the last
    ``@``) and ``password=`` query parameters.
    """
    if _URL_SCHEME.match(url) and not re.search(r"\s", url) and not url.startswith("sqlite"):
        scheme, rest = url.split("://", 1)
        at = _userinfo_end(rest)
        user, colon, _password = rest[: max(at, 0)].partition(":")
        if colon:
            url = f"{scheme}://{user}:***{rest[at:]}"
    else:
        url = re.sub(r"(://[^:/@?#\s]*:).*@", r"\1***@", url)
    return re.sub(r"(?i)([?&](?:password|passwd|pwd)=)[^&\s]*", r"\1***", url)


def current_user(explicit: str | None = None) -> str:
    """Who is acting: ``--as``, else ``$OUTREACH_USER``, else ``[identity]
    name`` of the settings files, else the login name."""
    if explicit:
        return explicit
    env = os.environ.get(ENV_USER)
    if env:
        return env
    named = setting("identity.name")
    if named:
        return str(named)
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers, odd environments)
        return "unknown"
