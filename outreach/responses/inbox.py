"""Importing replies from mailboxes, and the queue of messages nobody could
match.

Every message read is recorded (an :class:`InboundMessage`, its raw bytes in
the attachments store); one that matches (see :mod:`outreach.responses.matching`)
becomes a response. A delivery failure report marks its letter bounced and an
automatic reply (out of office) is noted on its letter
(:mod:`outreach.responses.bounces`): neither is an answer, and an automatic
reply must not stop a follow-up. Those that name no known letter, messages
that match nothing and messages that cannot be read go to the unmatched
queue. The coordinator assigns a queued message to an organization, or sets
it aside.

Service functions take ``session`` (and the :class:`AttachmentStore`) as
keyword arguments, flush when they need ids and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.attachments import AttachmentStore
from outreach.db.activity import record_activity
from outreach.directory import find_contact
from outreach.errors import ConflictError, NotFoundError
from outreach.responses.bounces import (
    AutoReply,
    Bounce,
    Notice,
    bounced_letter,
    classify,
    note_auto_reply,
    note_bounce,
)
from outreach.responses.duplicates import claim_logged_response
from outreach.responses.mailbox import (
    RawMessage,
    attachments_of,
    date_of,
    header,
    message_id_of,
    parse_message,
    read_message,
    read_messages,
    sender_of,
    summarise,
    text_body,
)
from outreach.responses.matching import (
    Match,
    Matcher,
    guess_stance,
    letter_match,
)
from outreach.schema.models import (
    Attachment,
    Channel,
    InboundMessage,
    InboundStatus,
    Letter,
    Response,
    Stance,
)
from outreach.schema.types import utcnow


@dataclass
class ImportedMessage:
    inbound_id: int
    source: str
    message_id: str
    from_address: str
    subject: str
    status: str
    reason: str
    response_id: int | None = None
    acronym: str | None = None
    #: The message could not be read as a reply (queued with the reason).
    problem: bool = False
    #: The letter a bounce or an automatic reply reports on.
    letter_id: int | None = None


@dataclass
class ImportReport:
    read: int = 0
    duplicates: int = 0
    messages: list[ImportedMessage] = field(default_factory=list)

    @property
    def matched(self) -> list[ImportedMessage]:
        return [m for m in self.messages if m.status == InboundStatus.MATCHED.value]

    @property
    def unmatched(self) -> list[ImportedMessage]:
        return [m for m in self.messages if m.status == InboundStatus.UNMATCHED.value]

    @property
    def ignored(self) -> list[ImportedMessage]:
        return [m for m in self.messages if m.status == InboundStatus.IGNORED.value]

    @property
    def bounces(self) -> list[ImportedMessage]:
        """Delivery reports linked to their letter (failures and delays)."""
        return [m for m in self.messages if m.status == InboundStatus.BOUNCE.value]

    @property
    def auto_replies(self) -> list[ImportedMessage]:
        """Automatic replies (out of office) noted on their letter."""
        return [m for m in self.messages if m.status == InboundStatus.AUTO_REPLY.value]

    @property
    def problems(self) -> list[ImportedMessage]:
        """Messages that could not be read (also in :attr:`unmatched`)."""
        return [m for m in self.messages if m.problem]


def _response_from_message(
    session: Session,
    *,
    store: AttachmentStore,
    msg: EmailMessage,
    message_id: str,
    match: Match,
    received_at: dt.datetime,
    stance: Stance | None = None,
) -> Response:
    subject = header(msg, "Subject")
    body = text_body(msg)
    response = Response(
        organization_id=match.organization_id,
        campaign_id=match.campaign_id,
        letter_id=match.letter_id,
        contact_id=match.contact_id,
        received_at=received_at,
        channel=Channel.EMAIL,
        sender=header(msg, "From")[:500] or None,
        stance=stance or guess_stance(subject, body),
        summary=summarise(subject, body) or None,
        message_id=message_id,
        subject=subject[:500] or None,
    )
    session.add(response)
    session.flush()
    for name, content_type, payload in attachments_of(msg):
        stored = store.put_bytes(payload)
        session.add(
            Attachment(
                response_id=response.id,
                filename=name,
                content_type=content_type[:200],
                size=stored.size,
                sha256=stored.sha256,
            )
        )
    return response


def import_messages(
    session: Session,
    path: str | Path,
    *,
    store: AttachmentStore,
    own_addresses: Sequence[str] = (),
    progress: Callable[[int, int | None], None] | None = None,
    messages: Iterable[RawMessage] | None = None,
) -> ImportReport:
    """Import every message under *path*; match it or queue it. Safe to repeat.

    *messages*, if given, are imported instead of reading *path*, which then
    only names where they came from (an IMAP folder).

    *progress*, if given, is called as ``progress(done, None)`` as each
    message is taken (``None``: how many the mailbox holds is not known
    before it is read through).
    """
    report = ImportReport()
    matcher = Matcher(session, own_addresses)
    seen = set(session.scalars(sa.select(InboundMessage.message_id)))
    seen |= set(matcher.replies)
    now = utcnow()
    for raw in read_messages(path) if messages is None else messages:
        if progress is not None:
            progress(report.read, None)
        report.read += 1
        msg, problem = read_message(raw.data)
        message_id = message_id_of(msg, raw.data)
        if message_id in seen:
            report.duplicates += 1
            continue
        seen.add(message_id)
        stored = store.put_bytes(raw.data)  # the raw bytes, kept as they came
        if problem is None:
            try:
                with session.begin_nested():
                    entry = _import_one(
                        session, store, matcher, msg, raw, message_id, stored.sha256, now
                    )
            except Exception as exc:
                if not _message_fault(exc):
                    raise
                matcher.replies.pop(message_id, None)
                problem = f"{type(exc).__name__} while importing it"
            else:
                report.messages.append(entry)
                continue
        report.messages.append(
            _queue_problem(session, msg, raw, message_id, stored.sha256, now, problem)
        )
    if report.messages:
        record_activity(
            session,
            action="import",
            entity="inbound_message",
            summary=(
                f"imported {len(report.messages)} message(s) from "
                f"{Path(path).name if messages is None else path}: "
                f"{len(report.matched)} matched, {len(report.unmatched)} unmatched, "
                f"{len(report.ignored)} ignored"
                + (f", {len(report.bounces)} bounce(s)" if report.bounces else "")
                + (f", {len(report.auto_replies)} automatic reply(s)" * bool(report.auto_replies))
                + (f" ({len(report.problems)} could not be read)" if report.problems else "")
            ),
        )
    if progress is not None:
        progress(report.read, None)
    session.flush()
    return report


def _message_fault(exc: Exception) -> bool:
    """Whether *exc*, raised while importing one message, is that message's
    fault (it is then queued as a problem) rather than the database's or the
    system's (which stops the import)."""
    if isinstance(exc, sa.exc.DataError | sa.exc.IntegrityError):
        return True  # the message's values (rolled back to the savepoint)
    return not isinstance(exc, sa.exc.SQLAlchemyError | OSError | MemoryError)


def _import_one(
    session: Session,
    store: AttachmentStore,
    matcher: Matcher,
    msg: EmailMessage,
    raw: RawMessage,
    message_id: str,
    raw_sha256: str,
    now: dt.datetime,
) -> ImportedMessage:
    """Match or queue one readable message (in the caller's savepoint)."""
    from_text, from_address = sender_of(msg)
    subject = header(msg, "Subject")
    when = date_of(msg)
    response_id = acronym = None
    status, reason, letter_id = _no_answer(
        session, matcher, msg, message_id, from_address, when or now
    )
    if letter_id is not None:
        acronym = matcher.acronyms.get(session.get(Letter, letter_id).organization_id)
    if status is None:
        result = matcher.match(msg, from_address, when)
        if isinstance(result, Match):
            response = claim_logged_response(
                session,
                store=store,
                msg=msg,
                message_id=message_id,
                organization_id=result.organization_id,
                letter_id=result.letter_id,
                contact_id=result.contact_id,
                received_at=when or now,
            ) or _response_from_message(
                session,
                store=store,
                msg=msg,
                message_id=message_id,
                match=result,
                received_at=when or now,
            )
            status, reason, response_id = InboundStatus.MATCHED, result.how, response.id
            acronym = matcher.acronyms.get(result.organization_id)
            matcher.replies[message_id] = (
                result.organization_id,
                result.campaign_id,
                result.letter_id,
            )
            record_activity(
                session,
                action="import",
                entity="response",
                entity_id=response.id,
                organization_id=result.organization_id,
                summary=f"e-mail from {from_address} matched ({result.how}): {subject}"[:500],
            )
        else:
            status, reason = InboundStatus.UNMATCHED, result
    return _record_inbound(
        session,
        raw,
        message_id,
        raw_sha256,
        now,
        from_text=from_text,
        to_text=header(msg, "To"),
        subject=subject,
        when=when,
        status=status,
        reason=reason,
        response_id=response_id,
        acronym=acronym,
        letter_id=letter_id,
    )


def _no_answer(
    session: Session,
    matcher: Matcher,
    msg: EmailMessage,
    message_id: str,
    from_address: str,
    when: dt.datetime,
) -> tuple[InboundStatus, str, int | None] | tuple[None, None, None]:
    """``(status, reason, letter id)`` when a readable message is no answer to
    a letter (set aside, a bounce or an automatic reply, or queued), else
    ``(None, None, None)``."""
    if message_id in matcher.letters:
        # Our own letter (the archive's blind copy, a Sent folder).
        return InboundStatus.IGNORED, f"our own letter {matcher.letters[message_id][0]}", None
    if from_address in matcher.own_addresses:
        return InboundStatus.IGNORED, "sent by the secretariat", None
    found = classify(msg, from_address)
    if isinstance(found, Notice):
        return InboundStatus.IGNORED, f"{found.what}: not an answer", None
    if isinstance(found, Bounce):
        letter, known_as = bounced_letter(session, matcher.letters, found)
        if letter is None:
            kind = "delivery delay report" if found.delayed else "delivery failure report"
            failed = f" for {', '.join(found.addresses)}" if found.addresses else ""
            return InboundStatus.UNMATCHED, f"{kind}{failed} naming no letter sent", None
        reason = note_bounce(session, letter, found, known_as=known_as, when=when)
        return InboundStatus.BOUNCE, reason, letter.id
    if isinstance(found, AutoReply):
        result = matcher.match(msg, from_address, when)
        if isinstance(result, Match) and result.letter_id is not None:
            letter = session.get(Letter, result.letter_id)
            if letter is not None:
                reason = note_auto_reply(letter, found, when=when)
                return InboundStatus.AUTO_REPLY, reason, letter.id
        about = (
            f" about {matcher.acronyms[result.organization_id]}"
            if isinstance(result, Match)
            else ""
        )
        return InboundStatus.UNMATCHED, f"automatic reply{about}: not counted as an answer", None
    return None, None, None


def _queue_problem(
    session: Session,
    msg: EmailMessage | None,
    raw: RawMessage,
    message_id: str,
    raw_sha256: str,
    now: dt.datetime,
    problem: str,
) -> ImportedMessage:
    """Queue a message that cannot be read as a reply, with the reason; its raw
    bytes are in the attachments store for whoever looks at it by hand."""
    return _record_inbound(
        session,
        raw,
        message_id,
        raw_sha256,
        now,
        from_text=header(msg, "From"),
        to_text=header(msg, "To"),
        subject=header(msg, "Subject"),
        when=date_of(msg),
        status=InboundStatus.UNMATCHED,
        reason=f"could not be read: {problem}; kept as received for reading by hand",
        problem=True,
    )


def _record_inbound(
    session: Session,
    raw: RawMessage,
    message_id: str,
    raw_sha256: str,
    now: dt.datetime,
    *,
    from_text: str,
    to_text: str,
    subject: str,
    when: dt.datetime | None,
    status: InboundStatus,
    reason: str,
    response_id: int | None = None,
    acronym: str | None = None,
    problem: bool = False,
    letter_id: int | None = None,
) -> ImportedMessage:
    """Record the message read (matched, queued or set aside) and say so."""
    inbound = InboundMessage(
        message_id=message_id,
        from_address=from_text[:500] or None,
        to_address=to_text or None,
        subject=subject or None,
        date=when,
        raw_size=len(raw.data),
        raw_sha256=raw_sha256,
        imported_at=now,
        status=status,
        reason=reason,
        response_id=response_id,
        letter_id=letter_id,
    )
    session.add(inbound)
    session.flush()
    return ImportedMessage(
        inbound_id=inbound.id,
        source=raw.source,
        message_id=message_id,
        from_address=from_text,
        subject=subject,
        status=status.value,
        reason=reason,
        response_id=response_id,
        acronym=acronym,
        problem=problem,
        letter_id=letter_id,
    )


# --- the unmatched queue ------------------------------------------------------------------


def find_inbound(session: Session, ref: str | int) -> InboundMessage:
    """An imported message by its number or its Message-ID."""
    text = str(ref).strip()
    if text.isdigit():
        row = session.get(InboundMessage, int(text))
    else:
        mid = text if text.startswith("<") else f"<{text}>"
        row = session.scalar(sa.select(InboundMessage).where(InboundMessage.message_id == mid))
    if row is None:
        raise NotFoundError(f"no imported message {text}", hint="responses unmatched")
    return row


def unmatched_messages(session: Session, *, include_ignored: bool = False) -> list[InboundMessage]:
    statuses = [InboundStatus.UNMATCHED]
    if include_ignored:
        statuses.append(InboundStatus.IGNORED)
    return list(
        session.scalars(
            sa.select(InboundMessage)
            .where(InboundMessage.status.in_(statuses))
            .order_by(InboundMessage.date.nulls_last(), InboundMessage.id)
        )
    )


def assign_message(
    session: Session,
    ref: str | int,
    *,
    store: AttachmentStore,
    organization_id: int,
    campaign_id: int | None = None,
    stance: Stance | str | None = None,
) -> Response:
    """Make a response of a queued message, for the organization the
    coordinator recognised."""
    inbound = find_inbound(session, ref)
    if inbound.status in (InboundStatus.MATCHED, InboundStatus.ASSIGNED):
        raise ConflictError(
            f"message {inbound.id} is already response {inbound.response_id}; edit that one",
            hint=f"responses edit {inbound.response_id}",
        )
    msg = parse_message(store.read(inbound.raw_sha256))
    _text, from_address = sender_of(msg)
    # Only an address names a contact here (a bare "12" is no contact id).
    contact = find_contact(session, from_address) if "@" in from_address else None
    contact_id = contact.id if contact and contact.organization_id == organization_id else None
    match = letter_match(
        session,
        organization_id=organization_id,
        contact_id=contact_id,
        when=inbound.date,
        how="assigned by hand",
        campaign_id=campaign_id,
    )
    response = _response_from_message(
        session,
        store=store,
        msg=msg,
        message_id=inbound.message_id,
        match=match,
        received_at=inbound.date or inbound.imported_at,
        stance=Stance(stance) if stance else None,
    )
    before = inbound.status.value
    inbound.status = InboundStatus.ASSIGNED
    inbound.response_id = response.id
    record_activity(
        session,
        action="assign",
        entity="inbound_message",
        entity_id=inbound.id,
        organization_id=organization_id,
        summary=f"message from {inbound.from_address} assigned: response {response.id}",
        changes={"status": [before, "assigned"], "response_id": [None, response.id]},
    )
    session.flush()
    return response


def ignore_message(session: Session, ref: str | int) -> InboundMessage:
    """Set a queued message aside (spam, noise); it stays recorded."""
    inbound = find_inbound(session, ref)
    if inbound.status != InboundStatus.UNMATCHED:
        raise ConflictError(f"message {inbound.id} is {inbound.status.value}, not unmatched")
    inbound.status = InboundStatus.IGNORED
    record_activity(
        session,
        action="ignore",
        entity="inbound_message",
        entity_id=inbound.id,
        summary=f"message from {inbound.from_address} set aside",
        changes={"status": ["unmatched", "ignored"]},
    )
    session.flush()
    return inbound
