"""Courteous words per language: how a letter opens and closes.

For each shipped language (en, fr, es, pt, ar, ru, zh) and each honorific key
of the directory (``excellency``, ``honourable``, ``ambassador``, ``dr``,
``professor``, ``mr``, ``ms``, or none), the salutation and the closing
sentence, matched to each other: a letter that opens "Excellence," closes
"Je vous prie d'agréer, Excellence, ...". A language outside the table gets
the English words (the template is then the campaign's default one).

A form that needs the person's name is only used for a contact of kind
``person`` with a name; an office (or a nameless contact) gets the form
without a name, or the language's "Ladies and Gentlemen".

Gender is not in the directory: the words are chosen to need none where the
language allows it ("Excellence", "Excelencia", "阁下"); where it does not,
``mr`` and ``ms`` say it, and other keys use the language's usual neutral form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

#: The honorific keys (the directory's ``contacts.honorific``).
HONORIFIC_KEYS = ("excellency", "honourable", "ambassador", "dr", "professor", "mr", "ms")
#: The languages with words of their own here.
COURTESY_LANGUAGES = ("en", "fr", "es", "pt", "ar", "ru", "zh")
DEFAULT_LANGUAGE = "en"


class Courtesy(NamedTuple):
    """One form of address: the salutation with a name (``{name}``) or None,
    the salutation without one, and the closing sentence."""

    named: str | None
    nameless: str | None
    closing: str


def _c(named: str | None, nameless: str | None, closing: str) -> Courtesy:
    return Courtesy(named, nameless, closing)


# "office" is the entry for an office (or a nameless contact) with no honorific;
# "person" for a named person with none.
_EN_HIGH = "Please accept, {address}, the assurances of my highest consideration."
_FR_HIGH = "Je vous prie d'agréer, {address}, l'assurance de ma très haute considération."
_FR_PLAIN = "Je vous prie d'agréer, {address}, l'expression de ma haute considération."
_ES_HIGH = "Aprovecho la oportunidad para reiterarle las seguridades de mi más alta consideración."
_PT_HIGH = (
    "Aproveito a oportunidade para renovar a Vossa Excelência "
    "os protestos da minha mais elevada consideração."
)
_AR_PLAIN = "وتفضلوا بقبول فائق الاحترام والتقدير."
_RU_HIGH = "Примите, Ваше Превосходительство, уверения в моём самом высоком уважении."
_RU_PLAIN = "С уважением,"

WORDS: dict[str, dict[str, Courtesy]] = {
    "en": {
        "excellency": _c(None, "Your Excellency,", _EN_HIGH.format(address="Excellency")),
        "ambassador": _c(None, "Dear Ambassador,", _EN_HIGH.format(address="Ambassador")),
        "honourable": _c(
            "Dear {name},",
            "Dear Sir or Madam,",
            "Please accept the assurances of my highest consideration.",
        ),
        "dr": _c("Dear Dr {name},", None, "Yours sincerely,"),
        "professor": _c("Dear Professor {name},", None, "Yours sincerely,"),
        "mr": _c("Dear Mr {name},", "Dear Sir,", "Yours sincerely,"),
        "ms": _c("Dear Ms {name},", "Dear Madam,", "Yours sincerely,"),
        "person": _c("Dear {name},", None, "Yours sincerely,"),
        "office": _c(None, "Dear Sir or Madam,", "Yours faithfully,"),
    },
    "fr": {
        "excellency": _c(None, "Excellence,", _FR_HIGH.format(address="Excellence")),
        "ambassador": _c(None, "Excellence,", _FR_HIGH.format(address="Excellence")),
        "honourable": _c(None, "Honorable,", _FR_HIGH.format(address="Honorable")),
        "dr": _c(None, "Madame, Monsieur,", _FR_PLAIN.format(address="Madame, Monsieur")),
        "professor": _c(None, "Madame, Monsieur,", _FR_PLAIN.format(address="Madame, Monsieur")),
        "mr": _c(None, "Monsieur,", _FR_PLAIN.format(address="Monsieur")),
        "ms": _c(None, "Madame,", _FR_PLAIN.format(address="Madame")),
        "person": _c(None, "Madame, Monsieur,", _FR_PLAIN.format(address="Madame, Monsieur")),
        "office": _c(None, "Madame, Monsieur,", _FR_PLAIN.format(address="Madame, Monsieur")),
    },
    "es": {
        "excellency": _c(None, "Excelencia:", _ES_HIGH),
        "ambassador": _c(None, "Excelencia:", _ES_HIGH),
        "honourable": _c("Honorable {name}:", "Excelencia:", _ES_HIGH),
        "dr": _c("Estimado/a Dr./Dra. {name}:", None, "Le saluda muy atentamente,"),
        "professor": _c("Estimado/a profesor/a {name}:", None, "Le saluda muy atentamente,"),
        "mr": _c("Estimado señor {name}:", "Estimado señor:", "Le saluda muy atentamente,"),
        "ms": _c("Estimada señora {name}:", "Estimada señora:", "Le saluda muy atentamente,"),
        "person": _c("Estimado/a {name}:", None, "Le saluda muy atentamente,"),
        "office": _c(
            None, "Distinguida señora, distinguido señor:", "Les saluda muy atentamente,"
        ),
    },
    "pt": {
        "excellency": _c(None, "Excelência,", _PT_HIGH),
        "ambassador": _c(None, "Excelência,", _PT_HIGH),
        "honourable": _c(None, "Excelência,", _PT_HIGH),
        "dr": _c("Prezado/a Dr./Dra. {name},", None, "Atenciosamente,"),
        "professor": _c("Prezado/a Professor/a {name},", None, "Atenciosamente,"),
        "mr": _c("Prezado Senhor {name},", "Prezado Senhor,", "Atenciosamente,"),
        "ms": _c("Prezada Senhora {name},", "Prezada Senhora,", "Atenciosamente,"),
        "person": _c("Prezado/a {name},", None, "Atenciosamente,"),
        "office": _c(None, "Prezadas Senhoras, Prezados Senhores,", "Atenciosamente,"),
    },
    "ar": {
        "excellency": _c(
            "معالي {name}،", "صاحب المعالي،", "وتفضلوا معاليكم بقبول فائق الاحترام والتقدير."
        ),
        "ambassador": _c(
            "سعادة السفير {name}،",
            "سعادة السفير،",
            "وتفضلوا سعادتكم بقبول فائق الاحترام والتقدير.",
        ),
        "honourable": _c(
            "سعادة {name}،", "صاحب السعادة،", "وتفضلوا سعادتكم بقبول فائق الاحترام والتقدير."
        ),
        "dr": _c("حضرة د. {name} المحترم/ة،", None, _AR_PLAIN),
        "professor": _c("حضرة أ.د. {name} المحترم/ة،", None, _AR_PLAIN),
        "mr": _c("السيد {name} المحترم،", "السيد المحترم،", _AR_PLAIN),
        "ms": _c("السيدة {name} المحترمة،", "السيدة المحترمة،", _AR_PLAIN),
        "person": _c("حضرة {name} المحترم/ة،", None, _AR_PLAIN),
        "office": _c(None, "السيدات والسادة المحترمون،", _AR_PLAIN),
    },
    "ru": {
        "excellency": _c(None, "Ваше Превосходительство!", _RU_HIGH),
        "ambassador": _c(None, "Ваше Превосходительство!", _RU_HIGH),
        "honourable": _c(
            "Уважаемый(-ая) {name}!",
            "Уважаемые дамы и господа!",
            "Примите уверения в моём глубоком уважении.",
        ),
        "dr": _c("Уважаемый(-ая) д-р {name}!", None, _RU_PLAIN),
        "professor": _c("Уважаемый(-ая) профессор {name}!", None, _RU_PLAIN),
        "mr": _c("Уважаемый господин {name}!", "Уважаемый господин!", _RU_PLAIN),
        "ms": _c("Уважаемая госпожа {name}!", "Уважаемая госпожа!", _RU_PLAIN),
        "person": _c("Уважаемый(-ая) {name}!", None, _RU_PLAIN),
        "office": _c(None, "Уважаемые дамы и господа!", _RU_PLAIN),
    },
    "zh": {
        "excellency": _c("尊敬的{name}阁下：", "尊敬的阁下：", "顺致崇高的敬意。"),
        "ambassador": _c("尊敬的{name}大使阁下：", "尊敬的大使阁下：", "顺致崇高的敬意。"),
        "honourable": _c("尊敬的{name}阁下：", "尊敬的阁下：", "顺致崇高的敬意。"),
        "dr": _c("尊敬的{name}博士：", None, "此致\n敬礼！"),
        "professor": _c("尊敬的{name}教授：", None, "此致\n敬礼！"),
        "mr": _c("尊敬的{name}先生：", "尊敬的先生：", "此致\n敬礼！"),
        "ms": _c("尊敬的{name}女士：", "尊敬的女士：", "此致\n敬礼！"),
        "person": _c("尊敬的{name}：", None, "此致\n敬礼！"),
        "office": _c(None, "尊敬的女士们、先生们：", "此致\n敬礼！"),
    },
}


def primary_language(language: str | None) -> str:
    """``pt`` for ``pt-BR``, ``zh`` for ``zh_Hans``; the default when empty."""
    primary = (language or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].lower()
    return primary or DEFAULT_LANGUAGE


def words_for(language: str | None) -> dict[str, Courtesy]:
    """The table for *language*, or the default language's."""
    return WORDS.get(primary_language(language)) or WORDS[DEFAULT_LANGUAGE]


def _field(contact: Mapping[str, Any] | None, key: str) -> Any:
    if not contact:
        return None
    value = contact.get(key)
    return value if isinstance(value, str) else None


def courtesy(
    language: str | None,
    *,
    kind: str | None = None,
    honorific: str | None = None,
    name: str | None = None,
) -> tuple[str, str]:
    """(salutation, closing) in *language* for a contact of *kind* with
    *honorific* and *name*: the two always match in form of address."""
    table = words_for(language)
    name = (name or "").strip() or None
    named_ok = name is not None and kind != "office" and _in_script(name, language)
    key = (honorific or "").strip().lower()
    entry = table.get(key) if key in HONORIFIC_KEYS else None
    if entry is not None:
        if named_ok and entry.named:
            return entry.named.format(name=name), entry.closing
        if entry.nameless:
            return entry.nameless, entry.closing
    fallback = table["person"] if named_ok else table["office"]
    text = fallback.named.format(name=name) if named_ok and fallback.named else fallback.nameless
    return text or table["office"].nameless or "", fallback.closing


def _contact_courtesy(contact: Mapping[str, Any] | None, language: str | None) -> tuple[str, str]:
    """:func:`courtesy` for *contact* (a mapping with ``kind``, ``honorific``, ``name``)."""
    return courtesy(
        language,
        kind=_field(contact, "kind"),
        honorific=_field(contact, "honorific"),
        name=_field(contact, "name"),
    )


def default_salutation(contact: Mapping[str, Any] | None, language: str | None) -> str:
    """The courteous opening for *contact* in *language*, with its punctuation."""
    return _contact_courtesy(contact, language)[0]


def closing_sentence(contact: Mapping[str, Any] | None, language: str | None) -> str:
    """The courteous closing for *contact* in *language*, matching the
    default salutation's form of address."""
    return _contact_courtesy(contact, language)[1]


#: What ends a salutation in each language.
SALUTATION_END = {"en": ",", "fr": ",", "es": ":", "pt": ",", "ar": "،", "ru": "!", "zh": "："}

#: Every language's own salutations without a name, casefolded and without
#: their punctuation: a stored salutation that is one of another language's
#: (an English "Your Excellency" in a French letter) is not used.
_KNOWN = {
    lang: frozenset(
        entry.nameless.rstrip(",:!،：").strip().casefold()
        for entry in table.values()
        if entry.nameless
    )
    for lang, table in WORDS.items()
}
#: The script a salutation in these languages must use (a code point range).
_SCRIPTS = {"ar": ("\u0600", "\u06ff"), "ru": ("\u0400", "\u04ff"), "zh": ("\u4e00", "\u9fff")}
#: Openings that belong to one language only.
_OPENERS = {"en": ("dear ", "your excellency", "excellency")}


def _in_script(text: str, language: str | None) -> bool:
    """Whether *text* can stand in a sentence in *language*: a name in Latin
    letters is not put inside an Arabic, Russian or Chinese salutation (the
    form without a name is used instead)."""
    script = _SCRIPTS.get(primary_language(language))
    return script is None or any(script[0] <= ch <= script[1] for ch in text)


def foreign_salutation(text: str, language: str | None) -> bool:
    """Whether *text*, a stored salutation, is plainly in another language
    than *language*: in the wrong script, or another language's own words."""
    lang = primary_language(language)
    folded = text.rstrip(",:!،：;.").strip().casefold()
    script = _SCRIPTS.get(lang)
    if script is not None and not any(script[0] <= ch <= script[1] for ch in text):
        return True
    if folded in _KNOWN.get(lang, frozenset()):
        return False
    for other, known in _KNOWN.items():
        if other != lang and folded in known:
            return True
    return any(other != lang and folded.startswith(ops) for other, ops in _OPENERS.items())
