"""The first Ctrl-C during `letters send` stops the run cleanly: what went is
recorded as sent, the letter caught in its hand-over is left in doubt (never
lost, never sent twice), the rest wait for the next run, and the command says
so and exits 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from outreach.schema.models import LetterStatus

from ..mailfixtures import SmtpServer, seed_campaign, smtp_server
from .test_send import statuses


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


def test_ctrl_c_during_a_send_keeps_what_went_and_says_so(db, db_url, smtp, tmp_path: Path):
    ids = seed_campaign(db, letters=4)["letters"]
    smtp.recorder.hold_at = 2  # the server sits on the second message
    exe = Path(sys.executable).with_name("outreach")
    proc = subprocess.Popen(
        [str(exe), "--db", db_url, "letters", "send", "--campaign", "iid-2012", "--send",
         *smtp.argv()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OUTREACH_SMTP_TIMEOUT": "60"},
    )  # fmt: skip
    try:
        assert smtp.recorder.held.wait(30), "the second message never reached the server"
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        smtp.recorder.release.set()  # the server answers late; the run has stopped
        out, err = proc.communicate(timeout=60)
    finally:
        smtp.recorder.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Stopped by Ctrl-C: 1 letter(s) sent and recorded; 3 not sent" in err
    assert "Traceback" not in err
    got = statuses(db)
    assert got[ids[0]] == LetterStatus.SENT
    assert got[ids[1]] == LetterStatus.SENDING  # in doubt: confirm or resend it
    assert got[ids[2]] == got[ids[3]] == LetterStatus.APPROVED
    assert smtp.recorder.count() == 2
