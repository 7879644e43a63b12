"""Kill the long commands with SIGKILL part-way; nothing breaks, nothing doubles.

``contacts import``, ``letters generate``, ``responses import`` and ``letters
send`` run as real subprocesses and are killed at random points: some while
the command holds the database's write lock (mid-transaction), some after a
random delay. After each kill the database must be consistent (SQLite
``PRAGMA integrity_check`` and ``foreign_key_check``; on PostgreSQL no
dangling reference), hold either none or all of the command's work, and the
same command run again must finish the job with no duplicates.

``tests/sending/test_crash_at_most_once.py`` proves at-most-once delivery in detail (a kill
while the server holds a message); here ``send`` gets random kill points too,
with the same server and helpers.

Set ``OUTREACH_CRASH_SEED`` to replay a run's kill points.
"""

from __future__ import annotations

import collections
import datetime as dt
import mailbox
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.campaigns import add_recipients, create_campaign
from outreach.db import PG_WRITE_LOCK_KEY, Database, make_engine
from outreach.schema.models import (
    Attachment,
    Base,
    Contact,
    InboundMessage,
    Letter,
    LetterStatus,
    Organization,
    OrgKind,
    Region,
    Response,
)
from outreach.schema.tables import stored_files

from ._letters_fixtures import seed
from .conftest import BACKEND
from .mailfixtures import seed_campaign
from .sending.test_crash_at_most_once import letter_states, send_argv, smtp  # noqa: F401  (smtp: fixture)

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("OUTREACH_CRASH_SEED") or time.time_ns() % 1_000_000)
ORGS = 60
CONTACTS = 2500
MAILS = 100
KILLS = 3  # per command: two inside the write transaction, one at a random delay


# --- checks -------------------------------------------------------------------------


def assert_consistent(url: str) -> None:
    """The database file is sound and no row points at a missing row."""
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            for table in Base.metadata.sorted_tables:
                for fk in table.foreign_keys:
                    parent = fk.column.table
                    orphans = conn.execute(
                        sa.select(sa.func.count())
                        .select_from(table)
                        .where(
                            fk.parent.is_not(None),
                            ~sa.exists().where(fk.column == fk.parent),
                        )
                    ).scalar_one()
                    assert orphans == 0, f"{table.name}.{fk.parent.name} -> {parent.name}"
    finally:
        engine.dispose()


def _write_lock_held(url: str) -> bool:
    """Whether some process is inside a writing command's transaction."""
    if BACKEND == "sqlite":
        path = sa.make_url(url).database
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            conn.close()
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            # An advisory lock on a bigint key shows as classid (high half), objid (low).
            held = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid::bigint = :hi AND objid::bigint = :lo "
                    "AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"hi": PG_WRITE_LOCK_KEY >> 32, "lo": PG_WRITE_LOCK_KEY & 0xFFFFFFFF},
            ).scalar_one()
            return bool(held)
    finally:
        engine.dispose()


def run_and_kill(argv, env, url, kill_point: tuple[str, float], timeout: float = 30) -> str:
    """Start *argv*, kill it at *kill_point*; return where it was killed."""
    how, extra = kill_point
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        if how == "in-transaction":
            deadline = time.monotonic() + timeout
            while not _write_lock_held(url):
                if proc.poll() is not None:
                    return "finished first"
                assert time.monotonic() < deadline, "the command never took the write lock"
                time.sleep(0.005)
        time.sleep(extra)
        if proc.poll() is not None:
            return "finished first"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.returncode == 0:
            return "finished first"  # it ended on its own between poll() and the signal
        assert proc.returncode == -signal.SIGKILL
        return how
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def assert_killed(tried) -> None:
    assert any(where != "finished first" for where, _ in tried), f"never killed: {tried}"


def kill_points(rng: random.Random, lock_window: float, delay_window: float):
    # The first kill lands the moment the write lock is seen, so every run kills
    # at least once inside a transaction; the others are random.
    points = [("in-transaction", 0.0)]
    points += [("in-transaction", rng.uniform(0.0, lock_window)) for _ in range(KILLS - 2)]
    points.append(("after-delay", rng.uniform(0.2, delay_window)))
    return points


def run_ok(argv, env) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def count(db: Database, model, *where) -> int:
    with db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- set-up ---------------------------------------------------------------------------


def _add_org(s, acronym: str, name: str, kind: OrgKind, languages, tags=()) -> None:
    """An African organization with its Secretary-General as primary contact."""
    org = Organization(
        acronym=acronym,
        name=name,
        kind=kind,
        region=Region.AFRICA,
        languages=languages,
        tags=list(tags),
    )
    s.add(org)
    s.flush()
    s.add(
        Contact(
            organization_id=org.id,
            name=f"Secretary-General of {acronym}",
            email=f"sg@{acronym.lower()}.example",
            is_primary=True,
        )
    )


@pytest.fixture
def world(own_db_url, tmp_path):
    """A directory of 60 regional organizations (plus the five of the letters
    fixtures), the campaign ``tp`` writing to all of them, a contacts file and
    a mailbox of replies."""
    db = Database(own_db_url, actor="setup")
    seed(db)
    with db.session() as s:
        for i in range(ORGS):
            _add_org(s, f"R{i:03d}", f"Regional organization {i}", OrgKind.REGIONAL, ["en"])
        add_recipients(s, "tp", kinds=["regional"])
    rows = ["organization,name,position,email"]
    rows += [
        f"R{i % ORGS:03d},Officer {i},Desk officer,officer{i}@r.example" for i in range(CONTACTS)
    ]
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("\n".join(rows) + "\n", encoding="utf-8")
    mbox = tmp_path / "replies.mbox"
    box = mailbox.mbox(str(mbox))
    for i in range(MAILS):
        msg = EmailMessage()
        msg["From"] = f"sg@r{i % ORGS:03d}.example"
        msg["To"] = "info@coalition.example"
        msg["Subject"] = f"Re: the dialogue ({i})"
        msg["Message-ID"] = f"<reply-{i}@r.example>"
        msg.set_content("We acknowledge receipt of your letter. " * 20)
        if i % 4 == 0:
            msg.add_attachment(os.urandom(3000), maintype="application", subtype="pdf",
                               filename=f"reply-{i}.pdf")  # fmt: skip
        box.add(msg)
    box.flush()
    box.close()
    env = {**os.environ, "OUTREACH_ATTACHMENTS_DIR": str(tmp_path / "store"), "COLUMNS": "200"}
    env.pop("OUTREACH_DATABASE_URL", None)
    yield {"db": db, "url": own_db_url, "contacts": contacts, "mbox": mbox, "env": env}
    db.dispose()


def outreach(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "outreach", "--db", url, "--as", "crash-test", *args]


def test_sigkill_contacts_import(world):
    rng = random.Random(SEED)
    db, url, env = world["db"], world["url"], world["env"]
    argv = outreach(url, "contacts", "import", str(world["contacts"]))
    before = count(db, Contact)
    tried = []
    for point in kill_points(rng, 0.15, 1.2):
        where = run_and_kill(argv, env, url, point)
        tried.append((where, round(point[1], 3)))
        assert_consistent(url)
        # One transaction: all of the file or none of it.
        assert count(db, Contact) in (before, before + CONTACTS), f"seed {SEED}, {tried}"
        run_ok(argv, env)
        assert count(db, Contact) == before + CONTACTS, f"seed {SEED}, {tried}"
        # Start the next kill point from scratch: remove the imported contacts.
        with db.session() as s:
            s.execute(sa.delete(Contact).where(Contact.email_key.like("officer%")))
    with db.session() as s:
        keys = s.scalars(sa.select(Contact.email_key)).all()
    assert len(keys) == len(set(keys))
    assert_killed(tried)
    print(f"\n[{BACKEND}] contacts import, seed {SEED}: kill points {tried}; duplicates 0")


def test_sigkill_letters_generate(world, tmp_path):
    rng = random.Random(SEED + 1)
    db, url, env = world["db"], world["url"], world["env"]
    out = tmp_path / "letters-out"
    argv = outreach(url, "letters", "generate", "--campaign", "tp", "--out", str(out))
    with db.session() as s:
        recipients = s.scalar(sa.text("SELECT count(*) FROM campaign_recipients"))
    tried = []
    references: list[str] = []
    for point in kill_points(rng, 0.15, 1.2):
        where = run_and_kill(argv, env, url, point)
        tried.append((where, round(point[1], 3)))
        assert_consistent(url)
        assert count(db, Letter) in (0, recipients), f"seed {SEED}, {tried}"
        run_ok(argv, env)
        with db.session() as s:
            rows = s.execute(
                sa.select(Letter.contact_id, Letter.round, Letter.version, Letter.superseded_at)
            ).all()
            references += s.scalars(sa.select(Letter.reference)).all()
            given = s.scalar(sa.text("SELECT reference_seq FROM campaigns WHERE slug = 'tp'"))
        assert len(rows) == recipients, f"seed {SEED}, {tried}"
        assert len({(c, r) for c, r, _v, _s in rows}) == recipients
        assert {(v, s) for _c, _r, v, s in rows} == {(1, None)}
        # A killed run gave its reference numbers back with its letters: every
        # number given is on a stored letter, none twice.
        assert len(set(references)) == len(references) == given, f"seed {SEED}, {tried}"
        files = sorted(p.name for p in out.iterdir())
        assert len(files) == recipients and all(f.endswith(".md") for f in files), files
        with db.session() as s:
            s.execute(sa.delete(Letter))
    assert_killed(tried)
    print(f"\n[{BACKEND}] letters generate, seed {SEED}: kill points {tried}; duplicates 0")


def _live_commands(marker: str) -> list[int]:
    """Processes still running whose command line holds *marker*."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_sigkill_letters_generate_in_two_processes(world):
    """A campaign of 1,200 recipients renders in a forked second process:
    killing the command leaves no rendering process behind and nothing
    half-stored."""
    rng = random.Random(SEED + 3)
    db, url, env = world["db"], world["url"], world["env"]
    big = 1200
    with db.session() as s:
        for i in range(big):
            languages = ["fr", "en"] if i % 2 else ["en"]
            _add_org(
                s, f"B{i:04d}", f"Organisation régionale {i}", OrgKind.OTHER, languages, ["big"]
            )
        create_campaign(
            s,
            slug="big",
            title="Big",
            dialogue="ga-2012",
            template="third-pillar",
            signatory="Jane Coordinator",
            sender={"organization": "Coalition", "email": "info@coalition.example"},
            variables={"reply_by": dt.date(2012, 6, 15)},
        )
        add_recipients(s, "big", tags=["big"])
    argv = outreach(url, "letters", "generate", "--campaign", "big")
    tried = []
    for point in kill_points(rng, 0.3, 1.5):
        where = run_and_kill(argv, env, url, point)
        tried.append((where, round(point[1], 3)))
        deadline = time.monotonic() + 5
        while _live_commands(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _live_commands(url) == [], f"a rendering process outlived its command: {tried}"
        assert_consistent(url)
        assert count(db, Letter) in (0, big), f"seed {SEED}, {tried}"
        run_ok(argv, env)
        with db.session() as s:
            rows = s.execute(sa.select(Letter.contact_id, Letter.language)).all()
        assert len(rows) == big and len({c for c, _l in rows}) == big, f"seed {SEED}, {tried}"
        assert {lang for _c, lang in rows} == {"en", "fr"}
        with db.session() as s:
            s.execute(sa.delete(Letter))
    assert_killed(tried)
    print(f"\n[{BACKEND}] letters generate, 2 processes, seed {SEED}: kill points {tried}")


def test_sigkill_responses_import(world):
    rng = random.Random(SEED + 2)
    db, url, env = world["db"], world["url"], world["env"]
    argv = outreach(url, "responses", "import", str(world["mbox"]))
    store = Path(env["OUTREACH_ATTACHMENTS_DIR"])
    tried = []
    leftovers: set[str] = set()
    for point in kill_points(rng, 0.5, 2.0):
        where = run_and_kill(argv, env, url, point)
        tried.append((where, round(point[1], 3)))
        assert_consistent(url)
        assert count(db, InboundMessage) in (0, MAILS), f"seed {SEED}, {tried}"
        run_ok(argv, env)
        with db.session() as s:
            inbound = s.scalars(sa.select(InboundMessage.message_id)).all()
            responses = s.scalars(sa.select(Response.message_id)).all()
            attachments = s.execute(sa.select(Attachment.response_id, Attachment.sha256)).all()
        assert sorted(inbound) == sorted(f"<reply-{i}@r.example>" for i in range(MAILS))
        assert len(responses) == MAILS and len(set(responses)) == MAILS, f"seed {SEED}, {tried}"
        assert len(attachments) == MAILS // 4
        assert len({r for r, _ in attachments}) == MAILS // 4  # one per reply, not two
        with db.session() as s:  # every stored file is whole (kept in the database)
            sizes = dict(s.execute(sa.select(stored_files.c.sha256, stored_files.c.size)).all())
        for _r, sha in attachments:
            assert sizes.get(sha) == 3000, sha
        leftovers |= {p.name for p in store.rglob(".incoming-*")}
        with db.session() as s:
            s.execute(sa.delete(InboundMessage))
            s.execute(sa.delete(Attachment))
            s.execute(sa.delete(Response))
    assert_killed(tried)
    print(
        f"\n[{BACKEND}] responses import, seed {SEED}: kill points {tried}; duplicates 0; "
        f"temporary files left in the store {len(leftovers)}"
    )


def test_sigkill_letters_send_at_random_points(db, db_url, smtp):  # noqa: F811
    rng = random.Random(SEED + 3)
    total = 60
    seed_campaign(db, letters=total)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = ["--campaign", "iid-2012", "--send", *smtp.argv()]
    recorder = smtp.recorder
    tried = []
    for _ in range(KILLS):
        sent_before = recorder.count()
        remaining = total - sent_before
        if remaining < 3:
            break
        target = sent_before + rng.randint(1, max(remaining // 2, 1))
        proc = subprocess.Popen(
            send_argv(db_url, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        try:
            recorder.wait_for(target, timeout=60)
            time.sleep(rng.uniform(0, 0.01))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()
        tried.append(target)
        assert_consistent(db_url)
        states = letter_states(db)
        in_doubt = [mid for mid, (_i, st) in states.items() if st == LetterStatus.SENDING]
        assert len(in_doubt) <= 1
        # Settle the letter in doubt as a coordinator would, from what arrived.
        received = collections.Counter(r.message_id for r in recorder.received)
        for mid in in_doubt:
            verb = "confirm" if received[mid] else "resend"
            run_ok(outreach(db_url, "letters", verb, str(states[mid][0])), env)
    run_ok(send_argv(db_url, *args), env)
    received = collections.Counter(r.message_id for r in recorder.received)
    states = letter_states(db)
    assert set(received) == set(states) and len(states) == total
    assert set(received.values()) == {1}, "a letter was delivered twice"
    assert {st for _i, st in states.values()} == {LetterStatus.SENT}
    assert count(db, Letter) == total
    print(f"\n[{BACKEND}] letters send, seed {SEED}: killed after messages {tried}; duplicates 0")
