"""-v/--verbose and -q/--quiet: notes through the `outreach` logger on stderr,
the human summary on stdout silenced by -q, errors never."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from ..mailfixtures import SmtpServer, seed_campaign, smtp_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


def _generate(run, *flags, after=(), expect=0):
    args = ("letters", "generate", "--campaign", "tp", "--date", "2012-06-01", *after)
    return run(*flags, *args, expect=expect)


def _seed(db):
    from .._letters_fixtures import seed

    seed(db)


def test_levels():
    from outreach.cli.verbosity import level_for

    assert level_for(0, False) == logging.WARNING
    assert level_for(1, False) == logging.INFO
    assert level_for(2, False) == level_for(5, False) == logging.DEBUG
    assert level_for(0, True) == logging.ERROR


def test_quiet_keeps_errors_and_json(db, run, smtp):
    missing = run("-q", "letters", "send", "--campaign", "nope", expect=1)
    assert missing.stderr.startswith("Error: ")
    seed_campaign(db, letters=2)
    send = ("letters", "send", "--campaign", "iid-2012", "--format", "json", *smtp.argv())
    data = json.loads(run("-q", *send).stdout)
    assert data["would_send"] == 2


def test_verbose_and_quiet_together_is_a_usage_error(run):
    result = run("-v", "-q", "campaigns", "list", expect=2)
    assert "-q/--quiet" in result.stderr


def test_send_verbose_names_each_letter_and_quiet_only_failures(db, run, smtp):
    seed_campaign(db, letters=3)
    smtp.recorder.refuse_rcpt["sg@africa-union.org"] = "550 5.1.1 no such user"
    send = ("letters", "send", "--campaign", "iid-2012", "--send", *smtp.argv())
    quiet = run("-q", *send, expect=3)
    assert quiet.stdout == ""
    lines = quiet.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: letter ")
    assert "AU" in lines[0] and "550 5.1.1" in lines[0]
    smtp.recorder.refuse_rcpt.clear()
    verbose = run("-v", *send, "--retry-failed")
    assert "iid-2012: sending through 127.0.0.1" in verbose.stderr
    assert "[sent]  <" in verbose.stderr and "Sent 1 letter(s)" in verbose.stdout


def test_generate_default_v_vv_and_q(db, run):
    _seed(db)
    default = _generate(run)
    assert "new letters" in default.stdout and default.stderr == ""
    verbose = _generate(run, "-v")
    assert "tp: generating letters" in verbose.stderr
    assert "rendered and recorded in" in verbose.stderr and "version" not in verbose.stderr
    assert "unchanged" in verbose.stdout  # the summary as without -v
    debug = _generate(run, "-vv")
    assert "debug: letter " in debug.stderr and "version 1" in debug.stderr
    quiet = _generate(run, "-q")
    assert quiet.stdout == "" and quiet.stderr == ""


def test_notes_escape_hostile_stored_text(db, run):
    from sqlalchemy import update

    from outreach.schema.models import Contact

    _seed(db)
    with db.session() as session:
        session.execute(
            update(Contact)
            .where(Contact.email == "sg@au.example")
            .values(name="Evil\x1b[2J\u202eName\x85")
        )
    result = _generate(run, "-vv")
    for raw in ("\x1b", "\u202e", "\x85"):
        assert raw not in result.stderr and raw not in result.stdout
    assert "Evil" in result.stderr
