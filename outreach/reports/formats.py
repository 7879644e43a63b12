"""Reports as text: an 80-column table, CSV, JSON and Markdown.

Every function returns a string. Table output may carry ANSI colour codes
when ``color=True``; the command line passes it through ``click.echo``, which
removes them when the output is not a terminal.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from outreach.csvcells import neutralise_formula
from outreach.reports.status import (
    STANCE_LABELS,
    GroupRate,
    RecipientStatus,
    StatusReport,
    StatusTotals,
    region_label,
)

if TYPE_CHECKING:  # pragma: no cover - the status path does not load these
    from outreach.reports.dialogue import DialogueReport
    from outreach.reports.history import HistoryReport

WIDTH = 80
#: Overdue organizations named under the table (the others are counted).
OVERDUE_SHOWN = 12
FORMATS = ("table", "csv", "json", "md", "html")

#: Region names short enough for the table.
REGION_SHORT = {
    "africa": "Africa",
    "americas": "Americas",
    "asia-pacific": "Asia-Pac",
    "europe": "Europe",
    "mena": "MENA",
    "global": "Global",
}

BODY_LABELS = {
    "general-assembly": "General Assembly",
    "security-council": "Security Council",
    "human-rights-council": "Human Rights Council",
    "other": "other body",
}

#: Stances in the table (the other formats use the stored value).
STANCE_SHORT = {
    "commitment": "will speak",
    "supportive": "supportive",
    "acknowledgement": "acknowledged",
    "neutral": "neutral",
    "decline": "declined",
    "other": "other",
}

_ANSI = {
    "green": "\x1b[32m",
    "red": "\x1b[31m",
    "yellow": "\x1b[33m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
}
_RESET = "\x1b[0m"

#: Leading characters a spreadsheet would treat as the start of a formula.


# --- small helpers --------------------------------------------------------------


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.0f}%"


def day(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()


def long_date(value: dt.date | None) -> str:
    if value is None:
        return "date not announced"
    return f"{value.day} {value.strftime('%B %Y')}"


def days_text(value: float | None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} day" if text == "1" else f"{text} days"


def _paint(text: str, colour: str | None, color: bool) -> str:
    if not color or not colour or not text.strip():
        return text
    return "".join(_ANSI[c] for c in colour.split("+")) + text + _RESET


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _wrap(label: str, text: str, width: int = WIDTH, *, items: bool = False) -> list[str]:
    """*text* wrapped under a 10-character *label*. With *items*, the parts
    between " · " are kept whole on one line where they fit."""
    if items:
        text = f"{_NBSP}· ".join(part.replace(" ", _NBSP) for part in text.split(" · "))
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=label.ljust(10),
        subsequent_indent=" " * 10,
        break_on_hyphens=False,
    ) or [label]
    return [line.replace(_NBSP, " ") for line in lines]


_NBSP = "\u00a0"


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise_formula("" if v is None else _plain(v)) for v in row])
    return buf.getvalue()


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime | dt.date):
        return day(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def md_cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    text = "" if value is None else _plain(value)
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows]
    return lines


@dataclasses.dataclass(frozen=True)
class Column:
    title: str
    width: int
    get: Callable[[Any], str]
    right: bool = False
    colour: Callable[[Any], str | None] = lambda _row: None


def _table(columns: Sequence[Column], rows: Sequence[Any], color: bool) -> list[str]:
    def cell(col: Column, text: str) -> str:
        text = _fit(text, col.width)
        return text.rjust(col.width) if col.right else text.ljust(col.width)

    def line(texts: list[str], colours: list[str | None]) -> str:
        cells = [cell(c, t) for c, t in zip(columns, texts, strict=True)]
        # No padding after the last cell that has text (colour codes would hide it).
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            cells[-1] = cells[-1].rstrip()
        return "  ".join(_paint(t, k, color) for t, k in zip(cells, colours, strict=False))

    lines = [line([c.title for c in columns], ["bold"] * len(columns))]
    for row in rows:
        lines.append(line([c.get(row) for c in columns], [c.colour(row) for c in columns]))
    return lines


def _fit_widths(columns: list[Column], stretch: int) -> list[Column]:
    """Give column *stretch* whatever is left of the 80 columns."""
    used = sum(c.width for i, c in enumerate(columns) if i != stretch) + 2 * (len(columns) - 1)
    out = list(columns)
    out[stretch] = dataclasses.replace(columns[stretch], width=max(WIDTH - used, 6))
    return out


def _short_date_fn(values: Sequence[dt.datetime | dt.date | None]) -> Callable[[Any], str]:
    years = {v.year for v in values if v is not None}
    if len(years) <= 1:
        return lambda v: v.strftime("%d %b") if v else ""
    return lambda v: v.strftime("%d %b %y") if v else ""


# --- status ---------------------------------------------------------------------


STATUS_CSV_COLUMNS = (
    "acronym",
    "name",
    "region",
    "kind",
    "letter_status",
    "language",
    "channel",
    "sent_date",
    "days_waiting",
    "followups_sent",
    "first_response_date",
    "responses",
    "stance",
    "committed",
    "overdue",
    "summary",
)


def status_csv(report: StatusReport) -> str:
    return _csv(
        STATUS_CSV_COLUMNS,
        [
            (
                r.acronym,
                r.name,
                r.region,
                r.kind,
                r.letter_status,
                r.language,
                r.channel,
                r.sent_at,
                r.days_waiting,
                r.followups_sent,
                r.first_response_at,
                r.responses,
                r.stance,
                r.committed,
                r.overdue,
                r.summary,
            )
            for r in report.rows
        ],
    )


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
    return _json_value(
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


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def status_json(report: StatusReport) -> str:
    return _dumps(status_data(report))


def dialogue_line(title: str | None, date: dt.date | None, today: dt.date) -> str:
    if title is None:
        return "not linked to a dialogue"
    if date is None:
        return f"{title}, date not announced"
    delta = (date - today).days
    when = "today" if delta == 0 else f"in {delta} days" if delta > 0 else f"{-delta} days ago"
    return f"{title}, {long_date(date)} ({when})"


def _rates_text(groups: list[GroupRate]) -> str:
    parts = [f"{g.label} {g.answered}/{g.sent} {percent(g.rate)}" for g in groups if g.sent]
    return " · ".join(parts) or "nothing sent yet"


def status_summary_lines(report: StatusReport) -> list[str]:
    t = report.totals
    c = report.campaign
    lines = _wrap("Campaign", f"{c.slug}: {c.title} [{c.status}]")
    lines += _wrap(
        "Dialogue", dialogue_line(c.dialogue_title, c.dialogue_date, report.generated_at.date())
    )
    lines += _wrap("Figures", figures_text(t), items=True)
    lines += _wrap("By region", _rates_text(t.by_region), items=True)
    lines += _wrap("By kind", _rates_text(t.by_kind), items=True)
    return lines


def figures_text(t: StatusTotals) -> str:
    return (
        f"{t.recipients} recipients · {t.sent} sent · {t.answered} answered"
        f" ({percent(t.response_rate)} of sent) · median {days_text(t.median_days_to_answer)}"
        f" to answer · {t.commitments} commitment{'s' if t.commitments != 1 else ''} to speak"
        f" · {t.followups_sent} follow-up{'s' if t.followups_sent != 1 else ''} sent"
        f" · {len(t.overdue)} overdue"
    )


def status_table(report: StatusReport, *, color: bool = False) -> str:
    rows = report.rows
    short = _short_date_fn([r.sent_at for r in rows] + [r.first_response_at for r in rows])
    date_w = max(6, len(short(report.generated_at)))

    def stance_colour(r: RecipientStatus) -> str | None:
        return {
            "commitment": "green+bold",
            "supportive": "green",
            "decline": "red",
        }.get(r.stance or "")

    def status_colour(r: RecipientStatus) -> str | None:
        return {"failed": "red", "cancelled": "dim", "draft": "dim", "approved": "dim"}.get(
            r.letter_status
        )

    def days(r: RecipientStatus) -> str:
        if r.days_waiting is None:
            return ""
        return f"{r.days_waiting}!" if r.overdue else f"{r.days_waiting} "

    columns = [
        Column("ORG", 8, lambda r: r.acronym),
        Column("REGION", 8, lambda r: REGION_SHORT.get(r.region or "", r.region or "")),
        Column("STATUS", 9, lambda r: r.letter_status, colour=status_colour),
        Column("LANG", 4, lambda r: r.language or ""),
        Column("SENT", date_w, lambda r: short(r.sent_at)),
        Column(
            "DAYS",
            5,
            days,
            right=True,
            colour=lambda r: "red+bold" if r.overdue else None,
        ),
        Column("F-UP", 4, lambda r: str(r.followups_sent) if r.followups_sent else "", right=True),
        Column("ANSWERED", max(8, date_w), lambda r: short(r.first_response_at)),
        Column(
            "STANCE",
            10,
            lambda r: STANCE_SHORT.get(r.stance or "", r.stance or ""),
            colour=stance_colour,
        ),
    ]
    columns = _fit_widths(columns, len(columns) - 1)
    lines = status_summary_lines(report)
    lines.append("")
    if rows:
        lines += _table(columns, rows, color)
    else:
        lines.append("No recipients yet: generate the campaign's letters first.")
    overdue = report.totals.overdue
    after = days_text(report.overdue_after.total_seconds() / 86400)
    lines.append("")
    if overdue:
        shown = overdue if len(overdue) <= OVERDUE_SHOWN + 2 else overdue[:OVERDUE_SHOWN]
        text = ", ".join(f"{r.acronym} ({r.days_waiting} days)" for r in shown)
        if len(shown) < len(overdue):
            text += f" and {len(overdue) - len(shown)} more (all in --format csv or md)"
        lines += _wrap("Overdue", f"no answer after {after} (marked !): {text}")
    else:
        lines += _wrap("Overdue", f"none (no recipient has waited more than {after})")
    return "\n".join(lines) + "\n"


def status_markdown(report: StatusReport) -> str:
    c, t = report.campaign, report.totals
    out = [f"# Status of {md_cell(c.title)} (`{c.slug}`)", ""]
    when = dialogue_line(c.dialogue_title, c.dialogue_date, report.generated_at.date())
    out.append(f"- Dialogue: {md_cell(when)}")
    out.append(f"- Campaign status: {c.status}")
    out.append(f"- Report generated: {report.generated_at.strftime('%Y-%m-%d %H:%M')} UTC")
    out += ["", "## Summary", ""]
    out += md_table(
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
    for title, groups in (("By region", t.by_region), ("By kind", t.by_kind)):
        out += ["", f"## {title}", ""]
        out += md_table(
            (title.split()[-1].title(), "Recipients", "Sent", "Answered", "Response rate"),
            [(g.label, g.recipients, g.sent, g.answered, percent(g.rate)) for g in groups],
        )
    out += ["", "## Stances", ""]
    if t.by_stance:
        out += md_table(
            ("Stance", "Organizations"),
            [(STANCE_LABELS.get(k, k), n) for k, n in t.by_stance.items()],
        )
    else:
        out.append("No responses yet.")
    out += ["", "## Overdue", ""]
    if t.overdue:
        out += md_table(
            ("Organization", "Sent", "Days waiting", "Follow-ups sent"),
            [(r.acronym, r.sent_at, r.days_waiting, r.followups_sent) for r in t.overdue],
        )
    else:
        out.append("None.")
    out += ["", "## Recipients", ""]
    out += md_table(
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
    return "\n".join(out) + "\n"


def render_status(report: StatusReport, fmt: str, *, color: bool = False) -> str:
    if fmt == "csv":
        return status_csv(report)
    if fmt == "json":
        return status_json(report)
    if fmt == "md":
        return status_markdown(report)
    if fmt == "html":
        from outreach.reports.html import status_html

        return status_html(report)
    return status_table(report, color=color)


# --- dialogue -------------------------------------------------------------------


def dialogue_data(report: DialogueReport) -> dict[str, Any]:
    return _json_value(
        {
            "dialogue": dataclasses.asdict(report.dialogue),
            "generated_at": report.generated_at,
            "totals": {
                **dataclasses.asdict(report.totals),
                "overdue": [r.acronym for r in report.totals.overdue],
            },
            "campaigns": [
                {
                    **{k: v for k, v in dataclasses.asdict(c).items() if k != "totals"},
                    "totals": {
                        **dataclasses.asdict(c.totals),
                        "overdue": [r.acronym for r in c.totals.overdue],
                    },
                }
                for c in report.campaigns
            ],
            "organizations": [dataclasses.asdict(o) for o in report.organizations],
        }
    )


def _outcome_text(report: DialogueReport) -> str:
    d = report.dialogue
    spoke = [
        (d.states_spoke, "member states"),
        (d.regional_orgs_spoke, "regional organizations"),
        (d.civil_society_spoke, "civil-society speakers"),
    ]
    parts = [f"{n} {what}" for n, what in spoke if n is not None]
    return ("spoke: " + ", ".join(parts)) if parts else "not recorded yet"


DIALOGUE_CSV_COLUMNS = (
    "acronym",
    "name",
    "region",
    "kind",
    "campaigns",
    "sent",
    "answered",
    "first_sent_date",
    "first_response_date",
    "stance",
    "committed",
)


def render_dialogue(report: DialogueReport, fmt: str, *, color: bool = False) -> str:
    d, t = report.dialogue, report.totals
    if fmt == "html":
        from outreach.reports.html import dialogue_html

        return dialogue_html(report)
    if fmt == "json":
        return _dumps(dialogue_data(report))
    if fmt == "csv":
        return _csv(
            DIALOGUE_CSV_COLUMNS,
            [
                (
                    o.acronym,
                    o.name,
                    o.region,
                    o.kind,
                    o.campaigns,
                    o.sent,
                    o.answered,
                    o.first_sent_at,
                    o.first_response_at,
                    o.stance,
                    o.committed,
                )
                for o in report.organizations
            ],
        )
    camp_rows = [
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
    if fmt == "md":
        out = [f"# Dialogue: {md_cell(d.title)} (`{d.slug}`)", ""]
        out.append(f"- Date: {long_date(d.date)}")
        out.append(f"- Body: {BODY_LABELS.get(d.body, d.body)}")
        if d.theme:
            out.append(f"- Theme: {md_cell(d.theme)}")
        if d.report_symbol:
            out.append(f"- Secretary-General's report: {md_cell(d.report_symbol)}")
        out.append(f"- Outcome: {_outcome_text(report)}")
        if d.outcome_notes:
            out.append(f"- Notes: {md_cell(d.outcome_notes)}")
        out += ["", "## Figures across campaigns", "", f"{figures_text(t)}.", ""]
        out += ["## Campaigns", ""]
        out += md_table(
            ("Campaign", "Status", "Recipients", "Sent", "Answered", "Rate", "Commitments"),
            camp_rows,
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
        return "\n".join(out) + "\n"
    lines = _wrap("Dialogue", f"{d.slug}: {d.title}")
    lines += _wrap("Date", f"{long_date(d.date)} · {BODY_LABELS.get(d.body, d.body)}")
    if d.theme:
        lines += _wrap("Theme", d.theme)
    if d.report_symbol:
        lines += _wrap("SG report", d.report_symbol)
    lines += _wrap("Outcome", _outcome_text(report))
    if d.outcome_notes:
        lines += _wrap("Notes", d.outcome_notes)
    lines += _wrap("Figures", figures_text(t), items=True)
    lines.append("")
    if report.campaigns:
        columns = [
            Column("CAMPAIGN", 30, lambda r: r[0]),
            Column("STATUS", 6, lambda r: r[1]),
            Column("RECIP", 5, lambda r: str(r[2]), right=True),
            Column("SENT", 5, lambda r: str(r[3]), right=True),
            Column("ANSWERED", 8, lambda r: str(r[4]), right=True),
            Column("RATE", 4, lambda r: r[5], right=True),
            Column("SPEAK", 5, lambda r: str(r[6]), right=True),
        ]
        lines += _table(_fit_widths(columns, 0), camp_rows, color)
    else:
        lines.append("No campaigns for this dialogue yet.")
    if report.organizations:
        lines.append("")
        columns = [
            Column("ORG", 9, lambda o: o.acronym),
            Column("REGION", 8, lambda o: REGION_SHORT.get(o.region or "", o.region or "")),
            Column("CAMPAIGNS", 9, lambda o: str(o.campaigns), right=True),
            Column("SENT", 4, lambda o: str(o.sent), right=True),
            Column("ANSWERED", 8, lambda o: str(o.answered), right=True),
            Column(
                "STANCE",
                12,
                lambda o: STANCE_SHORT.get(o.stance or "", o.stance or ""),
                colour=lambda o: "green" if o.committed else None,
            ),
            Column("SPEAK", 5, lambda o: "yes" if o.committed else ""),
        ]
        lines += _table(_fit_widths(columns, 5), report.organizations, color)
    return "\n".join(lines) + "\n"


# --- history --------------------------------------------------------------------


HISTORY_CSV_COLUMNS = (
    "year",
    "campaign",
    "campaign_title",
    "dialogue",
    "dialogue_date",
    "letter_status",
    "language",
    "channel",
    "sent_date",
    "followups_sent",
    "first_response_date",
    "responses",
    "stance",
    "committed",
    "summary",
)


def render_history(report: HistoryReport, fmt: str, *, color: bool = False) -> str:
    if fmt == "html":
        from outreach.reports.html import history_html

        return history_html(report)
    if fmt == "json":
        data = dataclasses.asdict(report)
        data["region_label"] = report.region_label
        return _dumps(_json_value(data))
    rows = [
        (
            r.year,
            r.campaign_slug,
            r.campaign_title,
            r.dialogue_slug,
            r.dialogue_date,
            r.letter_status,
            r.language,
            r.channel,
            r.sent_at,
            r.followups_sent,
            r.first_response_at,
            r.responses,
            r.stance,
            r.committed,
            r.summary,
        )
        for r in report.rows
    ]
    if fmt == "csv":
        return _csv(HISTORY_CSV_COLUMNS, rows)
    figures = (
        f"{report.campaigns} campaign{'s' if report.campaigns != 1 else ''} · "
        f"{report.sent} written to · {report.answered} answered "
        f"({percent(report.response_rate)} of those written to) · "
        f"{report.commitments} commitment{'s' if report.commitments != 1 else ''} to speak"
    )
    if fmt == "md":
        out = [f"# History of {md_cell(report.acronym)}: {md_cell(report.name)}", ""]
        out.append(f"- Region: {report.region_label}; kind: {report.kind}")
        out.append(f"- {figures}")
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
        return "\n".join(out) + "\n"
    lines = _wrap("Org", f"{report.acronym}: {report.name}")
    lines += _wrap("Region", f"{report.region_label} · {report.kind}")
    lines += _wrap("Figures", figures, items=True)
    lines.append("")
    if not report.rows:
        lines.append("No campaign has written to this organization yet.")
        return "\n".join(lines) + "\n"
    columns = [
        Column("YEAR", 4, lambda r: str(r.year)),
        Column("CAMPAIGN", 20, lambda r: r.campaign_slug),
        Column("LETTER", 9, lambda r: r.letter_status or "no letter"),
        Column("SENT", 10, lambda r: day(r.sent_at)),
        Column("F-UP", 4, lambda r: str(r.followups_sent) if r.followups_sent else "", right=True),
        Column(
            "ANSWERED",
            10,
            lambda r: day(r.first_response_at) or ("no answer" if r.sent_at else ""),
            colour=lambda r: None if r.answered or not r.sent_at else "yellow",
        ),
        Column(
            "STANCE",
            12,
            lambda r: STANCE_SHORT.get(r.stance or "", r.stance or ""),
            colour=lambda r: "green" if r.committed else "red" if r.stance == "decline" else None,
        ),
    ]
    lines += _table(_fit_widths(columns, 1), report.rows, color)
    return "\n".join(lines) + "\n"
