"""What a letter was made from, and whether that still holds.

:func:`basis` is a hash of the campaign settings a letter's text depends on
(template names, variables, sender, signatory, default language). Generation
stores it in ``letters.basis``; :func:`stale_letters` compares it, and the
letter's template hash, with the campaign as it is now, so that approving and
sending can refuse a letter made before a change. Letters made before the
basis was recorded (``basis`` NULL) are taken as they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from outreach.schema import tables

#: The campaign settings in the basis, with the words used to name a change.
BASIS_FIELDS: dict[str, str] = {
    "template": "template",
    "followup_template": "follow-up template",
    "variables": "variables",
    "sender": "sender",
    "signatory": "signatory",
    "default_language": "default language",
}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def basis(campaign: Any) -> str:
    """SHA-256 (hex) of *campaign*'s template names, variables, sender,
    signatory and default language, as canonical JSON. *campaign* is a row or
    an ORM object (anything with those attributes)."""
    values = {
        "template": campaign.template or None,
        "followup_template": campaign.followup_template or None,
        "variables": dict(campaign.variables or {}),
        "sender": dict(campaign.sender or {}),
        "signatory": campaign.signatory or None,
        "default_language": campaign.default_language or "en",
    }
    text = json.dumps(_plain(values), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _changed_since(conn: sa.Connection, campaign_id: int, since: dt.datetime | None) -> list[str]:
    """The basis fields the campaign's edits changed after *since*, in the
    order of :data:`BASIS_FIELDS`, read from the activity log."""
    act = tables.activity
    stmt = sa.select(act.c.changes).where(
        act.c.entity == "campaign", act.c.entity_id == campaign_id, act.c.action == "update"
    )
    if since is not None:
        stmt = stmt.where(act.c.at >= since)
    seen: set[str] = set()
    for (changes,) in conn.execute(stmt):
        if isinstance(changes, Mapping):
            seen.update(k for k in changes if k in BASIS_FIELDS)
    return [BASIS_FIELDS[k] for k in BASIS_FIELDS if k in seen]


def stale_letters(conn: sa.Connection, campaign: Any, letters: Iterable[Any]) -> dict[int, str]:
    """{letter id: why it is out of date} for the *letters* (rows or objects
    with id, round, language, basis, template_hash, created_at) of *campaign*
    whose campaign settings or template sources changed since they were made.
    The reason names what changed and ends by saying to generate again."""
    letters = [letter for letter in letters if letter.basis is not None]
    if not letters:
        return {}
    current = basis(campaign)
    hashes = _template_hashes(campaign, letters)
    out: dict[int, str] = {}
    for letter in letters:
        what: list[str] = []
        if letter.basis != current:
            what = _changed_since(conn, campaign.id, letter.created_at) or [
                "the campaign's template, variables or sender"
            ]
        fresh = hashes.get((letter.round > 0, letter.language))
        if fresh is not None and fresh != letter.template_hash and "template" not in what:
            what.append("the template's text")
        if what:
            out[letter.id] = (
                f"{', '.join(what)} changed since letter {letter.id} was made: generate again"
            )
    return out


def _template_hashes(campaign: Any, letters: list[Any]) -> dict[tuple[bool, str], str | None]:
    """The current hash of each (reminder?, language) template the *letters*
    were made with, compiled from the campaign's stored templates folder
    (None when the template can no longer be compiled: the basis or the
    letter's own template name says more)."""
    from outreach.templating import TemplateSet

    wanted = {(letter.round > 0, letter.language) for letter in letters}
    out: dict[tuple[bool, str], str | None] = {}
    try:
        templates = TemplateSet(getattr(campaign, "templates_folder", None))
    except Exception:  # a folder gone: nothing to compare with
        return out
    default = campaign.default_language or "en"
    for reminder, language in wanted:
        name = campaign.followup_template if reminder else campaign.template
        if not name:
            continue
        try:
            out[(reminder, language)] = templates.compile(name, language, default).hash
        except Exception:  # a missing or broken template: not a stale letter by itself
            out[(reminder, language)] = None
    return out
