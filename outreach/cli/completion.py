"""Dynamic shell completion: campaign slugs, organization acronyms, dialogue
slugs and template names, read from the database (``--db``,
``OUTREACH_DATABASE_URL``, the settings, else ./outreach.db) and the template
folders.

:func:`attach` gives each option and argument that names such a record its
``shell_complete``, by name (``--campaign``, ``--org``, ``--template`` ...),
when the root group loads a command group: the command modules stay as they
are. Completion never fails: a missing database, a wrong URL or any other
problem gives no suggestions. The shells' set-up is in the README.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

Lookup = Callable[[click.Context], Iterable[str]]

#: At most so many suggestions (a directory of thousands is not listed whole).
LIMIT = 200


def _database(ctx: click.Context) -> Any | None:
    """The database the command would use, or None when there is none to read
    (a SQLite file that does not exist is not created)."""
    from outreach.cli.state import AppState
    from outreach.config import database_url

    state = ctx.find_object(AppState)
    url = state.db_url if state is not None and state.db_url else None
    url = url or ctx.find_root().params.get("db_url")
    from outreach.db import Database
    from outreach.db.locks import LockWait

    db = Database(database_url(url), check_schema=False, lock=LockWait(0))
    path = db.path  # SQLite: the file, which must exist (it is never created here)
    if path is not None and not Path(path).is_file():
        return None
    return db


def _from_database(read: Callable[[Any], Iterable[str]]) -> Lookup:
    def lookup(ctx: click.Context) -> list[str]:
        db = _database(ctx)
        if db is None:
            return []
        try:
            with db.session() as session:
                return list(read(session))
        finally:
            db.dispose()

    return lookup


def _campaign_slugs(session: Any) -> list[str]:
    from outreach.campaigns.campaigns import list_campaigns

    return [row["slug"] for row in list_campaigns(session)]


def _acronyms(session: Any) -> list[str]:
    from outreach.directory.organizations import list_organizations

    return [org.acronym for org in list_organizations(session=session)]


def _dialogue_slugs(session: Any) -> list[str]:
    from outreach.campaigns.dialogues import list_dialogues

    return [d.slug for d in list_dialogues(session)]


def template_names(folders: Iterable[Path]) -> list[str]:
    """The letter templates in *folders*: ``NAME`` of each ``NAME.md.j2`` or
    ``NAME.LANG.md.j2`` (the letterheads they extend are left out)."""
    names: set[str] = set()
    for folder in folders:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(".j2"):
                continue
            name = entry.name.split(".", 1)[0]
            if name and not name.startswith(("_", ".")) and name != "letterhead":
                names.add(name)
    return sorted(names)


def _templates(ctx: click.Context) -> list[str]:
    from outreach.resources import letters_path

    folders: list[Path] = []
    own = ctx.params.get("templates") or os.environ.get("OUTREACH_TEMPLATES")
    if own:
        folders.append(Path(own).expanduser())
    folders.append(letters_path())
    return template_names(folders)


CAMPAIGNS: Lookup = _from_database(_campaign_slugs)
ORGANIZATIONS: Lookup = _from_database(_acronyms)
DIALOGUES: Lookup = _from_database(_dialogue_slugs)
TEMPLATES: Lookup = _templates

#: An option's flag -> what it names.
OPTIONS: dict[str, Lookup] = {
    "--campaign": CAMPAIGNS,
    "--org": ORGANIZATIONS,
    "--dialogue": DIALOGUES,
    "--template": TEMPLATES,
    "--followup-template": TEMPLATES,
}

#: (group, argument name) -> what it names; group None: in every group.
ARGUMENTS: dict[tuple[str | None, str], Lookup] = {
    (None, "campaign"): CAMPAIGNS,
    (None, "acronyms"): ORGANIZATIONS,
    (None, "dialogue"): DIALOGUES,
    ("contacts", "organization"): ORGANIZATIONS,
    ("contacts", "_org_words"): ORGANIZATIONS,  # contacts add [ORGANIZATION] NAME
    ("orgs", "acronym"): ORGANIZATIONS,
    ("orgs", "keep"): ORGANIZATIONS,
    ("orgs", "duplicate"): ORGANIZATIONS,
}

#: Commands whose argument is a new name, not an existing one.
NEW_NAMES = {("orgs", "add")}


def completer(lookup: Lookup) -> Callable[[click.Context, click.Parameter, str], list[Any]]:
    """A ``shell_complete`` offering what *lookup* finds that starts with the
    text typed (any case); nothing when the lookup fails."""

    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[Any]:
        try:
            values = lookup(ctx)
        except Exception:
            return []
        typed = incomplete.casefold()
        found = sorted({v for v in values if v and v.casefold().startswith(typed) and _typeable(v)})
        return [CompletionItem(v) for v in found[:LIMIT]]

    return complete


def _typeable(value: str) -> bool:
    """Whether *value* can be offered to a shell: no control character, line
    break or bidi control (each would break the shell's list or disguise
    the name; such a record is named by id or typed by hand)."""
    from outreach.safetext import for_terminal

    return for_terminal(value) == value


def attach(command: click.Command, group: str | None = None) -> None:
    """Give *command* (and, for a group, every command in it) the completions
    its options and arguments name."""
    name = command.name or ""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            attach(sub, group or name)
    for param in command.params:
        if getattr(param, "_custom_shell_complete", None) is not None:
            continue
        lookup: Lookup | None = None
        if isinstance(param, click.Option):
            lookup = next((OPTIONS[o] for o in param.opts if o in OPTIONS), None)
        elif isinstance(param, click.Argument) and (group, name) not in NEW_NAMES:
            lookup = ARGUMENTS.get((group, param.name or "")) or ARGUMENTS.get(
                (None, param.name or "")
            )
        if lookup is not None:
            param._custom_shell_complete = completer(lookup)
