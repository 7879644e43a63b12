"""Reports as self-contained HTML pages (the Jinja2 templates are in
``templates/``, the wording in :mod:`outreach.reports.labels`).

Everything is inline: CSS, and the charts as SVG drawn by matplotlib (with
text kept as text, so it stays sharp and searchable). Opening the file needs
no network. All user text goes through Jinja2's autoescaping, and control
characters come out as visible escapes (see :func:`_page`).

matplotlib is imported here only, so the other report formats stay fast.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from typing import TYPE_CHECKING, Any

from outreach.reports import i18n
from outreach.reports.i18n import plural, tr
from outreach.reports.labels import (
    body_label,
    channel_label,
    days_text,
    dialogue_line,
    kind_label,
    long_date,
    percent,
    region_label,
    stance_label,
    status_label,
)
from outreach.safetext import for_terminal
from outreach.schema.types import utcnow

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from outreach.reports.dialogue import DialogueReport
    from outreach.reports.history import HistoryReport
    from outreach.reports.status import GroupRate, StatusReport, TimelineDay

#: Colours chosen to stay apart for colour-blind readers and in greyscale print.
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#d9e2ec"
BLUE = "#2f6f9f"
ORANGE = "#d9822b"
GREEN = "#2e8b57"
PURPLE = "#7a5195"
RED = "#c0392b"

STANCE_COLOURS = {
    "commitment": GREEN,
    "supportive": "#74b98a",
    "acknowledgement": BLUE,
    "neutral": "#9fb3c8",
    "decline": RED,
    "other": PURPLE,
    "awaiting": ORANGE,
    "not-sent": "#cbd2d9",
    "bounced": "#7b8794",
}

_FONT = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "sans-serif"]
#: The charts keep their text as text, and the browser draws it (Arabic joined
#: and right to left, Chinese in a CJK font); matplotlib only measures it, so a
#: glyph missing from its fonts is no matter.
_MISSING_GLYPH = r"Glyph .* missing from font"


def _rc(salt: str) -> dict[str, Any]:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": salt,
        "font.family": "sans-serif",
        "font.sans-serif": _FONT,
        "font.size": 10,
        "axes.edgecolor": GRID,
        "axes.labelcolor": INK,
        "axes.titlesize": 11,
        "text.color": INK,
        "xtick.color": MUTED,
        "ytick.color": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _svg(fig: Any, title: str) -> str:
    """The figure as an inline ``<svg>`` element that scales with its box."""
    buf = io.StringIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_MISSING_GLYPH)
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, transparent=True)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    # The RDF metadata block only names vocabularies; the page does not need it.
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    # Drop the fixed size (the viewBox stays) so CSS decides the width.
    svg = re.sub(r'^<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    svg = svg.replace("<svg", f'<svg role="img" aria-label="{_attr(title)}" class="chart-svg"', 1)
    return svg


def _attr(text: str) -> str:
    from html import escape

    return escape(text, quote=True)


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=96, layout="constrained")


def region_chart(groups: list[GroupRate]) -> str:
    import matplotlib

    groups = [g for g in groups if g.recipients]
    with matplotlib.rc_context(_rc("region")):
        fig = _figure(6.0, 0.5 + 0.42 * max(len(groups), 2))
        ax = fig.add_subplot()
        labels = [region_label(g.key) for g in groups][::-1]
        rates = [(g.rate or 0) * 100 for g in groups][::-1]
        bars = ax.barh(labels, rates, color=BLUE, height=0.6)
        for bar, g in zip(bars, groups[::-1], strict=True):
            note = f"{percent(g.rate)}  ({g.answered}/{g.sent})" if g.sent else tr("nothing sent")
            ax.text(
                bar.get_width() + 1.5,
                bar.get_y() + bar.get_height() / 2,
                note,
                va="center",
                fontsize=9,
                color=INK,
            )
        ax.set_xlim(0, 125)
        ax.set_xticks([0, 25, 50, 75, 100], [i18n.percent(x / 100) for x in (0, 25, 50, 75, 100)])
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel(tr("share of sent letters answered"))
        return _svg(fig, tr("Response rate by region"))


def timeline_chart(report: StatusReport) -> str:
    import matplotlib
    import matplotlib.dates as mdates

    timeline = report.timeline
    dialogue_date = report.campaign.dialogue_date
    with matplotlib.rc_context(_rc("timeline")):
        fig = _figure(11.0, 3.6)
        ax = fig.add_subplot()
        if not timeline:
            ax.text(0.5, 0.5, tr("No letters sent yet"), ha="center", va="center", color=MUTED)
            ax.set_axis_off()
            return _svg(fig, tr("Letters sent and responses over time"))
        days = [t.day for t in timeline]
        today = report.generated_at.date()
        # The lines stop at the report's date (or the last event, if later).
        stop = max(days[-1], today)
        start = days[0] - dt.timedelta(days=1)
        end = stop + dt.timedelta(days=1)
        if dialogue_date is not None:
            start = min(start, dialogue_date - dt.timedelta(days=1))
            end = max(end, dialogue_date + dt.timedelta(days=2))
        _running_totals(ax, timeline, start, stop)
        _mark_days(ax, today, dialogue_date, start, end)
        ax.set_xlim(start, end)
        ax.set_ylim(bottom=0)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        if i18n.current() == i18n.DEFAULT_LANGUAGE:
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        else:
            # Month names in the report's language (matplotlib's are English).
            from matplotlib.ticker import FuncFormatter

            ax.xaxis.set_major_formatter(
                FuncFormatter(lambda x, _pos: i18n.short_date(mdates.num2date(x).date()))
            )
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_ylabel(tr("running total"))
        fig.legend(loc="outside upper center", ncols=3, frameon=False, fontsize=9)
        return _svg(fig, tr("Letters sent and responses over time"))


def _running_totals(ax: Any, timeline: list[TimelineDay], start: dt.date, stop: dt.date) -> None:
    """One step line a series (letters, reminders, responses), from *start*
    to *stop*, labelled with its total; a series with nothing is left out."""
    days = [t.day for t in timeline]
    series = (
        (tr("letters sent"), [t.letters_sent for t in timeline], BLUE),
        (tr("follow-ups sent"), [t.followups_sent for t in timeline], ORANGE),
        (tr("responses"), [t.responses for t in timeline], GREEN),
    )
    for label, counts, colour in series:
        if not any(counts):
            continue
        total, xs, ys = 0, [start], [0]
        for d, n in zip(days, counts, strict=True):
            total += n
            xs.append(d)
            ys.append(total)
        xs.append(stop)
        ys.append(total)
        label = f"{label} ({i18n.number(total)})"
        ax.step(xs, ys, where="post", color=colour, linewidth=2, label=label)


def _mark_days(
    ax: Any, today: dt.date, dialogue_date: dt.date | None, start: dt.date, end: dt.date
) -> None:
    """Vertical lines for the report's date (when inside the chart) and the
    dialogue's."""
    if start < today < end and today != dialogue_date:
        ax.axvline(today, color=MUTED, linestyle=":", linewidth=1)
        ax.annotate(
            tr("report date"),
            xy=(today, 0),
            xycoords=("data", "axes fraction"),
            xytext=(4, 4),
            textcoords="offset points",
            ha="left",
            va="bottom",
            color=MUTED,
            fontsize=8,
        )
    if dialogue_date is not None:
        ax.axvline(dialogue_date, color=RED, linestyle="--", linewidth=1.5)
        ax.annotate(
            tr("dialogue, {date}", date=i18n.month_year(dialogue_date)),
            xy=(dialogue_date, 0),
            xycoords=("data", "axes fraction"),
            xytext=(-5, 5),
            textcoords="offset points",
            ha="right",
            va="bottom",
            color=RED,
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
        )


def stance_counts(report: StatusReport) -> list[tuple[str, str, int]]:
    """(key, label, organizations) for the stance chart, latest stance per
    organization plus those still awaited and not yet written to."""
    t = report.totals
    out = [(k, stance_label(k), n) for k, n in t.by_stance.items()]
    out.append(("awaiting", tr("No answer yet"), t.awaiting))
    out.append(("not-sent", tr("Letter not sent"), t.not_sent))
    out.append(("bounced", tr("Letter bounced"), t.bounced))
    return [row for row in out if row[2]]


def stance_chart(report: StatusReport) -> str:
    import matplotlib

    counts = stance_counts(report)
    with matplotlib.rc_context(_rc("stance")):
        fig = _figure(6.0, 0.5 + 0.42 * max(len(counts), 2))
        ax = fig.add_subplot()
        if not counts:
            ax.text(0.5, 0.5, tr("No recipients yet"), ha="center", va="center", color=MUTED)
            ax.set_axis_off()
            return _svg(fig, tr("Stances"))
        rows = counts[::-1]
        bars = ax.barh(
            [label for _k, label, _n in rows],
            [n for _k, _l, n in rows],
            color=[STANCE_COLOURS.get(k, PURPLE) for k, _l, _n in rows],
            height=0.6,
        )
        top = max(n for _k, _l, n in rows)
        for bar, (_k, _l, n) in zip(bars, rows, strict=True):
            ax.text(
                bar.get_width() + top * 0.02,
                bar.get_y() + bar.get_height() / 2,
                str(n),
                va="center",
                fontsize=9,
            )
        ax.set_xlim(0, top * 1.15)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel(tr("organizations"))
        return _svg(fig, tr("Stances"))


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("outreach.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = percent
    env.filters["days"] = days_text
    env.filters["day"] = i18n.full_date
    env.globals["stance"] = stance_label
    env.globals["region"] = region_label
    env.globals["kind"] = kind_label
    env.globals["status"] = status_label
    env.globals["channel"] = channel_label
    env.globals["_"] = tr
    env.globals["plural"] = plural
    return env


def _when(moment: dt.datetime) -> str:
    return i18n.moment(moment)


def _page(template: str, **values: Any) -> str:
    """The page *template* (in ``templates/``) filled with *values*; control
    characters, separators and bidi controls from stored text (which
    autoescaping leaves alone) shown as visible escapes (``\\x1b``), in the
    charts too, so the page is also safe to print."""
    from outreach.templating.languages import is_rtl

    language = i18n.current()
    page = _environment().get_template(template).render(
        lang=language, rtl=is_rtl(language), **values
    )
    return for_terminal(page, multiline=True)


def status_html(report: StatusReport) -> str:
    """The campaign status page, with its charts, as a string."""
    c = report.campaign
    return _page(
        "status.html.j2",
        report=report,
        c=c,
        t=report.totals,
        dialogue=dialogue_line(c.dialogue_title, c.dialogue_date, report.generated_at.date()),
        dialogue_date=long_date(c.dialogue_date) if c.dialogue_title else None,
        generated=_when(report.generated_at),
        overdue_after=days_text(report.overdue_after.total_seconds() / 86400),
        charts={
            "region": region_chart(report.totals.by_region),
            "timeline": timeline_chart(report),
            "stance": stance_chart(report),
        },
    )


def dialogue_html(report: DialogueReport) -> str:
    """A dialogue across its campaigns, with its outcome, as a page."""
    d = report.dialogue
    return _page(
        "dialogue.html.j2",
        report=report,
        d=d,
        t=report.totals,
        body=body_label(d.body),
        date=long_date(d.date),
        generated=_when(report.generated_at),
    )


def history_html(report: HistoryReport) -> str:
    """One organization's history across the years, as a page."""
    return _page(
        "history.html.j2", report=report, kind=kind_label(report.kind), generated=_when(utcnow())
    )
