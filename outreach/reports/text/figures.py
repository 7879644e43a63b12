"""The figures the table and Markdown both show: a campaign's on one line,
a dialogue's outcome and campaigns, an organization's history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outreach.reports.i18n import number, plural, tr
from outreach.reports.labels import days_text, percent, status_label

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from outreach.reports.dialogue import DialogueInfo, DialogueReport
    from outreach.reports.history import HistoryReport
    from outreach.reports.status import StatusTotals


def figures_text(t: StatusTotals) -> str:
    """A campaign's (or a dialogue's) figures on one line."""
    return " · ".join(
        [
            plural("{n} recipient", "{n} recipients", t.recipients),
            tr("{n} sent", n=number(t.sent)),
            tr(
                "{n} answered ({rate} of sent)",
                n=number(t.answered),
                rate=percent(t.response_rate),
            ),
            tr("median {days} to answer", days=days_text(t.median_days_to_answer)),
            plural("{n} commitment to speak", "{n} commitments to speak", t.commitments),
            plural("{n} follow-up sent", "{n} follow-ups sent", t.followups_sent),
            tr("{n} overdue", n=number(len(t.overdue))),
        ]
        + ([tr("{n} bounced", n=number(t.bounced))] if t.bounced else [])
    )


def outcome_text(d: DialogueInfo) -> str:
    """Who spoke at the dialogue, as far as it is recorded."""
    spoke = [
        (d.states_spoke, "{n} member states"),
        (d.regional_orgs_spoke, "{n} regional organizations"),
        (d.civil_society_spoke, "{n} civil-society speakers"),
    ]
    parts = [tr(what, n=number(n)) for n, what in spoke if n is not None]
    return tr("spoke: {parts}", parts=", ".join(parts)) if parts else tr("not recorded yet")


def history_figures_text(report: HistoryReport) -> str:
    """An organization's history in figures, on one line."""
    return " · ".join(
        [
            plural("{n} campaign", "{n} campaigns", report.campaigns),
            tr("{n} written to", n=number(report.sent)),
            tr(
                "{n} answered ({rate} of those written to)",
                n=number(report.answered),
                rate=percent(report.response_rate),
            ),
            plural("{n} commitment to speak", "{n} commitments to speak", report.commitments),
        ]
    )


def campaign_figures(report: DialogueReport) -> list[tuple[Any, ...]]:
    """Each campaign of a dialogue: slug, status, recipients, sent, answered,
    response rate (as text) and commitments."""
    return [
        (
            c.slug,
            status_label(c.status),
            c.totals.recipients,
            c.totals.sent,
            c.totals.answered,
            percent(c.totals.response_rate),
            c.totals.commitments,
        )
        for c in report.campaigns
    ]
