"""The language a report is written in: its words, numbers and dates.

A report is rendered in one of :data:`LANGUAGES` (English unless asked;
the campaign's own default language is not used, so the same command gives
the same report whoever runs it). :func:`using` sets the language while a
table, Markdown or HTML report is rendered; :func:`tr` and :func:`plural`
then look the English wording up in that language's catalogue
(``outreach/reports/locales/<code>.py``), and the number and date helpers
format through Babel's locale data. CSV and JSON stay machine data: they are
rendered in English (their keys and values are stable), and only the
organizations' names follow the language, as in every format.

English text is its own key, so a wording missing from a catalogue shows in
English rather than not at all (``tests/reports/test_languages.py`` checks
that every catalogue has every key).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import importlib
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from outreach.errors import ValidationError

#: The languages reports are written in: the six UN languages and Portuguese.
LANGUAGES = ("en", "fr", "es", "ar", "ru", "zh", "pt")
DEFAULT_LANGUAGE = "en"

_current: contextvars.ContextVar[str] = contextvars.ContextVar(
    "report_language", default=DEFAULT_LANGUAGE
)


def check_language(code: str | None) -> str:
    """*code* as a known report language (any case; ``None`` is English);
    anything else is a :class:`ValidationError` listing the languages."""
    if code is None:
        return DEFAULT_LANGUAGE
    norm = code.strip().lower().replace("_", "-")
    if norm not in LANGUAGES:
        raise ValidationError(
            f"no report language {code!r}; available: {', '.join(LANGUAGES)}", field="language"
        )
    return norm


@contextlib.contextmanager
def using(language: str | None) -> Iterator[str]:
    """Render in *language* inside the block (checked, see :func:`check_language`)."""
    token = _current.set(check_language(language))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current() -> str:
    return _current.get()


@cache
def _catalog(language: str) -> Mapping[str, Any]:
    if language == DEFAULT_LANGUAGE:
        return {}
    return importlib.import_module(f"outreach.reports.locales.{language}").MESSAGES


def catalog(language: str) -> Mapping[str, Any]:
    """The catalogue of *language* (English -> its wording); empty for English."""
    return _catalog(check_language(language))


def tr(message: str, /, **values: Any) -> str:
    """*message* in the current language, its ``{name}`` fields filled with *values*."""
    found = _catalog(current()).get(message, message)
    if isinstance(found, dict):  # a plural entry used without a count
        found = found.get("other", message)
    return found.format(**values) if values else found


def plural(one: str, other: str, count: float, **values: Any) -> str:
    """``one`` or ``other`` (English, with ``{n}``), in the current language's
    plural form for *count* (Russian and Arabic have more than two); ``{n}``
    is *count* unless given."""
    language = current()
    whole = count == int(count)
    values = {"n": number(int(count)) if whole else decimal(count), **values}
    if language == DEFAULT_LANGUAGE:
        return (one if count == 1 else other).format(**values)
    entry = _catalog(language).get(one)
    if isinstance(entry, str):  # one wording for every count ("المرسلة: {n}")
        return entry.format(**values)
    if entry is None:
        return (one if count == 1 else other).format(**values)
    form = _plural_form(language, count)
    return entry.get(form, entry["other"]).format(**values)


@cache
def _locale(language: str) -> Any:
    from babel import Locale

    return Locale.parse(language)


def _plural_form(language: str, count: float) -> str:
    return str(_locale(language).plural_form(count))


# --- numbers and dates ------------------------------------------------------------


def number(n: int) -> str:
    """A whole number (English as plain digits, as before)."""
    if current() == DEFAULT_LANGUAGE:
        return str(n)
    from babel.numbers import format_decimal

    return format_decimal(n, locale=_locale(current()))


def decimal(value: float) -> str:
    """A number with at most one decimal (``2.5``; French ``2,5``)."""
    if current() == DEFAULT_LANGUAGE:
        return f"{value:.1f}".removesuffix(".0")
    from babel.numbers import format_decimal

    return format_decimal(round(value, 1), "#,##0.#", locale=_locale(current()))


def percent(rate: float) -> str:
    if current() == DEFAULT_LANGUAGE:
        return f"{rate * 100:.0f}%"
    from babel.numbers import format_percent

    return format_percent(rate, locale=_locale(current()))


def long_date(value: dt.date) -> str:
    """``12 July 2012`` (English, not US style); the locale's long date else."""
    if current() == DEFAULT_LANGUAGE:
        return f"{value.day} {value.strftime('%B %Y')}"
    from babel.dates import format_date

    return format_date(value, "long", locale=_locale(current()))


def short_date(value: dt.date, *, year: bool = False) -> str:
    """Day and short month (``12 Jul``, ``12 juil.``, ``7月12日``), with a
    two-digit year when *year*."""
    if current() == DEFAULT_LANGUAGE:
        return value.strftime("%d %b %y" if year else "%d %b")
    from babel.dates import format_skeleton

    return format_skeleton("yyMMMd" if year else "MMMd", value, locale=_locale(current()))


def full_date(value: dt.date | dt.datetime | None) -> str:
    """A date in a table: ISO in English (as before), day, short month and
    year in the other languages; "" for none."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if current() == DEFAULT_LANGUAGE:
        return value.isoformat()
    from babel.dates import format_skeleton

    return format_skeleton("yMMMd", value, locale=_locale(current()))


def month_year(value: dt.date) -> str:
    if current() == DEFAULT_LANGUAGE:
        return f"{value.day} {value.strftime('%b %Y')}"
    from babel.dates import format_skeleton

    return format_skeleton("yMMMd", value, locale=_locale(current()))


def moment(value: dt.datetime) -> str:
    """A date and time of day (the report's own moment)."""
    if current() == DEFAULT_LANGUAGE:
        return f"{value.day} {value.strftime('%B %Y, %H:%M')}"
    from babel.dates import format_time

    return f"{long_date(value.date())}, {format_time(value, 'HH:mm', locale=_locale(current()))}"


# --- organizations' names ---------------------------------------------------------


def local_names(i18n: Any, acronym: str, name: str, language: str) -> tuple[str, str]:
    """The organization's (acronym, name) in *language* from its ``i18n``
    column, each falling back to the stored one."""
    entry = i18n.get(language) if isinstance(i18n, dict) else None
    if not isinstance(entry, dict):
        return acronym, name
    local_acronym = entry.get("acronym")
    local_name = entry.get("name")
    return (
        local_acronym if isinstance(local_acronym, str) and local_acronym.strip() else acronym,
        local_name if isinstance(local_name, str) and local_name.strip() else name,
    )
