"""The shipped letters in seven languages: courteous openings and closings per
language, kind and honorific; dates by locale; no English in the others."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from outreach.render.markdown import to_text
from outreach.templating import Record, TemplateSet, render
from outreach.templating.courtesy import COURTESY_LANGUAGES, HONORIFIC_KEYS, WORDS, courtesy
from outreach.templating.filters import closing, format_date, of, salutation

LANGUAGES = ("en", "fr", "es", "pt", "ar", "ru", "zh")

#: The African Union as the directory names it in each language.
AU = {
    "en": ("African Union", "AU", "the African Union", "Chairperson of the Commission"),
    "fr": ("Union africaine", "UA", "l'Union africaine", "Président de la Commission"),
    "es": ("Unión Africana", "UA", "la Unión Africana", "Presidente de la Comisión"),
    "pt": ("União Africana", "UA", "a União Africana", "Presidente da Comissão"),
    "ar": ("الاتحاد الأفريقي", "الاتحاد الأفريقي", "الاتحاد الأفريقي", "رئيس المفوضية"),
    "ru": ("Африканский союз", "АС", "Африканский союз", "Председатель Комиссии"),
    "zh": ("非洲联盟", "非盟", "非洲联盟", "委员会主席"),
}
PLACE = {
    "en": "New York",
    "fr": "New York",
    "es": "Nueva York",
    "pt": "Nova York",
    "ar": "نيويورك",
    "ru": "Нью-Йорк",
    "zh": "纽约",
}
COALITION = {
    "en": "Coalition for the Responsibility to Protect",
    "fr": "Coalition pour la responsabilité de protéger",
    "es": "Coalición por la Responsabilidad de Proteger",
    "pt": "Coalizão pela Responsabilidade de Proteger",
    "ar": "التحالف من أجل المسؤولية عن الحماية",
    "ru": "Коалиция за ответственность по защите",
    "zh": "保护责任联盟",
}


def _context(
    ts: TemplateSet,
    language: str,
    *,
    honorific: str | None = "excellency",
    kind: str = "person",
    contact_name: str = "Moussa Faki Mahamat",
    own_salutation: str | None = None,
    followup: Record | None = None,
    **variables: Any,
) -> dict[str, Any]:
    """A letter's context shaped as the renderer gives it: every field already
    in the letter's language (issue 13's contract)."""
    name, acronym, definite, position = AU[language]
    return {
        **ts.env.globals,
        **variables,
        "vars": Record(variables),
        "organization": Record(
            name=name,
            acronym=acronym,
            definite=definite,
            region_label="Sub-Saharan Africa",
            languages=["en", "fr", "ar", "pt"],
        ),
        "contact": Record(
            name=contact_name,
            addressee=contact_name,
            position=position,
            salutation=own_salutation,
            honorific=honorific,
            kind=kind,
            language=language,
            postal_address=None,
            email="chair@example.org",
        ),
        "sender": Record(
            name=None,
            organization=COALITION[language],
            email="info@example.org",
            website=None,
            address=None,
            phone=None,
            signatory="Jane Doe",
            signatory_title=None,
            place=PLACE[language],
        ),
        "campaign": Record(slug="tp", title="Third pillar"),
        "dialogue": Record(date=dt.date(2012, 9, 5), report_symbol="A/66/874"),
        "today": dt.date(2012, 7, 12),
        "language": language,
        "followup": followup,
    }


def _render(name: str, language: str, **kwargs: Any) -> Any:
    ts = TemplateSet()
    compiled = ts.compile(name, language, "en")
    if "reminder" in name:
        first = ts.compile("third-pillar", language, "en")
        subject = render(first, _context(ts, language), recipient="AU").subject
        kwargs.setdefault(
            "followup", Record(original_subject=subject, original_sent_at=dt.date(2012, 6, 1))
        )
    return compiled, render(compiled, _context(ts, language, **kwargs), recipient="AU")


def _lines(body: str) -> list[str]:
    """The letter's lines as its reader sees them (the part markers are not text)."""
    return [line for line in to_text(body).splitlines() if line.strip()]


def test_every_letter_has_all_seven_languages() -> None:
    ts = TemplateSet()
    for name in ("third-pillar", "third-pillar-reminder", "letterhead"):
        assert ts.variants(name) == sorted(set(LANGUAGES) - {"en"}), name
    for lang in LANGUAGES:
        compiled = ts.compile("third-pillar-reminder", lang, "en")
        expected = (
            "third-pillar-reminder.md.j2" if lang == "en" else f"third-pillar-reminder.{lang}.md.j2"
        )
        assert compiled.filename == expected
    # a Portuguese contact now gets Portuguese, not Spanish
    pick = ts.choose_language
    assert pick("third-pillar", default="en", contact_language="pt", org_languages=["es"]) == "pt"
    assert (
        pick("third-pillar-reminder", default="en", contact_language="pt", org_languages=[]) == "pt"
    )


def test_french_letter_to_an_excellency_opens_and_closes_in_french() -> None:
    _compiled, text = _render("third-pillar", "fr", own_salutation="Your Excellency")
    lines = _lines(text.body)
    opening = lines.index("Excellence,")
    assert lines[opening - 1].startswith("Objet : Le dialogue de l'Assemblée générale")
    assert "Je vous prie d'agréer, Excellence, l'assurance de ma très haute considération." in lines
    assert "Your Excellency" not in text.body
    assert "appeler l'attention de l'Union africaine sur le dialogue" in text.body
    assert "New York, le 12 juillet 2012" in lines
    assert "le 5 septembre 2012" in text.body
    assert "d'ici au 15 août 2012" not in text.body  # no reply_by given: the sentence is left out
    for english in (" the ", "Your ", "the coalition", "Dear "):
        assert english not in text.body


def test_spanish_and_portuguese_name_the_organization_with_its_article() -> None:
    _c, es = _render("third-pillar", "es", reply_by=dt.date(2012, 8, 15))
    assert "señalar a la atención de la Unión Africana el diálogo" in es.body
    assert "antes del 15 de agosto de 2012" in es.body
    assert _lines(es.body)[_lines(es.body).index("Excelencia:") + 1].startswith(
        "En nombre de nuestra"
    )
    assert (
        "Aprovecho la oportunidad para reiterarle las seguridades de mi más alta consideración."
        in es.body
    )
    _c, pt = _render("third-pillar", "pt", reply_by=dt.date(2012, 8, 15))
    assert "levar ao conhecimento da União Africana o diálogo" in pt.body
    assert "Nova York, 12 de julho de 2012" in pt.body
    assert "Excelência," in _lines(pt.body)
    assert "renovar a Vossa Excelência os protestos da minha mais elevada consideração." in pt.body
    assert (
        ", Excelência" not in pt.body.split("Excelência,")[1].split("\n")[0]
    )  # no Spanish ":" either
    assert "Excelencia" not in pt.body


EXPECTED_OPENING = {
    "en": (
        "Your Excellency,",
        "Please accept, Excellency, the assurances of my highest consideration.",
    ),
    "fr": (
        "Excellence,",
        "Je vous prie d'agréer, Excellence, l'assurance de ma très haute considération.",
    ),
    "es": (
        "Excelencia:",
        "Aprovecho la oportunidad para reiterarle las seguridades de mi más alta consideración.",
    ),
    "pt": ("Excelência,", "Aproveito a oportunidade para renovar a Vossa Excelência"),
    "ar": ("صاحب المعالي،", "وتفضلوا معاليكم بقبول فائق الاحترام والتقدير."),
    "ru": ("Ваше Превосходительство!", "Примите, Ваше Превосходительство, уверения"),
    "zh": ("尊敬的阁下：", "顺致崇高的敬意。"),
}


@pytest.mark.parametrize("name", ["third-pillar", "third-pillar-reminder"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_opens_and_closes_in_its_own_words(name: str, language: str) -> None:
    # the stored English salutation is what the directory may still hand over by mistake
    _c, text = _render(
        name, language, own_salutation="Your Excellency", reply_by=dt.date(2012, 8, 15)
    )
    opening, closing_text = EXPECTED_OPENING[language]
    assert opening in _lines(text.body)
    assert closing_text in text.body
    assert to_text(text.body).rstrip().endswith("Jane Doe\n" + COALITION[language])
    if language != "en":
        for english in ("Your Excellency", "Dear ", "Yours ", "our coalition", " the ", "Subject"):
            assert english not in text.body, (language, english)
    if language in ("ar", "ru", "zh"):
        # outside e-mail addresses, symbols and the contact's own name: no Latin words
        rest = to_text(text.body).replace("info@example.org", "")
        rest = rest.replace("Moussa Faki Mahamat", "")
        rest = re.sub(r"A/\d+/\d+", "", rest).replace("Jane Doe", "")
        assert not re.search(r"[A-Za-z]{3,}", rest), (language, re.findall(r"[A-Za-z]{3,}", rest))


DATES = {
    "en": "12 July 2012",
    "fr": "12 juillet 2012",
    "es": "12 de julio de 2012",
    "pt": "12 de julho de 2012",
    "ru": "12 июля 2012\u202fг.",  # CLDR: a narrow no-break space before "г."
    "zh": "2012年7月12日",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_letter_date_by_locale(language: str) -> None:
    _c, text = _render("third-pillar", language)
    if language == "ar":
        assert "نيويورك، في 12 يوليو 2012" in text.body
    else:
        assert DATES[language] in _lines(text.body)[2]


def test_format_date_per_language() -> None:
    day = dt.date(2012, 7, 12)
    for language, expected in DATES.items():
        assert format_date(day, language) == expected
    assert "يوليو" in format_date(day, "ar")
    assert format_date(day, "en", style="us") == "July 12, 2012"
    assert format_date(day, "en-US") == "July 12, 2012"
    assert format_date(dt.date(2012, 6, 1), "fr") == "1er juin 2012"
    assert format_date(dt.date(2012, 6, 11), "fr") == "11 juin 2012"


def test_date_style_us_is_a_campaign_variable() -> None:
    _c, text = _render("third-pillar", "en", date_style="us", reply_by=dt.date(2012, 8, 15))
    assert "New York, July 12, 2012" in text.body
    assert "by August 15, 2012" in text.body
    _c, text = _render("third-pillar", "en", reply_by=dt.date(2012, 8, 15))
    assert "New York, 12 July 2012" in text.body
    assert "by 15 August 2012" in text.body
    # other languages are not touched by the English style
    _c, text = _render("third-pillar", "fr", date_style="us")
    assert "New York, le 12 juillet 2012" in text.body


def test_russian_running_text_writes_the_year_in_full() -> None:
    _c, text = _render("third-pillar", "ru", reply_by=dt.date(2012, 8, 15))
    assert "проведёт 5 сентября 2012 года." in text.body
    assert "г.." not in text.body


def test_salutation_uses_the_letters_own_language_only() -> None:
    office = {"kind": "office", "name": "Office of the Chairperson", "honorific": "excellency"}
    # the contact's stored salutation for the letter's language is used as stored
    assert salutation({**office, "salutation": "Monsieur le Président"}, "fr") == (
        "Monsieur le Président,"
    )
    assert salutation({**office, "salutation": "Señor Secretario General"}, "es") == (
        "Señor Secretario General:"
    )
    # another language's salutation is never used: the default in the letter's language
    for language, (expected, _closing) in EXPECTED_OPENING.items():
        for foreign in ("Your Excellency", "Dear Sir or Madam", "Excelencia", "Excellence"):
            if language == "en" and foreign in ("Your Excellency", "Dear Sir or Madam"):
                continue
            if (language, foreign) in (("es", "Excelencia"), ("fr", "Excellence")):
                continue
            assert salutation({**office, "salutation": foreign}, language) == expected, (
                language,
                foreign,
            )
    assert salutation({**office, "salutation": "Your Excellency"}, "en") == "Your Excellency,"


def test_defaults_per_kind_and_honorific() -> None:
    person = {"kind": "person", "name": "Ana Pérez"}
    assert salutation({**person, "honorific": "ms"}, "en") == "Dear Ms Ana Pérez,"
    assert salutation({**person, "honorific": "dr"}, "en") == "Dear Dr Ana Pérez,"
    assert salutation(person, "en") == "Dear Ana Pérez,"
    assert closing(person, "en") == "Yours sincerely,"
    assert salutation({"kind": "office", "name": "Secretariat"}, "en") == "Dear Sir or Madam,"
    assert closing({"kind": "office", "name": "Secretariat"}, "en") == "Yours faithfully,"
    assert salutation({**person, "honorific": "ms"}, "fr") == "Madame,"
    assert closing({**person, "honorific": "ms"}, "fr") == (
        "Je vous prie d'agréer, Madame, l'expression de ma haute considération."
    )
    assert salutation({**person, "honorific": "mr"}, "es") == "Estimado señor Ana Pérez:"
    assert salutation({"kind": "office"}, "es") == "Distinguida señora, distinguido señor:"
    assert closing({"kind": "office"}, "es") == "Les saluda muy atentamente,"
    assert salutation({**person, "honorific": "ms"}, "pt") == "Prezada Senhora Ana Pérez,"
    assert salutation({"kind": "person", "name": "أحمد", "honorific": "excellency"}, "ar") == (
        "معالي أحمد،"
    )
    # a name in Latin letters is not put in an Arabic, Russian or Chinese salutation
    assert salutation({**person, "honorific": "excellency"}, "zh") == "尊敬的阁下："
    assert salutation({"kind": "person", "name": "王毅", "honorific": "ambassador"}, "zh") == (
        "尊敬的王毅大使阁下："
    )
    assert salutation({"kind": "person", "name": "Иван Петров", "honorific": "mr"}, "ru") == (
        "Уважаемый господин Иван Петров!"
    )
    # an unknown honorific, language or an empty contact still gets something courteous
    assert salutation({"kind": "office", "honorific": "majesty"}, "fr") == "Madame, Monsieur,"
    assert salutation(None, "ru") == "Уважаемые дамы и господа!"
    assert salutation({"kind": "office"}, "de") == "Dear Sir or Madam,"
    assert salutation({"kind": "office"}, "pt-BR") == "Prezadas Senhoras, Prezados Senhores,"


def test_every_pair_is_complete_and_in_its_script() -> None:
    scripts = {"ar": "\u0600-\u06ff", "ru": "\u0400-\u04ff", "zh": "\u4e00-\u9fff"}
    for language in COURTESY_LANGUAGES:
        assert set(WORDS[language]) == {*HONORIFIC_KEYS, "person", "office"}
        for key in (*HONORIFIC_KEYS, None):
            for kind, name in (("office", None), ("person", "Ana Pérez")):
                opening, end = courtesy(language, kind=kind, honorific=key, name=name)
                assert opening and end, (language, key, kind)
                if language in scripts:
                    assert re.search(f"[{scripts[language]}]", opening + end)
                    assert not re.search("[A-Za-z]", opening + end), (language, key, opening)


def test_of_contracts_the_article() -> None:
    assert of("l'Union africaine", "fr") == "de l'Union africaine"
    assert of("la Ligue des États arabes", "fr") == "de la Ligue des États arabes"
    assert of("le Marché commun de l'Afrique orientale et australe", "fr").startswith("du Marché")
    assert of("les Nations Unies", "fr") == "des Nations Unies"
    assert of("Interpol", "fr") == "d'Interpol"
    assert of("el Sistema de la Integración Centroamericana", "es") == (
        "del Sistema de la Integración Centroamericana"
    )
    assert of("la Organización de los Estados Americanos", "es") == (
        "de la Organización de los Estados Americanos"
    )
    assert of("El Salvador", "es") == "de El Salvador"
    assert of("a União Africana", "pt") == "da União Africana"
    assert of("o Mercado Comum do Sul", "pt") == "do Mercado Comum do Sul"
    assert of("os Estados Unidos", "pt") == "dos Estados Unidos"
    assert of("the African Union", "en") == "of the African Union"
    assert of("Африканский союз", "ru") == "Африканский союз"


def test_a_campaign_template_can_still_override_the_closing(tmp_path: Any) -> None:
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "mine.fr.md.j2").write_text(
        '{% extends "letterhead.fr.md.j2" %}{% block subject %}Objet propre{% endblock %}'
        "{% block body %}Corps.{% endblock %}"
        "{% block closing %}Veuillez agréer, {{ contact|salutation|trim(',') }}, mes salutations."
        "{% endblock %}",
        encoding="utf-8",
    )
    (folder / "mine.md.j2").write_text("{% block subject %}x{% endblock %}", encoding="utf-8")
    ts = TemplateSet(folder)
    compiled = ts.compile("mine", "fr", "en")
    text = render(compiled, _context(ts, "fr"), recipient="AU")
    assert text.subject == "Objet propre"
    assert "Veuillez agréer, Excellence, mes salutations." in text.body
