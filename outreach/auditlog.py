"""Reading the activity log: who changed what, when, and what it was before.

::

    with db.session() as session:
        for entry in activity_log(session, org="AU", since=parse_since("2024-03-01")):
            print(entry.at, entry.actor, entry.what, entry.change_text)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.directory.lookup import acronym_suggestion
from outreach.directory.records import org_by_acronym
from outreach.errors import NotFoundError, ValidationError
from outreach.schema.models import Activity, Organization
from outreach.when import parse_moment


def parse_since(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """A moment, as aware UTC, in the forms of :func:`outreach.when.parse_moment`
    (``2024-03-01``, ``2024-03-01 09:30`` in local time, ``7d``, ``12h``...)."""
    return parse_moment(text, now=now)


@dataclasses.dataclass(frozen=True)
class LogEntry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    organization: str | None
    summary: str | None
    changes: dict[str, Any] | None

    @property
    def what(self) -> str:
        """``letter 42``, or just the entity when it has no id."""
        return self.entity if self.entity_id is None else f"{self.entity} {self.entity_id}"

    @property
    def change_list(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every recorded edit, in field order."""
        out = []
        for field, value in (self.changes or {}).items():
            if isinstance(value, list | tuple) and len(value) == 2:
                out.append((field, value[0], value[1]))
            else:
                out.append((field, None, value))
        return out

    @property
    def change_text(self) -> str:
        """``name: 'Old' -> 'New'; tags: [] -> ['ecowas']``."""
        return "; ".join(
            f"{field}: {_show(before)} -> {_show(after)}"
            for field, before, after in self.change_list
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "actor": self.actor,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "organization": self.organization,
            "summary": self.summary,
            "changes": {
                field: {"before": before, "after": after}
                for field, before, after in self.change_list
            },
        }


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _entity_filter(text: str) -> Any:
    """``letter``, ``letters`` or ``letter:42``."""
    name, _, ident = text.strip().partition(":")
    name = name.strip().casefold()
    if not name:
        raise ValidationError(f"--entity {text!r}: name an entity, e.g. letter or letter:42")
    names = {name, name.removesuffix("s")}
    if name.endswith("ies"):
        names.add(name[:-3] + "y")
    clause = sa.func.lower(Activity.entity).in_(sorted(names))
    if ident.strip():
        try:
            clause = sa.and_(clause, Activity.entity_id == int(ident))
        except ValueError:
            raise ValidationError(
                f"--entity {text!r}: the part after ':' must be a record number"
            ) from None
    return clause


def activity_log(
    session: Session,
    *,
    org: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    entity: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[LogEntry]:
    """Activity rows, newest first, filtered as the arguments say.

    *org* is an acronym (any case): rows concerning that organization, and
    changes to the organization record itself. *limit* ``None`` or 0 means all.
    """
    query = sa.select(Activity, Organization.acronym).outerjoin(
        Organization, Organization.id == Activity.organization_id
    )
    if org is not None:
        organization = org_by_acronym(session, org)
        if organization is None:
            near = acronym_suggestion(session, org)
            raise NotFoundError(f"no organization with acronym {org!r}{near}", hint="orgs list")
        found = organization.id
        query = query.where(
            sa.or_(
                Activity.organization_id == found,
                sa.and_(Activity.entity == "organization", Activity.entity_id == found),
            )
        )
    if since is not None:
        query = query.where(Activity.at >= since)
    if until is not None:
        query = query.where(Activity.at < until)
    if entity:
        query = query.where(_entity_filter(entity))
    if actor:
        query = query.where(sa.func.lower(Activity.actor) == actor.strip().casefold())
    if action:
        query = query.where(sa.func.lower(Activity.action) == action.strip().casefold())
    query = query.order_by(Activity.at.desc(), Activity.id.desc())
    if limit:
        query = query.limit(limit)
    entries = []
    for row, acronym in session.execute(query):
        if acronym is None and row.entity == "organization" and row.entity_id is not None:
            acronym = session.execute(
                sa.select(Organization.acronym).where(Organization.id == row.entity_id)
            ).scalar()
        entries.append(
            LogEntry(
                id=row.id,
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity=row.entity,
                entity_id=row.entity_id,
                organization=acronym,
                summary=row.summary,
                changes=row.changes if isinstance(row.changes, dict) else None,
            )
        )
    return entries
