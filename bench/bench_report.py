"""Time ``outreach report status`` on a large database.

The database: 200 organizations (5 contacts each), 20 campaigns, 1,000,000
letters (per campaign and organization: 5 contacts x 5 rounds x 10 versions,
nine of them superseded drafts) and 300,000 responses (100 for each of 150
organizations per campaign). It is built with ``INSERT ... SELECT`` from a
recursive CTE (SQLite) or ``generate_series`` (PostgreSQL); the SQLite file is
kept in ``bench/out/`` and reused by later runs.

The whole command (a fresh process: Python start-up, imports, schema check,
queries, formatting) is timed, several times; the median must stay under the
target.

    python bench/bench_report.py                      # SQLite
    python bench/bench_report.py --pg postgresql://postgres@127.0.0.1:5432/test
    python bench/bench_report.py --sqlite --pg URL    # both

Exit status 1 when a median misses the target.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
TARGET_S = 0.5

ORGS = 200
CONTACTS_PER_ORG = 5
CAMPAIGNS = 20
ROUNDS = 5
VERSIONS = 10
RESPONSES_PER_ORG = 100
LETTERS = CAMPAIGNS * ORGS * CONTACTS_PER_ORG * ROUNDS * VERSIONS
RESPONDING_ORGS = ORGS * 3 // 4
RESPONSES = CAMPAIGNS * RESPONDING_ORGS * RESPONSES_PER_ORG
assert LETTERS == 1_000_000 and RESPONSES == 300_000

#: Campaign whose status is timed.
CAMPAIGN = "campaign-11"

BODY = (
    "Your Excellency, ahead of the informal interactive dialogue of the General "
    "Assembly we write to invite your organization to share its experience with "
    "early warning and prevention. "
) * 3

REGIONS = ("africa", "americas", "asia-pacific", "europe", "mena", "global")
KINDS = ("regional", "sub-regional", "regional", "un-body", "civil-society")
STANCES = ("commitment", "supportive", "acknowledgement", "neutral", "decline", "other")
LANGS = ("en", "fr", "es", "ar", "pt")


def _case(expr: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE ({expr}) % {len(values)} {whens} END"


def _numbers(dialect: str, n: int, name: str = "n") -> str:
    """A FROM-clause source of integers 0..n-1 called *name*."""
    if dialect == "postgresql":
        return f"generate_series(0, {n - 1}) AS {name}({name})"
    return (
        f"(WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < {n - 1}) "
        f"SELECT v AS {name} FROM s) AS t_{name}"
    )


def _ts(dialect: str, base: str, days_expr: str, hours_expr: str = "9") -> str:
    """A timestamp *days_expr* days and *hours_expr* hours after *base*."""
    if dialect == "postgresql":
        return (
            f"(TIMESTAMPTZ '{base} 00:00:00+00' + ({days_expr}) * INTERVAL '1 day'"
            f" + ({hours_expr}) * INTERVAL '1 hour')"
        )
    return (
        f"(datetime('{base}', '+' || ({days_expr}) || ' days', '+' || ({hours_expr}) || ' hours')"
        " || '.000000')"
    )


def populate(conn: sa.Connection, dialect: str) -> None:
    now = "'2026-01-01 00:00:00.000000'" if dialect == "sqlite" else "now()"

    def ex(sql: str) -> None:
        # psycopg takes "%" as the start of a placeholder: double it.
        conn.exec_driver_sql(sql.replace("%", "%%") if dialect == "postgresql" else sql)

    ex(
        "INSERT INTO organizations (id, acronym, acronym_key, name, kind, region, languages, tags,"
        " created_at, updated_at) "
        f"SELECT n + 1, 'ORG' || (n + 1), 'org' || (n + 1), 'Organization number ' || (n + 1), "
        f"{_case('n', KINDS)}, {_case('n', REGIONS)}, '[\"en\"]', '[]', {now}, {now} "
        f"FROM {_numbers(dialect, ORGS)}"
    )
    ex(
        "INSERT INTO contacts (id, organization_id, kind, name, email, email_key, language,"
        " is_primary, do_not_contact, tags, created_at, updated_at) "
        f"SELECT n + 1, n / {CONTACTS_PER_ORG} + 1, 'office', 'Office ' || (n + 1), "
        "'office' || (n + 1) || '@example.org', 'office' || (n + 1) || '@example.org', "
        f"{_case('n', LANGS)}, n % {CONTACTS_PER_ORG} = 0, false, '[]', {now}, {now} "
        f"FROM {_numbers(dialect, ORGS * CONTACTS_PER_ORG)}"
    )
    ex(
        "INSERT INTO dialogues (id, slug, body, title, date, created_at, updated_at) "
        "SELECT n + 1, 'dialogue-' || (n + 1), 'general-assembly', "
        "'Informal interactive dialogue ' || (2009 + n), "
        + (
            "make_date(2009 + n, 9, 5)"
            if dialect == "postgresql"
            else "printf('%04d-09-05', 2009 + n)"
        )
        + f", {now}, {now} FROM {_numbers(dialect, CAMPAIGNS)}"
    )
    ex(
        "INSERT INTO campaigns (id, slug, title, dialogue_id, sender, variables, status,"
        " starts_on, created_at, updated_at) "
        "SELECT n + 1, 'campaign-' || (n + 1), 'Letters ahead of dialogue ' || (n + 1), n + 1,"
        " '{}', '{}', 'active', "
        + (
            "make_date(2009 + n, 5, 1)"
            if dialect == "postgresql"
            else "printf('%04d-05-01', 2009 + n)"
        )
        + f", {now}, {now} FROM {_numbers(dialect, CAMPAIGNS)}"
    )
    # Letter i: campaign c, organization o, contact k, round r, version v.
    per_org = CONTACTS_PER_ORG * ROUNDS * VERSIONS
    c = f"(i / {ORGS * per_org})"
    o = f"((i / {per_org}) % {ORGS})"
    k = f"((i / {ROUNDS * VERSIONS}) % {CONTACTS_PER_ORG})"
    r = f"((i / {VERSIONS}) % {ROUNDS})"
    v = f"(i % {VERSIONS})"
    base = "2010-05-01"
    current = f"{v} = {VERSIONS - 1}"
    # Current versions: round 0 sent unless the organization is one of every
    # tenth (approved, not sent); rounds 1-2 sent to those that never answered;
    # the rest drafts. Earlier versions are superseded drafts.
    sent = f"({current} AND (({r} = 0 AND {o} % 10 <> 9) OR ({r} IN (1, 2) AND {o} % 4 = 0)))"
    status = (
        f"CASE WHEN {sent} THEN 'sent' WHEN {current} AND {r} = 0 THEN 'approved' ELSE 'draft' END"
    )
    sent_at = (
        f"CASE WHEN {sent} THEN {_ts(dialect, base, f'{c} * 365 + {o} % 20 + {r} * 14', k)} END"
    )
    superseded = f"CASE WHEN {current} THEN NULL ELSE {_ts(dialect, base, f'{c} * 365', v)} END"
    ex(
        "INSERT INTO letters (id, campaign_id, organization_id, contact_id, round, version,"
        " superseded_at, language, subject, body, template_name, template_hash, status, channel,"
        " sent_at, created_at, updated_at) "
        f"SELECT i + 1, {c} + 1, {o} + 1, {o} * {CONTACTS_PER_ORG} + {k} + 1, {r}, {v} + 1, "
        f"{superseded}, {_case(k, LANGS)}, 'Letter ' || (i + 1), '{BODY}', 'dialogue', "
        f"'{'0' * 64}', {status}, 'email', {sent_at}, {now}, {now} "
        f"FROM {_numbers(dialect, LETTERS, 'i')}"
    )
    # Response j: campaign c, answering organization (one of three in four), n-th.
    rc = f"(j / {RESPONDING_ORGS * RESPONSES_PER_ORG})"
    ro_ix = f"((j / {RESPONSES_PER_ORG}) % {RESPONDING_ORGS})"
    ro = f"({ro_ix} + {ro_ix} / 3 + 1)"  # skips every fourth organization (o % 4 = 0)
    rn = f"(j % {RESPONSES_PER_ORG})"
    ex(
        "INSERT INTO responses (id, campaign_id, organization_id, received_at, channel, stance,"
        " summary, created_at, updated_at) "
        f"SELECT j + 1, {rc} + 1, {ro} + 1, "
        f"{_ts(dialect, base, f'{rc} * 365 + {ro} % 20 + 3 + {rn}', f'{rn} % 24')}, 'email', "
        f"{_case(f'{ro} + {rn}', STANCES)}, 'Reply ' || (j + 1), {now}, {now} "
        f"FROM {_numbers(dialect, RESPONSES, 'j')}"
    )
    if dialect == "postgresql":
        for table in (
            "organizations",
            "contacts",
            "dialogues",
            "campaigns",
            "letters",
            "responses",
        ):
            ex(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )


def build(url: str) -> None:
    from outreach.db import Database

    db = Database(url, check_schema=False)
    db.init()
    dialect = db.backend
    started = time.perf_counter()
    with db.engine.begin() as conn:
        populate(conn, dialect)
    with db.engine.connect() as conn:
        if dialect == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    print(f"  built in {time.perf_counter() - started:.1f} s")


def check_counts(url: str) -> None:
    from outreach.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        letters = conn.exec_driver_sql("SELECT count(*) FROM letters").scalar()
        responses = conn.exec_driver_sql("SELECT count(*) FROM responses").scalar()
        orgs = conn.exec_driver_sql("SELECT count(*) FROM organizations").scalar()
        campaigns = conn.exec_driver_sql("SELECT count(*) FROM campaigns").scalar()
    engine.dispose()
    print(
        f"  {letters:,} letters, {responses:,} responses, {orgs} organizations, "
        f"{campaigns} campaigns"
    )
    assert (letters, responses, orgs, campaigns) == (LETTERS, RESPONSES, ORGS, CAMPAIGNS)


def outreach_command() -> list[str]:
    exe = shutil.which("outreach", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "outreach"]


def _run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (user + system) of one run, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, result.stdout


def time_command(url: str, runs: int, fmt: str) -> tuple[list[float], list[float]]:
    cmd = [*outreach_command(), "--db", url, "report", "status", "--campaign", CAMPAIGN]
    cmd += ["--format", fmt]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    _wall, _cpu, out = _run_timed(cmd, env)  # warm-up: fills the OS file cache
    print("  " + "\n  ".join(out.splitlines()[:3]))
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu, _out = _run_timed(cmd, env)
        walls.append(wall)
        cpus.append(cpu)
    return walls, cpus


def baseline(runs: int) -> None:
    """How long the interpreter takes just to import SQLAlchemy's ORM: the
    floor under any command, and a gauge of how busy the machine is."""
    cmd = [sys.executable, "-c", "import sqlalchemy.orm"]
    walls = [_run_timed(cmd, dict(os.environ))[0] for _ in range(runs)]
    print(
        f"Baseline: python -c 'import sqlalchemy.orm' takes"
        f" {statistics.median(walls) * 1000:.0f} ms"
        f" (median of {runs}); load average {os.getloadavg()[0]:.2f}"
    )


def report(label: str, times: tuple[list[float], list[float]]) -> bool:
    walls, cpus = times
    median = statistics.median(walls)
    ok = median < TARGET_S
    print(
        f"  {label}: median {median * 1000:.0f} ms, best {min(walls) * 1000:.0f} ms, "
        f"worst {max(walls) * 1000:.0f} ms over {len(walls)} runs; CPU median "
        f"{statistics.median(cpus) * 1000:.0f} ms (target < {TARGET_S * 1000:.0f} ms wall): "
        f"{'OK' if ok else 'TOO SLOW'}"
    )
    return ok


def bench_sqlite(runs: int, fmt: str, rebuild: bool) -> bool:
    OUT.mkdir(exist_ok=True)
    path = OUT / "report-bench.db"
    print(f"SQLite: {path}")
    if rebuild or not path.exists():
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        tmp = OUT / "report-bench.building.db"
        tmp.unlink(missing_ok=True)
        build(f"sqlite:///{tmp}")
        tmp.rename(path)
    else:
        print("  reusing the cached database (--rebuild to make it again)")
    url = f"sqlite:///{path}"
    check_counts(url)
    return report("SQLite", time_command(url, runs, fmt))


def bench_pg(base_url: str, runs: int, fmt: str, keep: bool = False) -> bool:
    if base_url.startswith(("postgres://", "postgresql://")):
        base_url = "postgresql+psycopg://" + base_url.split("://", 1)[1]
    base = sa.make_url(base_url)
    name = f"outreach_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    print(f"PostgreSQL: {base.set(database=name).render_as_string()}")
    try:
        build(url)
        check_counts(url)
        return report("PostgreSQL", time_command(url, runs, fmt))
    finally:
        if keep:
            print(f"  kept the database: {base.set(database=name).render_as_string()}")
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def compile_bytecode() -> None:
    """Compile outreach's modules to bytecode first, as ``pip install`` does.

    Without this, a checkout run with PYTHONDONTWRITEBYTECODE=1 (as in some
    development shells) recompiles every module in every timed command, which
    no installed copy does."""
    import compileall

    import outreach

    compileall.compile_dir(Path(outreach.__file__).resolve().parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", metavar="URL", help="also (or only) run on this PostgreSQL server")
    parser.add_argument(
        "--sqlite", action="store_true", help="run on SQLite (default without --pg)"
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs per backend (default 7)")
    parser.add_argument("--format", default="table", choices=("table", "csv", "json", "md"))
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached SQLite file")
    parser.add_argument(
        "--keep-pg", action="store_true", help="keep the PostgreSQL database (to inspect plans)"
    )
    args = parser.parse_args()
    compile_bytecode()
    baseline(args.runs)
    ok = True
    if args.sqlite or not args.pg:
        ok &= bench_sqlite(args.runs, args.format, args.rebuild)
    if args.pg:
        ok &= bench_pg(args.pg, args.runs, args.format, keep=args.keep_pg)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
