"""Which languages are written right to left: the one table, for e-mail and
documents alike."""

from __future__ import annotations

#: Languages written right to left: Arabic script (Arabic, Central Kurdish
#: (Sorani), Persian, Pashto, Sindhi, Uyghur, Urdu), Hebrew script (Hebrew,
#: Yiddish), Aramaic and Dhivehi (Thaana). The one table, for e-mail and
#: documents alike. Not ``ku``: Kurdish without a script is Kurmanji, written
#: in Latin letters (CLDR); Sorani is ``ckb``, and ``ku-Arab`` is right to left
#: by its script (:data:`RTL_SCRIPTS`).
RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi"})
#: Scripts written right to left (ISO 15924), for a tag that names its script
#: (``ku-Arab``, ``pa-Arab``); a tag naming another script (``sd-Deva``) is
#: left to right.
RTL_SCRIPTS = frozenset({"adlm", "arab", "hebr", "nkoo", "rohg", "syrc", "thaa"})


def is_rtl(language: str | None) -> bool:
    """Whether a letter in *language* (a BCP 47 tag such as ``ar``, ``ckb``,
    ``ku-Arab``; ``_`` taken for ``-``) is written right to left."""
    if not language:
        return False
    primary, *rest = language.replace("_", "-").lower().split("-")
    for subtag in rest:
        if len(subtag) == 4 and subtag.isalpha():  # the script, if the tag names one
            return subtag in RTL_SCRIPTS
    return primary in RTL_LANGUAGES
