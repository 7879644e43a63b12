"""The words and numbers every report format shares: labels for regions,
kinds, stances, statuses and UN bodies; percentages, days and dates; when the
dialogue is.

The reports themselves, the text formats (:mod:`outreach.reports.text`) and
the HTML page (:mod:`outreach.reports.html`) all read from here, so a value
is worded the same everywhere. Each label is in the language being rendered
(see :mod:`outreach.reports.i18n`); this module imports no other part of the
reports.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from outreach.reports import i18n
from outreach.reports.i18n import plural, tr
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

#: Stored statuses of letters and campaigns, and channels, as words.
STATUS_LABELS = {
    "draft": "draft",
    "approved": "approved",
    "sending": "sending",
    "sent": "sent",
    "failed": "failed",
    "cancelled": "cancelled",
    "bounced": "bounced",
    "none": "none",
    "active": "active",
    "closed": "closed",
}

CHANNEL_LABELS = {
    "email": "e-mail",
    "post": "post",
    "fax": "fax",
    "hand": "by hand",
    "phone": "phone",
    "other": "other",
}


def region_label(region: str | None) -> str:
    if region is None:
        return tr("No region")
    try:
        return tr(REGION_LABELS[Region(region)])
    except ValueError:
        return region


def kind_label(kind: str | None) -> str:
    found = KIND_LABELS.get(kind or "")
    return tr(found) if found else (kind or tr("Other"))


def body_label(body: str) -> str:
    found = BODY_LABELS.get(body)
    return tr(found) if found else body


def stance_label(stance: str) -> str:
    found = STANCE_LABELS.get(stance)
    return tr(found) if found else stance


def status_label(status: str | None) -> str:
    """A letter's or campaign's stored status as a word ("" for none)."""
    if not status:
        return ""
    found = STATUS_LABELS.get(status)
    return tr(found) if found else status


def channel_label(channel: str | None) -> str:
    if not channel:
        return ""
    found = CHANNEL_LABELS.get(channel)
    return tr(found) if found else channel


# --- numbers and dates ------------------------------------------------------------


def percent(rate: float | None) -> str:
    return tr("n/a") if rate is None else i18n.percent(rate)


def day(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()


def long_date(value: dt.date | None) -> str:
    if value is None:
        return tr("date not announced")
    return i18n.long_date(value)


def days_text(value: float | None) -> str:
    if value is None:
        return tr("n/a")
    return plural("{n} day", "{n} days", value, n=i18n.decimal(value))


def plain(value: Any) -> str:
    """A value as a CSV or Markdown cell: yes/no, ISO days, short decimals."""
    if isinstance(value, bool):
        return tr("yes") if value else tr("no")
    if isinstance(value, dt.datetime | dt.date):
        return day(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


# --- sentences ----------------------------------------------------------------------


def dialogue_line(title: str | None, date: dt.date | None, today: dt.date) -> str:
    if title is None:
        return tr("not linked to a dialogue")
    if date is None:
        return tr("{title}, date not announced", title=title)
    delta = (date - today).days
    if delta == 0:
        when = tr("today")
    elif delta > 0:
        when = plural("in {n} day", "in {n} days", delta)
    else:
        when = plural("{n} day ago", "{n} days ago", -delta)
    return tr("{title}, {date} ({when})", title=title, date=long_date(date), when=when)
