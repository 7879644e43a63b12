"""Reports as CSV: one row a recipient, organization or campaign, every
column, values a spreadsheet cannot mistake for formulas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from outreach.csvcells import csv_text as csv_cells
from outreach.reports.labels import plain

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from outreach.reports.dialogue import DialogueReport
    from outreach.reports.history import HistoryReport
    from outreach.reports.status import StatusReport

#: (CSV header, attribute of the row) for each report.
STATUS_COLUMNS = (
    ("acronym", "acronym"),
    ("name", "name"),
    ("region", "region"),
    ("kind", "kind"),
    ("letter_status", "letter_status"),
    ("language", "language"),
    ("channel", "channel"),
    ("sent_date", "sent_at"),
    ("days_waiting", "days_waiting"),
    ("followups_sent", "followups_sent"),
    ("first_response_date", "first_response_at"),
    ("responses", "responses"),
    ("stance", "stance"),
    ("committed", "committed"),
    ("overdue", "overdue"),
    ("summary", "summary"),
)

DIALOGUE_COLUMNS = (
    ("acronym", "acronym"),
    ("name", "name"),
    ("region", "region"),
    ("kind", "kind"),
    ("campaigns", "campaigns"),
    ("sent", "sent"),
    ("answered", "answered"),
    ("first_sent_date", "first_sent_at"),
    ("first_response_date", "first_response_at"),
    ("stance", "stance"),
    ("committed", "committed"),
)

HISTORY_COLUMNS = (
    ("year", "year"),
    ("campaign", "campaign_slug"),
    ("campaign_title", "campaign_title"),
    ("dialogue", "dialogue_slug"),
    ("dialogue_date", "dialogue_date"),
    ("letter_status", "letter_status"),
    ("language", "language"),
    ("channel", "channel"),
    ("sent_date", "sent_at"),
    ("followups_sent", "followups_sent"),
    ("first_response_date", "first_response_at"),
    ("responses", "responses"),
    ("stance", "stance"),
    ("committed", "committed"),
    ("summary", "summary"),
)

STATUS_CSV_COLUMNS = tuple(header for header, _attr in STATUS_COLUMNS)
DIALOGUE_CSV_COLUMNS = tuple(header for header, _attr in DIALOGUE_COLUMNS)
HISTORY_CSV_COLUMNS = tuple(header for header, _attr in HISTORY_COLUMNS)


def csv_text(columns: Sequence[tuple[str, str]], items: Sequence[Any]) -> str:
    """A header line, then one line an item with the *columns*' attributes
    (exact text: a cell holding a CR or LF is quoted, see
    :func:`outreach.csvcells.csv_text`)."""
    rows = [[header for header, _attr in columns]]
    for item in items:
        values = (getattr(item, attr) for _header, attr in columns)
        rows.append(["" if v is None else plain(v) for v in values])
    return csv_cells(rows)


def status_csv(report: StatusReport) -> str:
    return csv_text(STATUS_COLUMNS, report.rows)


def dialogue_csv(report: DialogueReport) -> str:
    return csv_text(DIALOGUE_COLUMNS, report.organizations)


def history_csv(report: HistoryReport) -> str:
    return csv_text(HISTORY_COLUMNS, report.rows)
