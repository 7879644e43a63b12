"""The addressee block (``{{ contact|address_block(organization) }}``): the
addressee with the title of the letter's language, the position, the
organization named once, the postal address without repeating it, and the
country in the letter's language; hostile recipient data stays data."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import jinja2
import pytest

from outreach.letters.localizing import contact_in, organization_in
from outreach.resources import contacts_path
from outreach.templating import Record, TemplateError, TemplateSet, render
from outreach.templating.addressing import (
    FORMS,
    address_block,
    apply_form,
    clean_line,
    country_name,
    has_title,
)
from outreach.templating.context import FALLBACK_SINK
from outreach.templating.courtesy import COURTESY_LANGUAGES, HONORIFIC_KEYS
from outreach.templating.filters import LETTER_FILTERS

LANGUAGES = ("en", "fr", "es", "pt", "ar", "ru", "zh")
#: The demo's postal address of the African Union (outreach.demodata.POSTAL).
AU_POSTAL = "Roosevelt Street, W21K19\nAddis Ababa\nEthiopia"


def _shipped(acronym: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(organization, primary contact) of the shipped directory, shaped as a
    letter job holds them (``letters.jobs.org_context``/``contact_context``)."""
    data = json.loads((contacts_path() / "directory.json").read_text(encoding="utf-8"))
    org = next(o for o in data["organizations"] if o["acronym"] == acronym)
    record = {key: org.get(key) for key in ("acronym", "name", "kind", "hq_city", "hq_country")}
    record["i18n"] = org["i18n"]
    contact = {**org["contacts"][0], "postal_address": None, "language": None}
    return record, contact


def _block(acronym: str, language: str, **contact: Any) -> str:
    org, base = _shipped(acronym)
    base.update(contact)
    return address_block(contact_in(base, language), organization_in(org, language), language)


# -- the shipped directory, in every language ----------------------------------------

#: The African Union's office, by post, in each language: the position in the
#: letter's language with the title where the language puts one before a
#: position, the organization not repeated, the country in the language.
AU_OFFICE = {
    "en": "H.E. the Chairperson of the African Union Commission\n{postal}\nEthiopia",
    "fr": "Président de la Commission de l'Union africaine\n{postal}\nÉthiopie",
    "es": "Presidente de la Comisión de la Unión Africana\n{postal}\nEtiopía",
    "pt": "Presidente da Comissão da União Africana\n{postal}\nEtiópia",
    "ar": "معالي رئيس مفوضية الاتحاد الأفريقي\n{postal}\nإثيوبيا",
    # no Russian or Chinese position in the directory: the office's own name
    # (untitled), then the organization, which it does not name in Russian
    "ru": "Office of the Chairperson of the African Union Commission\n"
    "Африканский союз\n{postal}\nЭфиопия",
    "zh": "Office of the Chairperson of the African Union Commission\n"
    "非洲联盟\n{postal}\n埃塞俄比亚",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_office_of_the_african_union_in_each_language(language: str) -> None:
    text = _block("AU", language, postal_address=AU_POSTAL)
    assert text == AU_OFFICE[language].format(postal="Roosevelt Street, W21K19\nAddis Ababa")


#: A person at the African Union, an excellency, with a position per language.
AU_PERSON = {
    "en": ("H.E. Moussa Faki Mahamat", "Chairperson of the Commission", "African Union"),
    "fr": ("S. E. Moussa Faki Mahamat", "Président de la Commission", "Union africaine"),
    "es": ("S. E. Moussa Faki Mahamat", "Presidente de la Comisión", "Unión Africana"),
    "pt": ("S. Exa. Moussa Faki Mahamat", "Presidente da Comissão", "União Africana"),
    "ar": ("معالي موسى فقي محمد", "رئيس المفوضية", "الاتحاد الأفريقي"),
    "ru": ("Муса Факи Махамат", "Председатель Комиссии", "Африканский союз"),
    "zh": ("穆萨·法基·穆罕默德阁下", "委员会主席", "非洲联盟"),
}
NAMES = {"ar": "موسى فقي محمد", "ru": "Муса Факи Махамат", "zh": "穆萨·法基·穆罕默德"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_person_at_the_african_union_in_each_language(language: str) -> None:
    first, position, org = AU_PERSON[language]
    name = NAMES.get(language, "Moussa Faki Mahamat")
    text = _block(
        "AU",
        language,
        kind="person",
        name=name,
        i18n={language: {"position": position}},
        postal_address=AU_POSTAL,
    )
    country = country_name("ET", language)
    assert text == f"{first}\n{position}\n{org}\nRoosevelt Street, W21K19\nAddis Ababa\n{country}"


def test_the_demo_address_in_a_french_letter_ends_with_the_country_in_french() -> None:
    text = _block("AU", "fr", postal_address=AU_POSTAL)
    assert text.endswith("Addis Ababa\nÉthiopie")
    assert "Ethiopia" not in text


def test_arabic_block_for_the_african_union() -> None:
    arabic = "شارع روزفلت\nأديس أبابا\nإثيوبيا"
    text = _block("AU", "ar", postal_address=arabic)
    assert text == "معالي رئيس مفوضية الاتحاد الأفريقي\nشارع روزفلت\nأديس أبابا\nإثيوبيا"


# -- the organization named once -------------------------------------------------------


def test_the_organization_is_not_repeated_after_a_position_that_names_it() -> None:
    for language in ("en", "fr", "es", "pt", "ar"):
        lines = _block("AU", language).splitlines()
        # the position; no postal address: the headquarters' country
        assert lines[1:] == [country_name("ET", language)], lines
    # "لجامعة الدول العربية": the Arabic preposition joins the name
    assert _block("LAS", "ar").splitlines() == [
        "معالي الأمين العام لجامعة الدول العربية",
        "مصر",
    ]
    # "of ASEAN" names the acronym only: the full name follows, as is usual
    assert _block("ASEAN", "en").splitlines() == [
        "H.E. the Secretary-General of ASEAN",
        "Association of Southeast Asian Nations",
        "Indonesia",
    ]


def test_postal_lines_repeating_the_organization_in_any_language_are_left_out() -> None:
    postal = "African Union\nUA\nCommission de l'Union africaine\nRoosevelt Street\nAddis Ababa"
    lines = _block("AU", "fr", postal_address=postal).splitlines()
    assert lines == [
        "Président de la Commission de l'Union africaine",
        "Commission de l'Union africaine",  # names more than the organization
        "Roosevelt Street",
        "Addis Ababa",
        "Éthiopie",
    ]
    # the office's own name, and the acronym alone in another case
    postal = "Office of the Chairperson of the African Union Commission\nau\nP.O. Box 3243"
    assert _block("AU", "en", postal_address=postal).splitlines()[1:] == [
        "P.O. Box 3243",
        "Ethiopia",
    ]


def test_a_person_whose_position_is_the_name_line_gets_no_second_line() -> None:
    org = Record(name="Union africaine", hq_country="ET")
    contact = Record(kind="person", addressee="Jean Ping", position="jean  PING", honorific=None)
    assert address_block(contact, org, "fr") == "Jean Ping\nUnion africaine"


# -- the country -------------------------------------------------------------------------


def test_the_country_line_is_written_in_the_letters_language() -> None:
    org = Record(
        name="Organization of American States", hq_city="Washington, D.C.", hq_country="US"
    )
    postal = "17th Street and Constitution Avenue N.W.\nWashington, D.C. 20006\nEstados Unidos"
    contact = Record(kind="office", addressee="Secretary General", postal_address=postal)
    assert address_block(contact, org, "en").splitlines()[-2:] == [
        "Washington, D.C. 20006",
        "United States",
    ]
    assert address_block(contact, org, "zh").endswith("Washington, D.C. 20006\n美国")
    # the ISO 3166 name, the code, the code of three letters, after a comma,
    # in capitals and with accents or not: all the same country
    for last in ("United States of America", "US", "usa", "ÉTATS-UNIS", "Etats Unis"):
        text = address_block(Record(contact, postal_address=f"1 Main St\n{last}"), org, "fr")
        assert text.splitlines()[-2:] == ["1 Main St", "États-Unis"], last
    text = address_block(Record(contact, postal_address="1 Main St, Washington, USA"), org, "fr")
    assert text.splitlines()[-2:] == ["1 Main St, Washington", "États-Unis"]


def test_an_office_abroad_keeps_its_own_country() -> None:
    org = Record(name="IGAD", hq_city="Djibouti", hq_country="DJ")
    postal = "1 United Nations Plaza\nNew York, NY 10017\nUnited States"
    contact = Record(kind="office", addressee="Liaison Office", postal_address=postal)
    assert address_block(contact, org, "fr").splitlines()[-2:] == [
        "New York, NY 10017",
        "États-Unis",
    ]


def test_a_city_named_like_its_country_stays_a_city_written_once() -> None:
    org = Record(name="IGAD", hq_city="Djibouti", hq_country="DJ")
    contact = Record(kind="office", addressee="Executive Secretary")
    for postal, expected in (
        # the city line names the country too: no second "Djibouti" under it
        ("Avenue Georges Clemenceau\nDjibouti", ["Avenue Georges Clemenceau", "Djibouti"]),
        ("Avenue G. C.\nDjibouti\nDjibouti", ["Avenue G. C.", "Djibouti"]),
        ("Avenue G. C.\nDjibouti, Djibouti", ["Avenue G. C.", "Djibouti"]),
        # a city on the street's line: the country on its own
        ("Avenue G. C., Djibouti", ["Avenue G. C., Djibouti", "Djibouti"]),
    ):
        lines = address_block(Record(contact, postal_address=postal), org, "en").splitlines()
        assert lines[:2] == ["Executive Secretary", "IGAD"]
        assert lines[2:] == expected, postal
    # in Arabic the country is not written as the city is: both lines
    lines = address_block(Record(contact, postal_address="Avenue G. C.\nDjibouti"), org, "ar")
    assert lines.splitlines()[-2:] == ["Djibouti", "جيبوتي"]


def test_without_a_postal_address_the_country_alone() -> None:
    # the city is kept in English only: never "Addis Ababa" in a French letter
    org = Record(name="Union africaine", hq_city="Addis Ababa", hq_country="ET")
    contact = Record(kind="office", addressee="Président de la Commission", postal_address=None)
    assert address_block(contact, org, "fr").splitlines()[-2:] == ["Union africaine", "Éthiopie"]
    # nothing to post to: no city, no country
    org = Record(name="Union africaine", hq_city=None, hq_country="ET")
    assert address_block(contact, org, "fr") == "Président de la Commission\nUnion africaine"
    # an address made only of what repeats: the country still comes
    org = Record(name="Union africaine", hq_city="Addis Ababa", hq_country="ET")
    postal = "Union africaine\nEthiopia"
    text = address_block(Record(contact, postal_address=postal), org, "fr")
    assert text.splitlines()[-2:] == ["Union africaine", "Éthiopie"]


@pytest.mark.parametrize(
    "code", [None, "", "ZZ", "XX", "EU", "UN", "E1", "ETH", "É", "  ", 42, ["ET"], "\x00E"]
)
def test_an_unknown_or_invalid_country_code_gives_no_country_line(code: Any) -> None:
    org = Record(name="Some Body", hq_city="Addis Ababa", hq_country=code)
    contact = Record(kind="office", addressee="Secretary", postal_address="1 Main St\nAddis Ababa")
    assert address_block(contact, org, "fr") == "Secretary\nSome Body\n1 Main St\nAddis Ababa"
    assert country_name(code, "fr") is None


def test_a_lower_case_code_is_still_the_country() -> None:
    assert country_name("et", "pt") == "Etiópia"
    assert country_name("ET", "xx-unknown") == "Ethiopia"  # an unknown language: English


# -- the forms of address ----------------------------------------------------------------


def test_the_forms_table_covers_the_shipped_languages_and_honorifics() -> None:
    assert set(FORMS) == set(COURTESY_LANGUAGES)
    for language, table in FORMS.items():
        for (honorific, kind), pattern in table.items():
            assert honorific in HONORIFIC_KEYS, (language, honorific)
            assert kind in ("person", "office")
            assert pattern.count("{name}") == 1


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("honorific", [*HONORIFIC_KEYS, None, "", "EXCELLENCY", "bogus"])
def test_every_honorific_names_the_person_once(language: str, honorific: str | None) -> None:
    contact = Record(kind="person", addressee="Ana Pérez", honorific=honorific, position=None)
    line = address_block(contact, None, language)
    assert line.count("Ana Pérez") == 1
    key = (honorific or "").lower()
    pattern = FORMS[language].get((key, "person"), "{name}")
    assert line == apply_form(pattern, "Ana Pérez")
    if pattern.endswith("{name}"):
        assert line.endswith("Ana Pérez")
    else:  # Chinese: the title after the name, set apart from Latin letters
        assert line.startswith("Ana Pérez ") and line.endswith(pattern.split("}")[-1])


def test_the_usual_abbreviations() -> None:
    def line(honorific: str, language: str, name: str = "Ana Pérez") -> str:
        contact = Record(kind="person", addressee=name, honorific=honorific)
        return address_block(contact, None, language)

    assert line("excellency", "pt") == "S. Exa. Ana Pérez"
    assert line("professor", "fr") == "Pr Ana Pérez"
    assert line("mr", "fr") == "M. Ana Pérez"
    assert line("ms", "es") == "Sra. Ana Pérez"
    assert line("dr", "es") == "Ana Pérez"  # "Dr."/"Dra.": no neutral form
    assert line("excellency", "ru", "Анна Перес") == "Анна Перес"
    assert line("ms", "ru", "Анна Перес") == "г-жа Анна Перес"
    assert line("mr", "ar", "علي") == "السيد علي"
    assert line("mr", "zh", "王毅") == "王毅先生"
    assert line("excellency", "zh", "Jean Ping") == "Jean Ping 阁下"
    assert line("honourable", "en") == "The Hon. Ana Pérez"


@pytest.mark.parametrize(
    ("name", "honorific", "language", "expected"),
    [
        ("H.E. Jean Ping", "excellency", "en", "H.E. Jean Ping"),
        ("H. E.  Jean Ping", "excellency", "en", "H. E. Jean Ping"),
        ("his excellency Jean Ping", "excellency", "en", "his excellency Jean Ping"),
        ("H.E. Jean Ping", "excellency", "fr", "H.E. Jean Ping"),
        ("S. E. Jean Ping", "excellency", "fr", "S. E. Jean Ping"),
        ("S.E. Jean Ping", "excellency", "es", "S.E. Jean Ping"),
        ("Dr Ana Pérez", "dr", "en", "Dr Ana Pérez"),
        ("Dr. Ana Pérez", "dr", "fr", "Dr. Ana Pérez"),
        ("Mr Jean Ping", "mr", "en", "Mr Jean Ping"),
        ("Mr Jean Ping", "excellency", "fr", "Mr Jean Ping"),
        ("Professor Ana Pérez", "dr", "en", "Professor Ana Pérez"),
        ("The Hon. Ana Pérez", "honourable", "en", "The Hon. Ana Pérez"),
        ("Ambassador Ana Pérez", "ambassador", "en", "Ambassador Ana Pérez"),
        ("H.E. Ana Pérez", "ambassador", "en", "H.E. Ana Pérez"),
        ("معالي علي", "excellency", "ar", "معالي علي"),
        ("王毅阁下", "excellency", "zh", "王毅阁下"),
        ("王毅先生", "excellency", "zh", "王毅先生"),
        # initials are not a title of another kind
        ("M. Shahid Ahmed", "excellency", "en", "H.E. M. Shahid Ahmed"),
        ("H. E. Bates", "dr", "en", "Dr H. E. Bates"),
        # a name beginning like a title is not one
        ("Drew Mrs", "dr", "en", "Dr Drew Mrs"),
        ("Hon Lee", "honourable", "en", "The Hon. Hon Lee"),
    ],
)
def test_a_name_with_its_title_does_not_get_a_second_one(
    name: str, honorific: str, language: str, expected: str
) -> None:
    contact = Record(kind="person", addressee=name, honorific=honorific)
    assert address_block(contact, None, language) == expected


def test_an_office_by_its_own_name_gets_no_title() -> None:
    org = Record(name="African Union", hq_country="ET")
    contact = Record(
        kind="office",
        addressee="Office of the Chairperson",
        position="Chairperson of the Commission",
        honorific="excellency",
    )
    assert address_block(contact, org, "en") == "Office of the Chairperson\nAfrican Union"
    named = Record(contact, addressee="The Chairperson of the Commission", position=None)
    assert address_block(named, org, "en").startswith("The Chairperson")
    by_position = Record(contact, addressee="The Chairperson of the Commission")
    by_position["position"] = by_position["addressee"]
    assert address_block(by_position, org, "en").startswith("H.E. the Chairperson")
    assert address_block(by_position, org, "zh").startswith(
        "The Chairperson of the Commission 阁下"
    )


def test_a_person_without_a_name_is_addressed_by_position() -> None:
    org = Record(name="African Union", hq_country="ET")
    contact = Record(kind="person", addressee=None, name=None, position="Chairperson")
    assert address_block(Record(contact, honorific="excellency"), org, "en") == (
        "H.E. the Chairperson\nAfrican Union"
    )


# -- hostile recipient data ----------------------------------------------------------------

MARKUP = (
    "**x**",
    "{{ 7*7 }}",
    "{% raw %}",
    '#set page(paper: "a0")',
    "<script>alert(1)</script>",
    "[link](javascript:x)",
    "\\",
    "$x$",
    "::: signature",
)


@pytest.mark.parametrize("markup", MARKUP)
def test_markup_in_recipient_data_is_passed_through_as_data(markup: str) -> None:
    org = Record(name=f"Org {markup}", acronym=markup, hq_city=markup, hq_country="ET")
    contact = Record(
        kind="person",
        addressee=f"{markup} Jean",
        position=f"Pos {markup}",
        honorific="dr",
        postal_address=f"{markup}\n1 Main St",
    )
    text = address_block(contact, org, "en")
    assert text.split("\n") == [
        f"Dr {markup} Jean",
        f"Pos {markup}",
        f"Org {markup}",
        "1 Main St",  # the acronym's line left out as repeating the organization
        "Ethiopia",
    ]


def test_control_characters_are_stripped_and_white_space_collapsed() -> None:
    contact = Record(
        kind="person",
        addressee="Jean\x00Ping\x1b[2J\x07  \t\u202eX\u2066\u202c",
        position="  Secretary\u00a0\u00a0General\x0b ",
        postal_address="\r\n1 Main St\x7f\r\n\r\n\n  \t\n\u2028Addis\u2029Ababa\x85Ethiopia\x0c",
    )
    org = Record(name="Union\x9b africaine", hq_country="ET")
    text = address_block(contact, org, "fr")
    assert text.split("\n") == [
        "JeanPing[2J X",
        "Secretary General",
        "Union africaine",
        "1 Main St",
        "Addis",
        "Ababa",
        "Éthiopie",
    ]
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    assert "\n\n" not in text and not text.startswith("\n") and not text.endswith("\n")


def test_right_to_left_marks_stay_text_but_do_not_hide_a_repetition() -> None:
    org = Record(name="الاتحاد الأفريقي", hq_city="أديس أبابا", hq_country="ET")
    contact = Record(
        kind="office",
        addressee="\u200fرئيس مفوضية الاتحاد الأفريقي",
        position="\u200fرئيس مفوضية الاتحاد الأفريقي",
        honorific="excellency",
        postal_address="\u200fالاتحاد الأفريقي\nشارع روزفلت\n\u200fإثيوبيا\u200f",
    )
    text = address_block(contact, org, "ar")
    assert text == "معالي \u200fرئيس مفوضية الاتحاد الأفريقي\nشارع روزفلت\nإثيوبيا"


def test_very_long_lines_are_kept_whole_and_quickly() -> None:
    long = "x" * 200_000
    org = Record(name=long, acronym=long[:10], hq_city=long, hq_country="ET")
    contact = Record(
        kind="person",
        addressee="Dr " + long,
        position=long + " y",
        honorific="dr",
        postal_address="\n".join([long + ", " + long] * 5),
    )
    started = time.perf_counter()
    text = address_block(contact, org, "fr")
    assert time.perf_counter() - started < 2.0
    lines = text.split("\n")
    assert lines[0] == "Dr " + long and lines[-1] == "Éthiopie"
    assert lines.count(long + ", " + long) == 5


@pytest.mark.parametrize("language", [*LANGUAGES, "", "xx", "pt-BR", "zh_Hant", "../../etc"])
def test_empty_and_missing_values_give_no_blank_lines(language: str) -> None:
    assert address_block(None, None, language) == ""
    assert address_block(Record(), Record(), language) == ""
    empty = Record(kind="", addressee="", position=" ", honorific="", postal_address="\n \n")
    assert address_block(empty, Record(name="", names=None, hq_city=" "), language) == ""
    nones = Record.fromkeys(
        ["kind", "addressee", "position", "name", "honorific", "postal_address"]
    )
    org = Record.fromkeys(["name", "acronym", "definite", "names", "hq_city", "hq_country"])
    assert address_block(nones, org, language) == ""
    odd = Record(kind=["office"], addressee=3, position={"x": 1}, honorific=7, postal_address=b"x")
    odd_org = Record(name=object(), names={"fr": None}, hq_country=1)
    assert address_block(odd, odd_org, language) == ""


def test_the_same_inputs_give_the_same_block() -> None:
    first = [_block("AU", lang, postal_address=AU_POSTAL) for lang in LANGUAGES]
    again = [_block("AU", lang, postal_address=AU_POSTAL) for lang in LANGUAGES]
    assert first == again
    assert clean_line(" a \t b ") == "a b"
    assert has_title("H.E. X", "excellency") and not has_title("Hector", "excellency")


# -- through the sandbox -------------------------------------------------------------------


def _letter(tmp_path: Path, source: str, context: dict[str, Any], language: str = "fr") -> Any:
    subject = "{% if false %}{% block subject %}Subject{% endblock %}{% endif %}"
    (tmp_path / "block.md.j2").write_text(subject + source, encoding="utf-8")
    ts = TemplateSet(tmp_path)
    compiled = ts.compile("block", language, "en")
    return render(compiled, {**ts.env.globals, **context, "language": language}, recipient="AU")


def test_the_filter_is_registered_in_the_sandbox_and_reads_the_letters_language(
    tmp_path: Path,
) -> None:
    assert "address_block" in LETTER_FILTERS
    org, contact = _shipped("AU")
    contact["postal_address"] = AU_POSTAL
    for language in ("fr", "ar"):
        context = {
            "contact": contact_in(contact, language),
            "organization": organization_in(org, language),
        }
        source = "{{ contact|address_block(organization) }}\n"
        rendered = _letter(tmp_path, source, context, language)
        assert rendered.body.rstrip("\n") == _block("AU", language, postal_address=AU_POSTAL)
    forced = _letter(tmp_path, '{{ contact|address_block(organization, language="es") }}', context)
    assert forced.body.rstrip("\n").endswith("\nEtiopía")


def test_hostile_data_stays_data_in_the_sandbox(tmp_path: Path) -> None:
    contact = Record(
        kind="person",
        addressee="{{ 7*7 }} {% for x in range(10**9) %}",
        position="{{ ''.__class__ }}",
        honorific="excellency",
        postal_address="#set text(size: 99pt)\n<script>x</script>",
    )
    org = Record(name="**Org**", hq_country="ET")
    context = {"contact": contact, "organization": org}
    rendered = _letter(tmp_path, "{{ contact|address_block(organization) }}", context)
    assert rendered.body.rstrip("\n").split("\n") == [
        "S. E. {{ 7*7 }} {% for x in range(10**9) %}",
        "{{ ''.__class__ }}",
        "**Org**",
        "#set text(size: 99pt)",
        "<script>x</script>",
        "Éthiopie",
    ]


def test_a_template_mistake_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="address_block was given no contact"):
        _letter(tmp_path, "{{ nobody|address_block }}", {"nobody": jinja2.StrictUndefined()})
    with pytest.raises(TemplateError, match="not a record"):
        _letter(tmp_path, "{{ 'Jean'|address_block }}", {})
    with pytest.raises(TemplateError, match="not a record"):
        _letter(tmp_path, "{{ contact|address_block('AU') }}", {"contact": Record()})
    # None is nothing to print
    assert _letter(tmp_path, "{{ none|address_block(none) }}", {}).body.strip() == ""


def test_a_fallback_is_noted_only_for_what_the_block_prints() -> None:
    org, contact = _shipped("AU")
    # a Russian letter: the office is named by its English name (noted), and
    # the position (English too) is not printed for an office (not noted)
    sink: set[tuple[str, str]] = set()
    FALLBACK_SINK[0] = sink
    try:
        address_block(contact_in(contact, "ru"), organization_in(org, "ru"), "ru")
    finally:
        FALLBACK_SINK[0] = None
    assert ("contact.addressee", "en") in sink
    assert ("contact.position", "en") not in sink


def test_a_russian_position_naming_the_organization_in_another_case_is_not_followed_by_it() -> None:
    org = Record(name="Шанхайская организация сотрудничества", hq_city="Beijing", hq_country="CN")
    office = Record(
        kind="office", addressee="Генеральный секретарь Шанхайской организации сотрудничества"
    )
    assert address_block(office, org, "ru").splitlines() == [
        "Генеральный секретарь Шанхайской организации сотрудничества",
        "Китай",
    ]
    union = Record(name="Африканский союз", hq_country="ET")
    chair = Record(kind="office", addressee="Председатель Комиссии Африканского союза")
    assert "Африканский союз" not in address_block(chair, union, "ru").splitlines()
    # short words (prepositions) in the name stay as they are
    osce = Record(
        name="Организация по безопасности и сотрудничеству в Европе",
        hq_city="Vienna",
        hq_country="AT",
    )
    sg = Record(
        kind="office",
        addressee="Генеральный секретарь Организации по безопасности и сотрудничеству в Европе",
    )
    assert address_block(sg, osce, "ru").splitlines() == [
        "Генеральный секретарь Организации по безопасности и сотрудничеству в Европе",
        "Австрия",
    ]
    # another organization's name is not taken for this one's
    bank = Record(kind="office", addressee="Президент Азиатского банка развития")
    assert "Африканский союз" in address_block(bank, union, "ru").splitlines()
