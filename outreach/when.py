"""One way to write a day, a moment and a span of time.

A day is ``2026-11-30``, ``today``, ``yesterday``, ``14d`` (14 days ago) or
``+8w`` (eight weeks from today); a moment may also carry a time,
``2026-11-30 14:05`` (or ``2026-11-30T14:05``), read in the user's own time
zone unless it names one (``+01:00``, ``Z``), and ``now`` or ``12h`` (12
hours ago); a span is ``14d``, ``2w`` or ``36h``. Moments come back in UTC,
which is how the database keeps them. A value in no such form is a
:class:`WhenError` naming the forms. The command line's option types are in
:mod:`outreach.cli.when`; the activity log's ``parse_since`` is
:func:`parse_moment`.
"""

from __future__ import annotations

import datetime as dt
import re

from outreach.errors import ValidationError

__all__ = [
    "DAY_FORMS",
    "MOMENT_FORMS",
    "SPAN_FORMS",
    "WhenError",
    "parse_day",
    "parse_moment",
    "parse_span",
]

#: The forms each type accepts, as its errors and help texts name them.
DAY_FORMS = "YYYY-MM-DD, today, yesterday, 14d (14 days ago) or +8w (8 weeks from today)"
MOMENT_FORMS = (
    "YYYY-MM-DD, YYYY-MM-DD HH:MM (your local time), today, yesterday, now, "
    "or 14d / 12h (that long ago)"
)
SPAN_FORMS = "a number of days or weeks (14d, 2w) or hours (36h)"

_AGO = re.compile(r"^(\d{1,5})\s*(d|days?|w|weeks?|h|hours?)$", re.IGNORECASE | re.ASCII)
_SPAN = re.compile(r"^(\d{1,5})\s*(d|days?|w|weeks?|h|hours?)?$", re.IGNORECASE | re.ASCII)
_AHEAD = re.compile(r"^\+\s*(\d{1,5})\s*(d|days?|w|weeks?)$", re.IGNORECASE | re.ASCII)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_MOMENT = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE | re.ASCII,
)


class WhenError(ValidationError):
    """A value in none of the forms (its message says which forms)."""


def _unit(text: str) -> str:
    return text[0].lower()


def _span_of(count: int, unit: str) -> dt.timedelta:
    if unit == "w":
        return dt.timedelta(weeks=count)
    if unit == "h":
        return dt.timedelta(hours=count)
    return dt.timedelta(days=count)


def _today() -> dt.date:
    return dt.datetime.now().astimezone().date()


def _local_midnight(day: dt.date) -> dt.datetime:
    """Midnight at the start of *day* in the user's time zone, in UTC."""
    return dt.datetime.combine(day, dt.time()).astimezone().astimezone(dt.UTC)


def _calendar_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise WhenError(f"{text!r} is not a day of the calendar") from None


def parse_day(text: str, *, today: dt.date | None = None) -> dt.date:
    """A day: ``YYYY-MM-DD``, ``today``, ``yesterday`` or ``Nd``/``Nw`` ago."""
    value = text.strip()
    low = value.lower()
    today = today or _today()
    if low == "today":
        return today
    if low == "yesterday":
        return today - dt.timedelta(days=1)
    if _DAY.match(value):
        return _calendar_day(value)
    match = _AGO.match(value)
    if match and _unit(match[2]) != "h":
        return today - _span_of(int(match[1]), _unit(match[2]))
    match = _AHEAD.match(value)
    if match:
        return today + _span_of(int(match[1]), _unit(match[2]))
    raise WhenError(f"{text!r} is not a date: write {DAY_FORMS}")


def parse_moment(
    text: str, *, now: dt.datetime | None = None, bare_day: str = "start"
) -> dt.datetime:
    """A moment, in UTC: a day (its start in local time, or its noon when
    *bare_day* is ``"noon"``), a day and a time (local unless an offset is
    given), ``now``, or ``Nd``/``Nw``/``Nh`` ago."""
    value = text.strip()
    low = value.lower()
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    if low == "now":
        return now
    match = _AGO.match(value)
    if match:
        return now - _span_of(int(match[1]), _unit(match[2]))
    if low in ("today", "yesterday") or _DAY.match(value):
        day = parse_day(value, today=now.astimezone().date())
        if bare_day == "noon":
            # An event known by its day only (a reply that came by post):
            # noon keeps it on that day wherever the report is read.
            return dt.datetime.combine(day, dt.time(12)).astimezone().astimezone(dt.UTC)
        return _local_midnight(day)
    match = _MOMENT.match(value)
    if match:
        day = _calendar_day(match[1])
        hours, _, rest = match[2].partition(":")
        try:
            clock = dt.time.fromisoformat(f"{hours.zfill(2)}:{rest}")
        except ValueError:
            raise WhenError(f"{text!r}: {match[2]} is not a time of day (00:00 to 23:59)") from None
        moment = dt.datetime.combine(day, clock)
        zone = match[3]
        if zone:
            offset = "+00:00" if zone.upper() == "Z" else zone
            moment = dt.datetime.fromisoformat(f"{moment.isoformat()}{offset}")
        else:
            moment = moment.astimezone()  # the user's wall clock
        return moment.astimezone(dt.UTC)
    raise WhenError(f"{text!r} is not a date or time: write {MOMENT_FORMS}")


def parse_span(text: str, *, whole_days: bool = False) -> dt.timedelta:
    """A span of time: ``14d``, ``2w``, ``36h`` or a bare number of days."""
    match = _SPAN.match(text.strip())
    if not match:
        raise WhenError(f"{text!r} is not a duration: write {SPAN_FORMS}")
    unit = _unit(match[2] or "d")
    if whole_days and unit == "h":
        raise WhenError(f"{text!r}: count in days or weeks here (14d, 2w)")
    return _span_of(int(match[1]), unit)
