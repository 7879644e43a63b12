"""Whole records checked and normalised: :func:`clean_organization` and
:func:`clean_contact` run each field's parser, so a value accepted on the
command line is accepted in a file and stored the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from outreach.directory.codes import parse_country, parse_language, parse_languages, parse_region
from outreach.directory.fields import (
    FieldError,
    parse_bool,
    parse_contact_kind,
    parse_email,
    parse_org_kind,
    parse_tags,
    parse_text,
    parse_website,
)
from outreach.directory.i18n import clean_i18n, clean_text, parse_channel, parse_honorific
from outreach.errors import ValidationError

#: The field a flat per-language value travels as in a record: ``i18n.fr.name``.
I18N_PREFIX = "i18n."

_ORG_PARSERS = {
    "acronym": partial(parse_text, "acronym"),
    "name": partial(parse_text, "name"),
    "kind": parse_org_kind,
    "region": parse_region,
    "hq_city": partial(parse_text, "hq_city"),
    "hq_country": parse_country,
    "languages": parse_languages,
    "website": parse_website,
    "tags": parse_tags,
    "notes": partial(parse_text, "notes", multiline=True),
    "parent": partial(parse_text, "parent"),
    "i18n": partial(clean_i18n, "organization", keep_empty=True),
}

_CONTACT_PARSERS = {
    "organization": partial(parse_text, "organization"),
    "kind": parse_contact_kind,
    "name": partial(parse_text, "name"),
    "position": partial(parse_text, "position"),
    "salutation": partial(parse_text, "salutation"),
    "email": parse_email,
    "phone": partial(parse_text, "phone"),
    "postal_address": partial(parse_text, "postal_address", multiline=True),
    "language": parse_language,
    "is_primary": parse_bool,
    "do_not_contact": parse_bool,
    "do_not_contact_reason": partial(parse_text, "do_not_contact_reason", multiline=True),
    "tags": parse_tags,
    "notes": partial(parse_text, "notes", multiline=True),
    "honorific": parse_honorific,
    "preferred_channel": parse_channel,
    "i18n": partial(clean_i18n, "contact", keep_empty=True),
}

_KIND = {id(_ORG_PARSERS): "organization", id(_CONTACT_PARSERS): "contact"}


#: Fields whose values repeat from row to row in a big file: worth memoising.
_REPEATING = frozenset(
    {
        "organization",
        "kind",
        "region",
        "position",
        "salutation",
        "language",
        "languages",
        "hq_city",
        "hq_country",
        "is_primary",
        "do_not_contact",
        "do_not_contact_reason",
        "tags",
        "honorific",
        "preferred_channel",
    }
)


def _clean(
    parsers: Mapping[str, Any],
    raw: Mapping[str, Any],
    cache: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    flat: dict[str, dict[str, Any]] = {}
    for field, value in raw.items():
        if field.startswith(I18N_PREFIX):
            lang, _dot, key = field[len(I18N_PREFIX) :].partition(".")
            try:
                flat.setdefault(lang, {})[key] = clean_text(_KIND[id(parsers)], key, value)
            except FieldError as exc:
                problems.append((field, str(exc)))
            continue
        parser = parsers.get(field)
        if parser is None:
            problems.append((field, "unknown field"))
            continue
        try:
            if cache is not None and field in _REPEATING and value.__class__ is str:
                memo = cache.get(field)
                if memo is None:
                    memo = cache[field] = {}
                hit = memo.get(value, _MISSING)
                if hit is _MISSING:
                    hit = memo[value] = parser(value)
                values[field] = hit
            else:
                values[field] = parser(value)
        except FieldError as exc:
            problems.append((field, str(exc)))
    if flat:
        whole = values.get("i18n") or {}
        for lang, entry in flat.items():
            whole.setdefault(lang, {}).update(entry)
        values["i18n"] = whole
    return values, problems


_MISSING = object()


def clean_organization(
    raw: Mapping[str, Any], cache: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Normalise organization fields: ``(values, [(field, problem), ...])``.

    Empty values come back as ``None`` (lists as ``[]``); ``i18n`` comes back
    as ``{lang: {key: text or None}}`` (``None``: remove that text), from an
    ``i18n`` dict and from flat ``i18n.<lang>.<key>`` fields. *cache* (a dict the
    caller keeps) memoises values that repeat, for big imports; treat the
    values returned as read-only when you pass it.
    """
    return _clean(_ORG_PARSERS, raw, cache)


def clean_contact(
    raw: Mapping[str, Any], cache: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Normalise contact fields: ``(values, [(field, problem), ...])``."""
    return _clean(_CONTACT_PARSERS, raw, cache)


def checked_values(
    cleaner: Any, raw: Mapping[str, Any], what: str, required: Sequence[str] = ()
) -> dict[str, Any]:
    values, problems = cleaner(raw)
    bad = {field for field, _msg in problems}
    for field in required:
        if field not in bad and not values.get(field):
            problems.append((field, "is required"))
    if problems:
        lines = [f"{field}: {msg}" for field, msg in problems]
        raise ValidationError(f"{what}: {len(lines)} problem(s), nothing changed", lines)
    return values


# --- organizations --------------------------------------------------------------


def parse_or_fail(parser: Any, value: Any, field: str) -> Any:
    try:
        return parser(value)
    except FieldError as exc:
        raise ValidationError(f"{field}: {exc}") from None
