"""Writing a plan: bulk inserts of new organizations and contacts, grouped
updates, the one-primary rule and the activity rows, in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from outreach.db.activity import actor_of, record_activities
from outreach.db.bulk import insert_rows
from outreach.directory.importing.planner import (
    MATCH_CONTACT_COLUMNS,
    MATCH_ORG_COLUMNS,
    Planner,
)
from outreach.directory.records import one_primary_each
from outreach.schema.models import Contact, ContactKind, Organization, OrgKind
from outreach.schema.types import utcnow

# --- writing --------------------------------------------------------------------


def _ev(value: Any) -> Any:
    return value.value if value is not None and hasattr(value, "value") else value


#: Columns of the bulk inserts, in the order the rows are built: the columns
#: read for matching, less the id (and forgotten_at), plus the timestamps.
_NEW_ORG_COLUMNS = (*MATCH_ORG_COLUMNS[1:-1], "created_at", "updated_at")
_NEW_CONTACT_COLUMNS = (*MATCH_CONTACT_COLUMNS[1:-1], "created_at", "updated_at")


def apply_plan(planner: Planner, source: str) -> None:
    """Write what *planner* planned, in its session's transaction; *source*
    (the file's name) is named in the activity log."""
    session = planner.session
    now = utcnow()
    actor = actor_of(session)
    activity: list[list[Any]] = []

    def log(action: str, entity: str, entity_id: Any, org_id: Any, summary: str, changes=None):
        activity.append([now, actor, action, entity, entity_id, org_id, summary, changes])

    acronyms: dict[int, str] = {o.id: o.values["acronym"] for o in planner.orgs_by_id.values()}
    _insert_organizations(planner, now, log, source, acronyms)
    _update_organizations(planner, now, log, source)
    _set_parents(planner)
    _insert_contacts(planner, now, log, source, acronyms)
    _update_contacts(planner, now, log, source)
    one_primary_each(session.connection(), _made_primary(planner), now, log)
    record_activities(session.connection(), activity)


def _insert_organizations(
    planner: Planner, now: Any, log: Callable[..., None], source: str, acronyms: dict[int, str]
) -> None:
    """The new organizations, in one bulk insert; their ids go back into the plan."""
    if not planner.new_orgs:
        return
    session = planner.session
    org_table = Organization.__table__
    rows = []
    for key, org in planner.new_orgs.items():
        v = org.values
        rows.append(
            [
                v["acronym"],
                key,
                v["name"],
                _ev(v.get("kind") or OrgKind.OTHER),
                _ev(v.get("region")),
                v.get("hq_city"),
                v.get("hq_country"),
                v.get("languages") or [],
                v.get("website"),
                v.get("tags") or [],
                v.get("notes"),
                v.get("i18n") or {},
                now,
                now,
            ]
        )
    insert_rows(session.connection(), org_table, _NEW_ORG_COLUMNS, rows)
    # All keys, not an IN list: thousands of new organizations would pass
    # SQLite's limit on bound parameters.
    ids = dict(session.execute(sa.select(org_table.c.acronym_key, org_table.c.id)).all())
    for key, org in planner.new_orgs.items():
        org.id = ids[key]
        acronyms[org.id] = org.values["acronym"]
        log(
            "create",
            "organization",
            org.id,
            org.id,
            f"imported organization {org.values['acronym']} from {source}",
        )


def _update_organizations(
    planner: Planner, now: Any, log: Callable[..., None], source: str
) -> None:
    org_table = Organization.__table__
    for org, values, changes in planner.org_updates:
        update = {k: v for k, v in values.items() if k in changes and k != "parent"}
        if "acronym" in update:
            update["acronym_key"] = update["acronym"].casefold()
        update["updated_at"] = now
        planner.session.execute(sa.update(org_table).where(org_table.c.id == org.id).values(update))
        log(
            "update",
            "organization",
            org.id,
            org.id,
            f"updated organization {values['acronym']} from {source}: {', '.join(changes)}",
            changes,
        )


def _set_parents(planner: Planner) -> None:
    """Parents, once every organization of the file has its id: the new
    organizations' and the changed ones'."""
    org_table = Organization.__table__
    params = [
        {"_id": org.id, "parent_id": org.values["_parent"].id}
        for org in planner.new_orgs.values()
        if org.values.get("_parent") is not None
    ]
    params += [
        {"_id": org.id, "parent_id": parent.id if parent is not None else None}
        for org, parent in planner.parent_updates
    ]
    if params:
        planner.session.connection().execute(
            sa.update(org_table)
            .where(org_table.c.id == sa.bindparam("_id"))
            .values(parent_id=sa.bindparam("parent_id")),
            params,
        )


def _insert_contacts(
    planner: Planner, now: Any, log: Callable[..., None], source: str, acronyms: dict[int, str]
) -> None:
    """The new contacts, in one bulk insert; one activity row per organization."""
    if not planner.new_contacts:
        return
    rows = []
    per_org: dict[int, int] = {}
    person = ContactKind.PERSON.value
    for v in planner.new_contacts:
        org_id = v["_org"].id
        per_org[org_id] = per_org.get(org_id, 0) + 1
        email = v.get("email")
        kind = v.get("kind")
        rows.append(
            [
                org_id,
                kind.value if kind else person,
                v["name"],
                v.get("position"),
                v.get("salutation"),
                email,
                email.casefold() if email else None,
                v.get("phone"),
                v.get("postal_address"),
                v.get("language"),
                bool(v.get("is_primary")),
                bool(v.get("do_not_contact")),
                v.get("do_not_contact_reason"),
                v.get("tags") or [],
                v.get("notes"),
                v.get("honorific"),
                _ev(v.get("preferred_channel")),
                v.get("i18n") or {},
                now,
                now,
            ]
        )
    insert_rows(planner.session.connection(), Contact.__table__, _NEW_CONTACT_COLUMNS, rows)
    for org_id, n in per_org.items():
        log(
            "import",
            "contact",
            None,
            org_id,
            f"imported {n} contact(s) at {acronyms[org_id]} from {source}",
        )


def _update_contacts(planner: Planner, now: Any, log: Callable[..., None], source: str) -> None:
    """Updates, grouped by the set of columns they change: one executemany each."""
    contact_table = Contact.__table__
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for match, values, changes in planner.contact_updates:
        update = {k: values[k] for k in changes if k != "organization"}
        if "organization" in changes:
            update["organization_id"] = values["_org"].id
        if "email" in update:
            update["email_key"] = update["email"].casefold()
        update["updated_at"] = now
        cols = tuple(sorted(update))
        groups.setdefault(cols, []).append({"_id": match["id"], **update})
        log(
            "update",
            "contact",
            match["id"],
            values["_org"].id,
            f"updated contact {values.get('name') or match['name']} from {source}: "
            + ", ".join(changes),
            changes,
        )
    for cols, params in groups.items():
        stmt = (
            sa.update(contact_table)
            .where(contact_table.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in cols})
        )
        planner.session.connection().execute(stmt, params)


def _made_primary(planner: Planner) -> set[int]:
    """Organizations where the import made a contact primary: there the
    one-primary rule (:func:`~outreach.directory.records.one_primary_each`)
    lets it replace the one the organization had, as `contacts edit --primary` does."""
    orgs = {v["_org"].id for v in planner.new_contacts if v.get("is_primary")}
    for match, values, changes in planner.contact_updates:
        primary = values.get("is_primary")
        if primary is None:
            primary = bool(match.get("is_primary"))
        if primary and ("is_primary" in changes or "organization" in changes):
            orgs.add(values["_org"].id)
    return orgs
