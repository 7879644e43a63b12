"""The figures the table and Markdown both show: a campaign's on one line,
a dialogue's outcome and campaigns, an organization's history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outreach.reports.labels import days_text, percent

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from outreach.reports.dialogue import DialogueInfo, DialogueReport
    from outreach.reports.history import HistoryReport
    from outreach.reports.status import StatusTotals


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def figures_text(t: StatusTotals) -> str:
    """A campaign's (or a dialogue's) figures on one line."""
    return (
        f"{t.recipients} recipients · {t.sent} sent · {t.answered} answered"
        f" ({percent(t.response_rate)} of sent) · median {days_text(t.median_days_to_answer)}"
        f" to answer · {_plural(t.commitments, 'commitment')} to speak"
        f" · {_plural(t.followups_sent, 'follow-up')} sent"
        f" · {len(t.overdue)} overdue"
    )


def outcome_text(d: DialogueInfo) -> str:
    """Who spoke at the dialogue, as far as it is recorded."""
    spoke = [
        (d.states_spoke, "member states"),
        (d.regional_orgs_spoke, "regional organizations"),
        (d.civil_society_spoke, "civil-society speakers"),
    ]
    parts = [f"{n} {what}" for n, what in spoke if n is not None]
    return ("spoke: " + ", ".join(parts)) if parts else "not recorded yet"


def history_figures_text(report: HistoryReport) -> str:
    """An organization's history in figures, on one line."""
    return (
        f"{_plural(report.campaigns, 'campaign')} · "
        f"{report.sent} written to · {report.answered} answered "
        f"({percent(report.response_rate)} of those written to) · "
        f"{_plural(report.commitments, 'commitment')} to speak"
    )


def campaign_figures(report: DialogueReport) -> list[tuple[Any, ...]]:
    """Each campaign of a dialogue: slug, status, recipients, sent, answered,
    response rate (as text) and commitments."""
    return [
        (
            c.slug,
            c.status,
            c.totals.recipients,
            c.totals.sent,
            c.totals.answered,
            percent(c.totals.response_rate),
            c.totals.commitments,
        )
        for c in report.campaigns
    ]
