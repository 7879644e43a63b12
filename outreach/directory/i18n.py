"""Text per language on the directory: an organization's name, acronym and
name-with-article, a contact's position and salutation, and the honorific a
contact is addressed with.

Stored as JSON beside the base columns (``organizations.i18n``,
``contacts.i18n``)::

    {"fr": {"name": "Union africaine", "acronym": "UA", "definite": "l'Union africaine"},
     "ar": {"name": "الاتحاد الأفريقي"}}

The base columns (``name``, ``acronym``, ``position``) hold the
organization's own or English form; the base ``salutation`` is a
language-neutral override (empty in the shipped directory: the English one
lives under ``i18n["en"]["salutation"]``). ``definite`` is the name as it
stands in a sentence with its definite article ("la Unión Africana", "a União
Africana", "the African Union"); languages without articles (ar, ru, zh)
leave it out and templates use the name.

Pure functions on plain mappings, importable without SQLAlchemy, so that the
letters package can call :func:`localized` on Core rows:

- :func:`clean_i18n` checks and normalises a whole dict (language codes,
  allowed keys per kind, text cleaned as every directory field is);
- :func:`merge_i18n` applies changes to a stored dict (an import adds, an
  edit may also remove);
- :func:`localized`, :func:`organization_texts`, :func:`contact_texts` and
  :func:`organization_names` give the text in one language and say which
  values fell back to the base columns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from outreach.directory.codes import parse_language
from outreach.directory.fields import FieldError, fold_key, parse_text
from outreach.schema.enums import Channel

#: The languages outreach ships letters in: the six UN languages and Portuguese.
LANGUAGES = ("en", "fr", "es", "ar", "ru", "zh", "pt")

#: How a contact is addressed, whatever the language: key -> what it means.
#: The words per language are the templating package's (``courtesy.py``).
HONORIFICS: dict[str, str] = {
    "excellency": "His or Her Excellency: heads of organizations, ministers, ambassadors",
    "honourable": "The Honourable: parliamentarians, judges",
    "ambassador": "Ambassador (by title)",
    "dr": "Doctor",
    "professor": "Professor",
    "mr": "Mr",
    "ms": "Ms",
}

_HONORIFIC_ALIASES = {
    "hisexcellency": "excellency",
    "herexcellency": "excellency",
    "he": "excellency",
    "yourexcellency": "excellency",
    "honorable": "honourable",
    "thehonourable": "honourable",
    "thehonorable": "honourable",
    "hon": "honourable",
    "amb": "ambassador",
    "doctor": "dr",
    "prof": "professor",
    "mister": "mr",
    "mrs": "ms",
    "miss": "ms",
}

#: The keys each kind of record may hold per language.
I18N_KEYS: dict[str, tuple[str, ...]] = {
    "organization": ("name", "acronym", "definite"),
    # "name": an office's name in that language (a person's name is not translated)
    "contact": ("position", "salutation", "name"),
}

#: The base field whose length limit a per-language key takes (an acronym in a
#: language without acronyms holds the short name used in running text).
_LIMIT_FIELD = {"definite": "name", "acronym": "hq_city"}

#: A flat column naming one language's text: ``name_fr``, ``acronym-es``,
#: ``position (ar)``, ``salutation:pt``.
_FLAT = re.compile(r"^\s*([a-z]+)\s*(?:[_\-:.]\s*|\(\s*)([a-z]{2})\s*\)?\s*$", re.IGNORECASE)


def parse_honorific(value: Any) -> str | None:
    """A key of :data:`HONORIFICS` (``"His Excellency"`` and ``"H.E."`` give ``excellency``)."""
    text = parse_text("honorific", value)
    if text is None:
        return None
    key = fold_key(text)
    if key in HONORIFICS:
        return key
    if key in _HONORIFIC_ALIASES:
        return _HONORIFIC_ALIASES[key]
    raise FieldError(f"{text!r} is not one of: {', '.join(HONORIFICS)}")


def parse_channel(value: Any) -> Channel | None:
    """A channel letters take: email, post, fax, hand, phone or other."""
    text = parse_text("preferred_channel", value)
    if text is None:
        return None
    key = fold_key(text)
    if key in ("mail", "e-mail", "emailaddress"):
        key = "email"
    if key in ("postal", "letter", "postalmail"):
        key = "post"
    if key in ("byhand", "delivery", "handdelivery"):
        key = "hand"
    for member in Channel:
        if member.value == key:
            return member
    raise FieldError(f"{text!r} is not one of: {', '.join(m.value for m in Channel)}")


def flat_field(header: str, kind: str) -> tuple[str, str] | None:
    """``(language, key)`` if *header* names one language's text of *kind*
    (``name_fr`` -> ``("fr", "name")``), else ``None``. The language must be
    an ISO 639-1 code."""
    found = _FLAT.match(header)
    if found is None:
        return None
    key, lang = found.group(1).casefold(), found.group(2).casefold()
    if key not in I18N_KEYS[kind]:
        return None
    try:
        code = parse_language(lang)
    except FieldError:
        return None
    return (code, key) if code == lang else None


def flat_name(lang: str, key: str) -> str:
    """The field name of one language's text, as records and exports carry it: ``name_fr``."""
    return f"{key}_{lang}"


def _clean_language(code: Any) -> str:
    if not isinstance(code, str):
        raise FieldError(f"language {code!r} is not an ISO 639-1 code (such as fr, es, ar)")
    lang = parse_language(code)
    if lang is None:
        raise FieldError("an empty language code: use an ISO 639-1 code (such as fr, es, ar)")
    return lang


def clean_text(kind: str, key: str, value: Any) -> str | None:
    """One language's value of *key*, cleaned as the base field is (``None`` if empty)."""
    if key not in I18N_KEYS[kind]:
        raise FieldError(
            f"{key!r} cannot be given per language; a {kind} has: {', '.join(I18N_KEYS[kind])}"
        )
    return parse_text(_LIMIT_FIELD.get(key, key), value)


def clean_i18n(kind: str, value: Any, *, keep_empty: bool = False) -> dict[str, dict[str, Any]]:
    """Check and normalise a per-language dict of *kind* (``"organization"`` or
    ``"contact"``): language codes become ISO 639-1 codes, keys are checked
    against :data:`I18N_KEYS`, text is cleaned as the base fields are.

    *value* may also be its JSON text. Empty values are dropped, unless
    *keep_empty* (an edit, where ``None`` means "remove"). Raises
    :class:`~outreach.directory.fields.FieldError` naming the language and key.
    """
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise FieldError(
                'expected {"fr": {"name": "..."}, ...} (JSON text per language)'
            ) from None
    if not isinstance(value, Mapping):
        raise FieldError(f'expected {{"fr": {{...}}, ...}}, got {type(value).__name__}')
    out: dict[str, dict[str, Any]] = {}
    for code, entry in value.items():
        lang = _clean_language(code)
        if entry is None:
            if keep_empty:
                out.setdefault(lang, {})
            continue
        if not isinstance(entry, Mapping):
            raise FieldError(f"{lang}: expected an object of {', '.join(I18N_KEYS[kind])}")
        for key, text in entry.items():
            try:
                cleaned = clean_text(kind, str(key), text)
            except FieldError as exc:
                raise FieldError(f"{lang}.{key}: {exc}") from None
            if cleaned is None and not keep_empty:
                continue
            out.setdefault(lang, {})[str(key)] = cleaned
    return out


def merge_i18n(
    stored: Mapping[str, Mapping[str, Any]] | None, changes: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """*stored* with *changes* applied: a value replaces, ``None`` removes
    (and a language left with nothing goes). The result is a new dict, in
    :data:`LANGUAGES` order first, then the others alphabetically."""
    merged = {lang: dict(entry) for lang, entry in (stored or {}).items() if entry}
    for lang, entry in changes.items():
        mine = merged.setdefault(lang, {})
        for key, text in entry.items():
            if text is None:
                mine.pop(key, None)
            else:
                mine[key] = text
        if not mine:
            del merged[lang]
    return _ordered(merged)


def _ordered(data: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    order = {lang: n for n, lang in enumerate(LANGUAGES)}
    return {lang: data[lang] for lang in sorted(data, key=lambda k: (order.get(k, len(order)), k))}


def flatten(i18n: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``{"name_fr": "Union africaine", ...}``: the flat columns of a CSV export."""
    return {
        flat_name(lang, key): text
        for lang, entry in _ordered({k: dict(v) for k, v in i18n.items()}).items()
        for key, text in entry.items()
        if text
    }


def flat_columns(kind: str, i18n_dicts: Iterable[Mapping[str, Any]]) -> list[str]:
    """The flat columns an export of these records needs: every language of
    :data:`LANGUAGES` that one of them uses, then the others, key by key."""
    used: set[str] = set()
    for data in i18n_dicts:
        used.update(lang for lang, entry in (data or {}).items() if entry)
    langs = list(_ordered({lang: {} for lang in used}))
    return [flat_name(lang, key) for lang in langs for key in I18N_KEYS[kind]]


# --- text in one language --------------------------------------------------------


def localized(
    base: Mapping[str, Any],
    i18n: Mapping[str, Mapping[str, Any]] | None,
    language: str,
    *,
    keys: Iterable[str] | None = None,
    base_language: str | None = "en",
) -> tuple[dict[str, Any], list[str]]:
    """The values of *keys* (default: those of *base*) in *language*: the
    language's entry in *i18n*, else the *base* value.

    Returns ``(values, fallbacks)``: *fallbacks* lists, in *keys* order, the
    keys whose value came from *base* although *language* is not
    *base_language* (the language the base columns are written in): those
    are the "field fell back to another language" a letter check reports. A
    key with no value anywhere is ``None`` and is not a fallback.

    >>> localized({"name": "African Union", "acronym": "AU"},
    ...           {"fr": {"name": "Union africaine"}}, "fr")
    ({'name': 'Union africaine', 'acronym': 'AU'}, ['acronym'])
    """
    entry = (i18n or {}).get(language) or {}
    values: dict[str, Any] = {}
    fallbacks: list[str] = []
    for key in list(base) if keys is None else list(keys):
        mine = entry.get(key)
        if mine:
            values[key] = mine
            continue
        values[key] = base.get(key) or None
        if values[key] is not None and language != base_language:
            fallbacks.append(key)
    return values, fallbacks


def organization_texts(
    base: Mapping[str, Any],
    i18n: Mapping[str, Mapping[str, Any]] | None,
    language: str,
    *,
    base_language: str | None = "en",
) -> tuple[dict[str, Any], list[str]]:
    """An organization's ``name``, ``acronym`` and ``definite`` in *language*
    (*base* has at least ``name`` and ``acronym``), and the keys that fell back.

    ``definite`` falls back to the language's own name (for ar, ru and zh that
    is the form a sentence uses: no fallback), and only then to the base
    (``base["definite"]``, else the base name; a fallback)."""
    entry = (i18n or {}).get(language) or {}
    values, fallbacks = localized(
        base, i18n, language, keys=("name", "acronym"), base_language=base_language
    )
    if entry.get("definite"):
        values["definite"] = entry["definite"]
    elif entry.get("name"):
        values["definite"] = entry["name"]
    else:
        values["definite"] = base.get("definite") or values["name"]
        if values["definite"] and language != base_language:
            fallbacks.append("definite")
    return values, fallbacks


def contact_texts(
    base: Mapping[str, Any],
    i18n: Mapping[str, Mapping[str, Any]] | None,
    language: str,
    *,
    base_language: str | None = "en",
) -> tuple[dict[str, Any], list[str]]:
    """A contact's ``position`` and ``salutation`` in *language*, and the keys that fell back.

    ``position`` falls back to the base column (a fallback when *language* is
    not *base_language*). ``salutation`` is the language's stored one, else
    the base column, which is a language-neutral override the user set on
    purpose: using it is not reported as a fallback; ``None`` when neither is
    set (the courteous default per language applies)."""
    values, fallbacks = localized(
        base, i18n, language, keys=("position",), base_language=base_language
    )
    entry = (i18n or {}).get(language) or {}
    values["salutation"] = entry.get("salutation") or base.get("salutation") or None
    return values, fallbacks


def organization_names(
    base: Mapping[str, Any], i18n: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    """``{lang: {"name", "acronym", "definite"}}`` for every language the
    organization has text in, plus *base* under ``"en"`` when it has no
    English entry: what ``organization.names[lang]`` offers templates."""
    out: dict[str, dict[str, Any]] = {}
    langs = list(_ordered({lang: {} for lang, entry in (i18n or {}).items() if entry}))
    if "en" not in langs:
        langs.insert(0, "en")
    for lang in langs:
        out[lang] = organization_texts(base, i18n, lang)[0]
    return out
