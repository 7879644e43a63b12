"""Generating a campaign's letters, in named steps.

:func:`generate` renders one letter per recipient of a campaign, in the
recipient's language, and records each as a row of ``letters``. It is
idempotent: run again with nothing changed and it adds nothing; after the
template or a recipient changed, each unsent letter gets a new version and
the old one is kept, marked superseded; sent letters are never touched.

A template error stops the whole batch with the database as it was. Letters
are stored while later ones still render (:mod:`outreach.letters.pipeline`);
files (:mod:`outreach.letters.files`) are written from the returned letters
once the database work is done.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from outreach.batch import gc_paused
from outreach.campaigns.activation import activate
from outreach.db.activity import actor_of, record_activity
from outreach.db.bulk import row_writer
from outreach.directory.lookup import find_org_row, no_organization
from outreach.errors import ConflictError, ValidationError
from outreach.letters.basis import basis
from outreach.letters.checks import checker
from outreach.letters.jobs import (
    _LETTER,
    FROZEN,
    NO_ADDRESS,
    Job,
    channel_address,
    followup_jobs,
    load_campaign,
    one_per_round,
    recipient_jobs,
)
from outreach.letters.pipeline import render_jobs, scaled
from outreach.letters.references import assign_references
from outreach.letters.renderer import Renderer, message_ids
from outreach.letters.results import GenerateResult, Progress, Skipped
from outreach.render.doc import LetterDoc
from outreach.schema import tables
from outreach.schema.enums import CampaignStatus, Channel, LetterStatus
from outreach.schema.types import utcnow


def generate(
    conn: sa.Connection,
    *,
    campaign: str | int,
    channel: str | Channel | None = None,
    organizations: Sequence[str] = (),
    templates: str | os.PathLike[str] | None = None,
    followup: bool = False,
    after: dt.timedelta = dt.timedelta(days=14),
    now: dt.datetime | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
    date: dt.date | None = None,
) -> GenerateResult:
    """Render and record the letters of *campaign* (its slug or id), or its
    reminders with *followup*.

    *conn* is a Core connection in a writing transaction
    (:meth:`Database.write`); the caller commits. It is all or nothing: should
    anything fail, the transaction is left as it was (a savepoint), usable.

    No files are written here: once the transaction is committed, pass
    ``result.letters`` to :func:`outreach.letters.files.write_files`, so that
    no lock is held while long PDF or DOCX files are made.

    *progress*, if given, is called now and then as ``progress(done, total)``
    over the recipients considered (the skipped ones included), last with
    ``done == total``.

    Each letter goes by its own channel (:func:`outreach.letters.jobs.letter_channel`);
    *channel*, if given, only picks the letters that go by it: the others are
    left as they are and counted in ``result.other_channel``. *organizations*
    (acronyms), if given, limits the run to those organizations."""
    actor = actor_of(conn)
    # The letter's date (letters.dated, the templates' `today`): *date*, else today.
    today = date or today
    # Tens of thousands of small objects and no cycles: repeated collections
    # of the cyclic garbage collector would cost a tenth of the run.
    with gc_paused(), conn.begin_nested():
        result, total = _generate(
            conn,
            actor=actor,
            campaign=campaign,
            channel=channel,
            organizations=organizations,
            templates=templates,
            followup=followup,
            after=after,
            now=now,
            today=today,
            progress=progress,
        )
    if progress is not None:
        progress(total, total)
    return result


def _generate(
    conn: sa.Connection,
    *,
    actor: str,
    campaign: str | int,
    channel: str | Channel | None,
    organizations: Sequence[str],
    templates: str | os.PathLike[str] | None,
    followup: bool,
    after: dt.timedelta,
    now: dt.datetime | None,
    today: dt.date | None,
    progress: Progress | None,
) -> tuple[GenerateResult, int]:
    """The run, step by step: (result, how many recipients were considered)."""
    camp, dialogue = load_campaign(conn, campaign)
    if camp.status == CampaignStatus.CLOSED:
        raise ConflictError(f"campaign {camp.slug} is closed; clone it to start a new one")
    try:
        channel = Channel(channel) if channel is not None else None
    except ValueError:
        raise ValidationError(
            f"channel {channel!r}: use one of {', '.join(c.value for c in Channel)}",
            field="channel",
        ) from None
    only_orgs = _organization_ids(conn, organizations) if organizations else None
    template_name, jobs = _template_and_jobs(
        conn, camp, followup=followup, after=after, now=now, only_orgs=only_orgs
    )
    renderer = Renderer(
        camp,
        template_name,
        dialogue=dialogue,
        templates=templates if templates is not None else camp.templates_folder,
        today=today or dt.date.today(),
    )
    result = GenerateResult(campaign=camp.slug)
    existing, max_version, by_org = (
        _recorded(conn, camp.id, {job.round for job in jobs}) if jobs else ({}, {}, {})
    )
    # 1. Who gets a letter, at which address; the others are listed as skipped.
    todo, addresses, stale = _who_gets_a_letter(conn, camp, channel, jobs, existing, by_org, result)
    # Templates print the reference: each letter gets it before it renders, a
    # new version the one of the letter it revises, a new letter the next
    # number (given in this transaction: a failed run gives it back).
    assign_references(
        conn,
        camp,
        todo,
        existing,
        language_for=renderer.language_for,
        year=renderer.base["today"].year,
    )
    # 2. Render each letter, compare it with what is recorded and store it if
    # it is new or changed. A template error stops the batch: nothing is
    # inserted (PostgreSQL's COPY is aborted) and the transaction rolls back.
    now_ts = utcnow()
    supersede = [row.id for row, _note in stale]
    result.superseded = [note for _row, note in stale]
    language_counts = _store_letters(
        conn,
        camp,
        renderer,
        todo,
        addresses,
        existing,
        max_version,
        result,
        supersede=supersede,
        now_ts=now_ts,
        progress=scaled(progress, len(todo), len(jobs)),
    )
    # 3. Mark the replaced versions, number the new letters, log the run.
    _supersede(conn, actor, camp, supersede, stale, now_ts)
    if result.created + result.new_versions:
        _number_new_letters(conn, camp, result.letters, {job.round for job in todo})
        activate(conn, camp, actor=actor)
    if result.created + result.new_versions or supersede:
        _log_run(conn, actor, camp, result, followup, len(supersede), language_counts)
    return result, len(jobs)


def _template_and_jobs(
    conn: sa.Connection,
    camp: Any,
    *,
    followup: bool,
    after: dt.timedelta,
    now: dt.datetime | None,
    only_orgs: Sequence[int] | None = None,
) -> tuple[str, list[Job]]:
    """The template to render and the jobs: the recipients, or with
    *followup* the silent ones that are due a reminder."""
    if followup:
        if not camp.followup_template:
            raise ValidationError(
                f"campaign {camp.slug} has no follow-up template",
                hint=f"campaigns edit {camp.slug} --followup-template NAME",
            )
        return camp.followup_template, followup_jobs(conn, camp, after, now, only_orgs=only_orgs)
    if not camp.template:
        raise ValidationError(
            f"campaign {camp.slug} has no template",
            hint=f"campaigns edit {camp.slug} --template NAME",
        )
    return camp.template, recipient_jobs(conn, camp, only_orgs=only_orgs)


def _organization_ids(conn: sa.Connection, acronyms: Sequence[str]) -> list[int]:
    """The ids of the organizations with these acronyms (any case)."""
    ids = []
    for acronym in acronyms:
        row = find_org_row(conn, acronym, tables.organizations.c.id)
        if row is None:
            raise no_organization(conn, [acronym], field="org")
        ids.append(row.id)
    return ids


def _who_gets_a_letter(
    conn: sa.Connection,
    camp: Any,
    channel: Channel | None,
    jobs: Sequence[Job],
    existing: Mapping[tuple[int, int, int], Any],
    by_org: Mapping[tuple[int, int], list[Any]],
    result: GenerateResult,
) -> tuple[list[Job], list[str | None], list[tuple[Any, str]]]:
    """(jobs to render, their addresses, stale letters to supersede); the
    others go to ``result.skipped``, or, when they go by another channel than
    *channel* (if given), are left alone and counted in ``result.other_channel``.
    An organization gets one letter a round through its implicit (primary)
    contact (:func:`one_per_round`): the unsent letters to a contact it is no
    longer written to are superseded."""
    job_addresses: list[str | None] = []
    elsewhere: set[int] = set()
    for i, job in enumerate(jobs):
        address = None
        if job.skip is None and job.contact is not None and job.channel is not None:
            if channel is not None and job.channel != channel:
                # Left as it is (one_per_round keeps a job skipped for a
                # reason of its own): this run is for another channel.
                job.skip = f"goes by {job.channel.value}"
                elsewhere.add(i)
            else:
                usable, address = channel_address(job.channel, job.contact)
                if not usable:
                    job.skip = NO_ADDRESS.get(job.channel, "no address")
        job_addresses.append(address)
    stale = one_per_round(conn, camp, jobs, existing, by_org)
    todo: list[Job] = []
    addresses: list[str | None] = []
    for i, (job, address) in enumerate(zip(jobs, job_addresses, strict=True)):
        if i in elsewhere:
            result.other_channel += 1
            continue
        if job.skip is not None:
            result.skipped.append(
                Skipped(
                    acronym=job.org["acronym"],
                    organization_id=job.org["id"],
                    contact=job.contact["name"] if job.contact else None,
                    reason=job.skip,
                )
            )
            continue
        todo.append(job)
        addresses.append(address)
    return todo, addresses, stale


def _store_letters(
    conn: sa.Connection,
    camp: Any,
    renderer: Renderer,
    todo: Sequence[Job],
    addresses: Sequence[str | None],
    existing: Mapping[tuple[int, int, int], Any],
    max_version: Mapping[tuple[int, int], int],
    result: GenerateResult,
    *,
    supersede: list[int],
    now_ts: dt.datetime,
    progress: Progress | None,
) -> dict[str, int]:
    """Render *todo*, compare each letter with what is recorded and insert
    it if it is new or changed; fills ``result`` (counts, letters) and
    *supersede* (the versions replaced). Returns the new letters per language."""
    columns: tuple[str, ...] = _LETTER_COLUMNS
    next_id: int | None = None
    if conn.dialect.name == "sqlite":
        # Number the letters here, as SQLite would (one past the largest
        # id): the transaction holds the write lock, or the insert fails on a
        # changed snapshot. Saves reading 10,000 ids back.
        next_id = (conn.execute(sa.select(sa.func.max(_LETTER.id))).scalar() or 0) + 1
        columns = ("id", *_LETTER_COLUMNS)
    elif todo and conn.dialect.name == "postgresql" and _pg_has_lz4(conn):
        # Long letter bodies are stored compressed: LZ4 compresses them
        # several times faster than the default pglz (PostgreSQL 14+, this
        # transaction only; reading them back is the same).
        conn.exec_driver_sql("SET LOCAL default_toast_compression = 'lz4'")
    constants = {
        "campaign_id": camp.id,
        "status": LetterStatus.DRAFT,
        "created_at": now_ts,
        "updated_at": now_ts,
    }
    new_message_id = message_ids(camp)
    made_from = basis(camp)
    check = checker(renderer, camp)
    docs = result.letters
    language_counts: dict[str, int] = {}
    with (
        row_writer(conn, tables.letters, columns, constants) as write,
        contextlib.closing(render_jobs(renderer, todo, progress)) as rendered,
    ):
        for job, address, (compiled, text) in zip(todo, addresses, rendered, strict=True):
            key = (job.contact["id"], job.round)
            # (a contact moved from another organization starts afresh here)
            old = existing.get((job.org["id"], *key))
            channel = job.channel or Channel.EMAIL
            doc = renderer.doc(job, compiled, text, channel=channel, address=address)
            docs.append(doc)
            if old is not None and old.status in FROZEN:
                result.frozen += 1
                result.frozen_list.append(f"{doc.acronym} ({old.status.value})")
                _doc_from_row(doc, old)
                continue
            findings = check(job, doc)
            result.count_checks(doc, findings)
            if old is not None and (
                old.body == text.body
                and old.subject == text.subject
                and old.template_hash == compiled.hash
                and old.language == compiled.language
                and old.channel == channel
                and old.to_address == address
                and (old.cc or []) == job.cc
                and old.basis in (None, made_from)
                # (a letter from before references gets a version that has one)
                and old.reference == job.reference
            ):
                result.unchanged += 1
                doc.id, doc.version, doc.message_id = old.id, old.version, old.message_id or ""
                doc.date = old.dated or doc.date
                continue
            if old is not None:
                supersede.append(old.id)
                result.new_versions += 1
            else:
                result.created += 1
            doc.version = max_version.get(key, 0) + 1
            doc.message_id = new_message_id()
            row = (
                doc.organization_id,
                doc.contact_id,
                job.round,
                job.followup_of_id,
                doc.version,
                doc.language,
                doc.subject,
                doc.body,
                doc.template_name,
                doc.template_hash,
                address,
                doc.message_id,
                channel,
                job.cc or None,
                doc.date,
                made_from,
                findings,
                job.reference,
            )
            if next_id is not None:
                doc.id = next_id
                row = (next_id, *row)
                next_id += 1
            write(row)
            language_counts[doc.language] = language_counts.get(doc.language, 0) + 1
    return language_counts


def _supersede(
    conn: sa.Connection,
    actor: str,
    camp: Any,
    supersede: Sequence[int],
    stale: Sequence[tuple[Any, str]],
    now_ts: dt.datetime,
) -> None:
    """Mark the replaced versions superseded; a stale letter (its
    organization now written to through another contact) says why on the
    organization's history."""
    if supersede:
        table = tables.letters
        conn.execute(
            table.update()
            .where(table.c.id == sa.bindparam("old_id"))
            .values(superseded_at=now_ts, updated_at=now_ts),
            [{"old_id": i} for i in supersede],
        )
    for row, note in stale:
        # Rare (a recipient changed): a row each.
        record_activity(
            conn,
            actor=actor,
            action="supersede",
            entity="letter",
            entity_id=row.id,
            organization_id=row.organization_id,
            summary=f"campaign {camp.slug}: {note}",
            changes={"superseded_at": [None, now_ts.isoformat()]},
        )


def _number_new_letters(
    conn: sa.Connection, camp: Any, docs: Sequence[LetterDoc], rounds: set[int]
) -> None:
    """Give the new letters their ids, read back (PostgreSQL numbers them
    itself; on SQLite they were numbered as they were written)."""
    if all(doc.id is not None for doc in docs):
        return
    ids = {
        (org_id, contact_id, round_): letter_id
        for letter_id, org_id, contact_id, round_ in conn.execute(
            sa.select(_LETTER.id, _LETTER.organization_id, _LETTER.contact_id, _LETTER.round).where(
                _LETTER.campaign_id == camp.id,
                _LETTER.superseded_at.is_(None),
                _LETTER.round.in_(rounds),
            )
        ).all()
    }
    for doc in docs:
        if doc.id is None:
            doc.id = ids.get((doc.organization_id, doc.contact_id, doc.round))


def _log_run(
    conn: sa.Connection,
    actor: str,
    camp: Any,
    result: GenerateResult,
    followup: bool,
    superseded: int,
    language_counts: Mapping[str, int],
) -> None:
    """One activity row for the run (a row per letter would cost as much as
    the letters' own insert); the letters carry their own created_at."""
    kind = "reminders" if followup else "letters"
    record_activity(
        conn,
        actor=actor,
        action="generate",
        entity="campaign",
        entity_id=camp.id,
        summary=(
            f"campaign {camp.slug}: {result.created} new {kind}, {result.new_versions} new "
            f"versions, {result.unchanged} unchanged, {result.frozen} sent or cancelled, "
            f"{len(result.skipped)} skipped"
        ),
        changes={
            "created": [None, result.created],
            "new_versions": [None, result.new_versions],
            "superseded": [None, superseded],
            "language_counts": [None, dict(sorted(language_counts.items()))],
        },
    )


def _doc_from_row(doc: LetterDoc, row: Any) -> LetterDoc:
    doc.id = row.id
    doc.version = row.version
    doc.subject = row.subject
    doc.body = row.body
    doc.language = row.language
    doc.channel = row.channel.value
    doc.to_address = row.to_address
    doc.message_id = row.message_id or ""
    doc.date = row.dated or doc.date
    doc.reference = row.reference
    return doc


_LETTER_COLUMNS = (
    "organization_id",
    "contact_id",
    "round",
    "followup_of_id",
    "version",
    "language",
    "subject",
    "body",
    "template_name",
    "template_hash",
    "to_address",
    "message_id",
    "channel",
    "cc",
    "dated",
    "basis",
    "checks",
    "reference",
)


def _recorded(
    conn: sa.Connection, campaign_id: int, rounds: set[int]
) -> tuple[
    dict[tuple[int, int, int], Any], dict[tuple[int, int], int], dict[tuple[int, int], list[Any]]
]:
    """The campaign's current letters by (organization, contact, round), the
    highest version each (contact, round) has reached (versions are numbered
    per contact), and the current letters by (organization, round)."""
    existing: dict[tuple[int, int, int], Any] = {}
    max_version: dict[tuple[int, int], int] = {}
    by_org: dict[tuple[int, int], list[Any]] = {}
    stmt = sa.select(
        _LETTER.id,
        _LETTER.organization_id,
        _LETTER.contact_id,
        _LETTER.round,
        _LETTER.version,
        _LETTER.status,
        _LETTER.superseded_at,
        _LETTER.subject,
        _LETTER.body,
        _LETTER.language,
        _LETTER.channel,
        _LETTER.to_address,
        _LETTER.template_hash,
        _LETTER.message_id,
        _LETTER.cc,
        _LETTER.basis,
        _LETTER.dated,
        _LETTER.reference,
    ).where(
        _LETTER.campaign_id == campaign_id,
        _LETTER.round.in_(rounds),
        _LETTER.superseded_at.is_(None),
    )
    for row in conn.execute(stmt).all():
        existing[(row.organization_id, row.contact_id, row.round)] = row
        by_org.setdefault((row.organization_id, row.round), []).append(row)
    versions = (
        sa.select(_LETTER.contact_id, _LETTER.round, sa.func.max(_LETTER.version))
        .where(_LETTER.campaign_id == campaign_id, _LETTER.round.in_(rounds))
        .group_by(_LETTER.contact_id, _LETTER.round)
    )
    for contact_id, round_, version in conn.execute(versions).all():
        max_version[(contact_id, round_)] = version
    return existing, max_version, by_org


_LZ4: dict[str, bool] = {}


def _pg_has_lz4(conn: sa.Connection) -> bool:
    """Whether this PostgreSQL server can compress stored values with LZ4."""
    key = conn.engine.url.render_as_string()
    if key not in _LZ4:
        values = conn.exec_driver_sql(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
        ).scalar()
        _LZ4[key] = bool(values) and "lz4" in values
    return _LZ4[key]
