"""A letter's sending states, changed at most once each.

The at-most-once protocol: before a message is handed to the server its
letter is marked ``sending`` with the message's Message-ID in its own
committed step (:meth:`outreach.db.Database.step`); once the server has
accepted it the letter is marked ``sent`` (committed again). A letter left in
``sending`` (the process died, or the connection broke while the server was
taking the message) is never sent again blindly: :func:`in_doubt_letters`
lists it, and the coordinator either :func:`confirm_letters` (it did arrive)
or :func:`resend_letters` (back to ``approved`` with a new Message-ID).

The functions here execute statements on the connection or session they are
given and never commit: the caller's unit of work (or step) does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.addresses import ascii_domain
from outreach.db.activity import record_activity
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.schema.models import (
    Contact,
    Letter,
    LetterStatus,
    Organization,
)
from outreach.schema.types import utcnow
from outreach.sending.claims import _sending_notes


@dataclass(frozen=True)
class PendingLetter:
    """A letter listed but not sent by this run, and why."""

    letter_id: int
    acronym: str
    contact_name: str
    to_address: str | None
    status: str
    message_id: str | None
    note: str



def _letter_rows(session: Session, where: Iterable[Any]) -> list[sa.Row]:
    original = sa.orm.aliased(Letter)
    stmt = (
        sa.select(
            Letter.id,
            Letter.organization_id,
            Letter.status,
            Letter.subject,
            Letter.body,
            Letter.language,
            Letter.round,
            Letter.to_address,
            Letter.message_id,
            Letter.channel,
            Letter.error,
            Organization.acronym,
            Contact.name.label("contact_name"),
            Contact.do_not_contact,
            original.message_id.label("original_message_id"),
        )
        .join(Organization, Letter.organization_id == Organization.id)
        .join(Contact, Letter.contact_id == Contact.id)
        .outerjoin(original, Letter.followup_of_id == original.id)
        .where(*where)
        .order_by(Letter.round, Letter.id)
    )
    return list(session.execute(stmt))


def _pending(row: sa.Row, note: str) -> PendingLetter:
    return PendingLetter(
        letter_id=row.id,
        acronym=row.acronym,
        contact_name=row.contact_name,
        to_address=row.to_address,
        status=row.status.value,
        message_id=row.message_id,
        note=note,
    )


def in_doubt_letters(session: Session, *, campaign_id: int | None = None) -> list[PendingLetter]:
    """Letters left in ``sending``: the server may or may not have them."""
    where: list[Any] = [Letter.status == LetterStatus.SENDING]
    if campaign_id is not None:
        where.append(Letter.campaign_id == campaign_id)
    rows = _letter_rows(session, where)
    notes = _sending_notes(session, rows)
    return [_pending(r, notes[r.id][1]) for r in rows]


_SUMMARIES = {
    LetterStatus.SENDING: "handing the letter to the mail server",
    LetterStatus.SENT: "sent by e-mail",
    LetterStatus.FAILED: "sending failed",
    LetterStatus.APPROVED: "not sent (will retry)",
}


_LETTERS = Letter.__table__
_mark_statements: dict[tuple[Any, ...], Any] = {}


def _mark_statement(keys: tuple[str, ...], expect: tuple[LetterStatus, ...] | None) -> Any:
    """The UPDATE for one letter, built once per shape (statement building
    costs more than running it)."""
    key = (keys, expect)
    stmt = _mark_statements.get(key)
    if stmt is None:
        stmt = _LETTERS.update().where(_LETTERS.c.id == sa.bindparam("b_id"))
        if expect:
            # OR of equalities rather than IN: no list to expand at each run.
            stmt = stmt.where(sa.or_(*(_LETTERS.c.status == s.value for s in expect)))
        if expect and LetterStatus.APPROVED in expect:
            # A letter regenerated since the batch was planned has a newer
            # version: this one must not go out (the new one will, once approved).
            stmt = stmt.where(_LETTERS.c.superseded_at.is_(None))
        stmt = stmt.values({k: sa.bindparam(f"b_{k}") for k in keys})
        _mark_statements[key] = stmt
    return stmt


def _mark(
    conn: sa.Connection,
    actor: str,
    row: sa.Row,
    status: LetterStatus,
    *,
    message_id: str | None = None,
    sent_at: dt.datetime | None = None,
    error: str | None = None,
    expect: tuple[LetterStatus, ...] | LetterStatus | None = LetterStatus.SENDING,
    claim: dict[str, Any] | None = None,
) -> bool:
    """Move one letter to *status*, with its activity entry, in the caller's
    step (:meth:`outreach.db.Database.step`, which commits it).

    With *expect*, only a letter currently in that status moves (a guard
    against two senders); returns whether it did.
    """
    now = utcnow()
    values: dict[str, Any] = {"status": status, "updated_at": now, "error": error}
    if message_id is not None:
        values["message_id"] = message_id
    if sent_at is not None:
        values["sent_at"] = sent_at
    if isinstance(expect, LetterStatus):
        expect = (expect,)
    stmt = _mark_statement(tuple(values), expect)
    params = {f"b_{k}": v for k, v in values.items()}
    params["b_id"] = row.id
    result = conn.execute(stmt, params)
    if result.rowcount != 1:
        return False  # nothing changed here
    summary = _SUMMARIES.get(status, status.value)
    if error:
        summary = f"{summary}: {error}"
    from_sending = expect is not None and LetterStatus.SENDING in expect
    before = "sending" if from_sending and status != LetterStatus.SENDING else row.status.value
    changes: dict[str, Any] = {"status": [before, status.value]}
    if message_id is not None:
        changes["message_id"] = [row.message_id, message_id]
    if claim is not None:
        # Which process took the letter: see _sending_notes.
        changes["claim"] = claim
    _log_send(conn, actor, row, summary, now, changes)
    return True


def _note_in_doubt(conn: sa.Connection, actor: str, row: sa.Row, note: str) -> None:
    """Note on a letter left in ``sending`` why it is in doubt (in the caller's step)."""
    now = utcnow()
    conn.execute(
        sa.update(Letter)
        .where(Letter.id == row.id, Letter.status == LetterStatus.SENDING)
        .values(error=note, updated_at=now)
    )
    _log_send(conn, actor, row, f"in doubt: {note}", now)


def _log_send(
    conn: sa.Connection,
    actor: str,
    row: sa.Row,
    summary: str,
    at: dt.datetime,
    changes: dict[str, Any] | None = None,
) -> None:
    """The ``send`` activity row of one letter of a run, at *at* (in the caller's step)."""
    record_activity(
        conn,
        action="send",
        entity="letter",
        entity_id=row.id,
        organization_id=row.organization_id,
        summary=summary,
        changes=changes,
        actor=actor,
        at=at,
    )


def _select_letters(
    session: Session,
    *,
    letter_ids: Sequence[int] | None,
    campaign_id: int | None,
    organization_ids: Sequence[int] | None = None,
) -> list[Letter]:
    if not letter_ids and campaign_id is None:
        raise ValidationError("name the letters: give letter ids or a campaign", field="campaign")
    stmt = sa.select(Letter).where(Letter.superseded_at.is_(None)).order_by(Letter.id)
    if letter_ids:
        stmt = stmt.where(Letter.id.in_(list(letter_ids)))
    if campaign_id is not None:
        stmt = stmt.where(Letter.campaign_id == campaign_id)
    if organization_ids:
        stmt = stmt.where(Letter.organization_id.in_(list(organization_ids)))
    letters = list(session.scalars(stmt))
    if letter_ids:
        missing = set(letter_ids) - {letter.id for letter in letters}
        if missing:
            raise NotFoundError(
                f"no letter {', '.join(map(str, sorted(missing)))}"
                + (" in that campaign" if campaign_id is not None else "")
            )
    return letters


def _wrong_status(letters: list[Letter], allowed: tuple[LetterStatus, ...], verb: str) -> None:
    bad = [letter for letter in letters if letter.status not in allowed]
    if bad:
        wanted = " or ".join(s.value for s in allowed)
        raise ValidationError(
            f"only {wanted} letters can be {verb}; nothing was changed",
            [f"letter {letter.id}: {letter.status.value}" for letter in bad],
        )


def _not_being_sent(
    session: Session,
    letters: list[Letter],
    *,
    named: bool,
    skipped: list[Letter] | None,
) -> list[Letter]:
    """*letters* without those in ``sending`` that a live run is handing to the
    server right now (see :func:`_sending_notes`): confirming or resending one
    of those could record a letter as sent that the server refuses, or send it
    twice. Letters asked for by id (*named*) are refused instead
    (:class:`ConflictError`, nothing changed); the others are left out and
    added to *skipped*."""
    sending = [letter for letter in letters if letter.status == LetterStatus.SENDING]
    notes = _sending_notes(session, sending)  # type: ignore[arg-type]
    live = [letter for letter in sending if notes[letter.id][0]]
    if not live:
        return letters
    if named:
        ids = ", ".join(str(letter.id) for letter in live)
        note = notes[live[0].id][1].removesuffix("; not sent by this one")
        raise ConflictError(
            (f"letter {ids} is " if len(live) == 1 else f"letters {ids} are ")
            + f"{note}: wait for that run to finish (it records what the server said), "
            "then look again; nothing was changed"
        )
    if skipped is not None:
        skipped.extend(live)
    live_ids = {letter.id for letter in live}
    return [letter for letter in letters if letter.id not in live_ids]


def _to_settle(
    session: Session,
    letter_ids: Sequence[int] | None,
    campaign_id: int | None,
    allowed: tuple[LetterStatus, ...],
    verb: str,
    *,
    skipped: list[Letter] | None,
) -> list[Letter]:
    """The letters to confirm or resend: those asked for by id (each in an
    *allowed* status, else nothing changes), or the campaign's letters in
    ``sending``; without those a live run is sending (:func:`_not_being_sent`)."""
    if letter_ids:
        letters = _select_letters(session, letter_ids=letter_ids, campaign_id=campaign_id)
        _wrong_status(letters, allowed, verb)
    else:
        letters = [
            letter
            for letter in _select_letters(session, letter_ids=None, campaign_id=campaign_id)
            if letter.status == LetterStatus.SENDING
        ]
    return _not_being_sent(session, letters, named=bool(letter_ids), skipped=skipped)


def confirm_letters(
    session: Session,
    *,
    letter_ids: Sequence[int] | None = None,
    campaign_id: int | None = None,
    skipped: list[Letter] | None = None,
) -> list[Letter]:
    """The coordinator checked: letters left in ``sending`` did arrive. Mark them sent.

    With only *campaign_id*, every letter of the campaign in ``sending``,
    except those a live ``letters send`` is handing to the server right now
    (added to *skipped* when given); a letter asked for by id that a live run
    is sending is refused (:class:`ConflictError`, nothing changed).
    ``sent_at`` is when the letter was handed to the server.
    """
    allowed = (LetterStatus.SENDING,)
    letters = _to_settle(session, letter_ids, campaign_id, allowed, "confirmed", skipped=skipped)
    for letter in letters:
        letter.status = LetterStatus.SENT
        letter.sent_at = letter.updated_at or utcnow()
        letter.error = None
        record_activity(
            session,
            action="confirm",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary="confirmed as sent by the coordinator",
            changes={"status": ["sending", "sent"]},
        )
    session.flush()
    return letters


def resend_letters(
    session: Session,
    *,
    letter_ids: Sequence[int] | None = None,
    campaign_id: int | None = None,
    domain: str | None = None,
    skipped: list[Letter] | None = None,
) -> list[Letter]:
    """Put letters in ``sending`` (or ``failed``, or ``bounced``) back to
    ``approved`` with a new Message-ID, so the next ``send`` sends them again.
    The Message-ID they had is kept in ``previous_message_ids`` (a reply to
    it still finds the letter).

    A bounced letter (asked for by id) goes to its contact's address as it is
    now: it is refused while that address is still flagged as bouncing
    (correct the contact's e-mail address first; nothing is changed then).

    With only *campaign_id*, every letter of the campaign in ``sending``,
    except those a live ``letters send`` is handing to the server right now
    (added to *skipped* when given): sent again, one could arrive twice. A
    letter asked for by id that a live run is sending is refused
    (:class:`ConflictError`, nothing changed).
    """
    allowed = (LetterStatus.SENDING, LetterStatus.FAILED, LetterStatus.BOUNCED)
    letters = _to_settle(session, letter_ids, campaign_id, allowed, "resent", skipped=skipped)
    new_addresses = _corrected_addresses(session, letters)
    for letter in letters:
        old_status, old_id = letter.status, letter.message_id
        changes: dict[str, list[Any]] = {}
        if letter.id in new_addresses:
            changes["to_address"] = [letter.to_address, new_addresses[letter.id]]
            letter.to_address = new_addresses[letter.id]
        if old_id:
            letter.previous_message_ids = [*(letter.previous_message_ids or []), old_id]
        new_domain = domain or (old_id.rsplit("@", 1)[1].rstrip(">") if old_id else None)
        new_domain = ascii_domain(new_domain) if new_domain else None
        # Without a domain the next send makes one from the sender's address
        # (make_msgid() alone would use this computer's name).
        letter.message_id = make_msgid(domain=new_domain) if new_domain else None
        letter.status = LetterStatus.APPROVED
        letter.error = None
        record_activity(
            session,
            action="resend",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary="back to approved for sending again, with a new Message-ID"
            + (f", to {letter.to_address}" if "to_address" in changes else ""),
            changes={
                "status": [old_status.value, "approved"],
                "message_id": [old_id, letter.message_id],
                **changes,
            },
        )
    session.flush()
    return letters


def _corrected_addresses(session: Session, letters: list[Letter]) -> dict[int, str]:
    """The address each bounced letter of *letters* goes to now (its contact's);
    a :class:`ValidationError` (nothing changed) if a contact's address still
    bounces or is gone."""
    out: dict[int, str] = {}
    refused = []
    for letter in letters:
        if letter.status != LetterStatus.BOUNCED:
            continue
        contact = session.get(Contact, letter.contact_id)
        if contact is None or not contact.email:
            refused.append(f"letter {letter.id}: the contact has no e-mail address now")
        elif contact.email_bounced_at is not None:
            refused.append(
                f"letter {letter.id}: mail to {contact.email} bounced "
                f"({contact.email_bounce_reason or 'no reason given'}) and the address has "
                f"not been corrected since (contact {contact.id})"
            )
        else:
            out[letter.id] = contact.email
    if refused:
        raise ValidationError(
            "a bounced letter is sent again only once its contact's address is corrected; "
            "nothing was changed",
            refused,
            hint="contacts edit",
        )
    return out
