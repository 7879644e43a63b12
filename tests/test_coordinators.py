"""Several coordinators sharing one database (issue 15 points 4 and 6): each
has their own HOME folder, as two people on two machines, and they share one
PostgreSQL database (or, on the SQLite suite, one SQLite file too)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.attachments import IN_DATABASE, AttachmentStore
from outreach.db import Database
from outreach.db.locks import LOCK_TIMEOUT_EXIT, LockTimeoutError, LockWait
from outreach.schema import models as m
from outreach.schema.tables import stored_files

from .conftest import BACKEND, scratch_pg_database

WAITING = "waiting for another outreach command to finish"
SCAN = b"%PDF-1.4\nscanned reply \x00\xff" + bytes(range(256))


def outreach(
    home: Path, url: str, *args: str, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as the coordinator whose HOME is *home*."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    full_env.update(HOME=str(home), COLUMNS="200", **env)
    return subprocess.run(
        [sys.executable, "-m", "outreach", "--db", url, *args],
        env=full_env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def shared_url(tmp_path: Path) -> Iterator[str]:
    """One database two coordinators share: PostgreSQL when a server answers
    (always on the PostgreSQL suite), else a SQLite file on the SQLite suite."""
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        Database(url).init()
        yield url
        return
    with scratch_pg_database("outreach_coord") as sa_url:
        url = sa_url.render_as_string(hide_password=False)
        Database(url).init()
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    with scratch_pg_database("outreach_coord") as sa_url:
        url = sa_url.render_as_string(hide_password=False)
        Database(url).init()
        yield url


@pytest.fixture
def homes(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "home-amina", tmp_path / "home-bruno"
    a.mkdir()
    b.mkdir()
    return a, b


def _add_org(home: Path, url: str) -> None:
    r = outreach(home, url, "orgs", "add", "LAS", "League of Arab States", "--kind", "regional")
    assert r.returncode == 0, r.stderr
    r = outreach(home, url, "contacts", "add", "LAS", "Hala Said", "--email", "hala@las.example")
    assert r.returncode == 0, r.stderr


# -- point 4: files kept by the database ------------------------------------------


def test_a_scan_one_coordinator_adds_opens_for_the_other(
    shared_url: str, homes: tuple[Path, Path], tmp_path: Path
) -> None:
    amina, bruno = homes
    _add_org(amina, shared_url)
    scan = tmp_path / "reply.pdf"
    scan.write_bytes(SCAN)
    r = outreach(amina, shared_url, "responses", "log", "--org", "LAS", "--attach", str(scan))
    assert r.returncode == 0, r.stderr
    # nothing in either coordinator's own folders: the file is in the database
    assert not any(p.is_file() for p in amina.rglob("*"))
    r = outreach(bruno, shared_url, "responses", "show", "1")
    assert r.returncode == 0, r.stderr
    assert "reply.pdf" in r.stdout and "(in the database)" in r.stdout
    assert "MISSING" not in r.stdout
    db = Database(shared_url)
    store = AttachmentStore.for_database(db)
    sha = hashlib.sha256(SCAN).hexdigest()
    assert store.read(sha) == SCAN and store.where(sha) == IN_DATABASE
    db.dispose()


def test_show_flags_a_missing_file_and_backup_refuses_it(
    shared_url: str, homes: tuple[Path, Path], tmp_path: Path
) -> None:
    amina, bruno = homes
    _add_org(amina, shared_url)
    scan = tmp_path / "reply.pdf"
    scan.write_bytes(SCAN)
    assert outreach(amina, shared_url, "responses", "log", "--org", "LAS",
                    "--attach", str(scan)).returncode == 0  # fmt: skip
    db = Database(shared_url)
    with db.session() as s:
        s.execute(sa.delete(stored_files))
    db.dispose()
    r = outreach(bruno, shared_url, "responses", "show", "1")
    assert r.returncode == 0 and "MISSING" in r.stdout
    r = outreach(bruno, shared_url, "backup", str(tmp_path / "b.zip"))
    assert r.returncode == 1 and hashlib.sha256(SCAN).hexdigest() in r.stderr
    assert "--allow-missing" in r.stderr and not (tmp_path / "b.zip").exists()
    r = outreach(bruno, shared_url, "backup", str(tmp_path / "b.zip"), "--allow-missing")
    assert r.returncode == 0 and (tmp_path / "b.zip").exists()


def test_forget_erases_the_persons_raw_mails_and_attachments(
    shared_url: str, homes: tuple[Path, Path], tmp_path: Path
) -> None:
    amina, _ = homes
    _add_org(amina, shared_url)
    scan = tmp_path / "reply.pdf"
    scan.write_bytes(SCAN)
    assert outreach(amina, shared_url, "responses", "log", "--org", "LAS", "--from",
                    "hala@las.example", "--attach", str(scan)).returncode == 0  # fmt: skip
    db = Database(shared_url)
    store = AttachmentStore.for_database(db)
    raw = b"From: Hala Said <hala@las.example>\r\nSubject: Re: letter\r\n\r\nThank you.\r\n"
    other = b"From: someone@else.example\r\n\r\nHello.\r\n"
    with db.session(immediate=True) as s:
        for data, sender in ((raw, "hala@las.example"), (other, "someone@else.example")):
            put = store.put_bytes(data, session=s)
            s.add(m.InboundMessage(
                message_id=f"<{put.sha256[:8]}@x>", from_address=sender, raw_size=len(data),
                raw_sha256=put.sha256, status=m.InboundStatus.UNMATCHED,
            ))  # fmt: skip
    r = outreach(amina, shared_url, "contacts", "forget", "hala@las.example", "--yes")
    assert r.returncode == 0, r.stderr
    kept = {
        store.where(hashlib.sha256(d).hexdigest()) for d in (SCAN, raw)
    }
    assert kept == {None}
    assert store.read(hashlib.sha256(other).hexdigest()) == other
    with db.session() as s:
        assert s.scalars(sa.select(m.Attachment)).all() == []
    r = outreach(amina, shared_url, "backup", str(tmp_path / "b.zip"))
    assert r.returncode == 0, r.stderr  # an erased file is not a missing one
    db.dispose()


# -- point 6: the write lock --------------------------------------------------------


def test_a_command_waiting_for_the_lock_says_so_at_once_then_gives_up(
    shared_url: str, homes: tuple[Path, Path]
) -> None:
    amina, bruno = homes
    _add_org(amina, shared_url)
    holder = Database(shared_url, actor="amina")
    with holder.write():
        start = time.monotonic()
        r = outreach(bruno, shared_url, "orgs", "edit", "LAS", "--notes", "x", "--wait", "1.5")
        took = time.monotonic() - start
    holder.dispose()
    assert r.returncode == LOCK_TIMEOUT_EXIT == 75, r.stderr
    assert f"{WAITING} (up to 1.5 s)..." in r.stderr
    assert "gave up after 1.5 s" in r.stderr and "Traceback" not in r.stderr
    assert took < 15


def test_the_waiting_command_goes_on_when_the_lock_is_let_go(
    shared_url: str, homes: tuple[Path, Path]
) -> None:
    amina, bruno = homes
    _add_org(amina, shared_url)
    holder = Database(shared_url, actor="amina")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(HOME=str(bruno), OUTREACH_LOCK_TIMEOUT="20")
    with holder.write():
        proc = subprocess.Popen(
            [sys.executable, "-m", "outreach", "--db", shared_url, "orgs", "edit", "LAS",
             "--notes", "after the wait"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(2.5)
    _out, err = proc.communicate(timeout=30)
    holder.dispose()
    assert proc.returncode == 0, err
    assert f"{WAITING} (up to 20 s)..." in err


def test_the_library_reports_the_wait_through_its_callback(shared_url: str) -> None:
    heard: list[float] = []
    holder = Database(shared_url)
    waiter = Database(shared_url, lock=LockWait(0.3, heard.append))
    with holder.write(), pytest.raises(LockTimeoutError) as info, waiter.write():
        pass
    assert heard == [0.3] and info.value.exit_code == 75
    with waiter.write():  # free again: no wait said
        pass
    assert heard == [0.3]
    holder.dispose()
    waiter.dispose()


def test_a_bad_wait_is_one_line(shared_url: str, homes: tuple[Path, Path]) -> None:
    r = outreach(homes[0], shared_url, "orgs", "list", OUTREACH_LOCK_TIMEOUT="soon")
    assert r.returncode == 1 and "OUTREACH_LOCK_TIMEOUT" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# -- point 6: who wrote, read-only roles, creating the database ---------------------


def test_the_activity_log_records_the_database_role_beside_the_declared_name(
    pg_url: str, homes: tuple[Path, Path]
) -> None:
    r = outreach(homes[0], pg_url, "--as", "someone-else", "orgs", "add", "AU", "African Union")
    assert r.returncode == 0, r.stderr
    role = sa.make_url(pg_url).username
    with Database(pg_url).read() as conn:
        rows = conn.execute(sa.select(m.Activity.actor, m.Activity.db_role)).all()
    assert rows and all(r == ("someone-else", role) for r in rows)


def test_the_activity_log_has_no_role_on_sqlite(db: Database, run) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite has no roles")
    run("orgs", "add", "AU", "African Union")
    with db.read() as conn:
        assert conn.execute(sa.select(m.Activity.db_role)).scalars().all() == [None]


@pytest.fixture
def read_only_role(pg_url: str) -> Iterator[tuple[str, str]]:
    role = f"outreach_ro_{uuid.uuid4().hex[:8]}"
    try:
        yield pg_url, role
    finally:
        admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
        admin.dispose()
        admin = sa.create_engine(sa.make_url(pg_url).set(database="postgres"),
                                 isolation_level="AUTOCOMMIT")  # fmt: skip
        with admin.connect() as conn:
            conn.exec_driver_sql(f'REVOKE ALL ON DATABASE "{sa.make_url(pg_url).database}" '
                                 f'FROM "{role}"')  # fmt: skip
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()


def test_a_read_only_role_reads_and_its_writes_are_refused(
    read_only_role: tuple[str, str], homes: tuple[Path, Path]
) -> None:
    url, role = read_only_role
    amina, bruno = homes
    r = outreach(amina, url, "orgs", "add", "AU", "African Union")
    assert r.returncode == 0, r.stderr
    r = outreach(amina, url, "db", "grant", "--read-only", role)
    assert r.returncode == 0 and f"Role {role} created" in r.stdout, r.stderr
    as_reader = sa.make_url(url).set(username=role, password=None).render_as_string(False)
    r = outreach(bruno, as_reader, "orgs", "list")
    assert r.returncode == 0 and "AU" in r.stdout, r.stderr
    r = outreach(bruno, as_reader, "orgs", "add", "LAS", "League of Arab States")
    assert r.returncode == 1
    assert r.stderr.strip() == "Error: this database role may only read: ask a coordinator"
    r = outreach(amina, url, "db", "grant", "--read-only", role)  # again: no harm
    assert r.returncode == 0 and "created" not in r.stdout


def test_grant_is_for_postgresql_only(tmp_path: Path, homes: tuple[Path, Path]) -> None:
    url = f"sqlite:///{tmp_path / 'solo.db'}"
    Database(url).init()
    r = outreach(homes[0], url, "db", "grant", "--read-only", "reader")
    assert r.returncode == 1 and "PostgreSQL only" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_init_creates_the_postgresql_database(pg_url: str, homes: tuple[Path, Path]) -> None:
    name = f"outreach_new_{uuid.uuid4().hex[:8]}"
    url = sa.make_url(pg_url).set(database=name).render_as_string(False)
    try:
        r = outreach(homes[0], url, "init")
        assert r.returncode == 0, r.stderr
        assert Database(url).current_revision() is not None
    finally:
        admin = sa.create_engine(sa.make_url(pg_url).set(database="postgres"),
                                 isolation_level="AUTOCOMMIT")  # fmt: skip
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# -- point 6: a missing driver, Ctrl-C ---------------------------------------------


def test_a_missing_postgresql_driver_is_one_line(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None\n"
        "from outreach.cli import main\n"
        "sys.argv = ['outreach', '--db', 'postgresql://someone@127.0.0.1/nowhere', 'info']\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    r = subprocess.run([sys.executable, "-c", code], env={**env, "HOME": str(tmp_path)},
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 1
    assert r.stderr.strip() == "Error: PostgreSQL needs the driver: pip install 'outreach[pg]'"


def test_ctrl_c_during_a_long_import_keeps_nothing_half_written(
    shared_url: str, homes: tuple[Path, Path], tmp_path: Path
) -> None:
    amina, _ = homes
    big = tmp_path / "orgs.csv"
    lines = ["acronym,name,kind,region"]
    lines += [f"O{i:06d},Organization number {i},regional,africa" for i in range(60_000)]
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env["HOME"] = str(amina)
    proc = subprocess.Popen(
        [sys.executable, "-m", "outreach", "--db", shared_url, "orgs", "import", str(big)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    probe = Database(shared_url, lock=LockWait(0))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:  # the import holds the write lock once it writes
            with probe.write():
                pass
        except LockTimeoutError:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the import ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopped" in err and "Traceback" not in err
    with probe.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(m.Organization)).scalar() == 0
    probe.dispose()
