"""Several coordinators at once: four processes write to one database together.

Each worker is a separate Python process running the real CLI (see
``tests/_cli_worker.py``); they start at the same instant and, each in its own
order, import an overlapping contacts file, generate the campaign's letters,
log responses by hand and import the same mailbox. Afterwards nothing is lost,
nothing is doubled, and no command failed with a raw database error.

What guarantees "no duplicates" is the schema's unique constraints (proved
directly below by racing two sessions past the application's own checks);
what keeps the commands from *failing* on those constraints is that every
writing command takes the database's write lock first (SQLite ``BEGIN
IMMEDIATE``; on PostgreSQL an advisory lock, see ``outreach.db``).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import mailbox
import os
import re
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.models import (
    Activity,
    Contact,
    InboundMessage,
    Letter,
    Organization,
    OrgKind,
    Region,
    Response,
)

from ._letters_fixtures import ORGS as CAMPAIGN_ORGS
from ._letters_fixtures import seed
from .conftest import BACKEND
from .mailfixtures import seed_campaign

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("_cli_worker.py")
WORKERS = 4
CONTACTS_PER_FILE = 200  # file k holds contacts k*100 .. k*100+199: each overlaps the next
LOGS_PER_WORKER = 10
MAILS = 20


def _directory_orgs(db: Database) -> None:
    with db.session() as session:
        for i in range(20):
            session.add(
                Organization(
                    acronym=f"RO{i:02d}",
                    name=f"Regional organization {i}",
                    kind=OrgKind.REGIONAL,
                    region=Region.AFRICA,
                    languages=["en"],
                )
            )


def _contacts_file(folder: Path, k: int) -> Path:
    rows = ["organization,name,position,email,language"]
    for i in range(k * 100, k * 100 + CONTACTS_PER_FILE):
        rows.append(f"RO{i % 20:02d},Officer {i:04d},Desk officer,officer{i:04d}@ro.example,en")
    path = folder / f"contacts-{k}.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _mailbox(folder: Path) -> Path:
    path = folder / "replies.mbox"
    box = mailbox.mbox(str(path))
    for i in range(MAILS):
        _acr, *_rest, email = CAMPAIGN_ORGS[i % len(CAMPAIGN_ORGS)]
        msg = EmailMessage()
        msg["From"] = email
        msg["To"] = "info@coalition.example"
        msg["Subject"] = f"Reply number {i}"
        msg["Date"] = format_datetime(dt.datetime(2012, 4, 1 + i % 20, 10, tzinfo=dt.UTC))
        msg["Message-ID"] = f"<reply-{i}@regional.example>"
        msg.set_content(f"We acknowledge your letter ({i}).")
        box.add(msg)
    box.flush()
    box.close()
    return path


def _commands(url: str, k: int, contacts: Path, mbox: Path) -> list[list[str]]:
    base = ["--db", url, "--as", f"coordinator-{k}"]
    ops: list[list[str]] = [
        [*base, "contacts", "import", str(contacts)],
        [*base, "letters", "generate", "--campaign", "tp"],
        [*base, "responses", "import", str(mbox)],
    ]
    logs = [
        [
            *base,
            *["responses", "log", "--org", CAMPAIGN_ORGS[j % len(CAMPAIGN_ORGS)][0]],
            *["--campaign", "tp", "--channel", "post", "--stance", "supportive"],
            *["--summary", f"logged by worker {k}, number {j}"],
        ]
        for j in range(LOGS_PER_WORKER)
    ]
    # Each worker interleaves the same work in its own order, so that every kind
    # of command meets every other kind somewhere.
    ops = ops[k % 3 :] + ops[: k % 3]
    out: list[list[str]] = []
    for i, log in enumerate(logs):
        out.append(log)
        if i % 3 == k % 3 and ops:
            out.append(ops.pop(0))
    return out + ops


def test_four_coordinators_at_once_lose_and_double_nothing(own_db_url, tmp_path):
    url = own_db_url
    db = Database(url, actor="setup")
    seed(db)
    _directory_orgs(db)
    mbox = _mailbox(tmp_path)
    env = {
        **os.environ,
        "OUTREACH_ATTACHMENTS_DIR": str(tmp_path / "store"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("OUTREACH_DATABASE_URL", None)
    start_at = time.time() + 3.0  # every worker has imported the CLI by then
    procs = []
    planned = {}
    for k in range(WORKERS):
        commands = _commands(url, k, _contacts_file(tmp_path, k), mbox)
        planned[k] = commands
        jobs = tmp_path / f"jobs-{k}.json"
        jobs.write_text(json.dumps({"start_at": start_at, "commands": commands}))
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(jobs)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    results: list[dict] = []
    for k, proc in enumerate(procs):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"worker {k} died:\n{err}"
        assert "Traceback" not in err, err
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert len(lines) == len(planned[k]), f"worker {k} ran {len(lines)} commands:\n{err}"
        results.extend(lines)

    operations = len(results)
    assert operations == WORKERS * (LOGS_PER_WORKER + 3)
    for r in results:
        assert r["traceback"] is None, r["traceback"]
        assert "Traceback" not in r["stderr"]
        # Every command succeeds: the write lock makes them queue, not fail.
        assert r["exit"] == 0, f"{r['argv'][4:]} exit {r['exit']}: {r['stderr']}"

    with db.session() as session:
        # Contacts: every address in any file, each exactly once.
        emails = collections.Counter(
            session.scalars(sa.select(Contact.email_key).where(Contact.email_key.like("officer%")))
        )
        wanted = {f"officer{i:04d}@ro.example" for i in range(100 * (WORKERS - 1) + 200)}
        assert set(emails) == wanted, "contacts lost"
        assert max(emails.values()) == 1, "a contact was imported twice"

        # Letters: one per recipient, made once and left alone by the other runs.
        letters = session.execute(
            sa.select(Letter.contact_id, Letter.round, Letter.version, Letter.superseded_at)
        ).all()
        assert len(letters) == len(CAMPAIGN_ORGS)
        assert len({(c, r) for c, r, _v, _s in letters}) == len(CAMPAIGN_ORGS)
        assert {(v, s) for _c, _r, v, s in letters} == {(1, None)}

        # Responses logged by hand: every one present, exactly once.
        summaries = collections.Counter(
            session.scalars(sa.select(Response.summary).where(Response.summary.like("logged by%")))
        )
        wanted_logs = {
            f"logged by worker {k}, number {j}"
            for k in range(WORKERS)
            for j in range(LOGS_PER_WORKER)
        }
        assert set(summaries) == wanted_logs, "logged responses lost"
        assert max(summaries.values()) == 1

        # The mailbox, imported four times at once: each message once.
        inbound = collections.Counter(session.scalars(sa.select(InboundMessage.message_id)))
        assert set(inbound) == {f"<reply-{i}@regional.example>" for i in range(MAILS)}
        assert max(inbound.values()) == 1
        mail_responses = collections.Counter(
            session.scalars(sa.select(Response.message_id).where(Response.message_id.is_not(None)))
        )
        assert len(mail_responses) == MAILS and max(mail_responses.values()) == 1

        # Each change is in the activity log under the coordinator who made it.
        logged = session.scalar(
            sa.select(sa.func.count())
            .select_from(Activity)
            .where(Activity.entity == "response", Activity.actor.like("coordinator-%"))
        )
        assert logged >= WORKERS * LOGS_PER_WORKER + MAILS

    slowest = max(r["seconds"] for r in results)
    print(
        f"\n[{BACKEND}] {WORKERS} processes x {operations // WORKERS} operations "
        f"({operations} commands) at once: rows lost 0, duplicates 0, "
        f"slowest command {slowest:.2f}s"
    )
    db.dispose()


def test_unique_constraints_stop_a_race_that_gets_past_the_checks(db):
    """Two sessions both look for a record, find none, and both insert it: the
    database, not the application's check, refuses the second one. (On SQLite
    the second session's snapshot already stops it with "database is locked";
    then, checking again, it meets the unique constraint.)"""
    seed_campaign(db, letters=1)
    with db.session() as s:
        org, contact, campaign = s.execute(
            sa.select(Letter.organization_id, Letter.contact_id, Letter.campaign_id)
        ).one()
    letter = dict(
        campaign_id=campaign,
        organization_id=org,
        contact_id=contact,
        language="en",
        subject="Dialogue",
        body="Your Excellency,",
        template_name="third-pillar",
        template_hash="0" * 64,
    )
    races = [
        (Organization, dict(acronym="AU", name="African Union"), dict(acronym="au", name="AU")),
        (
            Contact,
            dict(organization_id=org, name="Secretary-General", email="SG@au.int"),
            dict(organization_id=org, name="Secretary-General", email="sg@AU.int"),
        ),
        (Letter, dict(letter, round=1), dict(letter, round=1)),
        (Response, _response(org, "<r1@au.int>"), _response(org, "<r1@au.int>")),
        (InboundMessage, _inbound("<m1@au.int>"), _inbound("<m1@au.int>")),
    ]
    first, second = Database(db.url), Database(db.url)
    try:
        for model, one, two in races:
            before = _count(db, model)
            a, b = first.engine.connect(), second.engine.connect()
            try:
                ta, tb = a.begin(), b.begin()
                if BACKEND == "postgresql":
                    b.execute(sa.select(sa.func.count()).select_from(model))  # b looks first
                a.execute(sa.insert(model), _with_keys(model, one))
                ta.commit()
                with pytest.raises((sa.exc.IntegrityError, sa.exc.OperationalError)) as caught:
                    b.execute(sa.insert(model), _with_keys(model, two))
                tb.rollback()
                if isinstance(caught.value, sa.exc.OperationalError):  # SQLite's snapshot
                    assert "locked" in str(caught.value)
                    with b.begin(), pytest.raises(sa.exc.IntegrityError):
                        b.execute(sa.insert(model), _with_keys(model, two))
            finally:
                a.close()
                b.close()
            assert _count(db, model) == before + 1, model.__name__
    finally:
        first.dispose()
        second.dispose()


def _count(db: Database, model) -> int:
    with db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def _with_keys(model, values: dict) -> dict:
    """Core inserts skip the ORM's @validates: set the folded keys as it would."""
    now = dt.datetime(2012, 3, 20, tzinfo=dt.UTC)
    out = dict(values)
    if model is Organization:
        out["acronym_key"] = out["acronym"].casefold()
    if model is Contact:
        out["email_key"] = out["email"].casefold()
    for column in ("created_at", "updated_at"):
        if column in model.__table__.c:
            out.setdefault(column, now)
    for column in ("kind", "languages", "tags", "status", "channel", "stance", "is_primary"):
        col = model.__table__.c.get(column)
        if col is not None and column not in out and col.default is not None:
            arg = col.default.arg
            out[column] = arg(None) if callable(arg) else arg
    return out


def _response(org: int, message_id: str) -> dict:
    return dict(
        organization_id=org,
        received_at=dt.datetime(2012, 3, 28, tzinfo=dt.UTC),
        summary="We will take part",
        message_id=message_id,
    )


def _inbound(message_id: str) -> dict:
    return dict(
        message_id=message_id,
        raw_size=10,
        raw_sha256="0" * 64,
        imported_at=dt.datetime(2012, 3, 28, tzinfo=dt.UTC),
    )


def test_a_writer_waits_for_the_write_lock_then_gives_up_cleanly(db):
    """While one command holds the write lock another waits for it, and after
    the busy timeout it stops with a clean DatabaseError (the CLI prints it as
    one line), never a raw driver error."""
    from outreach.db.locks import LockTimeoutError, LockWait

    heard: list[float] = []
    other = Database(db.url, actor="other", lock=LockWait(0.3, heard.append))
    try:
        with db.session(immediate=True) as holder:
            holder.add(Organization(acronym="AU", name="African Union"))
            holder.flush()
            started = time.monotonic()
            with (
                pytest.raises(LockTimeoutError) as caught,
                other.session(immediate=True) as s,
            ):
                s.add(Organization(acronym="OAS", name="Organization of American States"))
            waited = time.monotonic() - started
        assert 0.2 < waited < 10
        assert heard == [0.3]  # told at once that it waits
        assert "write lock" in str(caught.value) and caught.value.exit_code == 75
    finally:
        other.dispose()
    with db.session(immediate=True) as s:  # the lock is free again
        names = s.scalars(sa.select(Organization.acronym)).all()
    assert names == ["AU"]


def test_locked_database_message_is_one_clean_line(db, db_url, monkeypatch):
    """The CLI reports a busy database as one line with what to do."""
    from click.testing import CliRunner

    from outreach.cli import cli

    monkeypatch.setenv("OUTREACH_LOCK_TIMEOUT", "0.3")
    with db.session(immediate=True) as holder:
        holder.add(Organization(acronym="AU", name="African Union"))
        holder.flush()
        result = CliRunner().invoke(
            cli, ["--db", db_url, "orgs", "add", "OAS", "Organization of American States"]
        )
    assert result.exit_code == 75, result.output  # its own exit status
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[1].startswith("Error: "), result.stderr
    assert lines[0] == "waiting for another outreach command to finish (up to 0.3 s)..."
    assert "write lock" in lines[1] and "try again" in lines[1]
    assert "Traceback" not in result.output


def test_two_senders_at_once_deliver_each_letter_once(db, db_url, tmp_path):
    """Two coordinators press send on the same campaign at the same moment:
    every letter reaches the server exactly once, and ends up sent."""
    from .mailfixtures import smtp_server
    from .sending.test_crash_at_most_once import letter_states, send_argv

    total = 80
    seed_campaign(db, letters=total)
    gen = smtp_server()
    smtp = next(gen)
    try:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # Paced at 40 a second, so that the two runs overlap for about two seconds.
        argv = send_argv(db_url, "--campaign", "iid-2012", "--send", "--rate", "40/s", *smtp.argv())
        procs = [
            subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
            )
            for _ in range(2)
        ]
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, out + err
            assert "Traceback" not in err
            outputs.append(out)
        received = collections.Counter(r.message_id for r in smtp.recorder.received)
    finally:
        gen.close()
    states = letter_states(db)
    assert len(states) == total
    assert set(received) == set(states), "a letter was lost"
    assert set(received.values()) == {1}, "a letter was delivered twice"
    assert {status.value for _id, status in states.values()} == {"sent"}
    for out in outputs:
        # A letter the other run was handing over is not called abandoned.
        assert "NOT sent again" not in out, out
    summaries = [o.strip().splitlines()[-1] if o.strip() else "" for o in outputs]
    sent = [re.search(r"Sent (\d+) letter", o) for o in outputs]
    assert sum(int(m.group(1)) for m in sent if m) == total, outputs
    print(f"\n[{BACKEND}] 2 senders x {total} letters at once: lost 0, delivered twice 0")
    print("\n".join(summaries))
