"""Letters are stored and committed before their files are made: while
``letters generate --out`` (or ``letters write``) makes PDF and DOCX files,
another coordinator can take the write lock, and sees the letters stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outreach import render
from outreach.db import PG_WRITE_LOCK_KEY, Database, make_engine
from outreach.schema.models import Letter

from .._letters_fixtures import ORGS, seed


def _another_writer_gets_the_lock(url: str) -> bool:
    """Whether a second connection can take the write lock right now, without waiting."""
    if url.startswith("sqlite"):
        other = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:  # database is locked
            return False
        finally:
            other.close()
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            return bool(
                conn.scalar(
                    sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PG_WRITE_LOCK_KEY}
                )
            )
    finally:
        engine.dispose()


def _stored_letters(url: str) -> int:
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.select(sa.func.count()).select_from(Letter.__table__)) or 0
    finally:
        engine.dispose()


@pytest.fixture
def slow_files(monkeypatch: pytest.MonkeyPatch, db_url: str) -> list[tuple[bool, int]]:
    """Make the files slowly: each time, note whether another writer could
    take the lock meanwhile and how many letters it saw stored."""
    seen: list[tuple[bool, int]] = []
    real = render.render_outputs

    def slow(docs: Any, **kwargs: Any) -> Any:
        seen.append((_another_writer_gets_the_lock(db_url), _stored_letters(db_url)))
        return real(docs, **kwargs)

    monkeypatch.setattr(render, "render_outputs", slow)
    return seen


def test_generate_out_makes_its_files_after_the_commit(
    db: Database, run: Any, tmp_path: Path, slow_files: list[tuple[bool, int]]
) -> None:
    seed(db)
    out = tmp_path / "out"
    result = run("letters", "generate", "--campaign", "tp", "--out", out, "--format", "md,pdf")
    assert slow_files == [(True, len(ORGS))]
    assert "Wrote" in result.stdout
    assert len(list(out.iterdir())) == 2 * len(ORGS)


def test_write_makes_its_files_after_the_read(
    db: Database, run: Any, tmp_path: Path, slow_files: list[tuple[bool, int]]
) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    out = tmp_path / "again"
    run("letters", "write", "1", "2", "--out", out, "--format", "docx")
    assert slow_files == [(True, len(ORGS))]
    assert sorted(p.suffix for p in out.iterdir()) == [".docx", ".docx"]


def test_a_rerun_removes_what_a_killed_write_left(db: Database, run: Any, tmp_path: Path) -> None:
    """A command killed while writing a file leaves its temporary file; the
    next write of that file removes it, and leaves other files alone."""
    seed(db)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".AU.md.k1ll3d00.tmp").write_text("half a letter")
    (out / ".notes.tmp").write_text("mine")
    (out / ".AUX.md.k1ll3d00.tmp").write_text("not a letter of this run")
    run("letters", "generate", "--campaign", "tp", "--out", out)
    names = sorted(p.name for p in out.iterdir())
    assert ".AU.md.k1ll3d00.tmp" not in names
    assert {".notes.tmp", ".AUX.md.k1ll3d00.tmp"} <= set(names)
    assert len([n for n in names if n.endswith(".md")]) == len(ORGS)
