"""Time ``outreach letters send --send`` of 1,000 letters to a loopback SMTP server.

    python bench/bench_send.py                 # SQLite only
    python bench/bench_send.py --pg postgresql://postgres@127.0.0.1:5432/test

The script starts an aiosmtpd server on 127.0.0.1 (it records every message),
makes a freshly initialised database with one campaign of approved e-mail
letters (one per organization), and times the whole send command in a
subprocess at unlimited rate: the at-most-once protocol included (two commits
per letter). It then checks that the server received every letter exactly
once. With ``--pg`` the same runs on PostgreSQL in a database the script
creates and drops.

Target (whole command): under 5 s on each backend. Exits 1 when missed.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

TARGET = 5.0
_MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)", re.IGNORECASE | re.MULTILINE)
SENDER = "secretariat@coalition.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self) -> None:
        self.message_ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        found = _MESSAGE_ID.search(envelope.content)
        self.message_ids.append(found.group(1).decode() if found else "")
        return "250 OK"


def seed(url: str, letters: int) -> None:
    import sqlalchemy as sa

    from outreach.db import Database
    from outreach.schema.models import Campaign, Contact, Letter, Organization
    from outreach.schema.types import utcnow

    db = Database(url, check_schema=False)
    db.init()
    now = utcnow()
    stamp = {"created_at": now, "updated_at": now}
    with db.session() as session:
        campaign = Campaign(slug="bench", title="Benchmark", sender={"email": SENDER})
        session.add(campaign)
        session.flush()
        session.execute(
            sa.insert(Organization),
            [
                {
                    "id": i + 1,
                    "acronym": f"ORG{i:04d}",
                    "acronym_key": f"org{i:04d}",
                    "name": f"Organization {i}",
                    "languages": ["en"],
                    "tags": [],
                    **stamp,
                }
                for i in range(letters)
            ],
        )
        session.execute(
            sa.insert(Contact),
            [
                {
                    "id": i + 1,
                    "organization_id": i + 1,
                    "name": f"Secretary-General {i}",
                    "email": f"sg@org{i:04d}.example.org",
                    "email_key": f"sg@org{i:04d}.example.org",
                    "tags": [],
                    **stamp,
                }
                for i in range(letters)
            ],
        )
        body = "Your Excellency,\n\n" + "We write ahead of the dialogue. " * 40 + "\n"
        session.execute(
            sa.insert(Letter),
            [
                {
                    "campaign_id": campaign.id,
                    "organization_id": i + 1,
                    "contact_id": i + 1,
                    "round": 0,
                    "version": 1,
                    "language": "en",
                    "subject": "Informal interactive dialogue on the responsibility to protect",
                    "body": body,
                    "template_name": "bench",
                    "template_hash": "0" * 64,
                    "status": "approved",
                    "channel": "email",
                    "to_address": f"sg@org{i:04d}.example.org",
                    **stamp,
                }
                for i in range(letters)
            ],
        )
        if db.backend == "postgresql":
            for table in ("organizations", "contacts"):
                session.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    db.dispose()


def send_argv(url: str, port: int) -> list[str]:
    from outreach.cli import COMMANDS

    args = ["--campaign", "bench", "--send", "--smtp-host", "127.0.0.1"]
    args += ["--smtp-port", str(port), "--smtp-security", "none"]
    if "letters" in COMMANDS:
        return [sys.executable, "-m", "outreach", "--db", url, "letters", "send", *args]
    code = "from outreach.cli.sending import send_cmd; send_cmd.main(prog_name='send')"
    return [sys.executable, "-c", code, "--db", url, *args]


def run_one(label: str, url: str, letters: int) -> float:
    from aiosmtpd.controller import Controller

    seed(url, letters)
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(send_argv(url, port), capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    finally:
        controller.stop()
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        raise SystemExit(f"{label}: the send command failed (exit {proc.returncode})")
    counts = collections.Counter(recorder.message_ids)
    if len(counts) != letters or max(counts.values()) != 1:
        raise SystemExit(
            f"{label}: the server received {len(recorder.message_ids)} messages, "
            f"{len(counts)} distinct, for {letters} letters"
        )
    rate = letters / elapsed
    print(
        f"{label:<11} {letters} letters sent in {elapsed:6.2f} s  ({rate:,.0f}/s; "
        f"the command used {cpu:.2f} s of CPU)"
    )
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--pg", metavar="URL", help="Also run on this PostgreSQL server.")
    parser.add_argument("--target", type=float, default=TARGET)
    args = parser.parse_args()

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-send-") as tmp:
        results["sqlite"] = run_one("SQLite", str(Path(tmp) / "bench.db"), args.letters)
    if args.pg:
        import sqlalchemy as sa

        base = args.pg
        if base.startswith(("postgres://", "postgresql://")):
            base = "postgresql+psycopg://" + base.split("://", 1)[1]
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        name = f"outreach_bench_send_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
            results["postgresql"] = run_one("PostgreSQL", url, args.letters)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    missed = {k: v for k, v in results.items() if v >= args.target}
    print(f"target: under {args.target:g} s for the whole command")
    if missed:
        for k, v in missed.items():
            print(f"MISSED on {k}: {v:.2f} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
