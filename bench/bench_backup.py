"""Time ``outreach backup`` and ``outreach restore`` on a large database, and
check that they stream (memory must not grow with the number of rows).

The database: 1,000,000 activity rows (JSON changes, accented summaries)
plus 100 organizations, built with ``INSERT ... SELECT`` from a recursive CTE
and kept in ``bench/out/``. Each command runs in a fresh process; its wall
time and peak resident memory are printed.

    python bench/bench_backup.py                       # SQLite -> SQLite
    python bench/bench_backup.py --pg postgresql://postgres@127.0.0.1:5432/test
    python bench/bench_backup.py --rows 200000         # a smaller run

Exit status 1 when throughput is under TARGET_ROWS_PER_S or peak memory over
TARGET_PEAK_MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
TARGET_ROWS_PER_S = 20_000
TARGET_PEAK_MB = 250


def build(path: Path, rows: int) -> None:
    from outreach.db import Database

    if path.exists():
        return
    db = Database(path, check_schema=False)
    db.init()
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
            "INSERT INTO organizations (acronym, acronym_key, name, kind, languages, tags, "
            "created_at, updated_at) SELECT 'ORG' || i, 'org' || i, 'Organisation n° ' || i, "
            "'regional', '[\"fr\", \"ar\"]', '[]', '2024-01-01 00:00:00.000000', "
            "'2024-01-01 00:00:00.000000' FROM n"
        )
        conn.exec_driver_sql(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
            "INSERT INTO activity (at, actor, action, entity, entity_id, organization_id, "
            "summary, changes) SELECT '2024-01-01 00:00:00.000000', 'bench', 'update', "
            "'letter', i, 1 + i % 100, 'Lettre envoyée à l''organisation ' || i, "
            '\'{"status": ["draft", "sent"], "n": \' || i || \'}\' FROM n'
        )
    db.dispose()


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run the CLI in a child; return (seconds, peak RSS in MB of that child)."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "outreach", *argv], env=env, stdout=subprocess.DEVNULL
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"outreach {' '.join(argv[2:])} failed ({child.returncode})")
    return seconds, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--pg", metavar="URL", help="also restore into (and back up from) PostgreSQL"
    )
    args = parser.parse_args()

    OUT.mkdir(exist_ok=True)
    source = OUT / f"backup-source-{args.rows}.db"
    build(source, args.rows)
    env = {**os.environ, "OUTREACH_ATTACHMENTS_DIR": str(OUT / "bench-attachments")}
    total = args.rows + 100
    failed = False

    def report(label: str, seconds: float, peak: float) -> None:
        nonlocal failed
        rate = total / seconds
        ok = rate >= TARGET_ROWS_PER_S and peak <= TARGET_PEAK_MB
        failed |= not ok
        print(
            f"{label:<28} {seconds:7.1f} s  {rate:9,.0f} rows/s  peak {peak:6.0f} MB  "
            f"{'ok' if ok else 'MISSED'} (targets {TARGET_ROWS_PER_S:,} rows/s, "
            f"{TARGET_PEAK_MB} MB)"
        )

    archive = OUT / f"backup-{uuid.uuid4().hex[:8]}.zip"
    target = OUT / f"restored-{uuid.uuid4().hex[:8]}.db"
    try:
        report("backup SQLite", *timed(["--db", str(source), "backup", str(archive)], env))
        print(f"{'':<28} archive {archive.stat().st_size / 2**20:.1f} MB for {total:,} rows")
        report("restore into SQLite", *timed(["--db", str(target), "restore", str(archive)], env))
        if args.pg:
            admin = sa.create_engine(
                args.pg.replace("postgresql://", "postgresql+psycopg://", 1),
                isolation_level="AUTOCOMMIT",
            )
            name = f"outreach_bench_backup_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            pg_url = admin.url.set(database=name).render_as_string(hide_password=False)
            try:
                report(
                    "restore into PostgreSQL",
                    *timed(["--db", pg_url, "restore", str(archive)], env),
                )
                again = OUT / f"backup-pg-{uuid.uuid4().hex[:8]}.zip"
                report("backup PostgreSQL", *timed(["--db", pg_url, "backup", str(again)], env))
                again.unlink()
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    finally:
        archive.unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
