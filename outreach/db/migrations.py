"""The schema's migrations: the revision graph, Alembic's configuration, and
moving a database's schema up or down (what ``outreach init`` and ``outreach
db`` run through :class:`outreach.db.Database`).

Alembic loads only when a migration runs or the history is asked for: checking
that a database is at the expected revision, which every command does, reads
the revision graph straight from the migration files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from outreach.errors import SchemaError


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    doc: str
    is_head: bool
    is_current: bool


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Any:
    """An Alembic config for outreach's migrations, on *connection* or *url*."""
    from alembic.config import Config

    from outreach.resources import migrations_path

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path()))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


_script_cache: dict[str, Any] = {}


def script_directory() -> Any:
    if "script" not in _script_cache:
        from alembic.script import ScriptDirectory

        _script_cache["script"] = ScriptDirectory.from_config(alembic_config())
    return _script_cache["script"]


_REVISION_RE = re.compile(r"^revision(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN_RE = re.compile(r"^down_revision(?::[^=]*)?=\s*(None|['\"]([^'\"]+)['\"])", re.M)


def _revision_graph() -> dict[str, str | None]:
    """revision -> down_revision, read straight from the migration files.

    Checking the schema happens on every command, so this avoids importing
    Alembic (about 0.1 s); ``tests/db/test_migrations.py`` checks that it agrees
    with Alembic's own reading of the scripts.
    """
    if "graph" not in _script_cache:
        from outreach.resources import migrations_path

        graph: dict[str, str | None] = {}
        for path in sorted((migrations_path() / "versions").glob("*.py")):
            text = path.read_text(encoding="utf-8")
            rev, down = _REVISION_RE.search(text), _DOWN_RE.search(text)
            if rev is None or down is None:
                raise SchemaError(f"cannot read migration {path.name}; reinstall outreach")
            graph[rev.group(1)] = down.group(2)
        _script_cache["graph"] = graph
    return _script_cache["graph"]


def head_revision() -> str:
    """The schema revision this version of outreach expects."""
    graph = _revision_graph()
    heads = sorted(set(graph) - {down for down in graph.values() if down})
    if len(heads) != 1:  # pragma: no cover - guarded by tests/db/test_migrations.py
        raise SchemaError(f"outreach ships several migration heads {heads}; reinstall outreach")
    return heads[0]


def known_revisions() -> set[str]:
    return set(_revision_graph())


def run(conn: Connection, command_name: str, revision: str) -> None:
    """Run Alembic's ``upgrade`` or ``downgrade`` to *revision* on *conn*, in
    its transaction (the caller commits); Alembic's own errors come out as
    :class:`SchemaError`."""
    from alembic import command
    from alembic.util.exc import CommandError

    try:
        getattr(command, command_name)(alembic_config(connection=conn), revision)
    except CommandError as exc:
        raise SchemaError(str(exc)) from None


def history(current: str | None) -> list[Revision]:
    """Every migration, newest first; *current* is the database's revision."""
    script = script_directory()
    heads = set(script.get_heads())
    out = []
    for step in script.walk_revisions():
        down = step.down_revision
        out.append(
            Revision(
                revision=step.revision,
                down_revision=down if isinstance(down, str) or down is None else ",".join(down),
                doc=(step.doc or "").strip(),
                is_head=step.revision in heads,
                is_current=step.revision == current,
            )
        )
    return out
