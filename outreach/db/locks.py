"""Waiting for the write lock, and the errors of a shared database.

Commands that write queue for one lock (SQLite's write lock, taken by
``BEGIN IMMEDIATE``; on PostgreSQL the advisory lock
:data:`~outreach.db.database.PG_WRITE_LOCK_KEY`). A :class:`LockWait` says
how long to wait (``OUTREACH_LOCK_TIMEOUT`` seconds, 30 by default) and whom
to tell, at once, that the lock is held: its ``on_wait`` callback, which the
command line sets to a message on stderr. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from outreach.errors import ConfigurationError, DatabaseError

ENV_LOCK_TIMEOUT = "OUTREACH_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 30.0
#: The exit status of a command that gave up waiting for the lock (EX_TEMPFAIL).
LOCK_TIMEOUT_EXIT = 75
#: The exit status of a command stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED_EXIT = 130


class LockTimeoutError(DatabaseError):
    """Another command held the write lock for longer than the wait allowed."""

    exit_code = LOCK_TIMEOUT_EXIT


class ReadOnlyRoleError(DatabaseError):
    """The database role this command connected as may read but not write."""


class Interrupted(DatabaseError):
    """The command was stopped (Ctrl-C) after what *kept* says was committed."""

    exit_code = INTERRUPTED_EXIT


def lock_timeout_from_env() -> float:
    """``OUTREACH_LOCK_TIMEOUT`` in seconds (a ``ConfigurationError`` if not a number)."""
    raw = os.environ.get(ENV_LOCK_TIMEOUT, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    return check_timeout(raw, field=None)


def check_timeout(value: Any, *, field: str | None = "wait") -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not (0 <= seconds <= 86_400):
        where = f"{ENV_LOCK_TIMEOUT}: " if field is None else ""
        raise ConfigurationError(
            f"{where}{value!r} is not a number of seconds between 0 and 86400", field=field
        )
    return seconds


@dataclass
class LockWait:
    """How long a write waits for another command's lock, and whom to tell."""

    timeout: float = DEFAULT_LOCK_TIMEOUT
    #: Called with the timeout (seconds) as soon as the lock is found held.
    on_wait: Callable[[float], None] | None = None

    @classmethod
    def from_env(cls) -> LockWait:
        return cls(lock_timeout_from_env())

    def waiting(self) -> None:
        if self.on_wait is not None:
            self.on_wait(self.timeout)

    def timed_out(self) -> LockTimeoutError:
        return LockTimeoutError(
            f"gave up after {self.timeout:g} s: another outreach command still holds the "
            "database's write lock; try again when it has finished, or wait longer",
            option="wait",
        )


def is_read_only_refusal(exc: BaseException) -> bool:
    """True for PostgreSQL's "permission denied" (SQLSTATE 42501) or a read-only transaction."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) in ("42501", "25006")


def read_only_error() -> ReadOnlyRoleError:
    return ReadOnlyRoleError("this database role may only read: ask a coordinator")


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold a Ctrl-C back until the block is done (a commit is never cut in
    half), then raise it. Only in the main thread; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[Any] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda *a: caught.append(a))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
