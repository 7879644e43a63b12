"""The letter filters: ``format_date`` (Babel/CLDR), ``salutation`` and
``closing`` (courteous words per language, :mod:`outreach.templating.courtesy`),
``of`` (a genitive with its article contracted) and ``address_block`` (the
addressee block, :mod:`outreach.templating.addressing`)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

import jinja2

from outreach.templating.addressing import address_block
from outreach.templating.courtesy import (
    SALUTATION_END,
    closing_sentence,
    default_salutation,
    foreign_salutation,
    primary_language,
)


@functools.lru_cache(maxsize=64)
def _babel_locale(language: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


#: The campaign variable that chooses how English dates are written:
#: ``date_style = "us"`` gives "July 12, 2012"; by default "12 July 2012".
DATE_STYLE_VARIABLE = "date_style"


def _date_locale(language: str, style: str | None) -> str:
    """The CLDR locale dates in *language* are written with: plain English
    is written day first ("12 July 2012", as in United Nations and most
    diplomatic correspondence) unless *style* is ``us``."""
    tag = language.replace("_", "-")
    if tag.lower() == "en":
        return "en_US" if (style or "").strip().lower() == "us" else "en_GB"
    return tag


@functools.lru_cache(maxsize=4096)
def format_date(value: dt.date, language: str, fmt: str = "long", style: str | None = None) -> str:
    """*value* written out in *language* (Babel/CLDR), e.g. ``12 juillet 2012``;
    English as ``12 July 2012`` unless *style* is ``"us"`` (``July 12, 2012``)."""
    from babel.dates import format_date as babel_format_date

    if isinstance(value, dt.datetime):
        value = value.date()
    locale = _babel_locale(_date_locale(language, style))
    text = babel_format_date(value, format=fmt, locale=locale)
    if value.day == 1 and fmt in ("long", "full") and locale.language == "fr":
        # French writes the first of the month as an ordinal: "1er juin 2012"
        text = "1er " + text[2:] if text.startswith("1 ") else text.replace(" 1 ", " 1er ", 1)
    return text


_DATE_TEXT: dict[tuple[Any, ...], str] = {}


@jinja2.pass_context
def _date_filter(context: Any, value: Any, fmt: str = "long", language: str | None = None) -> str:
    lang = language or context.parent.get("language") or "en"
    style = context.parent.get(DATE_STYLE_VARIABLE)
    style = style if isinstance(style, str) else None
    kind = type(value)
    if kind is not dt.date and kind is not str:
        # a datetime is kept out: two in different time zones compare equal
        # when they are the same instant, yet fall on different dates
        return _date_text(value, lang, fmt, style)
    key = (kind, value, lang, fmt, style)
    try:
        return _DATE_TEXT[key]  # the same few dates recur in every letter
    except (KeyError, TypeError):
        pass
    text = _date_text(value, lang, fmt, style)
    if len(_DATE_TEXT) < 10_000:
        _DATE_TEXT[key] = text
    return text


def _date_text(value: Any, language: str, fmt: str, style: str | None = None) -> str:
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
    return format_date(value, language, fmt, style)


def salutation(contact: Mapping[str, Any] | None, language: str = "en") -> str:
    """The formal opening for *contact* in *language*, with its punctuation.

    The contact's own salutation (``contact.salutation``: the stored one for
    the letter's language, or None) when it is in *language*; else the
    courteous default for the language, the contact's kind and honorific
    (:mod:`outreach.templating.courtesy`). A salutation plainly in another
    language (an English "Your Excellency" in a French letter) is never used."""
    lang = primary_language(language)
    own = contact.get("salutation") if contact else None
    if isinstance(own, str) and own.strip() and not foreign_salutation(own, lang):
        text = own.strip()
        if text[-1] in ",:;،!.：！":
            return text
        return text + SALUTATION_END.get(lang, ",")
    return default_salutation(contact, lang)


def closing(contact: Mapping[str, Any] | None, language: str = "en") -> str:
    """The courteous closing sentence for *contact* in *language*, in the
    same form of address as the default salutation ("Je vous prie d'agréer,
    Excellence, l'assurance de ma très haute considération.")."""
    return closing_sentence(contact, primary_language(language))


def _language_of(context: Any) -> str:
    # context.get("language"), without its three calls per letter
    local = context.vars
    language = local["language"] if "language" in local else context.parent.get("language")
    return language or "en"


@jinja2.pass_context
def _salutation_filter(context: Any, contact: Any, language: str | None = None) -> str:
    return salutation(contact, language or _language_of(context))


@jinja2.pass_context
def _closing_filter(context: Any, contact: Any, language: str | None = None) -> str:
    return closing(contact, language or _language_of(context))


_VOWELS = frozenset("aeiouyhàâäéèêëîïôöûüœæAEIOUYHÀÂÄÉÈÊËÎÏÔÖÛÜŒÆ")
_APOSTROPHES = ("'", "\u2019")


def of(name: Any, language: str = "en") -> str:
    """*name* as a genitive ("of ..."), with the article contracted where the
    language contracts it: ``l'Union africaine`` -> ``de l'Union africaine``,
    ``le Conseil`` -> ``du Conseil``, ``el Sistema`` -> ``del Sistema``,
    ``a União Africana`` -> ``da União Africana``. Languages without such a
    preposition (ar, ru, zh) get *name* as it is."""
    if name is None or isinstance(name, jinja2.Undefined):
        raise jinja2.UndefinedError("of was given no name")
    text = str(name).strip()
    lang = primary_language(language)
    head, _, rest = text.partition(" ")
    low = head.lower()
    if lang == "fr":
        if rest and low == "le":
            return f"du {rest}"
        if rest and low == "les":
            return f"des {rest}"
        if low.startswith(("l'", "l\u2019")) or (rest and low == "la"):
            return "de " + (text[0].lower() + text[1:])
        return ("d'" if text[:1] in _VOWELS else "de ") + text
    if lang == "es":
        if rest and head == "el":  # "El Salvador" keeps its capital: "de El Salvador"
            return f"del {rest}"
        return f"de {text}"
    if lang == "pt":
        if rest and low in ("o", "a", "os", "as"):
            return f"d{low} {rest}"
        return f"de {text}"
    if lang == "en":
        return f"of {text}"
    return text


@jinja2.pass_context
def _of_filter(context: Any, name: Any, language: str | None = None) -> str:
    return of(name, language or _language_of(context))


def _given(value: Any, what: str) -> Any:
    if isinstance(value, jinja2.Undefined):
        raise jinja2.UndefinedError(f"address_block was given no {what}")
    if value is not None and not isinstance(value, Mapping):
        raise jinja2.TemplateRuntimeError(f"address_block: {what} is not a record")
    return value


@jinja2.pass_context
def _address_block_filter(
    context: Any, contact: Any, organization: Any = None, language: str | None = None
) -> str:
    return address_block(
        _given(contact, "contact"),
        _given(organization, "organization"),
        language or _language_of(context),
    )


#: The letter filters by name, as the sandbox registers them.
LETTER_FILTERS = {
    "format_date": _date_filter,
    "salutation": _salutation_filter,
    "closing": _closing_filter,
    "of": _of_filter,
    "address_block": _address_block_filter,
}

