"""The addressee block of a letter, in the letter's language: who, what
position, which organization, where (``{{ contact|address_block(organization) }}``).

Line by line (plain text joined with ``\\n``; empty values give no line):

1. The addressee with the honorific in the letter's language: a person by
   name, an office by ``contact.addressee`` (its position in the letter's
   language). The forms are :data:`FORMS`, per language and (honorific, kind).
2. A person's position, when it says something the first line does not.
3. The organization's name in the letter's language, unless a line above
   already holds it ("Président de la Commission de l'Union africaine" is
   not followed by "Union africaine"; "Secretary-General of ASEAN" is
   followed by "Association of Southeast Asian Nations": the acronym alone
   does not count).
4. The postal address, without the lines that repeat the block (the
   organization's name or acronym in any of its languages, the office's own
   name, a line printed above) and without its country line.
5. The country in the letter's language (CLDR, through Babel), for a letter
   by post: when the address has lines or the organization an ``hq_city``.
   Without a postal address: the country alone (the directory keeps the
   ``hq_city`` in English only, and "Vienna" has no place in a Russian letter).

The forms of address. Gender is not in the directory, so the forms need none
where the language has one ("H.E.", "S. E.", "S. Exa.", "معالي", "阁下", the
abbreviations "Dr", "Pr", "Prof.", "د.", "д-р", "проф."); where the title is
gendered and no neutral abbreviation is usual (Spanish and Portuguese
"Dr."/"Dra.", every Russian "Его/Её Превосходительство"), the name stands
alone. ``mr`` and ``ms`` say the gender themselves ("M."/"Mme", "Sr."/"Sra.",
"السيد"/"السيدة", "г-н"/"г-жа", "先生"/"女士"). An office is an excellency
only where the title goes before a position without an article that would
need the position's gender: "H.E. the Chairperson of ...", "معالي الأمين
العام ...", "...主席阁下"; French, Spanish, Portuguese and Russian print the
position alone ("Président de la Commission de l'Union africaine").
An office named by its own name ("Office of the Secretary-General") gets no
title at all.

A name that already carries a title is printed as it stands, never with a
second one: any title of the same kind, in any language ("H.E. Jean Ping"
stays so in a French letter), and any other title written out as a word
("Dr", "Mr", "Professor"). Initials that look like a title ("M. Shahid
Ahmed", "S. E. Smith") only count for the same kind.

The country line. A trailing line (or the part after its last comma) that
names a country in any shipped language, by its CLDR name, its ISO 3166
name, or (for the headquarters' country) its code, is taken out and the
country written again in the letter's language: "Ethiopia" becomes
"Éthiopie" in a French letter. When it names another country than the
headquarters' (an office abroad), that country is the one written. A line
equal to the ``hq_city`` is a city, not a country ("Djibouti"), unless the
line before it is that city too. An unknown or invalid code gives no
country line.

Recipient text is data: nothing is escaped here (each output format does
that); control characters and bidirectional embedding controls are taken
out and runs of white space collapsed, within each line.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from outreach.safetext import BIDI_CONTROLS
from outreach.templating.courtesy import primary_language

#: The languages whose country names a postal address may use.
NAME_LANGUAGES = ("en", "fr", "es", "pt", "ar", "ru", "zh")
#: Babel territory codes that are not a country to post a letter to.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})

_H_E = "H.E. {name}"
_S_E = "S. E. {name}"
_S_EXA = "S. Exa. {name}"

#: The addressee line per language, for (honorific, kind): a pattern around
#: ``{name}`` (a person's name, or an office's position). A pair not listed
#: is the name alone. A language not listed uses English.
FORMS: dict[str, dict[tuple[str, str], str]] = {
    "en": {
        ("excellency", "person"): _H_E,
        ("ambassador", "person"): "Ambassador {name}",
        ("honourable", "person"): "The Hon. {name}",
        ("dr", "person"): "Dr {name}",
        ("professor", "person"): "Professor {name}",
        ("mr", "person"): "Mr {name}",
        ("ms", "person"): "Ms {name}",
        # "the" lower-cased from the position: "H.E. the Secretary-General of ASEAN"
        ("excellency", "office"): "H.E. the {name}",
        ("ambassador", "office"): "H.E. the {name}",
    },
    "fr": {
        ("excellency", "person"): _S_E,
        ("ambassador", "person"): _S_E,
        ("honourable", "person"): "L'honorable {name}",
        ("dr", "person"): "Dr {name}",
        ("professor", "person"): "Pr {name}",
        ("mr", "person"): "M. {name}",
        ("ms", "person"): "Mme {name}",
    },
    "es": {
        ("excellency", "person"): _S_E,
        ("ambassador", "person"): _S_E,
        ("honourable", "person"): "Honorable {name}",
        ("professor", "person"): "Prof. {name}",
        ("mr", "person"): "Sr. {name}",
        ("ms", "person"): "Sra. {name}",
    },
    "pt": {
        ("excellency", "person"): _S_EXA,
        ("ambassador", "person"): _S_EXA,
        ("professor", "person"): "Prof. {name}",
        ("mr", "person"): "Sr. {name}",
        ("ms", "person"): "Sra. {name}",
    },
    "ar": {
        ("excellency", "person"): "معالي {name}",
        ("ambassador", "person"): "سعادة {name}",
        ("honourable", "person"): "سعادة {name}",
        ("dr", "person"): "د. {name}",
        ("professor", "person"): "أ.د. {name}",
        ("mr", "person"): "السيد {name}",
        ("ms", "person"): "السيدة {name}",
        ("excellency", "office"): "معالي {name}",
        ("ambassador", "office"): "سعادة {name}",
        ("honourable", "office"): "سعادة {name}",
    },
    "ru": {
        ("dr", "person"): "д-р {name}",
        ("professor", "person"): "проф. {name}",
        ("mr", "person"): "г-н {name}",
        ("ms", "person"): "г-жа {name}",
    },
    "zh": {
        ("excellency", "person"): "{name}阁下",
        ("ambassador", "person"): "{name}大使阁下",
        ("honourable", "person"): "{name}阁下",
        ("dr", "person"): "{name}博士",
        ("professor", "person"): "{name}教授",
        ("mr", "person"): "{name}先生",
        ("ms", "person"): "{name}女士",
        ("excellency", "office"): "{name}阁下",
        ("ambassador", "office"): "{name}阁下",
        ("honourable", "office"): "{name}阁下",
    },
}

#: Titles a stored name may already begin with, per honorific, in any
#: language (besides the forms of :data:`FORMS`).
TITLES: dict[str, tuple[str, ...]] = {
    "excellency": (
        "H.E.", "His Excellency", "Her Excellency", "Son Excellence", "Su Excelencia",
        "Sua Excelência", "S.Exa.", "S. Ex.ª", "صاحب المعالي", "Его Превосходительство",
        "Ее Превосходительство", "Её Превосходительство",
    ),
    "ambassador": (
        "H.E.", "S. E.", "S. Exa.", "Amb.", "Ambassadeur", "Ambassadrice", "Embajador",
        "Embajadora", "Embaixador", "Embaixadora", "سعادة السفير", "سعادة السفيرة", "Посол",
    ),
    "honourable": ("The Honourable", "The Honorable", "Hon.", "Honourable", "L’honorable"),
    "dr": (
        "Dr.", "Dra.", "Dra", "Doctor", "Doctora", "Docteur", "Doutor", "Doutora",
        "الدكتور", "الدكتورة", "доктор",
    ),
    "professor": (
        "Prof", "Profa.", "Professora", "Professeur", "Professeure", "Profesor",
        "Profesora", "الأستاذ الدكتور", "профессор",
    ),
    "mr": ("Mr.", "Monsieur", "Señor", "Senhor", "господин"),
    "ms": ("Ms.", "Mrs", "Mrs.", "Miss", "Madame", "Señora", "Senhora", "госпожа"),
}  # fmt: skip


# -- text as it goes on a line ------------------------------------------------------

#: What is taken out of a line: controls other than white space, the
#: bidirectional embedding/override/isolate controls, lone surrogates.
_STRIP = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff" + "".join(sorted(BIDI_CONTROLS)) + "]"
)
#: Where a postal address breaks into lines.
_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def clean_line(value: Any) -> str:
    """*value* as one line: controls taken out, white space collapsed."""
    if not isinstance(value, str):
        return ""
    return " ".join(_STRIP.sub("", value).split())


def clean_lines(value: Any) -> list[str]:
    """*value* (multi-line text) as its non-empty lines, each cleaned."""
    if not isinstance(value, str):
        return []
    lines = (clean_line(line) for line in _BREAKS.split(value))
    return [line for line in lines if line]


class _Unmarked(dict):  # type: ignore[type-arg]
    """For ``str.translate``: the marks (accents, Arabic vowels), controls
    and format characters (RLM, ZWJ) map to nothing, every other character
    to itself; each code point is looked up once, then at C speed."""

    def __missing__(self, point: int) -> int | None:
        kept = None if unicodedata.category(chr(point)) in _UNMARKED else point
        self[point] = kept
        return kept


_UNMARKED = frozenset({"Mn", "Mc", "Me", "Cc", "Cf", "Cs"})
_UNMARK = _Unmarked({ord("ـ"): None, ord("ى"): ord("ي")})  # tatweel; alif maqsura as ya
_FOLD_CACHE: dict[str, str] = {}
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """*text* for comparing: accents and other marks folded away, case
    folded, punctuation as spaces ("Côte d’Ivoire" = "cote d'ivoire")."""
    found = _FOLD_CACHE.get(text)
    if found is not None:
        return found
    if text.isascii():
        kept = text.lower()
    else:
        kept = unicodedata.normalize("NFKD", text).translate(_UNMARK).casefold()
    folded = " ".join(_NOT_WORD.sub(" ", kept).split())
    if len(text) <= 200 and len(_FOLD_CACHE) < 20_000:
        _FOLD_CACHE[text] = folded
    return folded


def _key(text: str) -> str:
    """*text* folded, or only case-folded when folding leaves nothing ("\\")."""
    return fold(text) or text.casefold()


#: Scripts whose words are not (always) set apart by spaces: Chinese and
#: Japanese; Arabic, whose prepositions join the next word ("لجامعة الدول العربية").
_UNSPACED = re.compile("[\u0600-\u06ff\u3040-\u9fff]")


def contains(line: str, name: str) -> bool:
    """Whether *name* stands in *line*, as whole words (compared folded); in
    Cyrillic, declined as a name is inside a position ("Генеральный секретарь
    Шанхайской организации сотрудничества" names "Шанхайская организация
    сотрудничества")."""
    needle, hay = fold(name), fold(line)
    if not needle:
        return False
    if _UNSPACED.search(needle):
        return needle in hay
    if f" {needle} " in f" {hay} ":
        return True
    if _CYRILLIC.search(needle):
        names, words = needle.split(), hay.split()
        n = len(names)
        return any(
            all(_declined(w, x) for w, x in zip(words[i : i + n], names, strict=True))
            for i in range(len(words) - n + 1)
        )
    return False


_CYRILLIC = re.compile("[\u0400-\u04ff]")


def _declined(a: str, b: str) -> bool:
    """Whether two Russian words are one word in two cases: the same word
    ("по"), or an ending of three letters at most after four in common."""
    shorter = min(len(a), len(b))
    common = next((i for i in range(shorter) if a[i] != b[i]), shorter)
    return a == b or (common >= max(4, shorter - 3) and max(len(a), len(b)) - common <= 3)


# -- line 1: the addressee ----------------------------------------------------------


def _title_pattern(title: str) -> str:
    """A regular expression for *title* at the start of a name: any spacing
    after its full stops ("H.E.", "H. E."), then a space (or nothing after a
    full stop)."""
    out = []
    for i, ch in enumerate(title):
        if ch == ".":
            out.append(r"\.\s*")
        elif ch == " ":
            out.append(r"\s*" if title[i - 1] == "." else r"\s+")
        else:
            out.append(re.escape(ch))
    return "".join(out) + ("" if title.endswith(".") else r"\s+")


def _initials(title: str) -> bool:
    """Whether *title* could be a person's initials ("M.", "S. E.", "H.E.")."""
    return re.fullmatch(r"(?:\w\.\s*)+", title) is not None


def _prefix(pattern: str) -> str:
    return pattern.split("{name}")[0].strip()


def _suffix(pattern: str) -> str:
    return pattern.split("{name}")[1].strip()


def _longest_first(words: Iterable[str]) -> list[str]:
    return sorted(set(words), key=lambda t: (-len(t), t))


def _titles_regex(words: Iterable[str]) -> re.Pattern[str]:
    """One of *words* at the start of a name (longest first)."""
    return re.compile("|".join(_title_pattern(t) for t in _longest_first(words)), re.I)


_TitleTables = tuple[dict[str, re.Pattern[str]], re.Pattern[str], dict[str, tuple[str, ...]]]


@functools.cache
def _title_tables() -> _TitleTables:
    """(a prefix regex per honorific, the regex of titles of any kind written
    out as words, the suffixes per honorific)."""
    titles = {key: set(words) for key, words in TITLES.items()}
    suffixes: dict[str, set[str]] = {key: set() for key in TITLES}
    for table in FORMS.values():
        for (key, _kind), pattern in table.items():
            if _prefix(pattern) and key in titles:
                titles[key].add(_prefix(pattern).removesuffix(" the"))
            if _suffix(pattern) and key in suffixes:
                suffixes[key].add(_suffix(pattern))
    same = {key: _titles_regex(words) for key, words in titles.items()}
    any_title = _titles_regex(t for words in titles.values() for t in words if not _initials(t))
    ends = {key: tuple(_longest_first(words)) for key, words in suffixes.items()}
    return same, any_title, ends


def has_title(name: str, honorific: str | None) -> bool:
    """Whether *name* already begins (or, in Chinese, ends) with a title: one
    of *honorific*'s in any language, or any other written out as a word."""
    same, any_title, ends = _title_tables()
    key = honorific if honorific in same else None
    if key is not None and same[key].match(name):
        return True
    if any_title.match(name):
        return True
    return any(name.endswith(end) for words in ends.values() for end in words)


def _cjk(ch: str) -> bool:
    return "\u3040" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def apply_form(pattern: str, name: str) -> str:
    """*pattern* around *name*; a Latin name and a Chinese title set apart
    by a space ("Jean Ping 阁下")."""
    before, _, after = pattern.partition("{name}")
    if before.endswith(" the ") and name[:4] in ("The ", "the "):
        name = name[4:]
    if after and _cjk(after[0]) and name and not _cjk(name[-1]):
        after = " " + after
    return f"{before}{name}{after}"


def form_for(language: str, honorific: str | None, kind: str) -> str:
    """The pattern of the addressee line for *honorific* and *kind* (``person``
    or ``office``) in *language*: ``"{name}"`` when there is no title."""
    table = FORMS.get(language) or FORMS["en"]
    return table.get(((honorific or "").strip().lower(), kind), "{name}")


def addressee_line(
    name: str, *, language: str, honorific: str | None, kind: str, titled: bool = True
) -> str:
    """*name* (cleaned) with its title in *language*; *titled* False gives the
    name alone (an office named by its own name, not its position)."""
    if not name:
        return ""
    key = (honorific or "").strip().lower() or None
    if not titled or key is None or has_title(name, key):
        return name
    return apply_form(form_for(language, key, kind), name)


# -- line 5: the country ------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _locale(language: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def country_code(value: Any) -> str | None:
    """*value* as an ISO 3166 alpha-2 code Babel knows a country by, or None."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha() or code in NOT_COUNTRIES:
        return None
    return code if code in _locale("en").territories else None


def country_name(code: Any, language: str) -> str | None:
    """The country *code* names, in *language* (CLDR): ``ET`` in French is
    "Éthiopie"; None for an unknown or invalid code."""
    valid = country_code(code)
    if valid is None:
        return None
    territories = _locale(language).territories
    return territories.get(valid) or _locale("en").territories.get(valid)


@functools.cache
def _country_names() -> dict[str, frozenset[str]]:
    """Every country's names, folded, to the codes they name: the CLDR names
    in each of :data:`NAME_LANGUAGES`, and the ISO 3166 names (pycountry)."""
    import pycountry

    found: dict[str, set[str]] = {}
    for lang in NAME_LANGUAGES:
        for code, name in _locale(lang).territories.items():
            if country_code(code) == code:
                found.setdefault(fold(name), set()).add(code)
    for country in pycountry.countries:
        code = country.alpha_2
        if country_code(code) != code:
            continue
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                found.setdefault(fold(name), set()).add(code)
    return {name: frozenset(codes) for name, codes in found.items() if name}


@functools.cache
def _alpha3(code: str) -> str | None:
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    return country.alpha_3 if country else None


def names_country(text: str, home: str | None, language: str = "en") -> str | None:
    """The code of the country *text* names, or None: *home* (the
    headquarters' country) first, by its code or its name in *language*,
    English or another shipped language; then any country, by name."""
    folded = fold(text)
    if not folded:
        return None
    if home is not None:
        if folded.upper() == home:
            return home
        # the letter's language and English first: the other locales (and
        # the ISO names) are only loaded for an address that needs them
        for lang in dict.fromkeys((language, "en", *NAME_LANGUAGES)):
            if lang in NAME_LANGUAGES and fold(_locale(lang).territories.get(home, "")) == folded:
                return home
        if folded.upper() == _alpha3(home):
            return home
    codes = _country_names().get(folded)
    if not codes:
        return None
    return home if home in codes else min(codes)


_COMMAS = ",،，"


def split_country(
    lines: list[str], home: str | None, city: str | None, language: str = "en"
) -> tuple[list[str], str | None]:
    """*lines* without their trailing country, and that country's code (None
    when the address names none)."""
    if not lines:
        return lines, None
    last = lines[-1]
    before = lines[-2] if len(lines) > 1 else None
    found = _country_of(last, before, home, city, language)
    if found is not None:
        return lines[:-1], found
    cut = max(last.rfind(comma) for comma in _COMMAS)
    head, tail = last[:cut].strip(), last[cut + 1 :].strip()
    if cut > 0 and head and tail:
        found = _country_of(tail, head, home, city, language)
        if found is not None:
            return [*lines[:-1], head], found
    return lines, None


def _country_of(
    text: str, before: str | None, home: str | None, city: str | None, language: str
) -> str | None:
    if city and fold(text) == fold(city) and not (before and fold(before) == fold(city)):
        return None  # "Djibouti" after the street is the city
    return names_country(text, home, language)


# -- the block ----------------------------------------------------------------------


def _peek(record: Any, key: str) -> Any:
    """*record*'s *key* without noting a fallback (see :class:`Localized`)."""
    if isinstance(record, dict):
        return dict.get(record, key)
    return record.get(key) if isinstance(record, Mapping) else None


def _use(record: Any, key: str) -> None:
    """Read *key* as a template would: a fallback in it is noted."""
    if isinstance(record, Mapping):
        record.get(key)


def _text(record: Any, key: str) -> str:
    value = _peek(record, key)
    return clean_line(value) if isinstance(value, str) else ""


def _org_words(organization: Any) -> set[str]:
    """The organization's names, acronyms and definite forms in every
    language it has, folded: a postal line that is one of them repeats it."""
    words = {_text(organization, key) for key in ("name", "acronym", "definite")}
    words |= {_text(organization, key) for key in ("original_name", "original_acronym")}
    names = _peek(organization, "names")
    if isinstance(names, Mapping):
        for entry in names.values():
            if isinstance(entry, Mapping):
                words |= {_text(entry, key) for key in ("name", "acronym", "definite")}
    return {_key(word) for word in words if word}


def address_lines(
    contact: Mapping[str, Any] | None,
    organization: Mapping[str, Any] | None = None,
    language: str = "en",
) -> list[str]:
    """The lines of the addressee block (see the module's description)."""
    lang = primary_language(language)
    contact = contact if isinstance(contact, Mapping) else None
    organization = organization if isinstance(organization, Mapping) else None
    kind = "office" if _peek(contact, "kind") == "office" else "person"
    honorific = _peek(contact, "honorific")
    honorific = honorific if isinstance(honorific, str) else None
    addressee, position = _text(contact, "addressee"), _text(contact, "position")
    lines: list[str] = []

    # 1. who; an office named by its position gets the title, one named by
    # its own name does not; a person without a name is addressed as an office
    if addressee:
        _use(contact, "addressee")
        titled = kind == "person" or (bool(position) and fold(addressee) == fold(position))
        lines.append(
            addressee_line(addressee, language=lang, honorific=honorific, kind=kind, titled=titled)
        )
    elif position:
        _use(contact, "position")
        kind = "office"
        lines.append(addressee_line(position, language=lang, honorific=honorific, kind=kind))
    # 2. a person's position, when the line above does not already say it
    if kind == "person" and position and not contains(lines[0] if lines else "", position):
        _use(contact, "position")
        lines.append(position)
    # 3. the organization, unless a line above names it
    org_name = _text(organization, "name") or _text(organization, "acronym")
    if org_name and not any(contains(line, org_name) for line in lines):
        _use(organization, "name" if _text(organization, "name") else "acronym")
        lines.append(org_name)
    # 4. the postal address, without what repeats the block
    repeats = _org_words(organization) | {_key(line) for line in lines}
    repeats |= {_key(text) for text in (addressee, position, _text(contact, "name")) if text}
    given = clean_lines(_peek(contact, "postal_address"))
    postal = [line for line in given if _key(line) not in repeats]
    home = country_code(_peek(organization, "hq_country"))
    city = _text(organization, "hq_city")
    postal, named = split_country(postal, home, city, lang)
    if given:
        _use(contact, "postal_address")
    # 5. the country, in the letter's language, for a letter by post
    country = country_name(named or home, lang) if given or city else None
    if country and postal and _key(postal[-1]) == _key(country):
        # a city that shares its country's name (Djibouti, Singapore, Kuwait)
        # is written once: the line names both
        country = None
    return [*lines, *postal, *([country] if country else [])]


def address_block(
    contact: Mapping[str, Any] | None,
    organization: Mapping[str, Any] | None = None,
    language: str = "en",
) -> str:
    """The addressee block of a letter in *language*, its lines joined with
    ``\\n``: see the module's description. The same inputs give the same text."""
    return "\n".join(address_lines(contact, organization, language))
