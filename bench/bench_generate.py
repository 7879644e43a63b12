"""Time `outreach letters generate` for a 10,000-recipient campaign.

The letters are rendered from the shipped third-pillar template (English,
French, Spanish and Arabic recipients) and stored in the database; no files.
The whole command runs as a subprocess, so start-up and imports count.

    python bench/bench_generate.py                 # SQLite (target 1.0 s)
    python bench/bench_generate.py --pg postgresql://postgres@127.0.0.1:5432/test
                                                   # PostgreSQL (target 1.5 s)

Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.models import (
    Campaign,
    CampaignRecipient,
    Contact,
    Dialogue,
    Letter,
    Organization,
)
from outreach.schema.types import utcnow

N = 10_000
LANGS = ["en", "fr", "es", "ar", "pt"]


def populate(db: Database, n: int) -> None:
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(Organization.__table__),
            [
                {
                    "acronym": f"ORG{i}",
                    "acronym_key": f"org{i}",
                    "name": f"Regional Organization Number {i}",
                    "kind": "regional",
                    "region": "africa",
                    "languages": [LANGS[i % len(LANGS)], "en"],
                    "tags": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
        org_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM organizations ORDER BY id"))]
        conn.execute(
            sa.insert(Contact.__table__),
            [
                {
                    "organization_id": oid,
                    "kind": "person",
                    "name": f"Secretary-General {i}",
                    "position": "Secretary-General",
                    "email": f"sg{i}@org{i}.example",
                    "email_key": f"sg{i}@org{i}.example",
                    "is_primary": True,
                    "do_not_contact": False,
                    "tags": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for i, oid in enumerate(org_ids)
            ],
        )
        conn.execute(
            sa.insert(Dialogue.__table__),
            [
                {
                    "slug": "ga-2012",
                    "body": "general-assembly",
                    "title": "Informal interactive dialogue on RtoP",
                    "date": dt.date(2012, 9, 5),
                    "report_symbol": "A/66/874-S/2012/578",
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        dialogue_id = conn.execute(sa.text("SELECT id FROM dialogues")).scalar_one()
        conn.execute(
            sa.insert(Campaign.__table__),
            [
                {
                    "slug": "bench",
                    "title": "Benchmark campaign",
                    "dialogue_id": dialogue_id,
                    "template": "third-pillar",
                    "default_language": "en",
                    "signatory": "Jane Coordinator",
                    "sender": {"organization": "Coalition", "email": "info@coalition.example"},
                    "variables": {"reply_by": {"$date": "2012-06-15"}},
                    "status": "draft",
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        campaign_id = conn.execute(sa.text("SELECT id FROM campaigns")).scalar_one()
        conn.execute(
            sa.insert(CampaignRecipient.__table__),
            [
                {"campaign_id": campaign_id, "organization_id": oid, "added_at": now}
                for oid in org_ids
            ],
        )


def reset_letters(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.delete(Letter.__table__))
        conn.execute(sa.text("DELETE FROM activity"))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_generate(url: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, first output line) of one whole command."""
    exe = Path(sys.executable).with_name("outreach")
    cmd = [str(exe), "--db", url, "letters", "generate", "--campaign", "bench"]
    cpu0 = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"generate failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed, _children_cpu() - cpu0, proc.stdout.strip().splitlines()[0]


def compile_bytecode() -> None:
    """Compile outreach's modules to bytecode first, as ``pip install`` does.

    Without this, a checkout run with PYTHONDONTWRITEBYTECODE=1 (as in some
    development shells) recompiles every module in every timed command, which
    no installed copy does."""
    import compileall

    import outreach

    compileall.compile_dir(Path(outreach.__file__).resolve().parent, quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server to test on")
    parser.add_argument("-n", type=int, default=N)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    compile_bytecode()
    admin = None
    if args.pg:
        base = sa.make_url(args.pg.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"outreach_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        target = 1.5
    else:
        tmp = tempfile.mkdtemp(prefix="outreach-bench-")
        url = str(Path(tmp) / "bench.db")
        target = 1.0
    try:
        db = Database(url, check_schema=False)
        db.init()
        populate(db, args.n)
        times, cpus = [], []
        for _ in range(args.repeat):
            reset_letters(db)
            elapsed, used, line = run_generate(url)
            times.append(elapsed)
            cpus.append(used)
            print(f"  {elapsed:.3f} s wall, {used:.3f} s CPU (command)  {line}")
        # the idempotent re-run: nothing changed, nothing written
        again, _used, line = run_generate(url)
        with db.engine.connect() as conn:
            letters = conn.execute(sa.text("SELECT count(*) FROM letters")).scalar_one()
        db.dispose()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    best = min(times)
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(
        f"{backend}: {args.n} letters generated in {best:.3f} s best "
        f"(median {statistics.median(times):.3f} s; CPU {min(cpus):.3f} s; target {target:.1f} s); "
        f"re-run with nothing changed {again:.3f} s; {letters} letters stored"
    )
    if letters != args.n:
        print(f"expected {args.n} letters, found {letters}")
        return 1
    return 0 if best < target else 1


if __name__ == "__main__":
    sys.exit(main())
