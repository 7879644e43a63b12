"""Sending a campaign's approved e-mail letters as one batch.

:class:`Sender` plans the batch (what goes, and why the rest does not) and
sends it, at most once per letter (see :mod:`outreach.sending.ledger`). A dry
run is the default and lives here, so a dry run builds exactly the messages a
real run would hand over. Because of the at-most-once protocol a real run is
many units of work on purpose: it takes a :class:`~outreach.db.Database` and
commits each state change as one durable step
(:meth:`~outreach.db.Database.durable` and :meth:`~outreach.db.Database.step`)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns import get_campaign as campaign_by_slug
from outreach.errors import ConfigurationError
from outreach.schema.models import (
    Campaign,
    LetterStatus,
)
from outreach.schema.types import utcnow
from outreach.sending import headers as mailheaders
from outreach.sending.claims import _RUNNING, PG_SENDING_LOCK_NS, this_process_claim
from outreach.sending.compose import letter_mail, stored_docs
from outreach.sending.ledger import _mark, _note_in_doubt
from outreach.sending.message import (
    LetterMail,
    MessageError,
    build_message,
    envelope_address,
    envelope_recipients,
)
from outreach.sending.plan import plan_batch
from outreach.sending.report import (
    FAILED,
    IN_DOUBT,
    SENT,
    WOULD_FAIL,
    WOULD_SEND,
    LetterOutcome,
    SendReport,
)
from outreach.sending.settings import MailIdentity, Rate, RetryPolicy
from outreach.sending.transport import (
    ConnectionLost,
    FatalTransportError,
    InDoubt,
    PermanentFailure,
    SmtpTransport,
    TransientFailure,
)

if TYPE_CHECKING:  # pragma: no cover
    from outreach.db import Database


class Sender:
    """Sends a campaign's approved e-mail letters, at most once each.

    ``dry_run=True`` (the default) builds every message exactly as a real run
    would, reports them, and neither connects nor writes anything.

    *progress*, if given, is called as ``progress(done, total)`` each time a
    letter of the run's *total* is settled; *on_outcome*, if given, with
    each letter's :class:`LetterOutcome` as soon as it is settled, before the
    next letter is taken (a host application's hook).
    """

    def __init__(
        self,
        db: Database,
        identity: MailIdentity,
        *,
        transport: SmtpTransport | None = None,
        dry_run: bool = True,
        rate: Rate | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        progress: Callable[[int, int], None] | None = None,
        on_outcome: Callable[[LetterOutcome], None] | None = None,
        html: bool = False,
    ) -> None:
        if not dry_run and transport is None:
            raise ConfigurationError("a real send needs an SMTP transport")
        self.db = db
        self.identity = identity
        self.transport = transport
        self.dry_run = dry_run
        self.rate = rate
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.progress = progress
        self.on_outcome = on_outcome
        self.html = html
        self._last_send: float | None = None
        self._pending: tuple[sa.Row, dt.datetime] | None = None
        self._claim = this_process_claim()
        #: Letters whose PostgreSQL sending lock this run holds.
        self._locked: set[int] = set()
        #: (letters settled, letters to settle) in this run, for *progress*.
        self._done, self._total = 0, 0
        #: The run's letters as documents, by id (their e-mails are made of them).
        self._docs: dict[int, Any] = {}

    # -- planning -------------------------------------------------------------

    def plan(
        self,
        session: Session,
        campaign: Campaign,
        *,
        limit: int | None = None,
        retry_failed: bool = False,
        letter_ids: Sequence[int] | None = None,
    ) -> tuple[list[sa.Row], SendReport]:
        """(the letters this run would send, the report listing the others and why)."""
        return plan_batch(
            session,
            campaign,
            dry_run=self.dry_run,
            limit=limit,
            retry_failed=retry_failed,
            letter_ids=letter_ids,
        )

    # -- the batch ----------------------------------------------------------------

    def send_campaign(
        self,
        campaign_slug: str,
        *,
        limit: int | None = None,
        retry_failed: bool = False,
        letter_ids: Sequence[int] | None = None,
    ) -> SendReport:
        started = time.monotonic()
        self._claim = this_process_claim()
        with self.db.session() as session:
            campaign = campaign_by_slug(session, campaign_slug)
            todo, report = self.plan(
                session, campaign, limit=limit, retry_failed=retry_failed, letter_ids=letter_ids
            )
            # each letter as its e-mail is made of it (cover note, PDF, attachments, cc)
            self._docs = stored_docs(session, [row.id for row in todo])
        self._done, self._total = 0, len(todo)
        if self.dry_run:
            for row in todo:
                self._dry_one(row, report)
        elif todo:
            self._send_batch(todo, report)
        report.elapsed = time.monotonic() - started
        return report

    def _send_batch(self, todo: list[sa.Row], report: SendReport) -> None:
        assert self.transport is not None
        self.db.check_schema()
        _RUNNING.add(self._claim["run"])
        # Each state change ("sending" before the hand-over, "sent" after) is
        # committed durably before the next step, so that it survives this
        # process dying and also a crash of the machine or the database
        # server: a letter is never sent twice.
        with self.db.durable() as conn:
            try:
                for i, row in enumerate(todo):
                    try:
                        self._send_one(conn, row, report)
                    except FatalTransportError as exc:
                        report.aborted = str(exc)
                        break
                    except KeyboardInterrupt:
                        # Stop here: what was committed stays; a letter caught
                        # in its hand-over stays "sending" (in doubt), never lost.
                        report.interrupted = len(todo) - i
                        break
            finally:
                try:
                    self._flush(conn)
                    self._unlock(conn, *sorted(self._locked))
                finally:
                    report.connections = self.transport.connections_opened
                    _RUNNING.discard(self._claim["run"])
                    self.transport.close()

    def _mail(self, row: sa.Row) -> LetterMail:
        """The letter's e-mail: its cover note with the letter attached as PDF
        (:mod:`outreach.sending.compose`), or, for a letter not loaded as a
        document, the letter itself as the body."""
        doc = self._docs.get(row.id)
        if doc is not None:
            mail = letter_mail(doc, to=row.to_address)
            if not mail.in_reply_to and row.original_message_id:
                mail = replace(mail, in_reply_to=row.original_message_id)
            return mail
        return LetterMail(
            letter_id=row.id,
            organization_id=row.organization_id,
            acronym=row.acronym,
            contact_name=row.contact_name,
            to_address=row.to_address,
            subject=row.subject,
            body=row.body,
            language=row.language,
            round=row.round,
            in_reply_to=row.original_message_id,
            message_id=row.message_id,
        )

    def _outcome(self, row: sa.Row, status: str, **kw: Any) -> LetterOutcome:
        return LetterOutcome(
            letter_id=row.id,
            acronym=row.acronym,
            contact_name=row.contact_name,
            to_address=row.to_address,
            subject=row.subject,
            status=status,
            **kw,
        )

    def _finish(self, report: SendReport, outcome: LetterOutcome) -> None:
        report.outcomes.append(outcome)
        self._done += 1
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        if self.progress is not None:
            self.progress(self._done, self._total)

    def _message_id(self, mail: LetterMail) -> str:
        """The letter's own Message-ID, or a new one if it has none it can use
        (one made from a non-ASCII domain cannot go into a header)."""
        usable = mailheaders.usable_message_id(mail.message_id)
        return usable or make_msgid(domain=self.identity.domain)

    def _dry_one(self, row: sa.Row, report: SendReport) -> None:
        try:
            mail = self._mail(row)
            message_id = self._message_id(mail)
            msg = build_message(mail, self.identity, message_id=message_id, html=self.html)
        except MessageError as exc:
            self._finish(report, self._outcome(row, WOULD_FAIL, error=str(exc)))
            return
        self._finish(report, self._outcome(row, WOULD_SEND, message_id=message_id, message=msg))

    def _pace(self, conn: sa.Connection) -> None:
        if self.rate is None:
            return
        now = self.clock()
        if self._last_send is not None:
            wait = self._last_send + self.rate.interval - now
            if wait > 0:
                self._flush(conn)
                self.sleep(wait)
                now = self.clock()
        self._last_send = now

    def _flush(self, conn: sa.Connection) -> None:
        """Commit the ``sent`` mark still held for the previous letter."""
        if self._pending is not None:
            row, sent_at = self._pending
            self._pending = None
            with self.db.step(conn):
                _mark(conn, self.db.actor, row, LetterStatus.SENT, sent_at=sent_at)
            self._unlock(conn, row.id)

    def _lock(self, conn: sa.Connection, letter_id: int) -> bool:
        """Take the letter's sending lock (PostgreSQL), without waiting: False
        when another live run holds it."""
        if self.db.is_sqlite or letter_id in self._locked:
            return True
        got = conn.execute(
            sa.text("SELECT pg_try_advisory_lock(:ns, :id)"),
            {"ns": PG_SENDING_LOCK_NS, "id": letter_id},
        ).scalar()
        if got:
            self._locked.add(letter_id)
        return bool(got)

    def _unlock(self, conn: sa.Connection, *letter_ids: int) -> None:
        """Let go of sending locks, once the letters' outcome is committed."""
        for letter_id in letter_ids:
            if letter_id in self._locked:
                self._locked.discard(letter_id)
                with self.db.step(conn):
                    conn.execute(
                        sa.text("SELECT pg_advisory_unlock(:ns, :id)"),
                        {"ns": PG_SENDING_LOCK_NS, "id": letter_id},
                    )

    def _sleep(self, conn: sa.Connection, seconds: float) -> None:
        self._flush(conn)
        self.sleep(seconds)

    def _send_one(self, conn: sa.Connection, row: sa.Row, report: SendReport) -> None:
        assert self.transport is not None
        built = self._build(conn, row, report)
        if built is None:
            return
        msg, message_id = built
        recipients = envelope_recipients(msg, self.identity)
        attempt = 0
        while True:
            attempt += 1
            # Connect (or reconnect) before claiming the letter, so that a
            # server that cannot be reached leaves nothing in doubt.
            try:
                self.transport.open()
            except TransientFailure as exc:
                if attempt >= self.retry.attempts:
                    raise FatalTransportError(str(exc)) from None
                self._sleep(conn, self.retry.delay(attempt))
                continue
            self._pace(conn)
            if not self._take(conn, row, message_id):
                return  # someone else (another send) took it meanwhile
            if self._hand_over(conn, row, msg, message_id, recipients, attempt, report):
                return

    def _build(
        self, conn: sa.Connection, row: sa.Row, report: SendReport
    ) -> tuple[EmailMessage, str] | None:
        """The letter's message and Message-ID; ``None`` when it cannot be
        built (the letter is then marked failed)."""
        try:
            mail = self._mail(row)
            message_id = self._message_id(mail)
            return build_message(mail, self.identity, message_id=message_id, html=self.html), (
                message_id
            )
        except MessageError as exc:
            self._flush(conn)
            # Only a letter still waiting: one another run has taken meanwhile
            # (it is being sent, or was) keeps its state.
            with self.db.step(conn):
                failed = _mark(
                    conn,
                    self.db.actor,
                    row,
                    LetterStatus.FAILED,
                    error=str(exc),
                    expect=(LetterStatus.APPROVED, LetterStatus.FAILED),
                )
            if failed:
                self._finish(report, self._outcome(row, FAILED, error=str(exc)))
            return None

    def _take(self, conn: sa.Connection, row: sa.Row, message_id: str) -> bool:
        """Mark the letter ``sending`` under its sending lock; False when
        another run has taken it meanwhile.

        The previous letter's ``sent`` mark and this one's ``sending`` mark
        share one step, committed before this message is handed over.
        """
        prev = None
        with self.db.step(conn):
            if self._pending is not None:
                prev, sent_at = self._pending
                self._pending = None
                _mark(conn, self.db.actor, prev, LetterStatus.SENT, sent_at=sent_at)
            claimed = self._lock(conn, row.id) and _mark(
                conn,
                self.db.actor,
                row,
                LetterStatus.SENDING,
                message_id=message_id,
                expect=(LetterStatus.APPROVED, LetterStatus.FAILED),
                claim=self._claim,
            )
        if prev is not None:
            self._unlock(conn, prev.id)
        if not claimed:
            self._unlock(conn, row.id)
        return claimed

    def _hand_over(
        self,
        conn: sa.Connection,
        row: sa.Row,
        msg: EmailMessage,
        message_id: str,
        recipients: list[str],
        attempt: int,
        report: SendReport,
    ) -> bool:
        """Give the claimed letter's message to the server and record what
        came of it; False when it is to be tried again."""
        assert self.transport is not None
        try:
            warnings = self.transport.send(
                msg, envelope_address(self.identity.from_address), recipients
            )
        except PermanentFailure as exc:
            self._flush(conn)
            with self.db.step(conn):
                _mark(conn, self.db.actor, row, LetterStatus.FAILED, error=str(exc))
            self._unlock(conn, row.id)
            self._finish(report, self._outcome(row, FAILED, error=str(exc), attempts=attempt))
            return True
        except InDoubt as exc:
            note = f"{exc}; check, then `letters confirm` or `letters resend`"
            self._flush(conn)
            with self.db.step(conn):
                _note_in_doubt(conn, self.db.actor, row, note)
            self._unlock(conn, row.id)
            self._finish(
                report,
                self._outcome(row, IN_DOUBT, message_id=message_id, error=note, attempts=attempt),
            )
            return True
        except TransientFailure as exc:
            return self._not_delivered(conn, row, exc, attempt, report)
        # Accepted. The ``sent`` mark is committed together with the next
        # letter's ``sending`` mark (or at once if nothing follows): if the
        # process dies first, this letter is left in doubt, never resent.
        self._pending = (row, utcnow())
        self._finish(
            report,
            self._outcome(row, SENT, message_id=message_id, attempts=attempt, warnings=warnings),
        )
        return True

    def _not_delivered(
        self,
        conn: sa.Connection,
        row: sa.Row,
        exc: TransientFailure,
        attempt: int,
        report: SendReport,
    ) -> bool:
        """Nothing was delivered: back to approved, and True (done, failed)
        after the last attempt, else False after a pause (retry)."""
        last = attempt >= self.retry.attempts
        self._flush(conn)
        with self.db.step(conn):
            _mark(
                conn,
                self.db.actor,
                row,
                LetterStatus.FAILED if last else LetterStatus.APPROVED,
                error=str(exc),
            )
        if last:
            self._unlock(conn, row.id)
            self._finish(
                report,
                self._outcome(
                    row, FAILED, error=f"{exc} (after {attempt} attempts)", attempts=attempt
                ),
            )
            return True
        if not (isinstance(exc, ConnectionLost) and attempt == 1):
            # A connection that dropped while idle is reopened at once.
            self._sleep(conn, self.retry.delay(attempt))
        return False
