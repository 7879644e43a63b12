"""Reports as Markdown: headings, a few facts as a list, and pipe tables
that carry every column.

A Markdown report is mostly read on a terminal, so stored text shows control
characters, separators and bidi controls as visible escapes (``\\x1b``, see
:func:`outreach.safetext.for_terminal`): in every cell, and in the whole
document once more before it is returned."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from outreach.reports.i18n import tr
from outreach.reports.labels import (
    body_label,
    channel_label,
    days_text,
    dialogue_line,
    kind_label,
    long_date,
    percent,
    plain,
    region_label,
    stance_label,
    status_label,
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
    out = [tr("# Status of {title} (`{slug}`)", title=md_cell(c.title), slug=c.slug), ""]
    when = dialogue_line(c.dialogue_title, c.dialogue_date, report.generated_at.date())
    out.append(tr("- Dialogue: {when}", when=md_cell(when)))
    out.append(tr("- Campaign status: {status}", status=status_label(c.status)))
    out.append(tr(
            "- Report generated: {moment} UTC",
            moment=report.generated_at.strftime("%Y-%m-%d %H:%M"),
        ))
    out += ["", "## " + tr("Summary"), ""]
    out += _status_summary(report)
    out += _section(tr("By region"), _group_table(tr("Region"), t.by_region, region_label))
    out += _section(tr("By kind"), _group_table(tr("Kind"), t.by_kind, kind_label))
    out += _section(tr("Stances"), _stance_table(t), tr("No responses yet."))
    out += _section(tr("Overdue"), _overdue_table(t), tr("None."))
    out += _section(tr("Recipients"), _recipient_table(report))
    return _document(out)


def _status_summary(report: StatusReport) -> list[str]:
    t = report.totals
    after = days_text(report.overdue_after.days)
    return md_table(
        (tr("Figure"), tr("Value")),
        [
            (tr("Recipients"), t.recipients),
            (tr("Letters sent"), t.sent),
            (tr("Not sent yet"), t.not_sent),
            *([(tr("Letters bounced"), t.bounced)] if t.bounced else []),
            (tr("Answered"), t.answered),
            (tr("Response rate (of sent)"), percent(t.response_rate)),
            (tr("Median days to answer"), days_text(t.median_days_to_answer)),
            (tr("Commitments to speak"), t.commitments),
            (tr("Follow-ups sent"), t.followups_sent),
            (tr("Overdue (no answer after {after})", after=after), len(t.overdue)),
        ],
    )


def _group_table(
    what: str, groups: list[GroupRate], label: Callable[[str | None], str]
) -> list[str]:
    return md_table(
        (what, tr("Recipients"), tr("Sent"), tr("Answered"), tr("Response rate")),
        [(label(g.key), g.recipients, g.sent, g.answered, percent(g.rate)) for g in groups],
    )


def _stance_table(t: StatusTotals) -> list[str]:
    if not t.by_stance:
        return []
    return md_table(
        (tr("Stance"), tr("Organizations")),
        [(stance_label(k), n) for k, n in t.by_stance.items()],
    )


def _overdue_table(t: StatusTotals) -> list[str]:
    if not t.overdue:
        return []
    return md_table(
        (tr("Organization"), tr("Sent"), tr("Days waiting"), tr("Follow-ups sent")),
        [(r.acronym, r.sent_at, r.days_waiting, r.followups_sent) for r in t.overdue],
    )


def _recipient_table(report: StatusReport) -> list[str]:
    return md_table(
        tuple(
            tr(h)
            for h in (
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
            )
        ),
        [
            (
                r.acronym,
                r.name,
                r.region_label,
                r.kind_label,
                status_label(r.letter_status),
                r.language,
                channel_label(r.channel),
                r.sent_at,
                tr("{n} (overdue)", n=r.days_waiting) if r.overdue else r.days_waiting,
                r.followups_sent,
                r.first_response_at,
                stance_label(r.stance) if r.stance else None,
                r.summary,
            )
            for r in report.rows
        ],
    )


# --- dialogue -----------------------------------------------------------------------


def dialogue_markdown(report: DialogueReport) -> str:
    d = report.dialogue
    out = [tr("# Dialogue: {title} (`{slug}`)", title=md_cell(d.title), slug=d.slug), ""]
    out.append("- " + tr("Date") + f": {long_date(d.date)}")
    out.append("- " + tr("Body") + f": {body_label(d.body)}")
    if d.theme:
        out.append("- " + tr("Theme") + f": {md_cell(d.theme)}")
    if d.report_symbol:
        out.append("- " + tr("Secretary-General's report") + f": {md_cell(d.report_symbol)}")
    out.append("- " + tr("Outcome") + f": {outcome_text(d)}")
    if d.outcome_notes:
        out.append("- " + tr("Notes") + f": {md_cell(d.outcome_notes)}")
    out += ["", "## " + tr("Figures across campaigns"), "", f"{figures_text(report.totals)}.", ""]
    out += ["## " + tr("Campaigns"), ""]
    out += md_table(
        tuple(
            tr(h)
            for h in ("Campaign", "Status", "Recipients", "Sent", "Answered", "Rate", "Commitments")
        ),
        campaign_figures(report),
    )
    out += ["", "## " + tr("Organizations"), ""]
    out += md_table(
        tuple(
            tr(h)
            for h in (
                "Org", "Name", "Region", "Campaigns", "Sent", "Answered", "Stance", "Will speak"
            )
        ),
        [
            (
                o.acronym,
                o.name,
                region_label(o.region),
                o.campaigns,
                o.sent,
                o.answered,
                stance_label(o.stance) if o.stance else None,
                o.committed,
            )
            for o in report.organizations
        ],
    )
    return _document(out)


# --- history ------------------------------------------------------------------------


def history_markdown(report: HistoryReport) -> str:
    out = [
        tr(
            "# History of {acronym}: {name}",
            acronym=md_cell(report.acronym),
            name=md_cell(report.name),
        ),
        "",
    ]
    out.append(
        tr(
            "- Region: {region}; kind: {kind}",
            region=report.region_label,
            kind=kind_label(report.kind),
        )
    )
    out.append(f"- {history_figures_text(report)}")
    out.append("")
    out += md_table(
        tuple(
            tr(h)
            for h in (
                "Year",
                "Campaign",
                "Dialogue",
                "Letter",
                "Sent",
                "Follow-ups",
                "Answered",
                "Stance",
                "Summary",
            )
        ),
        [
            (
                r.year,
                r.campaign_slug,
                r.dialogue_title,
                status_label(r.letter_status) or tr("no letter"),
                r.sent_at,
                r.followups_sent,
                r.first_response_at,
                stance_label(r.stance) if r.stance else None,
                r.summary,
            )
            for r in report.rows
        ],
    )
    return _document(out)
