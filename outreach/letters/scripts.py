"""Which writing system a letter's words are in: the script check of
:mod:`outreach.letters.checks` (Latin words in an Arabic letter, Cyrillic in
a French one), outside names, acronyms, e-mail addresses and links.

Letters of one campaign share most of their lines, so each line is read
once per process (:func:`_odd_words`), and each word looked up once.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

#: The writing system each non-Latin language is written in; any other
#: language is taken to be written in Latin script.
LANGUAGE_SCRIPTS = {
    "ar": "ARABIC",
    "fa": "ARABIC",
    "ur": "ARABIC",
    "ru": "CYRILLIC",
    "uk": "CYRILLIC",
    "be": "CYRILLIC",
    "bg": "CYRILLIC",
    "kk": "CYRILLIC",
    "mk": "CYRILLIC",
    "zh": "CJK",
    "ja": "CJK",
    "ko": "HANGUL",
    "el": "GREEK",
    "he": "HEBREW",
    "hi": "DEVANAGARI",
}
SCRIPT_WORDS = {
    "LATIN": "Latin",
    "ARABIC": "Arabic",
    "CYRILLIC": "Cyrillic",
    "CJK": "Chinese",
    "HANGUL": "Korean",
    "GREEK": "Greek",
    "HEBREW": "Hebrew",
    "DEVANAGARI": "Devanagari",
}

# Each run is tried from its start only (the lookbehind) and never given back
# (possessive): a letter of one long word is scanned once, not once per letter.
LINK = re.compile(
    r"(?:https?://|www\.)\S++"
    r"|(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+"
    r"|<[^<>\s]*+>"
    r"|\]\([^()\[\]\s]*+\)"
)
WORD = re.compile("[^\\W\\d_]+(?:['\u2019-][^\\W\\d_]+)*")


@functools.lru_cache(maxsize=4096)
def _script(ch: str) -> str | None:
    if ch.isascii():
        return "LATIN" if ch.isalpha() else None
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    for prefix in ("CJK", "HIRAGANA", "KATAKANA"):
        if name.startswith(prefix):
            return "CJK"
    head = name.split(" ", 1)[0]
    return head if head in SCRIPT_WORDS else None


@functools.lru_cache(maxsize=65536)
def _word_script(word: str) -> str | None:
    """The script of *word*'s first letter that has one (words recur from
    letter to letter: each is looked up once)."""
    for ch in word:
        found = _script(ch)
        if found is not None:
            return found
    return None


def _name_words(names: Iterable[str | None]) -> set[str]:
    words: set[str] = set()
    for name in names:
        if name:
            words.update(w.casefold() for w in WORD.findall(str(name)))
    return words


@functools.lru_cache(maxsize=32768)
def _odd_words(expected: str, line: str) -> tuple[str, ...]:
    """The words of one *line* in another script than *expected*, links,
    addresses, acronyms and symbol letters left out. By line, because the
    letters of a campaign share most of their lines: each is read once."""
    odd: list[str] = []
    for word in WORD.findall(LINK.sub(" ", line)):
        script = _word_script(word)
        if script is None or script == expected:
            continue
        if script == "LATIN" and (word.isupper() or len(word) == 1):
            continue  # an acronym (UN, OAS) or a symbol letter
        odd.append(word)
    return tuple(odd)


def foreign_words(language: str, text: str, names: Iterable[str | None] = ()) -> list[str]:
    """The words of *text* in another script than *language*'s, each once,
    in order, except the words of *names* (proper names a letter may quote
    as they are written)."""
    expected = LANGUAGE_SCRIPTS.get((language or "en").split("-")[0].lower(), "LATIN")
    allowed: set[str] | None = None
    odd: list[str] = []
    for line in text.split("\n"):  # links, addresses and words stay within a line
        for word in _odd_words(expected, line):
            if allowed is None:
                allowed = _name_words(names)
            if word.casefold() not in allowed and word not in odd:
                odd.append(word)
    return odd


def script_names(words: Iterable[str]) -> list[str]:
    """The names of the scripts *words* are in ("Arabic", "Latin"), sorted."""
    return sorted({SCRIPT_WORDS[s] for s in map(_word_script, words) if s})
