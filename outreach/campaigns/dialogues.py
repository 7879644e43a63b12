"""Dialogues: the UN meetings that campaigns work toward.

Every function takes an ORM ``session``, flushes when it needs ids and never
commits; every change leaves an activity row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.lookup import find_object
from outreach.campaigns.values import (
    apply_changes,
    check_slug,
    check_text,
    jsonable,
    parse_body,
    parse_date,
)
from outreach.db.activity import record_activity
from outreach.errors import ConflictError, ValidationError
from outreach.schema.models import Dialogue

DIALOGUE_FIELDS = (
    "body",
    "title",
    "theme",
    "date",
    "report_symbol",
    "states_spoke",
    "regional_orgs_spoke",
    "civil_society_spoke",
    "outcome_notes",
)


def get_dialogue(session: Session, ref: str | int) -> Dialogue:
    """The dialogue *ref* (id or slug) names, or :class:`NotFoundError`."""
    return find_object(session, Dialogue, ref, "dialogue")


def list_dialogues(session: Session) -> list[Dialogue]:
    return list(
        session.scalars(
            sa.select(Dialogue).order_by(
                Dialogue.date.is_(None), Dialogue.date.desc(), Dialogue.slug
            )
        )
    )


def _dialogue_values(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in DIALOGUE_FIELDS:
            raise ValidationError(f"dialogues have no field {key!r}")
        if key == "body":
            value = parse_body(value)
        elif key == "date":
            value = parse_date(value, "date", allow_tba=True)
        elif key == "title":
            value = check_text(value or "", "title")
            if not value:
                raise ValidationError("title: a dialogue needs a title")
        elif key in ("states_spoke", "regional_orgs_spoke", "civil_society_spoke"):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValidationError(f"{key}: give a whole number of speakers")
        elif isinstance(value, str):
            value = check_text(value, key, multiline=key == "outcome_notes") or None
        out[key] = value
    return out


def add_dialogue(session: Session, *, slug: str, title: str, **values: Any) -> Dialogue:
    slug = check_slug(slug, "dialogue")
    if session.scalar(sa.select(Dialogue.id).where(Dialogue.slug == slug)) is not None:
        raise ConflictError(f"dialogue {slug!r} exists already", hint="dialogues edit")
    clean = _dialogue_values({"title": title, **values})
    dialogue = Dialogue(slug=slug, **clean)
    session.add(dialogue)
    session.flush()
    record_activity(
        session,
        action="create",
        entity="dialogue",
        entity_id=dialogue.id,
        summary=f"dialogue {slug} added: {dialogue.title}",
    )
    return dialogue


def edit_dialogue(session: Session, ref: str | int, **values: Any) -> dict[str, list[Any]]:
    dialogue = get_dialogue(session, ref)
    clean = _dialogue_values(values)
    changes = apply_changes(dialogue, clean)
    if changes:
        record_activity(
            session,
            action="update",
            entity="dialogue",
            entity_id=dialogue.id,
            summary=f"dialogue {dialogue.slug} edited: {', '.join(changes)}",
            changes=jsonable(changes),
        )
    return changes
