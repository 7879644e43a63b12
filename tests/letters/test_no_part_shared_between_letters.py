"""One recipient's data never appears in another's letter (issue 11, point 2).

A template reaches the recipient in many ways besides naming a variable in
the subject: an include, an import with context, a macro imported or defined
in the same file, a block nested in the subject, ``super()``, ``self.block()``,
a ``{% set %}`` made outside the block, a filter, ``caller()``, ``loop``,
``namespace``. Before, a subject that named no variable was rendered for the
first recipient and that text reused for all the others; and Jinja kept the
module of a template imported without context from one letter to the next,
so a namespace in it carried the previous recipient's name along.

Every letter below is checked for its own recipient's name, organization,
e-mail and postal address and for nobody else's: in ``letters generate`` in
one process, through the forked rendering process (lowered threshold, and a
real batch of 1,000), and in ``letters preview``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outreach.campaigns import add_recipients, create_campaign
from outreach.db import Database
from outreach.letters import pipeline
from outreach.schema.models import Contact, Letter, Organization, OrgKind, Region

TOKEN = re.compile(r"(?i)r(\d{4})")

FILES = {
    # the parent: its own subject (reached through super()) and a block for self.who()
    "iso-base.md.j2": (
        "{% block subject %}base={{ contact.name }}{% endblock %}\n"
        "{% block who %}who={{ organization.name }}{% endblock %}\n"
        "{% block body %}{% endblock %}\n"
    ),
    "iso-part.md.j2": "inc={{ contact.name }}|{{ contact.postal_address }}",
    "iso-macros.md.j2": (
        "{% macro who() %}mac={{ organization.name }}{% endmacro %}"
        "{% macro wrap() %}[{{ caller() }}]{% endmacro %}"
        "{% macro greet(c) %}arg={{ c.email }}{% endmacro %}"
    ),
    # imported WITHOUT context: Jinja used to keep its module between letters
    "iso-state.md.j2": '{% set ns = namespace(seen="") %}{% set c = cycler("one", "two") %}',
    "iso.md.j2": (
        '{% extends "iso-base.md.j2" %}\n'
        '{% import "iso-macros.md.j2" as m with context %}\n'
        '{% from "iso-macros.md.j2" import who as fwho with context %}\n'
        '{% import "iso-state.md.j2" as st %}\n'
        "{% set outside = contact.email %}\n"
        "{% macro local() %}loc={{ organization.acronym }}{% endmacro %}\n"
        "{% block subject %}{{ super() }} {% include 'iso-part.md.j2' %} {{ m.who() }} "
        "f{{ fwho() }} {{ local() }} {{ m.greet(contact) }} "
        "{% block nested %}nest={{ organization.acronym }}{% endblock %} "
        "self={{ self.who() }} set={{ outside }} filt={{ contact|salutation }} "
        "{% call m.wrap() %}call={{ contact.name }}{% endcall %} "
        "{% for x in [organization.acronym] %}loop={{ x }}#{{ loop.index }}{% endfor %} "
        "{% set ns = namespace(v=contact.postal_address) %}ns={{ ns.v }} "
        "state={{ st.ns.seen }}{% set s = st.ns %}{% set s.seen = contact.name %} "
        "cyc={{ st.c.next() }}{% endblock %}\n"
        "{% block body %}Body for {{ self.subject() }}\n"
        "{% include 'iso-part.md.j2' %} {{ fwho() }} {{ outside }}{% endblock %}\n"
    ),
    # a subject that names no variable at all, yet reads the recipient (it was
    # rendered once and reused for everybody)
    "iso-static.md.j2": (
        '{% extends "iso-base.md.j2" %}\n'
        "{% block subject %}{% include 'iso-part.md.j2' %}{% endblock %}\n"
        "{% block body %}Body for {{ self.subject() }}{% endblock %}\n"
    ),
}


def _expected(i: int, template: str = "iso") -> list[str]:
    """What recipient *i*'s subject must say, piece by piece."""
    name, org, acr = f"Contact R{i:04d}", f"Org R{i:04d}", f"R{i:04d}"
    email, address = f"r{i:04d}@ex.example", f"{i} Rue R{i:04d}"
    if template == "iso-static":
        return [f"inc={name}|{address}"]
    return [
        f"base={name}",
        f"inc={name}|{address}",
        f"mac={org}",
        f"fmac={org}",
        f"loc={acr}",
        f"arg={email}",
        f"nest={acr}",
        f"self=who={org}",
        f"set={email}",
        f"filt=Dear {name},",
        f"[call={name}]",
        f"loop={acr}#1",
        f"ns={address}",
        "state=",  # followed by nothing, or this letter's own name: never the one before's
    ]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "iso-templates"
    out.mkdir()
    for name, text in FILES.items():
        (out / name).write_text(text, encoding="utf-8")
    return out


def _world(db: Database, folder: Path, n: int, template: str = "iso") -> None:
    """*n* organizations, each with one contact of its own name, e-mail and
    address, all recipients of campaign ``iso``."""
    with db.session() as s:
        orgs = [
            Organization(
                acronym=f"R{i:04d}",
                name=f"Org R{i:04d}",
                kind=OrgKind.REGIONAL,
                region=Region.AFRICA,
                languages=["en"],
            )
            for i in range(n)
        ]
        s.add_all(orgs)
        s.flush()
        s.add_all(
            Contact(
                organization_id=org.id,
                name=f"Contact R{i:04d}",
                email=f"r{i:04d}@ex.example",
                postal_address=f"{i} Rue R{i:04d}",
                is_primary=True,
            )
            for i, org in enumerate(orgs)
        )
        s.flush()
        create_campaign(s, slug="iso", title="Isolation", template=template, templates=folder)
        add_recipients(s, "iso", kinds=["regional"])


def _check(i: int, subject: str, body: str, template: str = "iso") -> None:
    for piece in _expected(i, template):
        assert piece in subject, f"recipient {i}: {piece!r} missing from {subject!r}"
    for text in (subject, body):
        assert set(TOKEN.findall(text)) == {f"{i:04d}"}, f"recipient {i} sees others: {text!r}"
    if template == "iso":
        assert f"Body for base=Contact R{i:04d} inc=Contact R{i:04d}" in body
    else:
        assert f"Body for inc=Contact R{i:04d}" in body


def _stored(db: Database) -> dict[int, tuple[str, str]]:
    with db.session() as s:
        rows = s.execute(
            sa.select(Organization.acronym, Letter.subject, Letter.body)
            .join(Organization, Letter.organization_id == Organization.id)
            .where(Letter.superseded_at.is_(None))
        ).all()
    return {int(acr[1:]): (subject, body) for acr, subject, body in rows}


def _fork_counter(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    started: list[int] = []
    real = pipeline._fork_renderer

    def counting(*args: Any) -> tuple[int, int]:
        pid, fd = real(*args)
        started.append(pid)
        return pid, fd

    monkeypatch.setattr(pipeline, "_fork_renderer", counting)
    return started


@pytest.mark.parametrize("template", ["iso", "iso-static"])
@pytest.mark.parametrize("path", ["one process", "forked renderer"])
def test_generate_keeps_each_recipients_data_to_their_letter(
    db: Database,
    run: Any,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    template: str,
) -> None:
    _world(db, folder, 6, template)
    if path == "one process":
        monkeypatch.setattr(pipeline, "PARALLEL_MIN", 10**9)
    else:
        if not hasattr(os, "fork"):
            pytest.skip("the rendering process is forked (POSIX)")
        started = _fork_counter(monkeypatch)
        monkeypatch.setattr(pipeline, "PARALLEL_MIN", 2)
    run("letters", "generate", "--campaign", "iso", "--templates", folder)
    stored = _stored(db)
    assert sorted(stored) == list(range(6))
    for i, (subject, body) in stored.items():
        _check(i, subject, body, template)
    if path != "one process":
        assert started, "the batch did not go through the rendering process"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the rendering process is forked (POSIX)")
def test_a_batch_of_a_thousand_through_the_rendering_process(
    db: Database, run: Any, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pipeline.PARALLEL_MIN <= 1000  # the real threshold, not lowered
    started = _fork_counter(monkeypatch)
    _world(db, folder, 1000)
    run("letters", "generate", "--campaign", "iso", "--templates", folder)
    assert started, "1,000 letters did not go through the rendering process"
    stored = _stored(db)
    assert sorted(stored) == list(range(1000))
    for i, (subject, body) in stored.items():
        _check(i, subject, body)


@pytest.mark.parametrize("template", ["iso", "iso-static"])
def test_preview_keeps_each_recipients_data_to_their_letter(
    db: Database, run: Any, folder: Path, template: str
) -> None:
    _world(db, folder, 4, template)
    for i in (0, 3, 1, 2):
        result = run(
            "letters", "preview", "--campaign", "iso", "--org", f"R{i:04d}", "--templates", folder
        )
        subject = result.stderr.split("Subject: ", 1)[1].split("   [", 1)[0]
        _check(i, subject, result.stdout, template)


def test_library_renders_in_a_row_share_nothing(folder: Path) -> None:
    """The same compiled template, rendered for one recipient after another
    (what generate does), in this process: nothing carries over."""
    from outreach.templating import Record, TemplateSet, render

    ts = TemplateSet(folder)
    for template, i in [(t, i) for t in ("iso", "iso-static") for i in (5, 6, 5, 7)]:
        compiled = ts.compile(template, "en", "en")
        context = {
            **ts.env.globals,
            "organization": Record(acronym=f"R{i:04d}", name=f"Org R{i:04d}"),
            "contact": Record(
                name=f"Contact R{i:04d}",
                email=f"r{i:04d}@ex.example",
                postal_address=f"{i} Rue R{i:04d}",
                kind="person",
            ),
            "language": "en",
        }
        text = render(compiled, context, recipient=f"R{i:04d}")
        _check(i, text.subject, text.body, template)


def test_dates_at_the_same_instant_in_other_time_zones_keep_their_own_date() -> None:
    """``format_date`` caches its texts: two datetimes that are the same instant
    compare equal, yet fall on different days where they were written."""
    import datetime as dt

    from outreach.templating import Record, TemplateSet, render

    ts = TemplateSet(None)
    template = ts.env.from_string("{% block subject %}{{ when|format_date }}{% endblock %}")
    from outreach.templating import CompiledTemplate

    compiled = CompiledTemplate("t", "en", "t", template, "x")
    evening = dt.datetime(2012, 9, 5, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    morning = dt.datetime(2012, 9, 6, 4, 0, tzinfo=dt.UTC)
    assert evening == morning
    first = render(compiled, {"when": evening, "language": "en", "c": Record()}, recipient="a")
    second = render(compiled, {"when": morning, "language": "en", "c": Record()}, recipient="b")
    assert first.subject == "5 September 2012"
    assert second.subject == "6 September 2012"
