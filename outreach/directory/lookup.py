"""Finding an organization by its acronym through Core, the one rule for it.

An acronym matches in any case and with surrounding blanks ignored: the
stored ``acronym_key`` is the acronym folded this way. This module never
loads ``sqlalchemy.orm``: letter previews and the reports use it from a cold
start (the ORM lookups are in :mod:`.records`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from outreach.errors import NotFoundError
from outreach.schema import tables

_ORG = tables.organizations.c


def acronym_key(acronym: str) -> str:
    """*acronym* as the ``acronym_key`` column stores it."""
    return acronym.strip().casefold()


def find_org_row(conn: Any, acronym: str, *columns: Any) -> sa.Row[Any] | None:
    """The ``organizations`` row whose acronym is *acronym* (any case), with
    *columns* (all of them if none are given), or ``None``. *conn* is a Core
    connection or anything else that executes a Core statement."""
    stmt = sa.select(*columns) if columns else sa.select(tables.organizations)
    return conn.execute(stmt.where(_ORG.acronym_key == acronym_key(acronym))).first()


def acronym_spellings(rows: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Every spelling of the acronyms of *rows* (acronym, ``i18n``), to the
    acronym it stands for: each organization's own and its acronyms in other
    languages (``"UA"`` for ``"AU"``)."""
    rows = list(rows)
    choices = {acronym: acronym for acronym, _i18n in rows}
    for acronym, i18n in rows:
        for entry in (i18n or {}).values():
            other = entry.get("acronym") if isinstance(entry, dict) else None
            if isinstance(other, str) and other.strip():
                choices.setdefault(other, acronym)
    return choices


def acronym_choices(conn: Any) -> dict[str, str]:
    """:func:`acronym_spellings` of every organization: one query, for
    :func:`acronym_suggestion`."""
    return acronym_spellings(conn.execute(sa.select(_ORG.acronym, _ORG.i18n)).all())


def acronym_suggestion(conn: Any, acronym: str, choices: dict[str, str] | None = None) -> str:
    """``" (did you mean AU?)"`` for an *acronym* no organization has (the end
    of its not-found error), or ``""``; *choices* from :func:`acronym_choices`
    when the caller has them already (else they are read: call this only once
    the lookup has failed)."""
    from outreach.suggest import suggestion

    return suggestion(str(acronym), acronym_choices(conn) if choices is None else choices)


def no_organization(conn: Any, acronyms: Iterable[str], **where: Any) -> NotFoundError:
    """The error for *acronyms* no organization has: ``no organization 'AUU'
    (did you mean AU?), 'XYZ'``, with the hint to list them (*where* adds
    the error's ``field``). The acronyms in use are read once."""
    choices = acronym_choices(conn)
    listed = ", ".join(repr(a) + acronym_suggestion(conn, a, choices) for a in acronyms)
    return NotFoundError(f"no organization {listed}", hint="orgs list", **where)


def check_acronyms(conn: Any, acronyms: Iterable[str], **where: Any) -> None:
    """:func:`no_organization` raised for those of *acronyms* (any case) that
    no organization has: one query of the acronyms asked for."""
    keys = {acronym_key(a): a for a in acronyms if a.strip()}
    if not keys:
        return
    found = conn.execute(sa.select(_ORG.acronym_key).where(_ORG.acronym_key.in_(keys))).scalars()
    missing = set(keys) - set(found)
    if missing:
        raise no_organization(conn, [keys[k] for k in sorted(missing)], **where)
