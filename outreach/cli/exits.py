"""The exit statuses of ``outreach``, in one place (the README's "Exit codes"
section lists the same table, and a test holds the two together).

Nothing is imported here, so any command module may use them without
slowing ``outreach --help``. The two statuses the database layer decides are
also named in :mod:`outreach.db.locks` (which may not import the command
line); a test checks that both say the same.
"""

from __future__ import annotations

#: The command did what it was asked.
OK = 0
#: A user error: bad input, a record not found, a refused change, a dry run
#: that found letters that would fail, a send where nothing was sent. One
#: line on stderr says what was wrong.
USER_ERROR = 1
#: A usage error found by Click: an unknown option, a missing or bad value.
USAGE = 2
#: ``letters send``: some letters were sent and others failed, are in doubt,
#: or were left when the run stopped early. The sent ones are recorded.
PARTIAL_SEND = 3
#: Gave up waiting for another outreach command's write lock (EX_TEMPFAIL).
LOCK_TIMEOUT = 75
#: Stopped by Ctrl-C (128 + SIGINT); what was committed before stays.
INTERRUPTED = 130

#: name -> (status, meaning), in order: the README's table.
EXIT_CODES: dict[str, tuple[int, str]] = {
    "OK": (OK, "success"),
    "USER_ERROR": (USER_ERROR, "a user error (bad input, not found, refused; nothing sent)"),
    "USAGE": (USAGE, "a usage error: unknown option, missing or bad value"),
    "PARTIAL_SEND": (PARTIAL_SEND, "`letters send`: some letters sent, others failed"),
    "LOCK_TIMEOUT": (LOCK_TIMEOUT, "another command held the write lock too long"),
    "INTERRUPTED": (INTERRUPTED, "stopped by Ctrl-C"),
}
