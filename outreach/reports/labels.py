"""The words and numbers every report format shares: labels for regions,
kinds, stances and UN bodies; percentages, days and dates; when the
dialogue is.

The reports themselves, the text formats (:mod:`outreach.reports.text`) and
the HTML page (:mod:`outreach.reports.html`) all read from here, so a value
is worded the same everywhere; this module imports no other part of the
reports.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from outreach.schema.enums import REGION_LABELS, OrgKind, Region, Stance

KIND_LABELS = {
    OrgKind.REGIONAL.value: "Regional",
    OrgKind.SUBREGIONAL.value: "Sub-regional",
    OrgKind.UN_BODY.value: "UN body",
    OrgKind.MEMBER_STATE.value: "Member state",
    OrgKind.CIVIL_SOCIETY.value: "Civil society",
    OrgKind.OTHER.value: "Other",
}

STANCE_LABELS = {
    Stance.COMMITMENT.value: "Commitment to speak",
    Stance.SUPPORTIVE.value: "Supportive",
    Stance.ACKNOWLEDGEMENT.value: "Acknowledgement",
    Stance.NEUTRAL.value: "Neutral",
    Stance.DECLINE.value: "Decline",
    Stance.OTHER.value: "Other",
}

BODY_LABELS = {
    "general-assembly": "General Assembly",
    "security-council": "Security Council",
    "human-rights-council": "Human Rights Council",
    "other": "other body",
}


def region_label(region: str | None) -> str:
    if region is None:
        return "No region"
    try:
        return REGION_LABELS[Region(region)]
    except ValueError:
        return region


def kind_label(kind: str | None) -> str:
    return KIND_LABELS.get(kind or "", kind or "Other")


def body_label(body: str) -> str:
    return BODY_LABELS.get(body, body)


# --- numbers and dates ------------------------------------------------------------


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


def plain(value: Any) -> str:
    """A value as a CSV or Markdown cell: yes/no, ISO days, short decimals."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime | dt.date):
        return day(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


# --- sentences ----------------------------------------------------------------------


def dialogue_line(title: str | None, date: dt.date | None, today: dt.date) -> str:
    if title is None:
        return "not linked to a dialogue"
    if date is None:
        return f"{title}, date not announced"
    delta = (date - today).days
    when = "today" if delta == 0 else f"in {delta} days" if delta > 0 else f"{-delta} days ago"
    return f"{title}, {long_date(date)} ({when})"
