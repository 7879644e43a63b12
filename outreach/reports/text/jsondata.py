"""Reports as JSON: the report's dataclasses as plain data (ISO dates, days
as numbers), indented, UTF-8 as it is, the exact stored text; control
characters, separators and bidi controls are written as ``\\u`` escapes
(:func:`outreach.safetext.json_for_terminal`), so the text is safe to print."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from outreach.safetext import json_for_terminal

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from outreach.reports.dialogue import DialogueReport
    from outreach.reports.history import HistoryReport
    from outreach.reports.status import StatusReport, StatusTotals


def json_value(value: Any) -> Any:
    """*value* with dates as ISO text and durations as days, all the way down."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def dumps(data: Any) -> str:
    return json_for_terminal(json.dumps(data, ensure_ascii=False, indent=2)) + "\n"


def status_data(report: StatusReport) -> dict[str, Any]:
    """The report as JSON-ready plain data."""
    totals = dataclasses.asdict(report.totals)
    totals["overdue"] = [
        {
            "acronym": r.acronym,
            "name": r.name,
            "sent_at": r.sent_at,
            "days_waiting": r.days_waiting,
            "followups_sent": r.followups_sent,
        }
        for r in report.totals.overdue
    ]
    return json_value(
        {
            "campaign": dataclasses.asdict(report.campaign),
            "generated_at": report.generated_at,
            "overdue_after_days": report.overdue_after.total_seconds() / 86400,
            "totals": totals,
            "recipients": [
                {**dataclasses.asdict(r), "region_label": r.region_label} for r in report.rows
            ],
            "timeline": [dataclasses.asdict(t) for t in report.timeline],
        }
    )


def _totals_naming_overdue(totals: StatusTotals) -> dict[str, Any]:
    """Totals with the overdue organizations named by acronym only."""
    return {**dataclasses.asdict(totals), "overdue": [r.acronym for r in totals.overdue]}


def dialogue_data(report: DialogueReport) -> dict[str, Any]:
    return json_value(
        {
            "dialogue": dataclasses.asdict(report.dialogue),
            "generated_at": report.generated_at,
            "totals": _totals_naming_overdue(report.totals),
            "campaigns": [
                {
                    **{k: v for k, v in dataclasses.asdict(c).items() if k != "totals"},
                    "totals": _totals_naming_overdue(c.totals),
                }
                for c in report.campaigns
            ],
            "organizations": [dataclasses.asdict(o) for o in report.organizations],
        }
    )


def history_data(report: HistoryReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["region_label"] = report.region_label
    return json_value(data)


def status_json(report: StatusReport) -> str:
    return dumps(status_data(report))


def dialogue_json(report: DialogueReport) -> str:
    return dumps(dialogue_data(report))


def history_json(report: HistoryReport) -> str:
    return dumps(history_data(report))
