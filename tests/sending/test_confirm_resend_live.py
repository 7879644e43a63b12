"""`letters confirm` and `letters resend` leave alone a letter a live run is
sending (issue 11).

A letter is in ``sending`` while a `letters send` hands it to the server.
Resending that one (back to approved, a new Message-ID) while the server is
taking it makes a duplicate the next run sends; confirming it records it as
sent before the server said so. With ``--campaign`` and no ids such letters
are skipped and counted ("skipped N letter(s) another run is sending right
now"); named by id they are refused with one line, nothing changed. A letter
left by a run that is gone is confirmed or resent as before.

The live run is a real `letters send` in another process, held by the
loopback SMTP server after it has recorded the message and before it
answers (see tests/sending/test_live_sender.py).
"""

from __future__ import annotations

import json
import signal

import pytest
import sqlalchemy as sa

from outreach.schema.models import Letter, LetterStatus

from ..conftest import table_dump
from ..mailfixtures import seed_campaign, smtp_server
from .test_live_sender import _start_first_run, _wait_until_released
from .test_send import letters_cmd, statuses

SKIPPED = "Skipped 1 letter(s) another run is sending right now"


@pytest.fixture
def smtp():
    yield from smtp_server()


def _left_in_doubt(db, letter_id: int, n: int) -> None:
    """Letter *letter_id* left in ``sending`` by a run that is gone."""
    with db.session() as session:
        letter = session.get(Letter, letter_id)
        letter.status = LetterStatus.SENDING
        letter.message_id = f"<doubt-{n}@coalition.example>"


def _message_id(db, letter_id: int) -> str | None:
    with db.session() as session:
        return session.scalar(sa.select(Letter.message_id).where(Letter.id == letter_id))


def _finish(first, smtp) -> None:
    smtp.recorder.release.set()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err


def test_campaign_wide_confirm_and_resend_skip_the_live_runs_letter(db, db_url, smtp):
    ids = seed_campaign(db, letters=3)["letters"]
    first = _start_first_run(db_url, smtp)
    try:
        live_id = _message_id(db, ids[0])
        assert statuses(db)[ids[0]] == LetterStatus.SENDING
        _left_in_doubt(db, ids[1], 1)
        resent = letters_cmd(db_url, "resend", "--campaign", "iid-2012")
        assert "1 letter(s) back to approved" in resent.stdout
        assert SKIPPED in resent.stderr and f"letter {ids[0]})" in resent.stderr
        _left_in_doubt(db, ids[2], 2)
        confirmed = letters_cmd(db_url, "confirm", "--campaign", "iid-2012", "--format", "json")
        assert [row["letter"] for row in json.loads(confirmed.stdout)] == [ids[2]]
        assert SKIPPED in confirmed.stderr
        now = statuses(db)
        assert now[ids[0]] == LetterStatus.SENDING  # still the live run's
        assert _message_id(db, ids[0]) == live_id
        assert now[ids[1]] == LetterStatus.APPROVED and now[ids[2]] == LetterStatus.SENT
    finally:
        _finish(first, smtp)
    # The live run recorded its letter; the next run sends the resent one only.
    assert statuses(db)[ids[0]] == LetterStatus.SENT
    letters_cmd(db_url, "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    received = [m.message_id for m in smtp.recorder.received]
    assert len(received) == 2 and received.count(live_id) == 1
    assert set(statuses(db).values()) == {LetterStatus.SENT}


@pytest.mark.parametrize("command", ["confirm", "resend"])
def test_by_id_a_live_runs_letter_is_refused(db, db_url, smtp, command):
    ids = seed_campaign(db, letters=2)["letters"]
    first = _start_first_run(db_url, smtp)
    try:
        _left_in_doubt(db, ids[1], 1)
        before = table_dump(db_url)
        for args in ([ids[0]], [ids[1], ids[0]], [ids[0], "--campaign", "iid-2012"]):
            result = letters_cmd(db_url, command, *args, expect=1)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1, result.stderr
            assert f"letter {ids[0]} is being sent right now by another run" in lines[0]
            assert f"pid {first.pid}" in lines[0] and "nothing was changed" in lines[0]
            assert "Traceback" not in result.output
        assert table_dump(db_url) == before
    finally:
        _finish(first, smtp)
    assert statuses(db)[ids[0]] == LetterStatus.SENT
    assert smtp.recorder.count() == 1


def test_a_killed_runs_letter_can_be_resent_and_confirmed(db, db_url, smtp):
    """Once the run is gone the letter is in doubt: the coordinator decides."""
    ids = seed_campaign(db, letters=2)["letters"]
    first = _start_first_run(db_url, smtp)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    smtp.recorder.release.set()
    _wait_until_released(db, ids[0])
    result = letters_cmd(db_url, "resend", "--campaign", "iid-2012")
    assert "1 letter(s) back to approved" in result.stdout and "Skipped" not in result.stderr
    assert statuses(db)[ids[0]] == LetterStatus.APPROVED
    _left_in_doubt(db, ids[1], 1)
    result = letters_cmd(db_url, "confirm", ids[1])
    assert "Confirmed 1" in result.stdout
    assert statuses(db)[ids[1]] == LetterStatus.SENT
