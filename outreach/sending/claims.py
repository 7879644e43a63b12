"""Who is sending a letter right now.

A letter is in ``sending`` while a run hands it to the server, and stays so
when that run died or the server's answer was lost. The ``sending`` mark's
activity entry records the run's claim (:func:`this_process_claim`); on
PostgreSQL the run also holds an advisory lock per letter, so a live run is
recognised on any machine. :func:`_sending_notes` says, for each such
letter, whether a live run has it and what to do otherwise."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.schema.models import (
    Activity,
    Letter,
    LetterStatus,
)

#: On PostgreSQL the run sending a letter holds the advisory lock
#: ``(PG_SENDING_LOCK_NS, letter id)`` on its connection from before the
#: letter's ``sending`` mark until its outcome is committed (the two-key form:
#: apart from :data:`outreach.db.PG_WRITE_LOCK_KEY`). The lock goes with the
#: connection, so a run that dies, on whatever machine, holds none.
PG_SENDING_LOCK_NS = 0x6F757473

_PG_LOCKS_HELD = sa.text(
    "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND classid = :ns AND objsubid = 2"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _process_start(pid: int) -> int | None:
    """When process *pid* started (clock ticks since boot; Linux), to tell it
    from a later process given the same number."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


#: The runs (:meth:`Sender.send_campaign` calls) going on in this process.
_RUNNING: set[str] = set()


def this_process_claim() -> dict[str, Any]:
    """What the ``sending`` mark records (in its activity entry) of the run
    that made it: this computer, this process and when it started, and the
    run itself (a process may make several, one after another)."""
    import socket
    import uuid

    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "process_start": _process_start(pid),
        "run": uuid.uuid4().hex,
    }


def _claim_alive(claim: dict[str, Any]) -> bool | None:
    """Whether the process that made *claim* is still running: ``None`` when
    it ran on another computer (only PostgreSQL's locks can tell then)."""
    import socket

    if claim.get("host") != socket.gethostname() or not isinstance(claim.get("pid"), int):
        return None
    pid = claim["pid"]
    if pid == os.getpid():
        return claim.get("run") in _RUNNING
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return None
    started = claim.get("process_start")
    return started is None or _process_start(pid) in (None, started)


def _describe_claim(actor: str | None, at: Any, claim: dict[str, Any]) -> str:
    when = at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, dt.datetime) else "?"
    return (
        f"`letters send` by {actor or '?'} on {claim.get('host') or '?'} "
        f"(pid {claim.get('pid') or '?'}), letter taken {when}"
    )


def _sending_notes(session: Session, rows: Sequence[sa.Row]) -> dict[int, tuple[bool, str]]:
    """For letters in ``sending``: (being sent right now by a live run, note).

    A letter is in ``sending`` while a run hands it to the server, and stays
    so when that run died meanwhile or the server's answer was lost. The
    ``sending`` mark's activity entry says which process took it; on
    PostgreSQL the advisory lock that process holds while it is alive settles
    the question on any machine, on SQLite the process is looked up on this
    computer.
    """
    if not rows:
        return {}
    ids = [row.id for row in rows]
    postgres = session.get_bind().dialect.name == "postgresql"
    claims: dict[int, tuple[str | None, Any, dict[str, Any]]] = {}
    for entity_id, actor, at, changes in session.execute(
        sa.select(Activity.entity_id, Activity.actor, Activity.at, Activity.changes)
        .where(
            Activity.entity == "letter",
            Activity.action == "send",
            Activity.entity_id.in_(ids),
        )
        .order_by(Activity.id)
    ):
        if isinstance(changes, dict) and isinstance(changes.get("claim"), dict):
            claims[entity_id] = (actor, at, changes["claim"])
    # First who is alive, then the letters read again: one not in a live
    # run's hands then and still in ``sending`` now is in no live run's hands
    # (the lock is taken before the mark and let go after the outcome is
    # committed; a process that has gone changes nothing any more).
    alive: dict[int, bool | None] = {}
    if postgres:
        held = {int(i) for i in session.scalars(_PG_LOCKS_HELD, {"ns": PG_SENDING_LOCK_NS})}
        alive = {i: i in held for i in ids}
    else:
        alive = {i: _claim_alive(claims[i][2]) if i in claims else False for i in ids}
    current = _fresh_states(session, ids)
    out: dict[int, tuple[bool, str]] = {}
    for row in rows:
        actor, at, claim = claims.get(row.id, (None, None, {}))
        who = _describe_claim(actor, at, claim) if claim else None
        now = current.get(row.id, (row.status, row.message_id))
        if row.error and now == (LetterStatus.SENDING, row.message_id):
            # Noted by the run itself: the server's answer was lost.
            out[row.id] = (False, f"in doubt: {row.error}")
        elif alive[row.id] or now != (LetterStatus.SENDING, row.message_id):
            out[row.id] = (
                True,
                f"being sent right now by another run ({who or 'another `letters send`'}); "
                "not sent by this one",
            )
        elif alive[row.id] is None:
            out[row.id] = (
                False,
                f"may still be in the hands of the {who}, which ran on another computer: "
                "if that run is still going, wait for it; otherwise check, then "
                "`letters confirm` or `letters resend`",
            )
        else:
            out[row.id] = (
                False,
                "left by a run that stopped"
                + (f" ({who})" if who else "")
                + ": may have been sent; check, then `letters confirm` or `letters resend`",
            )
    return out


def _fresh_states(session: Session, ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    """(status, Message-ID) of letters *ids* as committed now, read outside the
    session's transaction (whose snapshot may be older)."""
    bind = session.get_bind().engine
    if bind.dialect.name == "sqlite" and (bind.url.database or ":memory:") == ":memory:":
        return {}  # one connection only: the session's view is the current one
    stmt = sa.select(Letter.id, Letter.status, Letter.message_id).where(Letter.id.in_(list(ids)))
    with bind.connect() as conn:
        return {r.id: (r.status, r.message_id) for r in conn.execute(stmt)}
