"""Reports as Markdown: headings, a few facts as a list, and pipe tables
that carry every column.

A Markdown report is mostly read on a terminal, so stored text shows control
characters, separators and bidi controls as visible escapes (``\\x1b``, see
:func:`outreach.safetext.for_terminal`): in every cell, and in the whole
document once more before it is returned."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from outreach.reports.labels import (
    STANCE_LABELS,
    body_label,
    days_text,
    dialogue_line,
    long_date,
    percent,
    plain,
    region_label,
)
from outreach.reports.text.figures import (
    campaign_figures,
    figures_text,
    history_figures_text,
    outcome_text,
)
from outreach.safetext import for_terminal

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from outreach.reports.dialogue import DialogueReport
    from outreach.reports.history import HistoryReport
    from outreach.reports.status import GroupRate, StatusReport, StatusTotals


def md_cell(value: Any) -> str:
    """A Markdown table cell: one line, pipes and backslashes escaped, then
    control characters as escapes (``\\x1b``, which Markdown shows as it is)."""
    text = "" if value is None else plain(value)
    text = for_terminal(text.replace("\\", "\\\\").replace("|", "\\|"), multiline=True)
    return " ".join(text.split())


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows]
    return lines


def _section(title: str, lines: list[str], empty: str = "") -> list[str]:
    """A ``##`` section: its *lines*, or the sentence *empty* when there are none."""
    return ["", f"## {title}", "", *(lines or [empty])]


def _document(lines: list[str]) -> str:
    # Every stored value is in a cell already; this catches any that is not.
    return for_terminal("\n".join(lines) + "\n", multiline=True)


# --- status -------------------------------------------------------------------------


def status_markdown(report: StatusReport) -> str:
    c, t = report.campaign, report.totals
    out = [f"# Status of {md_cell(c.title)} (`{c.slug}`)", ""]
    when = dialogue_line(c.dialogue_title, c.dialogue_date, report.generated_at.date())
    out.append(f"- Dialogue: {md_cell(when)}")
    out.append(f"- Campaign status: {c.status}")
    out.append(f"- Report generated: {report.generated_at.strftime('%Y-%m-%d %H:%M')} UTC")
    out += ["", "## Summary", ""]
    out += _status_summary(report)
    for title, groups in (("By region", t.by_region), ("By kind", t.by_kind)):
        out += _section(title, _group_table(title.split()[-1].title(), groups))
    out += _section("Stances", _stance_table(t), "No responses yet.")
    out += _section("Overdue", _overdue_table(t), "None.")
    out += _section("Recipients", _recipient_table(report))
    return _document(out)


def _status_summary(report: StatusReport) -> list[str]:
    t = report.totals
    return md_table(
        ("Figure", "Value"),
        [
            ("Recipients", t.recipients),
            ("Letters sent", t.sent),
            ("Not sent yet", t.not_sent),
            ("Answered", t.answered),
            ("Response rate (of sent)", percent(t.response_rate)),
            ("Median days to answer", days_text(t.median_days_to_answer)),
            ("Commitments to speak", t.commitments),
            ("Follow-ups sent", t.followups_sent),
            (f"Overdue (no answer after {days_text(report.overdue_after.days)})", len(t.overdue)),
        ],
    )


def _group_table(what: str, groups: list[GroupRate]) -> list[str]:
    return md_table(
        (what, "Recipients", "Sent", "Answered", "Response rate"),
        [(g.label, g.recipients, g.sent, g.answered, percent(g.rate)) for g in groups],
    )


def _stance_table(t: StatusTotals) -> list[str]:
    if not t.by_stance:
        return []
    return md_table(
        ("Stance", "Organizations"),
        [(STANCE_LABELS.get(k, k), n) for k, n in t.by_stance.items()],
    )


def _overdue_table(t: StatusTotals) -> list[str]:
    if not t.overdue:
        return []
    return md_table(
        ("Organization", "Sent", "Days waiting", "Follow-ups sent"),
        [(r.acronym, r.sent_at, r.days_waiting, r.followups_sent) for r in t.overdue],
    )


def _recipient_table(report: StatusReport) -> list[str]:
    return md_table(
        (
            "Org",
            "Name",
            "Region",
            "Kind",
            "Letter",
            "Lang",
            "Channel",
            "Sent",
            "Days waiting",
            "Follow-ups",
            "Answered",
            "Stance",
            "Summary",
        ),
        [
            (
                r.acronym,
                r.name,
                r.region_label,
                r.kind_label,
                r.letter_status,
                r.language,
                r.channel,
                r.sent_at,
                f"{r.days_waiting} (overdue)" if r.overdue else r.days_waiting,
                r.followups_sent,
                r.first_response_at,
                r.stance,
                r.summary,
            )
            for r in report.rows
        ],
    )


# --- dialogue -----------------------------------------------------------------------


def dialogue_markdown(report: DialogueReport) -> str:
    d = report.dialogue
    out = [f"# Dialogue: {md_cell(d.title)} (`{d.slug}`)", ""]
    out.append(f"- Date: {long_date(d.date)}")
    out.append(f"- Body: {body_label(d.body)}")
    if d.theme:
        out.append(f"- Theme: {md_cell(d.theme)}")
    if d.report_symbol:
        out.append(f"- Secretary-General's report: {md_cell(d.report_symbol)}")
    out.append(f"- Outcome: {outcome_text(d)}")
    if d.outcome_notes:
        out.append(f"- Notes: {md_cell(d.outcome_notes)}")
    out += ["", "## Figures across campaigns", "", f"{figures_text(report.totals)}.", ""]
    out += ["## Campaigns", ""]
    out += md_table(
        ("Campaign", "Status", "Recipients", "Sent", "Answered", "Rate", "Commitments"),
        campaign_figures(report),
    )
    out += ["", "## Organizations", ""]
    out += md_table(
        ("Org", "Name", "Region", "Campaigns", "Sent", "Answered", "Stance", "Will speak"),
        [
            (
                o.acronym,
                o.name,
                region_label(o.region),
                o.campaigns,
                o.sent,
                o.answered,
                o.stance,
                o.committed,
            )
            for o in report.organizations
        ],
    )
    return _document(out)


# --- history ------------------------------------------------------------------------


def history_markdown(report: HistoryReport) -> str:
    out = [f"# History of {md_cell(report.acronym)}: {md_cell(report.name)}", ""]
    out.append(f"- Region: {report.region_label}; kind: {report.kind}")
    out.append(f"- {history_figures_text(report)}")
    out.append("")
    out += md_table(
        (
            "Year",
            "Campaign",
            "Dialogue",
            "Letter",
            "Sent",
            "Follow-ups",
            "Answered",
            "Stance",
            "Summary",
        ),
        [
            (
                r.year,
                r.campaign_slug,
                r.dialogue_title,
                r.letter_status or "no letter",
                r.sent_at,
                r.followups_sent,
                r.first_response_at,
                r.stance,
                r.summary,
            )
            for r in report.rows
        ],
    )
    return _document(out)
