"""Large batches render in a second process while this one stores the letters.

The tests lower the size at which that starts, so the five-recipient campaign
of the letters tests goes through it, and check that what a coordinator gets
(the letters, their languages and template hashes, the error for a broken
template, an untouched database after it) is exactly what one process gives.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outreach.db import Database
from outreach.letters import generate, generation, pipeline
from outreach.schema.models import Campaign, Letter, Organization

from .._letters_fixtures import failing_template, seed
from ..conftest import table_dump

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or not hasattr(os, "sched_getaffinity"),
    reason="the rendering process is forked (Linux)",
)


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Use the rendering process for any batch; the list counts its starts."""
    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    started: list[int] = []
    real = pipeline._fork_renderer

    def counting(*args: Any) -> tuple[int, int]:
        pid, fd = real(*args)
        started.append(pid)
        return pid, fd

    monkeypatch.setattr(pipeline, "_fork_renderer", counting)
    return started


def _letters(db: Database) -> dict[str, tuple[Any, ...]]:
    with db.session() as s:
        rows = s.execute(
            sa.select(
                Organization.acronym,
                Letter.language,
                Letter.subject,
                Letter.body,
                Letter.template_name,
                Letter.template_hash,
                Letter.to_address,
                Letter.version,
            ).join(Organization, Letter.organization_id == Organization.id)
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _one_process(db: Database, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Any:
    """Generate in this process alone, into a copy of the data made afresh
    (its letters deleted by the caller, its reference numbers from 1 again)."""
    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 10**9)
    with db.write() as s:
        s.execute(sa.update(Campaign).values(reference_seq=0))
        return generate(s, campaign="tp", **kwargs)


def _no_children() -> bool:
    me = os.getpid()
    found = []
    for task in Path(f"/proc/{me}/task").iterdir():
        found += (task / "children").read_text().split()
    return not found


def test_letters_match_one_process(
    db: Database, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db)
    with db.write() as s:
        result = generate(s, campaign="tp")
    assert len(forks) == 1
    assert result.created == 5
    assert [d.acronym for d in result.letters] == ["AU", "ECOWAS", "GCC", "LAS", "OAS"]
    assert all(d.id for d in result.letters)
    made = _letters(db)
    assert {acr: row[0] for acr, row in made.items()} == {
        "AU": "en",
        "ECOWAS": "pt",
        "GCC": "en",
        "LAS": "ar",
        "OAS": "es",
    }
    assert "وتفضلوا بقبول فائق الاحترام" in made["LAS"][2]
    assert "Communauté économique" in made["ECOWAS"][2]
    assert _no_children()

    # the same campaign generated in one process gives the same letters
    with db.session() as s:
        s.execute(sa.delete(Letter))
    _one_process(db, monkeypatch)
    assert _letters(db) == made


def test_rerun_through_the_pipeline_changes_nothing(
    db: Database, db_url: str, forks: list[int]
) -> None:
    seed(db)
    with db.write() as s:
        generate(s, campaign="tp")
    before = table_dump(db_url)
    with db.write() as s:
        again = generate(s, campaign="tp")
    assert len(forks) == 2
    assert (again.created, again.new_versions, again.unchanged) == (0, 0, 5)
    assert table_dump(db_url) == before


def test_template_error_in_the_rendering_process_is_reported_the_same(
    db: Database, db_url: str, tmp_path: Path, forks: list[int], run
) -> None:
    folder = failing_template(tmp_path, "LAS")
    seed(db, template="mine", templates=str(folder))
    before = table_dump(db_url)
    piped = run("letters", "generate", "--campaign", "tp", "--templates", folder, expect=1)
    # the CLI runs in this process, so the pipeline was used
    assert len(forks) == 1
    assert "mine.md.j2, line 5" in piped.stderr
    assert "while writing to LAS (Secretary-General of LAS)" in piped.stderr
    assert "nothing was written" in piped.stderr
    assert table_dump(db_url) == before
    pipeline.PARALLEL_MIN = 10**9  # restored by the fixture's monkeypatch
    single = run("letters", "generate", "--campaign", "tp", "--templates", folder, expect=1)
    assert len(forks) == 1
    assert single.stderr == piped.stderr
    assert table_dump(db_url) == before
    assert _no_children()


def test_a_rendering_process_that_dies_is_made_up_for(
    db: Database, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db)
    monkeypatch.setattr(pipeline, "PIPE_CHUNK", 8)  # first message: one letter
    real_dump = pickle.dump
    calls: list[int] = []

    def dump_once(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            os._exit(9)  # the rendering process dies after its first message
        real_dump(*args, **kwargs)

    monkeypatch.setattr(pipeline.pickle, "dump", dump_once)
    with db.write() as s:
        result = generate(s, campaign="tp")
    monkeypatch.setattr(pipeline.pickle, "dump", real_dump)
    assert len(forks) == 1
    assert result.created == 5
    made = _letters(db)
    assert sorted(made) == ["AU", "ECOWAS", "GCC", "LAS", "OAS"]
    with db.session() as s:
        s.execute(sa.delete(Letter))
    _one_process(db, monkeypatch)
    assert _letters(db) == made
    assert _no_children()


def test_a_failure_while_storing_stops_the_rendering_process(
    db: Database, db_url: str, forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db)
    before = table_dump(db_url)

    def broken(_campaign: Any) -> Any:
        def make() -> str:
            raise RuntimeError("disk full")

        return make

    monkeypatch.setattr(generation, "message_ids", broken)
    with pytest.raises(RuntimeError, match="disk full"), db.write() as s:
        generate(s, campaign="tp")
    assert len(forks) == 1
    assert _no_children()
    assert table_dump(db_url) == before
