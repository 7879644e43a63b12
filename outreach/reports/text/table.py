"""Reports as an 80-column table for the terminal.

Table output may carry ANSI colour codes when ``color=True``; the command
line passes it through ``click.echo``, which removes them when the output is
not a terminal. Stored text (names, titles, notes) goes through
:func:`outreach.safetext.for_terminal` in :func:`_fit` and :func:`_wrap`:
line breaks and tabs become spaces, every other control character, separator
and bidi control a visible escape (``\\x1b``), so a stored name cannot drive
the terminal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from outreach.reports.i18n import full_date, number, short_date, tr
from outreach.reports.labels import (
    body_label,
    days_text,
    dialogue_line,
    kind_label,
    long_date,
    percent,
    region_label,
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
    from outreach.reports.status import GroupRate, RecipientStatus, StatusReport

WIDTH = 80
#: Overdue organizations named under the table (the others are counted).
OVERDUE_SHOWN = 12

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
_NBSP = "\u00a0"


# --- the machinery: colour, wrapping, columns --------------------------------------


def _paint(text: str, colour: str | None, color: bool) -> str:
    if not color or not colour or not text.strip():
        return text
    return "".join(_ANSI[c] for c in colour.split("+")) + text + _RESET


def _one_line(text: str) -> str:
    """*text* on one line, safe to print: tabs, line feeds and CR LF pairs
    folded into single spaces, any other control character (a lone CR too)
    shown as an escape."""
    return " ".join(for_terminal(text, multiline=True).split())


def _width(text: str) -> int:
    """Columns *text* takes on a terminal: two for a wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    text = _one_line(text)
    if _width(text) <= width:
        return text
    while text and _width(text) > width - 1:
        text = text[:-1]
    return text + "…"


def _content_width(least: int, texts: Iterable[str], most: int) -> int:
    """A column's width: *least*, or the widest of *texts* up to *most*."""
    return max(least, min(most, max((_width(t) for t in texts), default=0)))


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(width - _width(text), 0)
    return gap + text if right else text + gap


def _wrap(label: str, text: str, width: int = WIDTH, *, items: bool = False) -> list[str]:
    """*text* wrapped under a 10-character *label*. With *items*, the parts
    between " · " are kept whole on one line where they fit."""
    text = _one_line(text)
    if items:
        text = f"{_NBSP}· ".join(part.replace(" ", _NBSP) for part in text.split(" · "))
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=label.ljust(10) if len(label) < 10 else f"{label} ",
        subsequent_indent=" " * 10,
        break_on_hyphens=False,
    ) or [label]
    return [line.replace(_NBSP, " ") for line in lines]


@dataclasses.dataclass(frozen=True)
class Column:
    title: str
    width: int
    get: Callable[[Any], str]
    right: bool = False
    colour: Callable[[Any], str | None] = lambda _row: None


def _table(columns: Sequence[Column], rows: Sequence[Any], color: bool) -> list[str]:
    def cell(col: Column, text: str) -> str:
        return _pad(_fit(text, col.width), col.width, col.right)

    def line(texts: list[str], colours: list[str | None]) -> str:
        cells = [cell(c, t) for c, t in zip(columns, texts, strict=True)]
        # No padding after the last cell that has text (colour codes would hide it).
        while cells and not cells[-1].strip():
            cells.pop()
        if cells:
            cells[-1] = cells[-1].rstrip()
        return "  ".join(_paint(t, k, color) for t, k in zip(cells, colours, strict=False))

    lines = [line([tr(c.title) for c in columns], ["bold"] * len(columns))]
    for row in rows:
        lines.append(line([c.get(row) for c in columns], [c.colour(row) for c in columns]))
    return lines


def _fit_widths(columns: list[Column], stretch: int) -> list[Column]:
    """Give column *stretch* whatever is left of the 80 columns."""
    # A translated title wider than its column widens it (the stretch pays).
    columns = [
        c if i == stretch else dataclasses.replace(c, width=max(c.width, _width(tr(c.title))))
        for i, c in enumerate(columns)
    ]
    used = sum(c.width for i, c in enumerate(columns) if i != stretch) + 2 * (len(columns) - 1)
    out = list(columns)
    out[stretch] = dataclasses.replace(columns[stretch], width=max(WIDTH - used, 6))
    return out


def _short_date_fn(values: Sequence[dt.datetime | dt.date | None]) -> Callable[[Any], str]:
    years = {v.year for v in values if v is not None}
    if len(years) <= 1:
        return lambda v: short_date(v) if v else ""
    return lambda v: short_date(v, year=True) if v else ""


def _short_region(region: str | None) -> str:
    if region == "mena":
        return tr("MENA")
    if region == "asia-pacific":
        return tr("Asia-Pac")
    return region_label(region) if region else ""


def _short_stance(stance: str | None) -> str:
    found = STANCE_SHORT.get(stance or "")
    return tr(found) if found else (stance or "")


def _document(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


# --- status -------------------------------------------------------------------------


def _rates_text(groups: list[GroupRate], label: Callable[[str | None], str]) -> str:
    parts = [f"{label(g.key)} {g.answered}/{g.sent} {percent(g.rate)}" for g in groups if g.sent]
    return " · ".join(parts) or tr("nothing sent yet")


def status_summary_lines(report: StatusReport) -> list[str]:
    t = report.totals
    c = report.campaign
    lines = _wrap(tr("Campaign"), f"{c.slug}: {c.title} [{status_label(c.status)}]")
    lines += _wrap(
        tr("Dialogue"),
        dialogue_line(c.dialogue_title, c.dialogue_date, report.generated_at.date()),
    )
    lines += _wrap(tr("Figures"), figures_text(t), items=True)
    lines += _wrap(tr("By region"), _rates_text(t.by_region, region_label), items=True)
    lines += _wrap(tr("By kind"), _rates_text(t.by_kind, kind_label), items=True)
    return lines


_STANCE_COLOURS = {"commitment": "green+bold", "supportive": "green", "decline": "red"}
_STATUS_COLOURS = {"failed": "red", "cancelled": "dim", "draft": "dim", "approved": "dim"}


def _status_columns(report: StatusReport) -> list[Column]:
    rows = report.rows
    short = _short_date_fn([r.sent_at for r in rows] + [r.first_response_at for r in rows])
    date_w = max(6, _width(short(report.generated_at)))
    org_w = _content_width(8, (r.acronym for r in rows), 12)
    status_w = _content_width(9, (status_label(r.letter_status) for r in rows), 12)

    def days(r: RecipientStatus) -> str:
        if r.days_waiting is None:
            return ""
        return f"{r.days_waiting}!" if r.overdue else f"{r.days_waiting} "

    columns = [
        Column("ORG", org_w, lambda r: r.acronym),
        Column("REGION", 8, lambda r: _short_region(r.region)),
        Column(
            "STATUS",
            status_w,
            lambda r: status_label(r.letter_status),
            colour=lambda r: _STATUS_COLOURS.get(r.letter_status),
        ),
        Column("LANG", 4, lambda r: r.language or ""),
        Column("SENT", date_w, lambda r: short(r.sent_at)),
        Column("DAYS", 5, days, right=True, colour=lambda r: "red+bold" if r.overdue else None),
        Column("F-UP", 4, lambda r: str(r.followups_sent) if r.followups_sent else "", right=True),
        Column("ANSWERED", max(8, date_w), lambda r: short(r.first_response_at)),
        Column(
            "STANCE",
            10,
            lambda r: _short_stance(r.stance),
            colour=lambda r: _STANCE_COLOURS.get(r.stance or ""),
        ),
    ]
    return _fit_widths(columns, len(columns) - 1)


def _overdue_lines(report: StatusReport) -> list[str]:
    overdue = report.totals.overdue
    after = days_text(report.overdue_after.total_seconds() / 86400)
    if not overdue:
        return _wrap(tr("Overdue"), tr("none (no one has waited more than {after})", after=after))
    shown = overdue if len(overdue) <= OVERDUE_SHOWN + 2 else overdue[:OVERDUE_SHOWN]
    text = ", ".join(f"{r.acronym} ({days_text(r.days_waiting)})" for r in shown)
    if len(shown) < len(overdue):
        more = number(len(overdue) - len(shown))
        text += tr(" and {n} more (all in --format csv or md)", n=more)
    text = tr("no answer after {after} (marked !): {text}", after=after, text=text)
    return _wrap(tr("Overdue"), text)


def status_table(report: StatusReport, *, color: bool = False) -> str:
    lines = status_summary_lines(report)
    lines.append("")
    if report.rows:
        lines += _table(_status_columns(report), report.rows, color)
    else:
        lines.append(tr("No recipients yet: generate the campaign's letters first."))
    lines.append("")
    lines += _overdue_lines(report)
    return _document(lines)


# --- dialogue -----------------------------------------------------------------------


def _dialogue_heading(report: DialogueReport) -> list[str]:
    d = report.dialogue
    lines = _wrap(tr("Dialogue"), f"{d.slug}: {d.title}")
    lines += _wrap(tr("Date"), f"{long_date(d.date)} · {body_label(d.body)}")
    if d.theme:
        lines += _wrap(tr("Theme"), d.theme)
    if d.report_symbol:
        lines += _wrap(tr("SG report"), d.report_symbol)
    lines += _wrap(tr("Outcome"), outcome_text(d))
    if d.outcome_notes:
        lines += _wrap(tr("Notes"), d.outcome_notes)
    lines += _wrap(tr("Figures"), figures_text(report.totals), items=True)
    return lines


_CAMPAIGN_COLUMNS = [
    Column("CAMPAIGN", 30, lambda r: r[0]),
    Column("STATUS", 6, lambda r: r[1]),
    Column("RECIP", 5, lambda r: str(r[2]), right=True),
    Column("SENT", 5, lambda r: str(r[3]), right=True),
    Column("ANSWERED", 8, lambda r: str(r[4]), right=True),
    Column("RATE", 4, lambda r: r[5], right=True),
    Column("SPEAK", 5, lambda r: str(r[6]), right=True),
]

_DIALOGUE_ORG_COLUMNS = [
    Column("ORG", 9, lambda o: o.acronym),
    Column("REGION", 8, lambda o: _short_region(o.region)),
    Column("CAMPAIGNS", 9, lambda o: str(o.campaigns), right=True),
    Column("SENT", 4, lambda o: str(o.sent), right=True),
    Column("ANSWERED", 8, lambda o: str(o.answered), right=True),
    Column(
        "STANCE",
        12,
        lambda o: _short_stance(o.stance),
        colour=lambda o: "green" if o.committed else None,
    ),
    Column("SPEAK", 5, lambda o: tr("yes") if o.committed else ""),
]


def dialogue_table(report: DialogueReport, *, color: bool = False) -> str:
    lines = _dialogue_heading(report)
    lines.append("")
    if report.campaigns:
        columns = _fit_widths(_CAMPAIGN_COLUMNS, 0)
        lines += _table(columns, campaign_figures(report), color)
    else:
        lines.append(tr("No campaigns for this dialogue yet."))
    if report.organizations:
        lines.append("")
        lines += _table(_fit_widths(_DIALOGUE_ORG_COLUMNS, 5), report.organizations, color)
    return _document(lines)


# --- history ------------------------------------------------------------------------


def _history_columns(report: HistoryReport) -> list[Column]:
    dates = [r.sent_at for r in report.rows] + [r.first_response_at for r in report.rows]
    date_w = max([10, *(_width(full_date(d)) for d in dates)])
    return [
        Column("YEAR", 4, lambda r: str(r.year)),
        Column("CAMPAIGN", 20, lambda r: r.campaign_slug),
        Column(
            "LETTER",
            _content_width(9, (status_label(r.letter_status) for r in report.rows), 12),
            lambda r: status_label(r.letter_status) or tr("no letter"),
        ),
        Column("SENT", date_w, lambda r: full_date(r.sent_at)),
        Column("F-UP", 4, lambda r: str(r.followups_sent) if r.followups_sent else "", right=True),
        Column(
            "ANSWERED",
            date_w,
            lambda r: full_date(r.first_response_at) or (tr("no answer") if r.sent_at else ""),
            colour=lambda r: None if r.answered or not r.sent_at else "yellow",
        ),
        Column(
            "STANCE",
            12,
            lambda r: _short_stance(r.stance),
            colour=lambda r: "green" if r.committed else "red" if r.stance == "decline" else None,
        ),
    ]


def history_table(report: HistoryReport, *, color: bool = False) -> str:
    lines = _wrap(tr("Org"), f"{report.acronym}: {report.name}")
    lines += _wrap(tr("Region"), f"{report.region_label} · {kind_label(report.kind)}")
    lines += _wrap(tr("Figures"), history_figures_text(report), items=True)
    lines.append("")
    if not report.rows:
        lines.append(tr("No campaign has written to this organization yet."))
        return _document(lines)
    lines += _table(_fit_widths(_history_columns(report), 1), report.rows, color)
    return _document(lines)
