"""What a send did, and would do: each letter's outcome and the batch's report."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from email.message import EmailMessage

from outreach.csvcells import neutralise_formula
from outreach.sending.ledger import PendingLetter

#: Outcome statuses in a :class:`SendReport`.
SENT = "sent"
FAILED = "failed"
IN_DOUBT = "in-doubt"
WOULD_SEND = "would-send"
WOULD_FAIL = "would-fail"


@dataclass
class LetterOutcome:
    letter_id: int
    acronym: str
    contact_name: str
    to_address: str | None
    subject: str
    status: str
    message_id: str | None = None
    error: str | None = None
    attempts: int = 0
    warnings: list[str] = field(default_factory=list)
    #: The message as built (dry runs keep it so it can be shown in full).
    message: EmailMessage | None = field(default=None, repr=False)


@dataclass
class SendReport:
    campaign: str
    dry_run: bool
    outcomes: list[LetterOutcome] = field(default_factory=list)
    #: Letters left in ``sending`` by an earlier run, or whose server reply
    #: was lost: confirm or resend them.
    in_doubt: list[PendingLetter] = field(default_factory=list)
    #: Letters in ``sending`` that another live run is handing over right now.
    being_sent: list[PendingLetter] = field(default_factory=list)
    #: Letters still in ``draft``: approve them first.
    awaiting_approval: list[PendingLetter] = field(default_factory=list)
    #: Letters that failed in an earlier run (``--retry-failed`` includes them).
    failed_before: list[PendingLetter] = field(default_factory=list)
    #: Approved letters not sent: the contact asked not to be contacted.
    skipped: list[PendingLetter] = field(default_factory=list)
    #: Approved reminders not sent: the organization has answered since they
    #: were made (``letters cancel`` them, or name them with ``--letter``).
    answered: list[PendingLetter] = field(default_factory=list)
    #: Approved letters not sent: another letter of the same round goes, or
    #: went, to the same organization through another contact, and the
    #: campaign does not name this one (``campaigns add-recipients --contact``).
    second_of_round: list[PendingLetter] = field(default_factory=list)
    #: Approved letters left for a later run by ``--limit``.
    remaining: int = 0
    #: Approved letters that go by post, fax or hand (``letters mark-sent``).
    other_channels: int = 0
    #: Why the batch stopped early, if it did.
    aborted: str | None = None
    #: Stopped by Ctrl-C: how many letters of the run were not handed over (the
    #: one being handed over at that moment, if any, is left in doubt).
    interrupted: int | None = None
    elapsed: float = 0.0
    connections: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failures(self) -> list[LetterOutcome]:
        return [o for o in self.outcomes if o.status in (FAILED, IN_DOUBT, WOULD_FAIL)]

    @property
    def ok(self) -> bool:
        return not self.failures and self.aborted is None

    def write_failures_csv(self, path: str | os.PathLike[str]) -> int:
        """Write the failures as CSV; returns how many rows were written."""
        rows = self.failures
        from outreach.files import atomic_output

        with atomic_output(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["letter_id", "organization", "contact", "to", "status", "error"])
            for o in rows:
                writer.writerow(
                    [
                        o.letter_id,
                        neutralise_formula(o.acronym),
                        neutralise_formula(o.contact_name),
                        neutralise_formula(o.to_address or ""),
                        o.status,
                        neutralise_formula(o.error or ""),
                    ]
                )
        return len(rows)
