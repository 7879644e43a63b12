"""Finding organizations and contacts, their fields as plain records, and the
rules every change keeps: one primary contact per organization, changes
recorded as ``{field: [before, after]}``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Set
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.db.activity import record_activity
from outreach.directory.fields import BOOL_FIELDS, LIST_FIELDS
from outreach.directory.lookup import acronym_key, acronym_suggestion
from outreach.errors import NotFoundError
from outreach.schema.models import Contact, Organization
from outreach.schema.types import json_value

# --- lookups --------------------------------------------------------------------


def org_by_acronym(session: Session, acronym: str) -> Organization | None:
    return session.scalar(
        sa.select(Organization).where(Organization.acronym_key == acronym_key(acronym))
    )


def find_organization(session: Session, ref: str | int) -> Organization | None:
    """The organization with this acronym (any case), id or exact full name."""
    if isinstance(ref, int):
        return session.get(Organization, ref)
    text = str(ref).strip()
    org = org_by_acronym(session, text)
    if org is not None:
        return org
    if text.isdigit():
        org = session.get(Organization, int(text))
        if org is not None:
            return org
    matches = [
        o
        for o in session.scalars(
            sa.select(Organization).where(sa.func.lower(Organization.name) == text.lower())
        )
    ]
    if not matches:
        # lower() is ASCII-only on SQLite: compare folded names in Python.
        folded = text.casefold()
        matches = [
            o for o in session.scalars(sa.select(Organization)) if o.name.casefold() == folded
        ]
    return matches[0] if len(matches) == 1 else None


def get_organization(session: Session, ref: str | int) -> Organization:
    """Like :func:`find_organization` but raises :class:`NotFoundError`."""
    org = find_organization(session, ref)
    if org is None:
        near = "" if isinstance(ref, int) else acronym_suggestion(session, ref)
        raise NotFoundError(f"no organization {ref!r}{near}", hint="orgs list --search ...")
    return org


def find_contact(session: Session, ref: str | int) -> Contact | None:
    """The contact with this e-mail (any case) or id (``12`` or ``#12``)."""
    if isinstance(ref, int):
        return session.get(Contact, ref)
    text = str(ref).strip()
    if "@" in text:
        return session.scalar(sa.select(Contact).where(Contact.email_key == text.casefold()))
    digits = text.lstrip("#")
    if digits.isdigit():
        return session.get(Contact, int(digits))
    return None


def get_contact(session: Session, ref: str | int) -> Contact:
    contact = find_contact(session, ref)
    if contact is None:
        raise NotFoundError(
            f"no contact {ref!r}: give an e-mail address or a contact id",
            hint="contacts list",
        )
    return contact


# --- records --------------------------------------------------------------------


def org_record(org: Organization) -> dict[str, Any]:
    """The organization's fields as plain values (what exports write)."""
    return {
        "acronym": org.acronym,
        "name": org.name,
        "kind": org.kind.value if org.kind else None,
        "region": org.region.value if org.region else None,
        "hq_city": org.hq_city,
        "hq_country": org.hq_country,
        "languages": list(org.languages or []),
        "website": org.website,
        "tags": list(org.tags or []),
        "notes": org.notes,
        "parent": org.parent.acronym if org.parent is not None else None,
        "i18n": {lang: dict(entry) for lang, entry in (org.i18n or {}).items()},
    }


def contact_record(contact: Contact) -> dict[str, Any]:
    """The contact's fields as plain values; ``organization`` is the acronym."""
    return {
        "organization": contact.organization.acronym,
        "kind": contact.kind.value if contact.kind else None,
        "name": contact.name,
        "position": contact.position,
        "salutation": contact.salutation,
        "email": contact.email,
        "phone": contact.phone,
        "postal_address": contact.postal_address,
        "language": contact.language,
        "is_primary": bool(contact.is_primary),
        "do_not_contact": bool(contact.do_not_contact),
        "do_not_contact_reason": contact.do_not_contact_reason,
        "tags": list(contact.tags or []),
        "notes": contact.notes,
        "honorific": contact.honorific,
        "preferred_channel": contact.preferred_channel.value if contact.preferred_channel else None,
        "i18n": {lang: dict(entry) for lang, entry in (contact.i18n or {}).items()},
    }


def jsonable_record(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: json_value(v) for k, v in record.items()}


# --- changes --------------------------------------------------------------------


def apply_changes(obj: Any, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if isinstance(new, list):
            old = list(old or [])
        if old != new:
            changes[field] = [json_value(old), json_value(new)]
            setattr(obj, field, new)
    return changes


def references(
    session: Session, letter_column: Any, response_column: Any, ref_id: int
) -> dict[str, int]:
    """How many letters and responses point at *ref_id* through these columns
    (``Letter.contact_id``, ``Response.contact_id``; or the organization's)."""
    counts = {}
    for key, column in (("letters", letter_column), ("responses", response_column)):
        total = session.scalar(
            sa.select(sa.func.count()).select_from(column.class_).where(column == ref_id)
        )
        counts[key] = total or 0
    return counts


def move_rows(session: Session, model: Any, column: Any, old: int, new: int) -> int:
    result = session.execute(
        sa.update(model).where(column == old).values({column.key: new}),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0


def matches_any(haystack: Iterable[str | None], needle: str) -> bool:
    return any(needle in h.casefold() for h in haystack if h)


def tag_keys_of(tag: str | Iterable[str] | None) -> set[str]:
    """The tags a list filter asks for (any of them will do), compared
    without case; an empty set when none is asked for."""
    tags = [tag] if isinstance(tag, str) else list(tag or ())
    return {t.strip().casefold() for t in tags if t and t.strip()}


# --- merging --------------------------------------------------------------------


def fill_from(
    keep: Any,
    drop: Any,
    fields: Iterable[str],
    *,
    skip: Iterable[str],
    empty: tuple[Any, ...] = (None, ""),
) -> dict[str, Any]:
    """The fields a merge takes from *drop* into *keep*: lists are united
    (*keep*'s items first), a flag is set if *drop* has it, and a value *keep*
    lacks (one of *empty*) is filled in."""
    skipped = set(skip)
    fill: dict[str, Any] = {}
    for field in fields:
        if field in skipped:
            continue
        mine, theirs = getattr(keep, field), getattr(drop, field)
        if field in LIST_FIELDS:
            union = list(mine or []) + [x for x in theirs or [] if x not in (mine or [])]
            if union != list(mine or []):
                fill[field] = union
        elif field in BOOL_FIELDS:
            if theirs and not mine:
                fill[field] = True
        elif mine in empty and theirs not in empty:
            fill[field] = theirs
    return fill


def record_edit(
    session: Session,
    *,
    entity: str,
    entity_id: int,
    organization_id: int,
    what: str,
    changes: Mapping[str, list[Any]],
) -> None:
    """The activity row of an edit of *what* (flushed first), with
    ``[before, after]`` for each changed field."""
    session.flush()
    record_activity(
        session,
        action="update",
        entity=entity,
        entity_id=entity_id,
        organization_id=organization_id,
        summary=f"edited {what}: {', '.join(changes)}",
        changes=changes,
    )


def record_merge(
    session: Session,
    *,
    entity: str,
    entity_id: int,
    organization_id: int,
    what: str,
    moved: Mapping[str, int],
    dropped: Mapping[str, Any],
    changes: Mapping[str, list[Any]],
) -> None:
    """The activity row of a merge: *what* was merged into what, how many rows
    of each kind moved, and the record of the one that was dropped."""
    record_activity(
        session,
        action="merge",
        entity=entity,
        entity_id=entity_id,
        organization_id=organization_id,
        summary=f"merged {what}: " + ", ".join(f"{n} {k}" for k, n in moved.items()),
        changes={"merged_from": [jsonable_record(dropped), None], **changes},
    )


def finish_merge(
    session: Session,
    keep: Any,
    drop: Any,
    *,
    fill: Mapping[str, Any],
    entity: str,
    organization_id: int,
    what: str,
    moved: dict[str, int],
    dropped: Mapping[str, Any],
    after_delete: Callable[[], None] | None = None,
) -> dict[str, int]:
    """The end of every merge, once its rows have moved to *keep*: *drop* is
    deleted, *after_delete* runs, *keep* takes *fill* (only now, so a value
    that must be unique, such as an e-mail, is free) and the merge is logged.
    Returns *moved*."""
    session.expire_all()  # the bulk updates before this bypassed the loaded objects
    session.delete(drop)
    session.flush()
    if after_delete is not None:
        after_delete()
    changes = apply_changes(keep, fill)
    session.flush()
    record_merge(
        session,
        entity=entity,
        entity_id=keep.id,
        organization_id=organization_id,
        what=what,
        moved=moved,
        dropped=dropped,
        changes=changes,
    )
    return moved


# --- removing -------------------------------------------------------------------


def record_archive(
    session: Session,
    *,
    entity: str,
    entity_id: int,
    organization_id: int,
    summary: str,
    at: dt.datetime,
) -> None:
    """The activity row of archiving a record at *at* (flushed first)."""
    session.flush()
    record_activity(
        session,
        action="archive",
        entity=entity,
        entity_id=entity_id,
        organization_id=organization_id,
        summary=summary,
        changes={"archived_at": [None, at.isoformat()]},
    )


def record_removal(
    session: Session,
    *,
    entity: str,
    entity_id: int,
    organization_id: int,
    summary: str,
    record: Mapping[str, Any],
) -> None:
    """The activity row of deleting a record: the *record*'s values that were
    set, each as ``[value, None]``."""
    record_activity(
        session,
        action="remove",
        entity=entity,
        entity_id=entity_id,
        organization_id=organization_id,
        summary=summary,
        changes={k: [json_value(v), None] for k, v in record.items() if v not in (None, [], False)},
    )


# --- one primary contact --------------------------------------------------------


def _demoted() -> dict[str, list[bool]]:
    """What a demoted contact's activity row records as changed (a new dict each time)."""
    return {"is_primary": [True, False]}


def primary_demotions(chosen: Any, primaries: Iterable[Any]) -> list[tuple[Any, str]]:
    """The rule: an organization has one primary contact. *chosen* (the one just
    made primary) stays primary; every other contact in *primaries* stops being
    primary. Returns ``(other, activity summary)`` for each one to demote.

    Works on ORM contacts and on Core rows alike (anything with ``id`` and
    ``name``): :func:`only_primary` and :func:`one_primary_each` share it.
    """
    return [
        (other, f"{other.name} is no longer the primary contact ({chosen.name} is)")
        for other in primaries
        if other.id != chosen.id
    ]


def only_primary(session: Session, contact: Contact) -> None:
    """*contact* is its organization's primary contact: the others stop being
    primary (the ORM entry point, for one change at a time)."""
    others = session.scalars(
        sa.select(Contact).where(
            Contact.organization_id == contact.organization_id,
            Contact.is_primary.is_(True),
            Contact.id != contact.id,
        )
    )
    for other, summary in primary_demotions(contact, others):
        other.is_primary = False
        record_activity(
            session,
            action="update",
            entity="contact",
            entity_id=other.id,
            organization_id=other.organization_id,
            summary=summary,
            changes=_demoted(),
        )
    session.flush()


#: ``log(action, entity, entity_id, organization_id, summary, changes)``: how a
#: bulk writer collects its activity rows.
ActivityLog = Callable[[str, str, Any, Any, str, Any], None]


def one_primary_each(
    conn: sa.Connection, org_ids: Set[int], touched_at: dt.datetime, log: ActivityLog
) -> None:
    """The set-based entry point, for a bulk import: in each organization of
    *org_ids* that now has several primary contacts, the one written at
    *touched_at* (the newest if several) stays primary and the others stop
    being primary, as :func:`only_primary` does for one change. Each demotion
    is handed to *log*."""
    if not org_ids:
        return
    table = Contact.__table__
    primaries: dict[int, list[sa.Row[Any]]] = {}
    for row in conn.execute(
        sa.select(table.c.id, table.c.organization_id, table.c.name, table.c.updated_at).where(
            table.c.is_primary.is_(True)
        )
    ):
        if row.organization_id in org_ids:
            primaries.setdefault(row.organization_id, []).append(row)
    demote = []
    for org_id, rows in primaries.items():
        if len(rows) < 2:
            continue
        # The one this import touched (the newest if several), then the others.
        rows.sort(key=lambda r: (r.updated_at == touched_at, r.id), reverse=True)
        for other, summary in primary_demotions(rows[0], rows[1:]):
            demote.append({"_id": other.id})
            log("update", "contact", other.id, org_id, summary, _demoted())
    if demote:
        conn.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("_id"))
            .values(is_primary=False, updated_at=touched_at),
            demote,
        )
