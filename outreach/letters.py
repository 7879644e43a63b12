"""Generating, previewing and reviewing campaign letters.

:func:`generate` renders one letter per recipient of a campaign, in the
recipient's language, and records each as a :class:`~outreach.models.Letter`.
It is idempotent: run again with nothing changed and it adds nothing; after
the template or a recipient changed, each unsent letter gets a new version
and the old one is kept, marked superseded; sent letters are never touched.

Everything is rendered before anything is written, so a template error stops
the whole batch with the database as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import pickle
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa

from outreach import tables
from outreach.activity import actor_of, record_activity
from outreach.addresses import FALLBACK_DOMAIN, ascii_domain
from outreach.batch import gc_paused
from outreach.enums import REGION_LABELS, CampaignStatus, Channel, LetterStatus
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.templating import Record, Rendered, TemplateError
from outreach.types import utcnow, variables_for_template

if TYPE_CHECKING:  # generating letters never loads the ORM
    from sqlalchemy.orm import Session

    from outreach.models import Letter

#: Letters that generation never rewrites.
FROZEN = frozenset({LetterStatus.SENT, LetterStatus.SENDING, LetterStatus.CANCELLED})
#: Letters that may still be approved or cancelled.
UNSENT = frozenset({LetterStatus.DRAFT, LetterStatus.APPROVED, LetterStatus.FAILED})

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Skipped:
    """A recipient that got no letter, and why."""

    acronym: str
    organization_id: int
    contact: str | None
    reason: str


@dataclass
class LetterDoc:
    """A rendered letter with what the output formats need."""

    acronym: str
    organization: str
    contact: str
    contact_email: str | None
    language: str
    subject: str
    body: str
    channel: str
    to_address: str | None
    message_id: str
    sender: dict[str, Any]
    round: int
    campaign: str
    version: int = 1
    id: int | None = None
    organization_id: int | None = None
    contact_id: int | None = None
    template_name: str = ""
    template_hash: str = ""
    date: dt.date | None = None


@dataclass
class GenerateResult:
    campaign: str
    created: int = 0
    new_versions: int = 0
    unchanged: int = 0
    frozen: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    letters: list[LetterDoc] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    #: Letters left alone because they were sent or cancelled, as "ACR (status)".
    frozen_list: list[str] = field(default_factory=list)
    #: Unsent letters superseded because their organization is now written
    #: to through another contact (or no one), each saying so.
    superseded: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.new_versions + self.unchanged + self.frozen


# --- loading ------------------------------------------------------------------------

# Generation works on Core tables (outreach.tables): it reads and inserts
# rows, never objects, and does not load the ORM.
_ORG = tables.organizations.c
_CONTACT = tables.contacts.c
_RECIPIENT = tables.campaign_recipients.c
_LETTER = tables.letters.c
_CAMPAIGN = tables.campaigns.c


def load_campaign(conn: sa.Connection, ref: str | int) -> tuple[Any, Any]:
    """(campaign row, dialogue row or None) by id or slug, read through Core."""
    row = None
    if isinstance(ref, int) or str(ref).isdigit():
        row = conn.execute(sa.select(tables.campaigns).where(_CAMPAIGN.id == int(ref))).first()
    if row is None:
        row = conn.execute(
            sa.select(tables.campaigns).where(_CAMPAIGN.slug == str(ref).strip())
        ).first()
    if row is None:
        raise NotFoundError(f"no campaign {ref!r}: see `outreach campaigns list`")
    dialogue = None
    if row.dialogue_id is not None:
        dialogues = tables.dialogues
        dialogue = conn.execute(
            sa.select(dialogues).where(dialogues.c.id == row.dialogue_id)
        ).first()
    return row, dialogue


def _activate(conn: sa.Connection, campaign: Any, actor: str) -> None:
    """A draft campaign becomes active with its first letters (Core form of
    :func:`outreach.campaigns.activate_campaign`)."""
    if campaign.status != CampaignStatus.DRAFT:
        return
    conn.execute(
        tables.campaigns.update()
        .where(_CAMPAIGN.id == campaign.id)
        .values(status=CampaignStatus.ACTIVE, updated_at=utcnow())
    )
    record_activity(
        conn,
        actor=actor,
        action="update",
        entity="campaign",
        entity_id=campaign.id,
        summary=f"campaign {campaign.slug} is active",
        changes={"status": ["draft", "active"]},
    )


def _raw(column: Any) -> Any:
    """*column* read as plain text: no enum conversion per row."""
    return sa.type_coerce(column, sa.String()).label(column.key)


def _json_text(column: Any) -> Any:
    """A JSON *column* read as its text, parsed (and cached) here: the driver
    would parse every row's value, and the same few lists repeat."""
    return sa.cast(column, sa.Text()).label(column.key)


# Loaded with as little per-row conversion as possible: 10,000 recipients
# must render and store in well under a second.
_ORG_COLS = (
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
_CONTACT_COLS = (
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


def _org_context(row: Any) -> Record:
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


# positions in a _CONTACT_COLS row
_C_ID, _C_ORG, _C_PRIMARY, _C_DNC, _C_GONE = 0, 1, 10, 11, 12


def _contact_context(row: Any) -> Record:
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


def _dialogue_context(dialogue: Any) -> Record | None:
    if dialogue is None:
        return None
    return Record(
        slug=dialogue.slug,
        body=dialogue.body.value,
        title=dialogue.title,
        theme=dialogue.theme,
        date=dialogue.date,
        report_symbol=dialogue.report_symbol,
    )


def _campaign_context(campaign: Any, variables: dict[str, Any]) -> Record:
    return Record(
        slug=campaign.slug,
        title=campaign.title,
        signatory=campaign.signatory,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        variables=Record(variables),
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


_NO_ADDRESS = {
    Channel.EMAIL: "no e-mail address",
    Channel.POST: "no postal address",
    Channel.FAX: "no fax or phone number",
    Channel.PHONE: "no phone number",
}


@dataclass
class _Job:
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


def _choose_contact(override: int | None, contacts: list[Any]) -> tuple[Any | None, str | None]:
    """The contact to write to (a _CONTACT_COLS row), or a reason to skip."""
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
    _ORG_COLS and _CONTACT_COLS, which need no result conversion, this skips
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


def _recipient_jobs(
    conn: sa.Connection, campaign: Any, only_org: int | None = None
) -> list[_Job]:
    stmt = (
        sa.select(*_ORG_COLS, _RECIPIENT.contact_id.label("override"))
        .join(tables.organizations, _RECIPIENT.organization_id == _ORG.id)
        .where(_RECIPIENT.campaign_id == campaign.id)
        .order_by(_ORG.acronym_key)
    )
    if only_org is not None:
        stmt = stmt.where(_ORG.id == only_org)
    orgs = _driver_rows(conn, stmt)
    contact_stmt = (
        sa.select(*_CONTACT_COLS)
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
        org = _org_context(row[:-1])
        if row[-2]:  # archived
            jobs.append(_Job(org=org, contact=None, skip="organization archived"))
            continue
        chosen, reason = _choose_contact(row[-1], by_org.get(row[0], []))
        contact = _contact_context(chosen) if chosen is not None else None
        explicit = chosen is not None and row[-1] is not None and chosen[_C_ID] == row[-1]
        jobs.append(_Job(org=org, contact=contact, skip=reason, explicit=explicit))
    return jobs


def _followup_jobs(
    conn: sa.Connection, campaign: Any, after: dt.timedelta, now: dt.datetime | None
) -> list[_Job]:
    from outreach.followups import due_followups

    due = due_followups(conn, campaign_id=campaign.id, after=after, now=now)
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
        r.id: _org_context(r)
        for r in conn.execute(sa.select(*_ORG_COLS).where(_ORG.id.in_(org_ids)))
    }
    contacts = {
        r.id: r
        for r in conn.execute(
            sa.select(*_CONTACT_COLS).where(_CONTACT.id.in_([d.contact_id for d in due]))
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
            _Job(
                org=orgs[d.organization_id],
                contact=_contact_context(c),
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


# --- rendering ------------------------------------------------------------------------


class _Renderer:
    """Compiles a campaign's template once per language and renders jobs."""

    def __init__(
        self,
        campaign: Any,
        template_name: str,
        *,
        dialogue: Any = None,
        templates: str | os.PathLike[str] | None,
        today: dt.date,
        language: str | None = None,
    ) -> None:
        from outreach.templating import TemplateSet, sender_context

        self.set = TemplateSet(templates)
        self.set.check_name(template_name)
        self.name = template_name
        self.default = campaign.default_language or "en"
        self.forced = language
        self._languages: dict[tuple[Any, ...], str] = {}
        variables = variables_for_template(dict(campaign.variables or {}))
        self.base = {
            # Jinja's globals (range, namespace, ...) go in once here, so each
            # letter's context is used as it is (no per-letter merge).
            **self.set.env.globals,
            **variables,
            "vars": variables,
            "campaign": _campaign_context(campaign, variables),
            "dialogue": _dialogue_context(dialogue),
            "sender": sender_context(campaign.sender, campaign.signatory),
            "today": today,
        }

    def doc(
        self, job: _Job, compiled: Any, text: Any, *, channel: Channel, address: str | None
    ) -> LetterDoc:
        """*job*'s rendered letter, as generation records it and the output
        formats write it (no id, version or Message-ID yet)."""
        return LetterDoc(
            acronym=job.org["acronym"],
            organization=job.org["name"],
            contact=job.contact["name"],
            contact_email=job.contact.get("email"),
            language=compiled.language,
            subject=text.subject,
            body=text.body,
            channel=channel.value,
            to_address=address,
            message_id="",
            sender=self.base["sender"],
            round=job.round,
            campaign=self.base["campaign"]["slug"],
            organization_id=job.org["id"],
            contact_id=job.contact["id"],
            template_name=compiled.filename,
            template_hash=compiled.hash,
            date=self.base["today"],
        )

    def language_for(self, job: _Job) -> str:
        if self.forced:
            return self.forced
        key = (
            job.preferred_language,
            job.contact.get("language") if job.contact else None,
            tuple(job.org["languages"]),
        )
        found = self._languages.get(key)
        if found is None:
            found = self._languages[key] = self._choose(job)
        return found

    def _choose(self, job: _Job) -> str:
        contact_lang = job.contact.get("language") if job.contact else None
        preferred = [job.preferred_language] if job.preferred_language else []
        first = next(
            (
                lang
                for lang in [*preferred, contact_lang]
                if lang
                and (lang == self.default or self.set.exists(self.set.filename(self.name, lang)))
            ),
            None,
        )
        if first:
            return first
        return self.set.choose_language(
            self.name,
            default=self.default,
            contact_language=None,
            org_languages=job.org["languages"],
        )

    def render(self, job: _Job) -> tuple[Any, Any]:
        from outreach.templating import render

        language = self.language_for(job)
        compiled = self.set.compile(self.name, language, self.default)
        context = dict(self.base)
        context["organization"] = job.org
        context["contact"] = job.contact
        context["language"] = language
        context["followup"] = job.followup
        return compiled, render(compiled, context, recipient=lambda: _who(job))


def _who(job: _Job) -> str:
    """The recipient named in a template error message."""
    who = job.org["acronym"]
    if job.contact and job.contact.get("name"):
        who += f" ({job.contact['name']})"
    return who


#: Batches smaller than this render in one process: starting another would
#: cost more than it saves.
PARALLEL_MIN = 1000
#: Letters per message from the rendering process.
PIPE_CHUNK = 200


class TemplateInfo(NamedTuple):
    """What is recorded about the template a letter was rendered from."""

    language: str
    filename: str
    hash: str


def _pipeline_ok(count: int) -> bool:
    """Whether to render *count* letters in a second process: for large
    batches, with a second CPU, where a process can be forked safely."""
    if count < PARALLEL_MIN or not hasattr(os, "fork") or sys.platform == "darwin":
        return False
    if threading.active_count() > 1:  # forking a process with threads is unsafe
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        cpus = os.cpu_count() or 1
    return cpus > 1


def _scaled(progress: Progress | None, part: int, whole: int) -> Progress | None:
    """*progress* over *whole* recipients, called with counts of the *part*
    that get a letter (the skipped ones need no rendering)."""
    if progress is None or part == whole or not part:
        return progress
    return lambda done: progress(done * whole // part)


def _render_jobs(
    renderer: _Renderer, jobs: Sequence[_Job], progress: Progress | None
) -> Iterator[tuple[Any, Any]]:
    """Each job's (template, rendered letter), in the jobs' order.

    A large batch is rendered in a forked process that sends the letters back
    as it makes them, while this one compares and stores them: rendering and
    storing, about equal work, then run side by side on two CPUs. Should that
    process fail in any way, or meet a template error, this one renders what
    it did not send, so the result (or the error, naming its template, line
    and recipient) is the same as rendering here."""
    count = len(jobs)
    step = max(count // 100, 1)
    done = 0
    if _pipeline_ok(count):
        pid, fd = _fork_renderer(renderer, jobs)
        finished = False
        try:
            with open(fd, "rb") as stream:
                for templates, letters in _messages(stream):
                    for language, subject, body in letters:
                        yield templates[language], Rendered(subject, body)
                        if progress is not None and done % step == 0:
                            progress(done)
                        done += 1
            finished = True
        finally:
            _end_helper(pid, kill=not finished)
    for i in range(done, count):
        yield renderer.render(jobs[i])
        if progress is not None and i % step == 0:
            progress(i)


def _fork_renderer(renderer: _Renderer, jobs: Sequence[_Job]) -> tuple[int, int]:
    """Fork a process that renders *jobs* in order and writes them to a pipe,
    PIPE_CHUNK at a time, as pickled ({language: TemplateInfo}, [(language,
    subject, body), ...]); it stops at the first template error. Returns
    (process id, read end of the pipe)."""
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(AttributeError, OSError):
        # a larger pipe (Linux), so the renderer seldom waits for the reader
        import fcntl

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    pid = os.fork()
    if pid:
        os.close(write_fd)
        return pid, read_fd
    # The rendering process. It never returns, never touches the database
    # connection it inherited, and leaves with os._exit, so nothing of the
    # parent's (connections, buffered output, atexit hooks) is closed or
    # flushed twice.
    status = 1
    try:
        # A host application's handlers are not this process's business, and
        # the inherited connections must not outlive the parent: close every
        # descriptor but the pipe and the standard three.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.closerange(3, write_fd)
        os.closerange(write_fd + 1, _max_fd())
        with open(write_fd, "wb") as pipe:
            templates: dict[str, TemplateInfo] = {}
            letters: list[tuple[str, str, str]] = []
            limit = PIPE_CHUNK // 8  # a small first message: the parent starts sooner
            for job in jobs:
                try:
                    compiled, text = renderer.render(job)
                except TemplateError:
                    break  # the parent renders from here and reports the error
                language = compiled.language
                if language not in templates:
                    templates[language] = TemplateInfo(language, compiled.filename, compiled.hash)
                letters.append((language, text.subject, text.body))
                if len(letters) >= limit:
                    pickle.dump((templates, letters), pipe, protocol=pickle.HIGHEST_PROTOCOL)
                    letters = []
                    limit = PIPE_CHUNK
            if letters:
                pickle.dump((templates, letters), pipe, protocol=pickle.HIGHEST_PROTOCOL)
        status = 0
    finally:
        os._exit(status)


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 20)
    except (AttributeError, ValueError, OSError):  # pragma: no cover
        return 4096


def _messages(stream: Any) -> Iterator[tuple[dict[str, TemplateInfo], list[Any]]]:
    """The messages a rendering process wrote, up to the end of the pipe or
    the first damaged one (a process killed half-way)."""
    while True:
        try:
            message = pickle.load(stream)
        except Exception:  # EOFError at the end; anything else: cut short
            return
        yield message


def _end_helper(pid: int, *, kill: bool) -> None:
    """Wait for a rendering process to end, first stopping it if its letters
    are no longer wanted."""
    if kill:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)


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


#: Letters that went, or may have gone, to their recipient.
_WENT = frozenset({LetterStatus.SENT, LetterStatus.SENDING})


def _round_label(round_: int) -> str:
    return "letter" if round_ == 0 else f"reminder {round_}"


def _writer_rank(job: _Job) -> tuple[bool, int, int]:
    """Which of several jobs for one organization and round writes: the
    contact the campaign names, else the one who got the earliest letter."""
    return (not job.explicit, job.followup_of_id or 0, job.contact["id"] if job.contact else 0)


def _one_per_round(
    conn: sa.Connection,
    campaign: Any,
    jobs: Sequence[_Job],
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
    writer: dict[tuple[int, int], _Job] = {}
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
                r
                for r in by_org.get(key, ())
                if r.contact_id != contact_id and r.status in _WENT
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


def _message_ids(campaign: Any) -> Callable[[], str]:
    """A maker of unique Message-IDs in the sender's domain."""
    email = str((campaign.sender or {}).get("email") or "")
    domain = ascii_domain(email.rsplit("@", 1)[1]) if "@" in email else FALLBACK_DOMAIN
    domain = "".join(ch for ch in domain if ch.isalnum() or ch in ".-") or FALLBACK_DOMAIN
    suffix = f".{campaign.slug}@{domain}>"
    pool: list[str] = []

    def make() -> str:
        # 128 random bits each, drawn from the OS in batches (uuid4 one by one
        # is a measurable share of a 10,000-letter run)
        if not pool:
            raw = os.urandom(16 * 1024).hex()
            pool.extend(raw[i : i + 32] for i in range(0, len(raw), 32))
        return f"<{pool.pop()}{suffix}"

    return make


def _message_id(campaign: Any) -> str:
    return _message_ids(campaign)()


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


#: Rows per executemany on SQLite.
INSERT_CHUNK = 1000


@contextlib.contextmanager
def row_writer(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    constants: Mapping[str, Any],
) -> Iterator[Callable[[tuple[Any, ...]], None]]:
    """A function that inserts one row into *table*, for a block.

    On PostgreSQL each row goes straight into a ``COPY`` (opened at the first
    row), so the server stores letters while the next ones are still being
    rendered; on SQLite the rows are inserted by executemany, a chunk at a
    time. An exception in the block inserts nothing either way (the
    ``COPY`` is aborted; the caller's transaction rolls back).

    Only the *constants* (the same for every row) are converted through their
    column types, once; the per-row values must already be what the driver
    takes (str, int, None)."""
    dialect = conn.dialect
    const_values = []
    for name, value in constants.items():
        processor = table.c[name].type._cached_bind_processor(dialect)
        const_values.append(processor(value) if processor is not None else value)
    quote = dialect.identifier_preparer.quote
    names = [*columns, *constants]
    tail = tuple(const_values)
    if dialect.name == "postgresql":
        with contextlib.ExitStack() as stack:
            copy: Any = None

            def write(row: tuple[Any, ...]) -> None:
                nonlocal copy
                if copy is None:
                    copy = _open_copy(conn, stack, table, names, quote)
                copy.write_row(row + tail)

            yield write
        return
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join([marker] * len(names))})"
    )
    rows: list[tuple[Any, ...]] = []

    def add(row: tuple[Any, ...]) -> None:
        rows.append(row + tail)
        if len(rows) >= INSERT_CHUNK:
            # in chunks, so that other processes render while this one inserts
            conn.exec_driver_sql(sql, rows)
            rows.clear()

    yield add
    if rows:
        conn.exec_driver_sql(sql, rows)


def _open_copy(
    conn: sa.Connection,
    stack: contextlib.ExitStack,
    table: sa.Table,
    names: Sequence[str],
    quote: Callable[[str], str],
) -> Any:
    """A psycopg ``COPY ... FROM STDIN`` into *table*, closed by *stack*."""
    driver = conn.connection.driver_connection
    if _pg_has_lz4(conn):
        # Long letter bodies are stored compressed: LZ4 compresses them
        # several times faster than the default pglz (PostgreSQL 14+, this
        # transaction only; reading them back is the same).
        conn.exec_driver_sql("SET LOCAL default_toast_compression = 'lz4'")
    columns_sql = ", ".join(quote(n) for n in names)
    cursor = stack.enter_context(driver.cursor())  # type: ignore[union-attr]
    # COPY is several times faster than executemany; same transaction.
    return stack.enter_context(
        cursor.copy(f"COPY {quote(table.name)} ({columns_sql}) FROM STDIN")
    )


# --- generate -------------------------------------------------------------------------


def generate(
    session: Session | sa.Connection,
    *,
    campaign: str | int,
    channel: str | Channel = Channel.EMAIL,
    templates: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    formats: Sequence[str] = ("md",),
    combined: bool = False,
    followup: bool = False,
    after: dt.timedelta = dt.timedelta(days=14),
    now: dt.datetime | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> GenerateResult:
    """Render and record the letters of *campaign* (or its reminders with
    *followup*), and write them to *out* in *formats* when given.

    *session* is an ORM session or a Core connection (what the command line
    uses, from :meth:`Database.write`); the work is done on its connection,
    in its transaction, and the caller commits. It is all or nothing: should
    anything fail, the transaction is left as it was (a savepoint), usable."""
    conn = _connection_of(session)
    actor = actor_of(session)
    # Tens of thousands of small objects and no cycles: repeated collections
    # of the cyclic garbage collector would cost a tenth of the run.
    with gc_paused(), conn.begin_nested():
        result = _generate(
            conn,
            actor=actor,
            campaign=campaign,
            channel=channel,
            templates=templates,
            out=out,
            formats=formats,
            combined=combined,
            followup=followup,
            after=after,
            now=now,
            today=today,
            progress=progress,
        )
    if conn is not session:
        _expire_changed(session)
    return result


def _connection_of(session: Session | sa.Connection) -> sa.Connection:
    """The Core connection to work on: *session* itself, or an ORM session's
    connection once its pending changes are flushed (the Core statements
    below must see them)."""
    if isinstance(session, sa.Connection):
        return session
    session.flush()
    return session.connection()


def _expire_changed(session: Session) -> None:
    """Make an ORM session reload the campaigns and letters it holds: their
    rows were changed underneath it (a campaign made active, letters
    superseded)."""
    from outreach.models import Campaign, Letter

    for obj in list(session.identity_map.values()):
        if isinstance(obj, Campaign | Letter):
            session.expire(obj)


def _generate(
    conn: sa.Connection,
    *,
    actor: str,
    campaign: str | int,
    channel: str | Channel,
    templates: str | os.PathLike[str] | None,
    out: str | os.PathLike[str] | None,
    formats: Sequence[str],
    combined: bool,
    followup: bool,
    after: dt.timedelta,
    now: dt.datetime | None,
    today: dt.date | None,
    progress: Progress | None,
) -> GenerateResult:
    camp, dialogue = load_campaign(conn, campaign)
    if camp.status == CampaignStatus.CLOSED:
        raise ConflictError(f"campaign {camp.slug} is closed; clone it to start a new one")
    try:
        channel = Channel(channel)
    except ValueError:
        raise ValidationError(
            f"channel {channel!r}: use one of {', '.join(c.value for c in Channel)}"
        ) from None
    out_dir = _check_out(out, formats, combined) if out is not None else None
    if followup:
        if not camp.followup_template:
            raise ValidationError(
                f"campaign {camp.slug} has no follow-up template: "
                f"`outreach campaigns edit {camp.slug} --followup-template NAME`"
            )
        template_name = camp.followup_template
        jobs = _followup_jobs(conn, camp, after, now)
    else:
        if not camp.template:
            raise ValidationError(
                f"campaign {camp.slug} has no template: "
                f"`outreach campaigns edit {camp.slug} --template NAME`"
            )
        template_name = camp.template
        jobs = _recipient_jobs(conn, camp)
    renderer = _Renderer(
        camp,
        template_name,
        dialogue=dialogue,
        templates=templates,
        today=today or dt.date.today(),
    )
    result = GenerateResult(campaign=camp.slug)
    existing, max_version, by_org = (
        _recorded(conn, camp.id, {job.round for job in jobs}) if jobs else ({}, {}, {})
    )

    # 1. Who gets a letter, at which address; the others are listed as skipped.
    # An organization gets one letter a round (_one_per_round): the unsent
    # letters to a contact it is no longer written to are superseded.
    job_addresses: list[str | None] = []
    for job in jobs:
        address = None
        if job.skip is None and job.contact is not None:
            usable, address = channel_address(channel, job.contact)
            if not usable:
                job.skip = _NO_ADDRESS.get(channel, "no address")
        job_addresses.append(address)
    stale = _one_per_round(conn, camp, jobs, existing, by_org)
    todo: list[_Job] = []
    addresses: list[str | None] = []
    for job, address in zip(jobs, job_addresses, strict=True):
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

    # 2. Render each letter, compare it with what is recorded and store it if
    # it is new or changed. A template error stops the batch: nothing is
    # inserted (PostgreSQL's COPY is aborted) and the transaction rolls back.
    rounds = {job.round for job in todo}
    now_ts = utcnow()
    columns: tuple[str, ...] = _LETTER_COLUMNS
    next_id: int | None = None
    if conn.dialect.name == "sqlite":
        # Number the letters here, as SQLite would (one past the largest
        # id): the transaction holds the write lock, or the insert fails on a
        # changed snapshot. Saves reading 10,000 ids back.
        next_id = (conn.execute(sa.select(sa.func.max(_LETTER.id))).scalar() or 0) + 1
        columns = ("id", *_LETTER_COLUMNS)
    constants = {
        "campaign_id": camp.id,
        "status": LetterStatus.DRAFT,
        "channel": channel,
        "created_at": now_ts,
        "updated_at": now_ts,
    }
    supersede: list[int] = [row.id for row, _note in stale]
    result.superseded = [note for _row, note in stale]
    new_message_id = _message_ids(camp)
    docs: list[LetterDoc] = []
    language_counts: dict[str, int] = {}
    with (
        row_writer(conn, tables.letters, columns, constants) as write,
        contextlib.closing(_render_jobs(renderer, todo, _scaled(progress, len(todo), len(jobs))))
        as rendered,
    ):
        for job, address, (compiled, text) in zip(todo, addresses, rendered, strict=True):
            key = (job.contact["id"], job.round)
            # (a contact moved from another organization starts afresh here)
            old = existing.get((job.org["id"], *key))
            doc = renderer.doc(job, compiled, text, channel=channel, address=address)
            docs.append(doc)
            if old is not None and old.status in FROZEN:
                result.frozen += 1
                result.frozen_list.append(f"{doc.acronym} ({old.status.value})")
                _doc_from_row(doc, old)
                continue
            if old is not None and (
                old.body == text.body
                and old.subject == text.subject
                and old.template_hash == compiled.hash
                and old.language == compiled.language
                and old.channel == channel
                and old.to_address == address
            ):
                result.unchanged += 1
                doc.id, doc.version, doc.message_id = old.id, old.version, old.message_id or ""
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
            )
            if next_id is not None:
                doc.id = next_id
                row = (next_id, *row)
                next_id += 1
            write(row)
            language_counts[doc.language] = language_counts.get(doc.language, 0) + 1
    result.letters = docs

    # 3. Render the files in memory (a bad header or font problem stops here too).
    outputs: list[tuple[str, bytes]] = []
    if out_dir is not None and docs:
        from outreach.render import render_outputs

        outputs = render_outputs(docs, formats=formats, combined=combined, name=camp.slug)

    # 4. Mark the replaced versions, number the new letters, log the run.
    if supersede:
        table = tables.letters
        conn.execute(
            table.update()
            .where(table.c.id == sa.bindparam("old_id"))
            .values(superseded_at=now_ts, updated_at=now_ts),
            [{"old_id": i} for i in supersede],
        )
    for row, note in stale:
        # Rare (a recipient changed): a row each, on the organization's history.
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
    inserted = result.created + result.new_versions
    if inserted:
        if any(doc.id is None for doc in docs):
            ids = {
                (org_id, contact_id, round_): letter_id
                for letter_id, org_id, contact_id, round_ in conn.execute(
                    sa.select(
                        _LETTER.id, _LETTER.organization_id, _LETTER.contact_id, _LETTER.round
                    ).where(
                        _LETTER.campaign_id == camp.id,
                        _LETTER.superseded_at.is_(None),
                        _LETTER.round.in_(rounds),
                    )
                ).all()
            }
            for doc in docs:
                if doc.id is None:
                    doc.id = ids.get((doc.organization_id, doc.contact_id, doc.round))
        _activate(conn, camp, actor)
    if inserted or supersede:
        # One row for the run (a row per letter would cost as much as the
        # letters' own insert); the letters carry their own created_at.
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
                "superseded": [None, len(supersede)],
                "language_counts": [None, dict(sorted(language_counts.items()))],
            },
        )

    # 5. Files last, once the database work succeeded.
    if out_dir is not None:
        from outreach.files import make_dirs, write_file

        make_dirs(out_dir)
        for filename, data in outputs:
            path = write_file(out_dir / filename, data)
            result.files.append(path)
    if progress is not None:
        progress(len(jobs))
    return result


def _doc_from_row(doc: LetterDoc, row: Any) -> LetterDoc:
    doc.id = row.id
    doc.version = row.version
    doc.subject = row.subject
    doc.body = row.body
    doc.language = row.language
    doc.channel = row.channel.value
    doc.to_address = row.to_address
    doc.message_id = row.message_id or ""
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
)


def _check_out(out: str | os.PathLike[str], formats: Sequence[str], combined: bool) -> Path:
    from outreach.render import FORMATS

    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ValidationError(f"--out {path}: is a file; give a folder")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValidationError(f"--format {', '.join(bad)}: use {', '.join(FORMATS)}")
    if combined and "pdf" not in formats:
        raise ValidationError("--combined makes one PDF: add --format pdf")
    return path


# --- preview -------------------------------------------------------------------------


def preview(
    session: Session | sa.Connection,
    *,
    campaign: str | int,
    organization: str,
    language: str | None = None,
    templates: str | os.PathLike[str] | None = None,
    followup: bool = False,
    channel: str | Channel = Channel.EMAIL,
    today: dt.date | None = None,
) -> tuple[LetterDoc, str | None]:
    """Render one letter without writing anything: (letter, warning or None)."""
    conn = _connection_of(session)
    camp, dialogue = load_campaign(conn, campaign)
    org_id = conn.scalar(
        sa.select(_ORG.id).where(_ORG.acronym_key == organization.strip().casefold())
    )
    if org_id is None:
        raise NotFoundError(f"no organization {organization!r}: see `outreach orgs list`")
    jobs = _recipient_jobs(conn, camp, only_org=org_id)
    warning = None
    if not jobs:
        warning = f"{organization} is not a recipient of {camp.slug}"
        row = conn.execute(sa.select(*_ORG_COLS).where(_ORG.id == org_id)).one()
        contacts = conn.execute(
            sa.select(*_CONTACT_COLS)
            .where(_CONTACT.organization_id == org_id)
            .order_by(_CONTACT.id)
        ).all()
        chosen, reason = _choose_contact(None, contacts)
        jobs = [
            _Job(
                org=_org_context(row),
                contact=_contact_context(chosen) if chosen is not None else None,
                skip=reason,
            )
        ]
    job = jobs[0]
    if job.skip:
        warning = (warning + "; " if warning else "") + f"it would be skipped: {job.skip}"
    if job.contact is None:
        raise ValidationError(f"{organization} has no contact to write to")
    name = camp.template
    if followup:
        name = camp.followup_template
        job.round = 1
        job.followup = {
            "round": 1,
            "original_subject": "(the original letter's subject)",
            "original_sent_at": today or dt.date.today(),
            "last_sent_at": today or dt.date.today(),
            "days_waiting": 14,
        }
    if not name:
        raise ValidationError(
            f"campaign {camp.slug} has no {'follow-up ' if followup else ''}template"
        )
    renderer = _Renderer(
        camp,
        name,
        dialogue=dialogue,
        templates=templates,
        today=today or dt.date.today(),
        language=language,
    )
    compiled, text = renderer.render(job)
    ch = Channel(channel)
    _usable, address = channel_address(ch, job.contact)
    doc = renderer.doc(job, compiled, text, channel=ch, address=address)
    doc.message_id = _message_id(camp)
    return doc, warning


# --- reviewing -----------------------------------------------------------------------


def _letter_query(
    session: Session,
    *,
    campaign: str | int | None = None,
    statuses: Iterable[str] = (),
    organizations: Iterable[str] = (),
    languages: Iterable[str] = (),
    rounds: Iterable[int] = (),
    include_superseded: bool = False,
) -> sa.Select:
    from outreach.campaigns import get_campaign
    from outreach.models import Letter, Organization

    stmt = sa.select(Letter).join(Organization, Letter.organization_id == Organization.id)
    if campaign is not None:
        stmt = stmt.where(Letter.campaign_id == get_campaign(session, campaign).id)
    statuses = list(statuses)
    if statuses:
        try:
            stmt = stmt.where(Letter.status.in_([LetterStatus(s) for s in statuses]))
        except ValueError:
            raise ValidationError(
                f"status: use {', '.join(s.value for s in LetterStatus)}"
            ) from None
    orgs = [o.strip().casefold() for o in organizations]
    if orgs:
        stmt = stmt.where(Organization.acronym_key.in_(orgs))
    langs = list(languages)
    if langs:
        stmt = stmt.where(Letter.language.in_(langs))
    rounds = list(rounds)
    if rounds:
        stmt = stmt.where(Letter.round.in_(rounds))
    if not include_superseded:
        stmt = stmt.where(Letter.superseded_at.is_(None))
    return stmt


def list_letters(session: Session, **filters: Any) -> list[dict[str, Any]]:
    from outreach.models import Campaign, Contact, Letter, Organization

    stmt = _letter_query(session, **filters).add_columns(
        Organization.acronym, Contact.name, Campaign.slug
    )
    stmt = stmt.join(Contact, Letter.contact_id == Contact.id).join(
        Campaign, Letter.campaign_id == Campaign.id
    )
    stmt = stmt.order_by(Campaign.slug, Organization.acronym_key, Letter.round, Letter.version)
    out = []
    for letter, acronym, contact, slug in session.execute(stmt):
        out.append(
            {
                "id": letter.id,
                "campaign": slug,
                "org": acronym,
                "contact": contact,
                "round": letter.round,
                "version": letter.version,
                "language": letter.language,
                "channel": letter.channel,
                "status": letter.status,
                "superseded": letter.superseded_at is not None,
                "subject": letter.subject,
                "to_address": letter.to_address,
                "sent_at": letter.sent_at,
            }
        )
    return out


def get_letter(session: Session, letter_id: int) -> Letter:
    from outreach.models import Letter

    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFoundError(f"no letter {letter_id}: see `outreach letters list`")
    return letter


def letter_record(letter: Letter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "campaign": letter.campaign.slug,
        "organization": f"{letter.organization.acronym} ({letter.organization.name})",
        "contact": letter.contact.name,
        "round": letter.round,
        "followup_of": letter.followup_of_id,
        "version": letter.version,
        "superseded_at": letter.superseded_at,
        "status": letter.status,
        "language": letter.language,
        "channel": letter.channel,
        "to_address": letter.to_address,
        "subject": letter.subject,
        "template": letter.template_name,
        "template_hash": letter.template_hash,
        "message_id": letter.message_id,
        "created_at": letter.created_at,
        "approved_at": letter.approved_at,
        "sent_at": letter.sent_at,
        "error": letter.error,
    }


def letter_doc(letter: Letter) -> LetterDoc:
    """A stored letter, ready for the output formats."""
    from outreach.templating import sender_context

    campaign = letter.campaign
    return LetterDoc(
        acronym=letter.organization.acronym,
        organization=letter.organization.name,
        contact=letter.contact.name,
        contact_email=letter.contact.email,
        language=letter.language,
        subject=letter.subject,
        body=letter.body,
        channel=letter.channel.value,
        to_address=letter.to_address,
        message_id=letter.message_id or "",
        sender=sender_context(campaign.sender, campaign.signatory),
        round=letter.round,
        campaign=campaign.slug,
        version=letter.version,
        id=letter.id,
        organization_id=letter.organization_id,
        contact_id=letter.contact_id,
        template_name=letter.template_name,
        template_hash=letter.template_hash,
        date=letter.created_at.date(),
    )


def _select_for_change(
    session: Session, ids: Sequence[int], filters: Mapping[str, Any]
) -> list[Letter]:
    from outreach.models import Letter

    if ids:
        letters = [get_letter(session, i) for i in ids]
    elif filters.get("campaign") is not None:
        letters = list(session.scalars(_letter_query(session, **filters).order_by(Letter.id)))
    else:
        raise ValidationError("say which letters: give letter ids, or --campaign with filters")
    return letters


def approve(session: Session, *, ids: Sequence[int] = (), **filters: Any) -> list[Letter]:
    """Mark draft letters approved (ready to send). Returns the letters changed."""
    letters = _select_for_change(session, ids, filters)
    problems = []
    for letter in letters:
        if letter.superseded_at is not None:
            problems.append(f"letter {letter.id}: superseded by a newer version")
        elif ids and letter.status != LetterStatus.DRAFT and letter.status != LetterStatus.APPROVED:
            problems.append(f"letter {letter.id}: is {letter.status.value}, not draft")
    if problems:
        raise ValidationError("some letters cannot be approved", problems)
    changed = []
    now = utcnow()
    for letter in letters:
        if letter.status != LetterStatus.DRAFT:
            continue
        letter.status = LetterStatus.APPROVED
        letter.approved_at = now
        changed.append(letter)
        record_activity(
            session,
            action="approve",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary=f"letter {letter.id} approved",
            changes={"status": ["draft", "approved"]},
        )
    return changed


def cancel(
    session: Session, *, ids: Sequence[int] = (), reason: str | None = None, **filters: Any
) -> list[Letter]:
    """Cancel unsent letters: they will not be sent and generation leaves them alone."""
    letters = _select_for_change(session, ids, filters)
    problems = [
        f"letter {letter.id}: is {letter.status.value}; only unsent letters can be cancelled"
        for letter in letters
        if ids and letter.status not in UNSENT and letter.status != LetterStatus.CANCELLED
    ]
    if problems:
        raise ValidationError("some letters cannot be cancelled", problems)
    changed = []
    for letter in letters:
        if letter.status not in UNSENT:
            continue
        before = letter.status.value
        letter.status = LetterStatus.CANCELLED
        if reason:
            letter.error = reason
        changed.append(letter)
        record_activity(
            session,
            action="cancel",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary=f"letter {letter.id} cancelled" + (f": {reason}" if reason else ""),
            changes={"status": [before, "cancelled"]},
        )
    return changed
