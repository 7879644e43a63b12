"""Kill the sending process part-way (SIGKILL) and prove at-most-once delivery.

A real ``send`` runs in a subprocess against a recording SMTP server on
loopback. After the kill, ``send`` runs again; the server must then hold
every letter exactly once (by Message-ID), except a letter in doubt, which is
listed for confirmation and not sent again.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from outreach.cli import COMMANDS as ROOT_COMMANDS
from outreach.schema.models import Letter, LetterStatus

from ..mailfixtures import SmtpServer, seed_campaign, smtp_server

pytestmark = pytest.mark.slow

LETTERS = 220


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


def send_argv(db_url: str, *args: str) -> list[str]:
    if "letters" in ROOT_COMMANDS:
        return [sys.executable, "-m", "outreach", "--db", db_url, "letters", "send", *args]
    code = "from outreach.cli.sending import send_cmd; send_cmd.main(prog_name='send')"
    return [sys.executable, "-c", code, "--db", db_url, *args]


def letter_states(db) -> dict[str, tuple[int, LetterStatus]]:
    with db.session() as session:
        return {
            r.message_id: (r.id, r.status)
            for r in session.execute(sa.select(Letter.id, Letter.message_id, Letter.status))
            if r.message_id
        }


@pytest.mark.parametrize("kill_point", ["while-server-holds-message", "anywhere"])
def test_sigkill_part_way_never_sends_twice(db, db_url, smtp, kill_point):
    seed_campaign(db, letters=LETTERS)
    args = ["--campaign", "iid-2012", "--send", *smtp.argv()]
    recorder = smtp.recorder
    if kill_point == "while-server-holds-message":
        recorder.hold_at = 80
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        send_argv(db_url, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        if kill_point == "while-server-holds-message":
            # The server has the message but has not said so: the worst moment.
            assert recorder.held.wait(60), proc.stderr.read().decode() if proc.poll() else ""
        else:
            recorder.wait_for(60, timeout=60)
            time.sleep(0.003)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        recorder.release.set()
    assert proc.returncode == -signal.SIGKILL
    got_before = recorder.count()
    assert 0 < got_before < LETTERS

    states = letter_states(db)
    in_doubt = {mid for mid, (_id, st) in states.items() if st == LetterStatus.SENDING}
    assert len(in_doubt) <= 1
    if kill_point == "while-server-holds-message":
        # Received by the server but never acknowledged: exactly the letter in doubt.
        assert in_doubt == {recorder.received[79].message_id}

    # Run send again: everything else goes, the letter in doubt is listed, not resent.
    again = subprocess.run(
        send_argv(db_url, *args), capture_output=True, text=True, env=env, timeout=120
    )
    assert again.returncode == 0, again.stdout + again.stderr
    for mid in in_doubt:
        assert mid in again.stdout
        assert "NOT sent again" in again.stdout

    counts = collections.Counter(r.message_id for r in recorder.received)
    assert max(counts.values()) == 1, "a letter was delivered twice"
    states = letter_states(db)
    with db.session() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(Letter))
    assert total == LETTERS
    for mid, (_letter_id, status) in states.items():
        if status == LetterStatus.SENT:
            assert counts[mid] == 1, f"{mid} marked sent but received {counts[mid]} times"
        else:
            assert status == LetterStatus.SENDING and mid in in_doubt
    assert len(states) == LETTERS  # every letter was at least handed over once

    # The coordinator settles the letter in doubt: confirm what arrived,
    # resend what did not; then every letter has arrived exactly once.
    for mid in in_doubt:
        letter_id = states[mid][0]
        verb = "confirm" if counts[mid] == 1 else "resend"
        from click.testing import CliRunner

        from outreach.cli.sending import COMMANDS

        command = {c.name: c for c in COMMANDS}[verb]
        result = CliRunner().invoke(command, ["--db", db_url, str(letter_id)])
        assert result.exit_code == 0, result.output
    final = subprocess.run(
        send_argv(db_url, *args), capture_output=True, text=True, env=env, timeout=120
    )
    assert final.returncode == 0, final.stdout + final.stderr
    counts = collections.Counter(r.message_id for r in recorder.received)
    states = letter_states(db)
    assert set(counts) == set(states)
    assert set(counts.values()) == {1}
    assert {st for _i, st in states.values()} == {LetterStatus.SENT}
