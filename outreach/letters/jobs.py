"""Who gets which letter, where: the recipients (or the silent ones, for
reminders) read through Core as jobs, the contact chosen for each, and the
rule of one current letter per organization and round.

Generation works on Core tables (``outreach.schema.tables``): it reads rows,
never objects, and does not load the ORM.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from outreach.campaigns.lookup import find_campaign_row
from outreach.letters.followups import due_followups
from outreach.schema import tables
from outreach.schema.enums import REGION_LABELS, Channel, LetterStatus
from outreach.templating import Record

#: Letters that generation never rewrites.
FROZEN = frozenset({LetterStatus.SENT, LetterStatus.SENDING, LetterStatus.CANCELLED})
#: Letters that may still be approved or cancelled.
UNSENT = frozenset({LetterStatus.DRAFT, LetterStatus.APPROVED, LetterStatus.FAILED})

#: Letters that went, or may have gone, to their recipient.
_WENT = frozenset({LetterStatus.SENT, LetterStatus.SENDING})

_ORG = tables.organizations.c
_CONTACT = tables.contacts.c
_RECIPIENT = tables.campaign_recipients.c
_LETTER = tables.letters.c


def load_campaign(conn: sa.Connection, ref: str | int) -> tuple[Any, Any]:
    """(campaign row, dialogue row or None) by id or slug, read through Core."""
    row = find_campaign_row(conn, ref)
    dialogue = None
    if row.dialogue_id is not None:
        dialogues = tables.dialogues
        dialogue = conn.execute(
            sa.select(dialogues).where(dialogues.c.id == row.dialogue_id)
        ).first()
    return row, dialogue


def _raw(column: Any) -> Any:
    """*column* read as plain text: no enum conversion per row."""
    return sa.type_coerce(column, sa.String()).label(column.key)


def _json_text(column: Any) -> Any:
    """A JSON *column* read as its text, parsed (and cached) here: the driver
    would parse every row's value, and the same few lists repeat."""
    return sa.cast(column, sa.Text()).label(column.key)


# Loaded with as little per-row conversion as possible: 10,000 recipients
# must render and store in well under a second.
ORG_COLS = (
    _ORG.id,
    _ORG.acronym,
    _ORG.name,
    _raw(_ORG.kind),
    _raw(_ORG.region),
    _ORG.hq_city,
    _ORG.hq_country,
    _json_text(_ORG.languages),
    _ORG.website,
    _json_text(_ORG.tags),
    _ORG.archived_at.is_not(None).label("archived"),
)
CONTACT_COLS = (
    _CONTACT.id,
    _CONTACT.organization_id,
    _raw(_CONTACT.kind),
    _CONTACT.name,
    _CONTACT.position,
    _CONTACT.salutation,
    _CONTACT.email,
    _CONTACT.postal_address,
    _CONTACT.phone,
    _CONTACT.language,
    _CONTACT.is_primary,
    _CONTACT.do_not_contact,
    sa.or_(_CONTACT.archived_at.is_not(None), _CONTACT.forgotten_at.is_not(None)).label("gone"),
)
_REGION_LABELS = {region.value: label for region, label in REGION_LABELS.items()}


_JSON_CACHE: dict[str, list[Any]] = {}


def _json_list(text: str | None) -> list[Any]:
    """A JSON list column read as text (the same few values repeat: cached)."""
    if not text:
        return []
    if not isinstance(text, str):
        return list(text)
    found = _JSON_CACHE.get(text)
    if found is None:
        value = json.loads(text)
        found = value if isinstance(value, list) else []
        if len(_JSON_CACHE) < 10_000:
            _JSON_CACHE[text] = found
    return list(found)


def org_context(row: Any) -> Record:
    oid, acronym, name, kind, region, city, country, languages, website, tags, _gone = row
    return Record(
        id=oid,
        acronym=acronym,
        name=name,
        kind=kind,
        region=region,
        region_label=_REGION_LABELS.get(region),
        hq_city=city,
        hq_country=country,
        languages=_json_list(languages),
        website=website,
        tags=_json_list(tags),
    )


# positions in a CONTACT_COLS row
_C_ID, _C_ORG, _C_PRIMARY, _C_DNC, _C_GONE = 0, 1, 10, 11, 12


def contact_context(row: Any) -> Record:
    cid, _org, kind, name, position, salutation, email, postal, phone, language = row[:10]
    return Record(
        id=cid,
        kind=kind,
        name=name,
        position=position,
        salutation=salutation,
        email=email,
        postal_address=postal,
        phone=phone,
        language=language,
    )


def channel_address(channel: Channel, contact: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(usable, address) for sending by *channel* to *contact*."""
    if channel == Channel.EMAIL:
        return bool(contact.get("email")), contact.get("email")
    if channel == Channel.POST:
        return bool(contact.get("postal_address")), contact.get("postal_address")
    if channel in (Channel.FAX, Channel.PHONE):
        return bool(contact.get("phone")), contact.get("phone")
    if channel == Channel.HAND:
        return True, contact.get("postal_address")
    return True, None


NO_ADDRESS = {
    Channel.EMAIL: "no e-mail address",
    Channel.POST: "no postal address",
    Channel.FAX: "no fax or phone number",
    Channel.PHONE: "no phone number",
}


@dataclass
class Job:
    org: dict[str, Any]
    contact: dict[str, Any] | None
    round: int = 0
    followup_of_id: int | None = None
    followup: dict[str, Any] | None = None
    preferred_language: str | None = None
    skip: str | None = None
    #: The campaign names this contact for the organization (``campaigns
    #: add-recipients --contact``): it may get a letter of a round the
    #: organization already got through another contact.
    explicit: bool = False
    #: The contact is archived or forgotten (reminders: the letter went to them).
    gone: bool = False


def choose_contact(override: int | None, contacts: list[Any]) -> tuple[Any | None, str | None]:
    """The contact to write to (a CONTACT_COLS row), or a reason to skip."""
    if override is not None:
        chosen = next((c for c in contacts if c[_C_ID] == override), None)
        if chosen is None or chosen[_C_GONE]:
            return None, "the chosen contact is archived or removed"
        if chosen[_C_DNC]:
            return chosen, "do not contact"
        return chosen, None
    if len(contacts) == 1:  # the common case
        only = contacts[0]
        if only[_C_GONE]:
            return None, "no contact"
        return (only, "do not contact") if only[_C_DNC] else (only, None)
    live = [c for c in contacts if not c[_C_GONE]]
    if not live:
        return None, "no contact"
    usable = [c for c in live if not c[_C_DNC]]
    if not usable:
        return live[0], "do not contact"
    usable.sort(key=lambda c: (not c[_C_PRIMARY], c[_C_ID]))
    return usable[0], None


def _driver_rows(conn: sa.Connection, stmt: sa.Select) -> list[tuple[Any, ...]]:
    """The rows of *stmt* as the driver returns them (plain tuples): for the
    ORG_COLS and CONTACT_COLS, which need no result conversion, this skips
    SQLAlchemy's per-row work on 10,000-recipient campaigns."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    args: Any = (
        tuple(params[name] for name in compiled.positiontup or ())
        if compiled.positional
        else params
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, args)
        return cursor.fetchall()
    finally:
        cursor.close()


def recipient_jobs(conn: sa.Connection, campaign: Any, only_org: int | None = None) -> list[Job]:
    stmt = (
        sa.select(*ORG_COLS, _RECIPIENT.contact_id.label("override"))
        .join(tables.organizations, _RECIPIENT.organization_id == _ORG.id)
        .where(_RECIPIENT.campaign_id == campaign.id)
        .order_by(_ORG.acronym_key)
    )
    if only_org is not None:
        stmt = stmt.where(_ORG.id == only_org)
    orgs = _driver_rows(conn, stmt)
    contact_stmt = (
        sa.select(*CONTACT_COLS)
        .join(
            tables.campaign_recipients,
            sa.and_(
                _RECIPIENT.organization_id == _CONTACT.organization_id,
                _RECIPIENT.campaign_id == campaign.id,
            ),
        )
        .order_by(_CONTACT.id)
    )
    if only_org is not None:
        contact_stmt = contact_stmt.where(_CONTACT.organization_id == only_org)
    by_org: dict[int, list[Any]] = {}
    for c in _driver_rows(conn, contact_stmt):
        org_id = c[_C_ORG]
        found = by_org.get(org_id)
        if found is None:
            by_org[org_id] = [c]
        else:
            found.append(c)
    jobs = []
    for row in orgs:
        org = org_context(row[:-1])
        if row[-2]:  # archived
            jobs.append(Job(org=org, contact=None, skip="organization archived"))
            continue
        chosen, reason = choose_contact(row[-1], by_org.get(row[0], []))
        contact = contact_context(chosen) if chosen is not None else None
        explicit = chosen is not None and row[-1] is not None and chosen[_C_ID] == row[-1]
        jobs.append(Job(org=org, contact=contact, skip=reason, explicit=explicit))
    return jobs


def followup_jobs(
    conn: sa.Connection, campaign: Any, after: dt.timedelta, now: dt.datetime | None
) -> list[Job]:
    due = due_followups(conn, campaign=campaign.id, after=after, now=now)
    if not due:
        return []
    originals = {
        r.id: r
        for r in conn.execute(
            sa.select(_LETTER.id, _LETTER.subject, _LETTER.language, _LETTER.sent_at).where(
                _LETTER.id.in_([d.original_letter_id for d in due])
            )
        )
    }
    org_ids = {d.organization_id for d in due}
    orgs = {
        r.id: org_context(r) for r in conn.execute(sa.select(*ORG_COLS).where(_ORG.id.in_(org_ids)))
    }
    contacts = {
        r.id: r
        for r in conn.execute(
            sa.select(*CONTACT_COLS).where(_CONTACT.id.in_([d.contact_id for d in due]))
        )
    }
    named = dict(
        conn.execute(
            sa.select(_RECIPIENT.organization_id, _RECIPIENT.contact_id).where(
                _RECIPIENT.campaign_id == campaign.id, _RECIPIENT.contact_id.is_not(None)
            )
        ).all()
    )
    jobs = []
    for d in due:
        original = originals[d.original_letter_id]
        c = contacts[d.contact_id]
        skip = None
        if c.do_not_contact:
            skip = "do not contact"
        elif c.gone:
            skip = "the contact is archived or removed"
        jobs.append(
            Job(
                org=orgs[d.organization_id],
                contact=contact_context(c),
                round=d.followups_sent + 1,
                followup_of_id=d.original_letter_id,
                followup={
                    "round": d.followups_sent + 1,
                    "original_subject": original.subject,
                    "original_sent_at": original.sent_at,
                    "last_sent_at": d.last_sent_at,
                    "days_waiting": d.days_waiting,
                },
                preferred_language=original.language,
                skip=skip,
                explicit=named.get(d.organization_id) == d.contact_id,
                gone=bool(c.gone),
            )
        )
    return jobs


def _round_label(round_: int) -> str:
    return "letter" if round_ == 0 else f"reminder {round_}"


def _writer_rank(job: Job) -> tuple[bool, int, int]:
    """Which of several jobs for one organization and round writes: the
    contact the campaign names, else the one who got the earliest letter."""
    return (not job.explicit, job.followup_of_id or 0, job.contact["id"] if job.contact else 0)


def one_per_round(
    conn: sa.Connection,
    campaign: Any,
    jobs: Sequence[Job],
    existing: Mapping[tuple[int, int, int], Any],
    by_org: Mapping[tuple[int, int], list[Any]],
) -> list[tuple[Any, str]]:
    """Keep one current letter per organization and round.

    An organization is written to through one contact a round: the one the
    campaign names, else its primary contact (which may change between runs:
    a new primary, the old one archived or forgotten). So:

    * a job whose organization already got this round's letter through
      another contact (sent, or in doubt), or that another job of this run
      writes to, is skipped with a reason saying so, unless the campaign
      names the job's contact (then it is meant to be written to as well);
    * the current unsent letters of the round to contacts the organization
      is no longer written to are returned, with why, to be superseded (a
      sent letter stays as it is: it is history).

    Sets ``skip`` on the jobs it holds back."""
    names: dict[int, str] = {}

    def name_of(contact_id: int) -> str:
        if contact_id not in names:
            names[contact_id] = (
                conn.scalar(sa.select(_CONTACT.name).where(_CONTACT.id == contact_id))
                or f"contact #{contact_id}"
            )
        return names[contact_id]

    # Reminders are one job per contact that got the letter: should two
    # contacts of one organization be due, one is written to, the contact the
    # campaign names first, else the one who got the earliest letter.
    writer: dict[tuple[int, int], Job] = {}
    for job in jobs:
        if job.skip is None and job.contact is not None:
            key = (job.org["id"], job.round)
            best = writer.get(key)
            if best is None or _writer_rank(job) < _writer_rank(best):
                writer[key] = job
    kept: dict[tuple[int, int], set[int]] = {}
    why: dict[tuple[int, int], str] = {}
    acronyms: dict[tuple[int, int], str] = {}
    for job in jobs:
        key = (job.org["id"], job.round)
        keep = kept.setdefault(key, set())
        acronym = acronyms[key] = job.org["acronym"]
        if job.contact is None:
            why.setdefault(key, f"{acronym} has no one to write to ({job.skip})")
            continue
        if job.gone:
            why.setdefault(key, f"{job.contact['name']} is archived or removed")
            continue
        contact_id = job.contact["id"]
        if job.skip is None and not job.explicit:
            own = existing.get((job.org["id"], contact_id, job.round))
            went = [
                r for r in by_org.get(key, ()) if r.contact_id != contact_id and r.status in _WENT
            ]
            reason = None
            if own is not None and own.status in FROZEN:
                pass  # generation leaves this contact's own letter alone anyway
            elif went:
                first = min(went, key=lambda r: r.id)
                what = f"{_round_label(job.round)} (letter {first.id})"
                if job.round == 0:
                    what = f"letter {first.id}"
                if first.status == LetterStatus.SENT:
                    reason = f"{what} already sent to {name_of(first.contact_id)}"
                else:
                    reason = (
                        f"{what} may already have gone to {name_of(first.contact_id)} "
                        "(in doubt: `outreach letters confirm` or `outreach letters resend` it)"
                    )
            elif writer[key] is not job:
                other = writer[key].contact or {}
                reason = f"{_round_label(job.round)} goes to {other.get('name')} in this run"
            if reason is not None:
                job.skip = (
                    f"{reason}; not writing to {job.contact['name']} as well (to write to "
                    f"them too: `outreach campaigns add-recipients {campaign.slug} "
                    f"{shlex.quote(acronym)} --contact {contact_id}`, then generate again)"
                )
                why.setdefault(key, reason)
                continue
        # Written to, or skipped for a reason of its own (do not contact, no
        # address): its letter, if any, is left as it was.
        keep.add(contact_id)
        why[key] = f"{acronym} is now written to {job.contact['name']}"
    stale = []
    for key, keep in kept.items():
        for row in by_org.get(key, ()):
            if row.status in UNSENT and row.contact_id not in keep:
                note = (
                    f"{acronyms[key]}: letter {row.id} to {name_of(row.contact_id)} "
                    f"({row.status.value}) superseded: {why[key]}"
                )
                stale.append((row, note))
    return stale
