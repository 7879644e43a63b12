"""Codes: ISO 639-1 languages, ISO 3166-1 countries and the regions, with the
parsers that turn a code or an English name into the stored code."""

from __future__ import annotations

import functools
from typing import Any

from outreach.directory.fields import FieldError, fold_key, parse_text, split_list
from outreach.schema.enums import Region


def parse_region(value: Any) -> Region | None:
    text = parse_text("region", value)
    if text is None:
        return None
    for member in Region:
        if fold_key(text) in (fold_key(member.value), fold_key(member.label)):
            return member
    if fold_key(text) in ("middleeast", "middleeastandnorthafrica", "menaregion"):
        return Region.MENA
    if fold_key(text) in ("asia", "pacific", "asiaandthepacific"):
        return Region.ASIA_PACIFIC
    choices = ", ".join(m.value for m in Region)
    raise FieldError(f"{text!r} is not one of: {choices}")


@functools.cache
def _language_table() -> dict[str, str]:
    import pycountry

    table: dict[str, str] = {}
    for lang in pycountry.languages:
        code = getattr(lang, "alpha_2", None)
        if not code:
            continue
        table[code] = code
        table.setdefault(lang.name.casefold(), code)
        for attr in ("alpha_3", "bibliographic"):
            other = getattr(lang, attr, None)
            if other:
                table.setdefault(other.casefold(), code)
    return table


#: The ISO 639-1 codes, so that checking a plain code needs no look-up in
#: pycountry's 8,000 languages (``tests/test_directory.py`` checks it against
#: pycountry). Names and three-letter codes go through pycountry.
ISO_639_1 = frozenset(
    [
        "aa",
        "ab",
        "ae",
        "af",
        "ak",
        "am",
        "an",
        "ar",
        "as",
        "av",
        "ay",
        "az",
        "ba",
        "be",
        "bg",
        "bi",
        "bm",
        "bn",
        "bo",
        "br",
        "bs",
        "ca",
        "ce",
        "ch",
        "co",
        "cr",
        "cs",
        "cu",
        "cv",
        "cy",
        "da",
        "de",
        "dv",
        "dz",
        "ee",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "ff",
        "fi",
        "fj",
        "fo",
        "fr",
        "fy",
        "ga",
        "gd",
        "gl",
        "gn",
        "gu",
        "gv",
        "ha",
        "he",
        "hi",
        "ho",
        "hr",
        "ht",
        "hu",
        "hy",
        "hz",
        "ia",
        "id",
        "ie",
        "ig",
        "ii",
        "ik",
        "io",
        "is",
        "it",
        "iu",
        "ja",
        "jv",
        "ka",
        "kg",
        "ki",
        "kj",
        "kk",
        "kl",
        "km",
        "kn",
        "ko",
        "kr",
        "ks",
        "ku",
        "kv",
        "kw",
        "ky",
        "la",
        "lb",
        "lg",
        "li",
        "ln",
        "lo",
        "lt",
        "lu",
        "lv",
        "mg",
        "mh",
        "mi",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "mt",
        "my",
        "na",
        "nb",
        "nd",
        "ne",
        "ng",
        "nl",
        "nn",
        "no",
        "nr",
        "nv",
        "ny",
        "oc",
        "oj",
        "om",
        "or",
        "os",
        "pa",
        "pi",
        "pl",
        "ps",
        "pt",
        "qu",
        "rm",
        "rn",
        "ro",
        "ru",
        "rw",
        "sa",
        "sc",
        "sd",
        "se",
        "sg",
        "sh",
        "si",
        "sk",
        "sl",
        "sm",
        "sn",
        "so",
        "sq",
        "sr",
        "ss",
        "st",
        "su",
        "sv",
        "sw",
        "ta",
        "te",
        "tg",
        "th",
        "ti",
        "tk",
        "tl",
        "tn",
        "to",
        "tr",
        "ts",
        "tt",
        "tw",
        "ty",
        "ug",
        "uk",
        "ur",
        "uz",
        "ve",
        "vi",
        "vo",
        "wa",
        "wo",
        "xh",
        "yi",
        "yo",
        "za",
        "zh",
        "zu",
    ]
)


def parse_language(value: Any) -> str | None:
    """An ISO 639-1 code: ``fr``, ``FR``, ``fra`` and ``French`` all give ``fr``."""
    text = parse_text("language", value)
    if text is None:
        return None
    if len(text) == 2 and text.lower() in ISO_639_1:
        return text.lower()
    code = _language_table().get(text.casefold())
    if code is None:
        raise FieldError(f"{text!r} is not an ISO 639-1 language code (such as en, fr, ar)")
    return code


def parse_languages(value: Any) -> list[str]:
    out: list[str] = []
    for item in split_list(value):
        code = parse_language(item)
        if code and code not in out:
            out.append(code)
    return out


@functools.cache
def _country_table() -> dict[str, str]:
    import pycountry

    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            other = getattr(country, attr, None)
            if other:
                table.setdefault(other.casefold(), code)
    return table


def parse_country(value: Any) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code (``ET``, ``ETH``) or an English name."""
    text = parse_text("hq_country", value)
    if text is None:
        return None
    code = _country_table().get(text.casefold())
    if code is None:
        raise FieldError(f"{text!r} is not a country name or ISO 3166 code (such as ET, ETH)")
    return code
