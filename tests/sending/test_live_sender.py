"""A letter another run is sending right now is not called abandoned (issue 11, 7d).

A letter is in ``sending`` while a run hands it to the server. A second
``letters send`` started meanwhile must say so ("being handed to the server
right now by another run"), not that an earlier run left it behind; once the
run that took it is gone (killed), it is in doubt. On PostgreSQL the live run
holds an advisory lock per letter, which any machine can see; on SQLite the
process recorded with the ``sending`` mark is looked up on this computer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import sqlalchemy as sa

from outreach.schema.models import Activity, LetterStatus

from ..conftest import BACKEND
from ..mailfixtures import seed_campaign, smtp_server
from .test_crash_at_most_once import send_argv
from .test_send import letters_cmd, statuses

ABANDONED = "may or may not have reached the server"
LIVE = "being handed to the server right now by another"


@pytest.fixture
def smtp():
    yield from smtp_server()


def _start_first_run(db_url, smtp):
    """A real `letters send` in another process, held by the server while it
    takes the first letter (the letter is ``sending`` meanwhile)."""
    smtp.recorder.hold_at = 1
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = send_argv(db_url, "--campaign", "iid-2012", "--send", "--limit", "1", *smtp.argv())
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    if not smtp.recorder.held.wait(60):
        proc.kill()
        raise AssertionError(proc.communicate()[1])
    return proc


def test_second_run_does_not_call_a_live_runs_letter_abandoned(db, db_url, smtp):
    ids = seed_campaign(db, letters=2)["letters"]
    first = _start_first_run(db_url, smtp)
    try:
        assert statuses(db)[ids[0]] == LetterStatus.SENDING
        dry = letters_cmd(db_url, "send", "--campaign", "iid-2012", *smtp.argv())
        second = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
        for out in (dry.stdout, second.stdout):
            assert LIVE in out and ABANDONED not in out and "NOT sent again" not in out
            assert f"pid {first.pid}" in out  # which run has it
        assert "Sent 1 letter(s)" in second.stdout  # the other letter
    finally:
        smtp.recorder.release.set()
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    assert set(statuses(db).values()) == {LetterStatus.SENT}
    assert smtp.recorder.count() == 2


def _wait_until_released(db, letter_id):
    """PostgreSQL ends a dead client's session (and its locks) when it notices
    the socket closed: a moment after the kill."""
    if BACKEND != "postgresql":
        return
    from outreach.sending.claims import _PG_LOCKS_HELD, PG_SENDING_LOCK_NS

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            if letter_id not in set(conn.scalars(_PG_LOCKS_HELD, {"ns": PG_SENDING_LOCK_NS})):
                return
        time.sleep(0.05)
    raise AssertionError("the killed run's lock was not released")


def test_letter_of_a_run_that_was_killed_is_in_doubt(db, db_url, smtp):
    ids = seed_campaign(db, letters=1)["letters"]
    first = _start_first_run(db_url, smtp)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    smtp.recorder.release.set()
    _wait_until_released(db, ids[0])
    again = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert ABANDONED in again.stdout and "NOT sent again" in again.stdout
    assert "left by a run that stopped" in again.stdout and f"pid {first.pid}" in again.stdout
    assert LIVE not in again.stdout
    assert smtp.recorder.count() == 1
    assert statuses(db)[ids[0]] == LetterStatus.SENDING


def test_claim_from_another_computer(db, db_url, smtp):
    """A ``sending`` letter taken by a run on another computer: PostgreSQL knows
    (no lock held: that run is gone); SQLite cannot, and says how to tell."""
    ids = seed_campaign(db, letters=1)["letters"]
    first = _start_first_run(db_url, smtp)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    smtp.recorder.release.set()
    _wait_until_released(db, ids[0])
    with db.session() as session:
        entry = session.scalars(
            sa.select(Activity)
            .where(Activity.entity == "letter", Activity.entity_id == ids[0])
            .order_by(Activity.id.desc())
            .limit(1)
        ).one()
        entry.changes = {**entry.changes, "claim": {**entry.changes["claim"], "host": "far.away"}}
    again = letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    assert "NOT sent again" in again.stdout and "far.away" in again.stdout
    if BACKEND == "postgresql":
        assert "left by a run that stopped" in again.stdout
    else:
        assert "ran on another computer: if that run is still going, wait for it" in again.stdout
    assert smtp.recorder.count() == 1
