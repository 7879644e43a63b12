"""The command line's option types for days, moments and spans: the forms
of :mod:`outreach.when`, with the same one-line error on every option.

Only click, the standard library and :mod:`outreach.when` are imported here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from outreach.when import (
    DAY_FORMS,
    MOMENT_FORMS,
    SPAN_FORMS,
    WhenError,
    parse_day,
    parse_moment,
    parse_span,
)

__all__ = [
    "DAY_FORMS",
    "MOMENT_FORMS",
    "SPAN_FORMS",
    "Day",
    "Duration",
    "Moment",
    "WhenError",
    "parse_day",
    "parse_moment",
    "parse_span",
]


class Day(click.ParamType):
    """A day, as :class:`datetime.date` (or one of *words*, such as ``tba``,
    handed on as the lower-case word)."""

    name = "DATE"

    def __init__(self, *words: str) -> None:
        self.words = tuple(w.lower() for w in words)

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        text = str(value)
        if text.strip().lower() in self.words:
            return text.strip().lower()
        try:
            return parse_day(text)
        except WhenError as exc:
            message = str(exc)
            if self.words:
                message += f", or {' or '.join(self.words)}"
            self.fail(message, param, ctx)


class Moment(click.ParamType):
    """A moment, as an aware :class:`datetime.datetime` in UTC. A bare day
    is its start (for ``--since`` and the like), or its noon with
    ``bare_day="noon"`` (when something happened that day)."""

    name = "WHEN"

    def __init__(self, *, bare_day: str = "start") -> None:
        self.bare_day = bare_day

    def convert(self, value: Any, param: Any, ctx: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.astimezone().astimezone(dt.UTC)
        try:
            return parse_moment(str(value), bare_day=self.bare_day)
        except WhenError as exc:
            self.fail(str(exc), param, ctx)


class Duration(click.ParamType):
    """A span of time, as :class:`datetime.timedelta` (whole days only when
    *whole_days*: spans counted on the calendar, such as reminders)."""

    name = "DURATION"

    def __init__(self, *, whole_days: bool = False) -> None:
        self.whole_days = whole_days

    def convert(self, value: Any, param: Any, ctx: Any) -> dt.timedelta:
        if isinstance(value, dt.timedelta):
            return value
        try:
            return parse_span(str(value), whole_days=self.whole_days)
        except WhenError as exc:
            self.fail(str(exc), param, ctx)
