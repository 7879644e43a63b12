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
from dataclasses import dataclass, field
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
    _json_text(_ORG.i18n),
    _ORG.parent_id,
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
    _CONTACT.honorific,
    _raw(_CONTACT.preferred_channel),
    _json_text(_CONTACT.i18n),
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


def _json_dict(text: str | None) -> dict[str, Any]:
    """A JSON object column read as text (``{}`` when empty or not an object)."""
    if not text:
        return {}
    if not isinstance(text, str):
        return dict(text)
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def org_context(row: Any) -> Record:
    oid, acronym, name, kind, region, city, country, languages, website, tags, _gone = row[:11]
    i18n, parent_id = (row[11], row[12]) if len(row) > 11 else (None, None)
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
        parent_id=parent_id,
        # the text per language; the renderer turns it into the letter's language
        i18n=_json_dict(i18n),
    )


# positions in a CONTACT_COLS row
_C_ID, _C_ORG, _C_PRIMARY, _C_DNC, _C_GONE = 0, 1, 10, 11, 12


def contact_context(row: Any) -> Record:
    cid, _org, kind, name, position, salutation, email, postal, phone, language = row[:10]
    honorific, channel, i18n = row[13:16] if len(row) > 13 else (None, None, None)
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
        honorific=honorific,
        preferred_channel=channel,
        i18n=_json_dict(i18n),
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


def letter_channel(contact: Mapping[str, Any]) -> tuple[Channel | None, str | None]:
    """(channel, reason) of a letter to *contact*: the contact's preferred
    channel, else e-mail when they have an address, else post when they have a
    postal address; with neither, no channel and why."""
    preferred = contact.get("preferred_channel")
    if preferred:
        return Channel(preferred), None
    if contact.get("email"):
        return Channel.EMAIL, None
    if contact.get("postal_address"):
        return Channel.POST, None
    return None, "no e-mail or postal address"


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
    #: How the letter goes (:func:`letter_channel`); None when it cannot.
    channel: Channel | None = None
    #: Who the letter is copied to: [{"contact_id", "name", "email", "position"}].
    cc: list[dict[str, Any]] = field(default_factory=list)
    #: The letter's reference number (outreach.letters.references), set before rendering.
    reference: str | None = None


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
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
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


def _contacts_by_org(
    conn: sa.Connection, campaign: Any, only_orgs: Sequence[int] | None
) -> dict[int, list[Any]]:
    """The contacts (CONTACT_COLS rows) of the campaign's organizations."""
    recipient_orgs = sa.select(_RECIPIENT.organization_id).where(
        _RECIPIENT.campaign_id == campaign.id
    )
    stmt = (
        sa.select(*CONTACT_COLS)
        .where(_CONTACT.organization_id.in_(recipient_orgs))
        .order_by(_CONTACT.id)
    )
    if only_orgs is not None:
        stmt = stmt.where(_CONTACT.organization_id.in_(list(only_orgs)))
    by_org: dict[int, list[Any]] = {}
    for c in _driver_rows(conn, stmt):
        found = by_org.get(c[_C_ORG])
        if found is None:
            by_org[c[_C_ORG]] = [c]
        else:
            found.append(c)
    return by_org


def _contact_rows(conn: sa.Connection, ids: Sequence[int]) -> list[Any]:
    return list(conn.execute(sa.select(*CONTACT_COLS).where(_CONTACT.id.in_(list(ids)))).all())


def cc_entry(contact: Mapping[str, Any]) -> dict[str, Any]:
    """How a copied contact is recorded on a letter (``letters.cc``)."""
    return {
        "contact_id": contact["id"],
        "name": contact["name"],
        "email": contact.get("email"),
        "position": contact.get("position"),
    }


def _copied(cc_ids: Sequence[int], contacts: Sequence[Any]) -> list[dict[str, Any]]:
    """The cc entries of an organization: its copied contacts that may still
    be written to (not archived, forgotten or marked do-not-contact)."""
    rows = {c[_C_ID]: c for c in contacts}
    out = []
    for cid in cc_ids:
        row = rows.get(cid)
        if row is not None and not row[_C_GONE] and not row[_C_DNC]:
            out.append(cc_entry(contact_context(row)))
    return out


def _with_channel(job: Job) -> Job:
    """*job* with its channel (or a reason to skip, when it has none)."""
    if job.contact is not None:
        job.channel, reason = letter_channel(job.contact)
        if job.skip is None and reason is not None:
            job.skip = reason
    return job


def recipient_jobs(
    conn: sa.Connection,
    campaign: Any,
    only_org: int | None = None,
    *,
    only_orgs: Sequence[int] | None = None,
) -> list[Job]:
    """A job per addressee: each contact the campaign names as ``to`` gets
    its own letter; an organization-level row writes to the primary contact
    (unless that contact is named as well). Every letter of an organization
    is copied to its ``cc`` contacts."""
    if only_org is not None:
        only_orgs = [only_org]
    n = len(ORG_COLS)
    stmt = (
        sa.select(*ORG_COLS, _RECIPIENT.contact_id, _raw(_RECIPIENT.role))
        .join(tables.organizations, _RECIPIENT.organization_id == _ORG.id)
        .where(_RECIPIENT.campaign_id == campaign.id)
        .order_by(_ORG.acronym_key, _RECIPIENT.id)
    )
    if only_orgs is not None:
        stmt = stmt.where(_ORG.id.in_(list(only_orgs)))
    rows: dict[int, tuple[Any, list[int | None], list[int]]] = {}
    for row in _driver_rows(conn, stmt):
        org_row, contact_id, role = row[:n], row[n], row[n + 1]
        found = rows.setdefault(org_row[0], (org_row, [], []))
        (found[2] if role == "cc" else found[1]).append(contact_id)
    by_org = _contacts_by_org(conn, campaign, only_orgs)
    jobs = []
    for org_id, (org_row, to_ids, cc_ids) in rows.items():
        org = org_context(org_row)
        if org_row[10]:  # archived
            jobs.append(Job(org=org, contact=None, skip="organization archived"))
            continue
        contacts = by_org.get(org_id, [])
        cc = _copied(cc_ids, contacts)
        named = [cid for cid in to_ids if cid is not None]
        org_jobs = []
        for override in named:
            chosen, reason = choose_contact(override, contacts)
            contact = contact_context(chosen) if chosen is not None else None
            org_jobs.append(Job(org=org, contact=contact, skip=reason, explicit=True))
        if None in to_ids:
            chosen, reason = choose_contact(None, contacts)
            if chosen is None or chosen[_C_ID] not in named:
                contact = contact_context(chosen) if chosen is not None else None
                org_jobs.append(Job(org=org, contact=contact, skip=reason))
        if not to_ids:
            org_jobs.append(Job(org=org, contact=None, skip="only copied contacts, no addressee"))
        for job in org_jobs:
            own = job.contact["id"] if job.contact else None
            job.cc = [entry for entry in cc if entry["contact_id"] != own]
            jobs.append(_with_channel(job))
    return jobs


def followup_jobs(
    conn: sa.Connection,
    campaign: Any,
    after: dt.timedelta,
    now: dt.datetime | None,
    *,
    only_orgs: Sequence[int] | None = None,
) -> list[Job]:
    """A job per contact due a reminder: by the channel of the letter it
    reminds about (unless the contact now prefers another), copied to the
    organization's cc contacts."""
    due = due_followups(conn, campaign=campaign.id, after=after, now=now)
    if only_orgs is not None:
        due = [d for d in due if d.organization_id in set(only_orgs)]
    if not due:
        return []
    originals = {
        r.id: r
        for r in conn.execute(
            sa.select(
                _LETTER.id, _LETTER.subject, _LETTER.language, _LETTER.sent_at, _LETTER.channel
            ).where(_LETTER.id.in_([d.original_letter_id for d in due]))
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
    named: set[tuple[int, int]] = set()
    cc_ids: dict[int, list[int]] = {}
    for org_id, contact_id, role in conn.execute(
        sa.select(_RECIPIENT.organization_id, _RECIPIENT.contact_id, _raw(_RECIPIENT.role))
        .where(_RECIPIENT.campaign_id == campaign.id, _RECIPIENT.contact_id.is_not(None))
        .order_by(_RECIPIENT.id)
    ):
        if role == "cc":
            cc_ids.setdefault(org_id, []).append(contact_id)
        else:
            named.add((org_id, contact_id))
    copied = {
        org_id: _copied(ids, _contact_rows(conn, ids))
        for org_id, ids in cc_ids.items()
        if org_id in org_ids
    }
    jobs = []
    for d in due:
        original = originals[d.original_letter_id]
        c = contacts[d.contact_id]
        skip = None
        if c.do_not_contact:
            skip = "do not contact"
        elif c.gone:
            skip = "the contact is archived or removed"
        contact = contact_context(c)
        preferred = contact.get("preferred_channel")
        jobs.append(
            Job(
                org=orgs[d.organization_id],
                contact=contact,
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
                explicit=(d.organization_id, d.contact_id) in named,
                gone=bool(c.gone),
                channel=Channel(preferred) if preferred else Channel(original.channel),
                cc=[
                    e for e in copied.get(d.organization_id, []) if e["contact_id"] != d.contact_id
                ],
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
    # Contacts the campaign names get their own letter: they are no rival of
    # the implicit (primary) contact's.
    named: dict[tuple[int, int], set[int]] = {}
    for job in jobs:
        if job.explicit and job.contact is not None:
            named.setdefault((job.org["id"], job.round), set()).add(job.contact["id"])
    writer: dict[tuple[int, int], Job] = {}
    for job in jobs:
        if job.skip is None and job.contact is not None and not job.explicit:
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
            others = named.get(key, set())
            went = [
                r
                for r in by_org.get(key, ())
                if r.contact_id != contact_id and r.contact_id not in others and r.status in _WENT
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
