"""The letter filters: ``format_date`` (Babel/CLDR) and ``salutation``."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import jinja2


@functools.lru_cache(maxsize=64)
def _babel_locale(language: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@functools.lru_cache(maxsize=4096)
def format_date(value: dt.date, language: str, fmt: str = "long") -> str:
    """*value* written out in *language* (Babel/CLDR), e.g. ``12 juillet 2012``."""
    from babel.dates import format_date as babel_format_date

    if isinstance(value, dt.datetime):
        value = value.date()
    return babel_format_date(value, format=fmt, locale=_babel_locale(language))


_DATE_TEXT: dict[tuple[Any, str, str], str] = {}


@jinja2.pass_context
def _date_filter(context: Any, value: Any, fmt: str = "long", language: str | None = None) -> str:
    lang = language or context.parent.get("language") or "en"
    kind = type(value)
    if kind is not dt.date and kind is not str:
        # a datetime is kept out: two in different time zones compare equal
        # when they are the same instant, yet fall on different dates
        return _date_text(value, lang, fmt)
    key = (kind, value, lang, fmt)
    try:
        return _DATE_TEXT[key]  # the same few dates recur in every letter
    except (KeyError, TypeError):
        pass
    text = _date_text(value, lang, fmt)
    if len(_DATE_TEXT) < 10_000:
        _DATE_TEXT[key] = text
    return text


def _date_text(value: Any, language: str, fmt: str) -> str:
    if value is None or isinstance(value, jinja2.Undefined):
        raise jinja2.UndefinedError("format_date was given no date")
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise jinja2.TemplateRuntimeError(
                f"format_date: {value!r} is not a date (use YYYY-MM-DD)"
            ) from None
    if not isinstance(value, dt.date):
        raise jinja2.TemplateRuntimeError(f"format_date: {value!r} is not a date")
    if isinstance(value, dt.datetime):
        # its own date, before the cache below (equal instants, other dates)
        value = value.date()
    return format_date(value, language, fmt)


#: Formal openings when the contact has no salutation of their own.
_OFFICE_SALUTATION = {
    "en": "Dear Sir or Madam",
    "fr": "Madame, Monsieur",
    "es": "Distinguida señora, distinguido señor",
    "pt": "Excelentíssimos Senhores",
    "ar": "السيدات والسادة المحترمون",
}
_PERSON_SALUTATION = {
    "en": "Dear {name}",
    "fr": "Madame, Monsieur",
    "es": "Estimado/a {name}",
    "pt": "Prezado/a {name}",
    "ar": "حضرة {name} المحترم",
}
_SALUTATION_END = {"en": ",", "fr": ",", "es": ":", "pt": ",", "ar": "،"}


def salutation(contact: Mapping[str, Any] | None, language: str = "en") -> str:
    """The formal opening for *contact* in *language*, with its punctuation:
    the contact's own salutation when set, else a courteous default."""
    lang = (language or "en").split("-")[0].lower()
    end = _SALUTATION_END.get(lang, ",")
    own = (contact or {}).get("salutation") if contact else None
    if own:
        text = str(own).strip()
    else:
        name = (contact or {}).get("name") if contact else None
        if (contact or {}).get("kind") == "office" or not name:
            text = _OFFICE_SALUTATION.get(lang, _OFFICE_SALUTATION["en"])
        else:
            text = _PERSON_SALUTATION.get(lang, _PERSON_SALUTATION["en"]).format(name=name)
    if text and text[-1] in ",:;،!.":
        return text
    return text + end


@jinja2.pass_context
def _salutation_filter(context: Any, contact: Any, language: str | None = None) -> str:
    if not language:
        # context.get("language"), without its three calls per letter
        local = context.vars
        language = local["language"] if "language" in local else context.parent.get("language")
    return salutation(contact, language or "en")


# --- the environment -----------------------------------------------------------
