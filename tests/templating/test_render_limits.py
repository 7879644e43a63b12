# ruff: noqa: E501
# (the attacks below are one line each)
"""Templates cannot exhaust the machine (issue 11, point 5).

Every letter renders under a time limit and a size limit (see
``outreach.templating.RenderLimits``: 1,000,000 characters and 5 seconds by
default, ``$OUTREACH_LETTER_MAX_SIZE`` and ``$OUTREACH_LETTER_TIMEOUT`` to
change them). Each attack below used to hang the command, or eat memory
until a MemoryError (or the machine's out-of-memory killer) ended it; now it
stops with the usual one-line template error naming the template, the line
and the recipient, and writes nothing, in ``letters preview`` and in
``letters generate`` in one process and through the forked rendering
process. The tests run with a half-second time limit, so that the attacks the
time limit stops (rather than a size limit) stay quick.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outreach.campaigns import add_recipients, create_campaign
from outreach.db import Database
from outreach.letters import pipeline
from outreach.schema.models import Contact, Letter, Organization, OrgKind, Region

from ..conftest import table_dump

#: Generous: the slowest attack takes about twice the time limit (the forked
#: process meets it, then this one renders that letter again to report it).
WALL = 30.0
FAST = {"OUTREACH_LETTER_TIMEOUT": "0.5"}

ATTACKS = {
    'range_huge': '{% for i in range(10**9) %}x{% endfor %}',
    'nested_range': '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}',
    'nested_range_out': '{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}',
    'lipsum': '{{ lipsum(10**6) }}',
    'lipsum_max': '{{ lipsum(100, max=10**7) }}',
    'replace_chain': "{{ 'x'|replace('x','x'*100000)|replace('x','x'*100000) }}",
    'replace_loop': "{% set ns = namespace(s='xx') %}{% for i in range(100) %}{% set ns.s = ns.s|replace('x','xx') %}{% endfor %}{{ ns.s|length }}",
    'replace_empty': "{{ ('x'*100000)|replace('', 'y'*100000) }}",
    'center': "{{ 'x'|center(10**9) }}",
    'indent': "{{ 'x\ny'|indent(width=10**9) }}",
    'indent_str': "{{ ('\n'*100000)|indent(width='x'*100000, blank=true) }}",
    'format_pct': "{{ '%9999999999s'|format(1) }}",
    'format_prec': "{{ '%.999999999f'|format(1.0) }}",
    'format_star': "{{ '%*s'|format(10**9, 'x') }}",
    'binop_pct': "{{ '%999999999s' % 1 }}",
    'strformat': "{{ '{:>999999999}'.format(1) }}",
    'strformat_nested': "{{ '{:>{w}}'.format(1, w=10**9) }}",
    'strformat_repeat': "{% set s = 'x'*100000 %}{{ ('{0}'*100000).format(s) }}",
    'ns_double': "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    'concat_double_plus': "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
    'list_double': '{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}',
    'list_literal_double': "{% set ns = namespace(l=['x'*1000]) %}{% for i in range(100) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
    'join_huge': "{% set s = 'x'*100000 %}{{ ([s]*100000)|join }}",
    'join_sep': "{{ range(100000)|join('x'*100000) }}",
    'wordwrap': "{{ ('x '*50000)|wordwrap(1, wrapstring='y'*100000) }}",
    'sum_lists': "{{ range(100000)|map('string')|map('list')|sum(start=[])|length }}",
    'batch': "{{ [1]|batch(10**9, 'x')|list }}",
    'slice': '{{ [1]|slice(10**9)|list|length }}',
    'macro_recursion': '{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}',
    'macro_exp': '{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}',
    'macro_exp_out': '{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% else %}x{% endif %}{% endmacro %}{{ f(40) }}',
    'str_mul': "{{ 'x' * 10**9 }}",
    'list_mul_shared': "{% set s = 'x'*100000 %}{{ [s]*100000 }}",
    'dict_fromkeys': "{% set s = 'x'*100000 %}{{ dict.fromkeys(range(100000), s) }}",
    'dict_build': '{% set ns = namespace(d={}) %}{% for i in range(100000) %}{% set ns.d = dict(ns.d, **{i|string: i}) %}{% endfor %}{{ ns.d|length }}',
    'map_range': "{{ range(100000)|map('replace', '', 'x'*100000)|list|length }}",
    'str_center_method': "{{ 'x'.center(10**9) }}",
    'str_ljust': "{{ 'x'.ljust(10**9) }}",
    'zfill': "{{ '1'.zfill(10**9) }}",
    'expandtabs': "{{ ('\t'*100000).expandtabs(100000) }}",
    'to_bytes': "{{ (1).to_bytes(10**9, 'big') }}",
    'translate': "{{ ('a'*100000).translate({97: 'b'*100000}) }}",
    'str_join_method': "{% set s = 'x'*100000 %}{{ s.join([s]*100000) }}",
    'many_outputs_loop': "{% set s = 'x'*100000 %}{% for i in range(100000) %}{{ s }}{% endfor %}",
    'macro_loop_buffer': "{% set s = 'x'*100000 %}{% macro m() %}{% for i in range(100000) %}{{ s }}{% endfor %}{% endmacro %}{{ m() }}",
    'set_block': "{% set s = 'x'*100000 %}{% set b %}{% for i in range(100000) %}{{ s }}{% endfor %}{% endset %}{{ b|length }}",
    'caller': "{% macro m() %}{% for i in range(100000) %}{{ caller() }}{% endfor %}{% endmacro %}{% call m() %}{{ 'x'*100000 }}{% endcall %}",
    'loop_var': '{% for i in range(100000) %}{% for j in range(100000) %}{{ loop.index }}{% endfor %}{% endfor %}',
    'int_plus': '{% set ns = namespace(n=1) %}{% for i in range(100000) %}{% set ns.n = ns.n + ns.n %}{% endfor %}{{ ns.n }}',
    'tojson': "{% set s = 'x'*100000 %}{{ ([s]*10)|tojson }}",
    'pprint': "{% set s = 'x'*100000 %}{% set ns = namespace(l=[s]) %}{% for i in range(30) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l|pprint }}",
    'tuple_double': "{% set ns = namespace(l=('x'*1000,)) %}{% for i in range(100) %}{% set ns.l = (ns.l, ns.l) %}{% endfor %}{{ ns.l }}",
    'dict_double': "{% set ns = namespace(l={'a': 'x'*1000}) %}{% for i in range(100) %}{% set ns.l = {'a': ns.l, 'b': ns.l} %}{% endfor %}{{ ns.l }}",
    'loop_cycle': "{% for i in range(100000) %}{% for j in range(100000) %}{{ loop.cycle('a','b') }}{% endfor %}{% endfor %}",
    'ns_string_method': "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = '{0}{0}'.format(ns.s) %}{% endfor %}{{ ns.s|length }}",
    'string_filter': "{% set ns = namespace(l=['x'*1000]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l|string|length }}",
    'length_join': "{{ ('x'*100000)|list|join('y'*100000) }}",
    'urlencode': "{% set s='x'*100000 %}{{ ([s]*10)|join|urlencode|length }}",
    'filter_block': "{% filter upper %}{% for i in range(100000) %}{{ 'x'*100000 }}{% endfor %}{% endfilter %}",
}

# more variants of the same attacks
ATTACKS.update(
    {
        "range_nested_three": (
            "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
            "{% endfor %}{% endfor %}{% endfor %}"
        ),
        "range_filter_loop": "{% for i in range(100000) if i %}{% for j in range(100000) %}"
        "{% endfor %}{% endfor %}",
        "replace_doubling_method": (
            "{% set ns = namespace(s='xx') %}{% for i in range(100) %}"
            "{% set ns.s = ns.s.replace('x', 'xx') %}{% endfor %}"
        ),
        "center_kwarg": "{{ 'x'|center(width=10**9) }}",
        "format_mapping": "{{ '%(a)999999999s'|format(a=1) }}",
        "format_map": "{{ '{a:>999999999}'.format_map({'a': 1}) }}",
        "concat_in_macro_recursion": (
            "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% else %}{{ s|length }}"
            "{% endif %}{% endmacro %}{{ f('x', 100) }}"
        ),
        "join_generator": "{% set s = 'x' * 100000 %}{{ ([''] * 100000)|map('default', s, true)|join }}",
        "batch_fill": "{% set s = 'x' * 100000 %}{{ range(3)|batch(100000, s)|list }}",
        "list_filter_shared": "{% set s = 'x' * 100000 %}{{ ([s] * 100)|list|string }}",
        "namespace_list_append": (
            "{% set ns = namespace(l=[]) %}{% set s = 'x' * 100000 %}"
            "{% for i in range(100000) %}{% set ns.l = ns.l + [s] %}{% endfor %}{{ ns.l }}"
        ),
        "dict_items": (
            "{% set s = 'x' * 100000 %}{{ dict.fromkeys(range(1000), s).items()|list }}"
        ),
        "self_block_in_loop": (
            "{% block big %}{{ 'x' * 100000 }}{% endblock %}"
            "{% for i in range(100000) %}{{ self.big() }}{% endfor %}"
        ),
        "caller_recursion": (
            "{% macro m(n) %}{% if n %}{% call m(n - 1) %}{{ caller() }}{{ caller() }}{% endcall %}"
            "{% else %}{{ caller() }}{% endif %}{% endmacro %}{% call m(60) %}x{% endcall %}"
        ),
    }
)

PATHS = ["preview", "generate", "generate-forked"]


@pytest.fixture
def world(db: Database, db_url: str, tmp_path: Path) -> dict[str, Any]:
    """Three recipients of campaign ``lim``, whose template ``atk`` the tests
    overwrite."""
    folder = tmp_path / "lim-templates"
    folder.mkdir()
    (folder / "atk.md.j2").write_text(
        "{% block subject %}Hello {{ organization.acronym }}{% endblock %}\n"
        "{% block body %}Dear {{ contact.name }}{% endblock %}\n",
        encoding="utf-8",
    )
    with db.session() as s:
        orgs = [
            Organization(
                acronym=f"L{i}",
                name=f"Limit Org {i}",
                kind=OrgKind.REGIONAL,
                region=Region.AFRICA,
                languages=["en"],
            )
            for i in range(3)
        ]
        s.add_all(orgs)
        s.flush()
        s.add_all(
            Contact(
                organization_id=org.id,
                name=f"Contact {i}",
                email=f"c{i}@limit.example",
                is_primary=True,
            )
            for i, org in enumerate(orgs)
        )
        s.flush()
        create_campaign(s, slug="lim", title="Limits", template="atk", templates=folder)
        add_recipients(s, "lim", kinds=["regional"])
    return {"folder": folder, "url": db_url, "db": db}


def _write(world: dict[str, Any], body: str) -> int:
    """Make ``atk`` the letter *body*; returns the line the body starts on."""
    (world["folder"] / "atk.md.j2").write_text(
        "{% block subject %}Hello {{ organization.acronym }}{% endblock %}\n"
        "{% block body %}" + body + "{% endblock %}\n",
        encoding="utf-8",
    )
    return 2


def _command(world: dict[str, Any], path: str) -> list[Any]:
    if path == "preview":
        return ["letters", "preview", "--campaign", "lim", "--org", "L0", "--templates", world["folder"]]
    return ["letters", "generate", "--campaign", "lim", "--templates", world["folder"]]


def _use_path(monkeypatch: pytest.MonkeyPatch, path: str) -> list[int]:
    """Make generate render in one process, or in the forked one; the list
    counts the rendering processes started."""
    started: list[int] = []
    if path == "generate-forked":
        if not hasattr(os, "fork"):
            pytest.skip("the rendering process is forked (POSIX)")
        monkeypatch.setattr(pipeline, "PARALLEL_MIN", 1)
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
        real = pipeline._fork_renderer

        def counting(*args: Any) -> tuple[int, int]:
            pid, fd = real(*args)
            started.append(pid)
            return pid, fd

        monkeypatch.setattr(pipeline, "_fork_renderer", counting)
    else:
        monkeypatch.setattr(pipeline, "PARALLEL_MIN", 10**9)
    return started


def _refused(run: Any, world: dict[str, Any], path: str, env: dict[str, str]) -> str:
    """Run the command, which must fail cleanly; returns its one-line error."""
    args = _command(world, path)
    before = table_dump(world["url"])
    started = time.monotonic()
    result = run(*args, expect=1, env=env)
    elapsed = time.monotonic() - started
    assert elapsed < WALL, f"took {elapsed:.1f} s"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "MemoryError" not in result.stderr
    assert table_dump(world["url"]) == before, "a refused letter changed the database"
    return lines[0]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_stops_with_a_template_error(
    world: dict[str, Any], run: Any, monkeypatch: pytest.MonkeyPatch, attack: str, path: str
) -> None:
    line = _write(world, ATTACKS[attack])
    started = _use_path(monkeypatch, path)
    error = _refused(run, world, path, FAST)
    assert "atk.md.j2" in error
    lines = range(line, line + ATTACKS[attack].count("\n") + 1)
    found = re.search(r", line (\d+):", error)
    assert (found and int(found.group(1)) in lines) or "the letter would be longer" in error, error
    assert "(while writing to L0 (Contact 0))" in error
    assert "nothing was written" in error
    if path == "generate-forked":
        assert started, "the batch did not go through the rendering process"


def _big_letter(world: dict[str, Any]) -> None:
    """A letter of 1,500,000 characters: 15 paragraphs of 100,000."""
    _write(world, "{% for i in range(15) %}{{ 'x' * 99999 }}\n{% endfor %}")


@pytest.mark.parametrize("path", PATHS)
def test_a_larger_limit_lets_a_larger_letter_through(
    world: dict[str, Any], run: Any, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    _big_letter(world)
    _use_path(monkeypatch, path)
    error = _refused(run, world, path, {})
    assert "1,000,000 characters" in error and "OUTREACH_LETTER_MAX_SIZE" in error
    result = run(*_command(world, path), env={"OUTREACH_LETTER_MAX_SIZE": "2M"})
    if path == "preview":
        assert result.stdout.count("x" * 99999) == 15
    else:
        with world["db"].session() as s:
            bodies = s.scalars(sa.select(Letter.body)).all()
        assert len(bodies) == 3
        assert all(b.count("x" * 99999) == 15 for b in bodies)


@pytest.mark.parametrize("path", PATHS)
def test_a_smaller_limit_refuses_a_letter_over_it(
    world: dict[str, Any], run: Any, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    _write(world, "{{ 'word ' * 400 }}")  # 2,000 characters
    _use_path(monkeypatch, path)
    run(*_command(world, path), env={"OUTREACH_LETTER_MAX_SIZE": "5000"})
    if path != "preview":  # the letters were stored: make them go again
        _write(world, "{{ 'word ' * 400 }}!")
    error = _refused(run, world, path, {"OUTREACH_LETTER_MAX_SIZE": "1000"})
    assert "1,000 characters" in error and "(while writing to L0 (Contact 0))" in error


@pytest.mark.parametrize("path", PATHS)
def test_the_time_limit_is_settable(
    world: dict[str, Any], run: Any, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    _write(
        world,
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    )
    _use_path(monkeypatch, path)
    started = time.monotonic()
    error = _refused(run, world, path, {"OUTREACH_LETTER_TIMEOUT": "0.3"})
    assert time.monotonic() - started < 4.5  # well before the 5 s default
    assert "more than 0.3 s" in error and "OUTREACH_LETTER_TIMEOUT" in error


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUTREACH_LETTER_MAX_SIZE", "abc"),
        ("OUTREACH_LETTER_MAX_SIZE", "0"),
        ("OUTREACH_LETTER_MAX_SIZE", "-5"),
        ("OUTREACH_LETTER_MAX_SIZE", "1.5M"),
        ("OUTREACH_LETTER_TIMEOUT", "soon"),
        ("OUTREACH_LETTER_TIMEOUT", "0"),
        ("OUTREACH_LETTER_TIMEOUT", "-1"),
        ("OUTREACH_LETTER_TIMEOUT", "inf"),
        ("OUTREACH_LETTER_TIMEOUT", "nan"),
    ],
)
def test_a_bad_limit_setting_is_a_one_line_error(
    world: dict[str, Any], run: Any, name: str, value: str
) -> None:
    before = table_dump(world["url"])
    result = run(*_command(world, "generate"), expect=1, env={name: value})
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert name in result.stderr and repr(value) in result.stderr
    assert table_dump(world["url"]) == before


def test_limit_settings_read_from_the_environment() -> None:
    from outreach.templating import RenderLimits

    assert RenderLimits.from_env({}) == RenderLimits(1_000_000, 5.0)
    assert RenderLimits.from_env({"OUTREACH_LETTER_MAX_SIZE": "2M"}).max_size == 2_000_000
    assert RenderLimits.from_env({"OUTREACH_LETTER_MAX_SIZE": "500k"}).max_size == 500_000
    assert RenderLimits.from_env({"OUTREACH_LETTER_MAX_SIZE": "1_500_000"}).max_size == 1_500_000
    assert RenderLimits.from_env({"OUTREACH_LETTER_TIMEOUT": "12.5"}).timeout == 12.5


def test_shipped_letters_render_within_the_limits(db: Database) -> None:
    """The limits leave real letters alone: the shipped campaign letters and
    a letter with loops, macros and filters well within them."""
    from outreach.letters import generate

    from .._letters_fixtures import seed

    seed(db)
    with db.write() as s:
        result = generate(s, campaign="tp")
    assert result.created == 5
