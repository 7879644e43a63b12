"""Reports in the members' languages: ``--language`` for every shipped
language, in the table, Markdown and HTML; CSV and JSON keep their English
keys; organizations named in the language where the directory has it."""

from __future__ import annotations

import csv
import io
import json
import re
import string

import pytest

from outreach.cli.report import REPORT_LANGUAGES
from outreach.db import Database
from outreach.reports import i18n, render_dialogue, render_history, render_status
from outreach.reports.dialogue import dialogue_report
from outreach.reports.history import history_report
from outreach.reports.labels import days_text
from outreach.reports.status import status_report
from outreach.reports.text.csvtext import STATUS_CSV_COLUMNS
from outreach.schema.models import Organization

from ._fixtures import AS_OF, NOW

OTHER_LANGUAGES = [code for code in i18n.LANGUAGES if code != "en"]

#: The organizations' names the directory has in some languages.
NAMES = {
    "OAS": {
        "es": {"name": "Organización de los Estados Americanos", "acronym": "OEA"},
        "fr": {"name": "Organisation des États américains", "acronym": "OEA"},
        "pt": {"name": "Organização dos Estados Americanos", "acronym": "OEA"},
    },
    "AU": {
        "fr": {"name": "Union africaine", "acronym": "UA", "definite": "l'Union africaine"},
        "ar": {"name": "الاتحاد الأفريقي", "acronym": "الاتحاد الأفريقي"},
        "ru": {"name": "Африканский союз", "acronym": "АС"},
        "zh": {"name": "非洲联盟", "acronym": "非盟"},
        # An empty name falls back to the stored one.
        "es": {"name": " ", "acronym": ""},
    },
}


@pytest.fixture
def named_db(fixture_db: Database) -> Database:
    with fixture_db.session() as s:
        for org in s.query(Organization).filter(Organization.acronym.in_(NAMES)):
            org.i18n = NAMES[org.acronym]
    return fixture_db


def _three_reports(db: Database, code: str, fmt: str, *, timeline: bool = False) -> list[str]:
    """The status, dialogue and history reports of the fixture in *code*, as *fmt*."""
    with db.read() as conn:
        return [
            render_status(
                status_report(conn, campaign="tp-2012", now=NOW, timeline=timeline, language=code),
                fmt,
                language=code,
            ),
            render_dialogue(
                dialogue_report(conn, dialogue="ga-2012", now=NOW, language=code),
                fmt,
                language=code,
            ),
            render_history(history_report(conn, org="AU", language=code), fmt, language=code),
        ]


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


# --- the catalogues ----------------------------------------------------------------


def test_the_command_line_offers_the_languages_the_reports_have() -> None:
    assert REPORT_LANGUAGES == i18n.LANGUAGES


def test_every_catalogue_has_every_wording_with_the_same_fields() -> None:
    reference = i18n.catalog("fr")
    for code in OTHER_LANGUAGES:
        catalog = i18n.catalog(code)
        assert set(catalog) == set(reference), code
        for english, translated in catalog.items():
            forms = translated.values() if isinstance(translated, dict) else [translated]
            if isinstance(translated, dict):
                assert "other" in translated, (code, english)
            for form in forms:
                # A dual ("يومان") may leave the number out; nothing else may.
                assert _fields(form) <= _fields(english), (code, english, form)
                if not (code == "ar" and isinstance(translated, dict)):
                    assert _fields(form) == _fields(english), (code, english, form)
                assert form.strip(), (code, english)


@pytest.mark.parametrize(
    ("code", "count", "text"),
    [
        ("en", 1, "1 day"),
        ("en", 2.5, "2.5 days"),
        ("fr", 2.5, "2,5 jours"),
        ("ru", 1, "1 день"),
        ("ru", 3, "3 дня"),
        ("ru", 5, "5 дней"),
        ("ru", 21, "21 день"),
        ("ar", 2, "يومان"),
        ("ar", 5, "5 أيام"),
        ("ar", 11, "11 يومًا"),
        ("zh", 3, "3天"),
        ("pt", 21, "21 dias"),
    ],
)
def test_days_follow_each_languages_plural_rules(code: str, count: float, text: str) -> None:
    with i18n.using(code):
        assert days_text(count) == text


def test_an_unknown_language_is_one_line_naming_the_languages(fixture_db, run) -> None:
    result = run("report", "status", "--campaign", "tp-2012", "--language", "de", expect=None)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "--language" in lines[0] and "'de'" in lines[0]
    assert "en, fr, es, ar, ru, zh, pt" in lines[0]
    with pytest.raises(Exception, match="available: en, fr"):
        i18n.check_language("klingon")
    assert i18n.check_language(" ES ") == "es"


# --- the table ---------------------------------------------------------------------


def test_status_table_in_spanish(named_db, run) -> None:
    out = run(
        "report", "status", "--campaign", "tp-2012", "--as-of", AS_OF, "--language", "es"
    ).output
    header = next(line for line in out.splitlines() if line.startswith("ORG."))
    for word in ("REGIÓN", "ESTADO", "IDIOMA", "ENVÍO", "DÍAS", "RESPUESTA", "POSTURA"):
        assert word in header
    assert "REGION" not in out and "ANSWERED" not in out
    assert out.startswith("Campaña ")
    assert "Cifras" in out and "Por región" in out and "Con retraso" in out
    assert "destinatarios" in out and "días" in out
    # Region and status names, and the organization by its Spanish acronym.
    assert "África" in out and "enviada" in out
    assert re.search(r"^OEA\s", out, re.M) and not re.search(r"^OAS\s", out, re.M)
    # AU has no usable Spanish name: the stored one.
    assert re.search(r"^AU\s", out, re.M)
    # Dates by locale: the dialogue's in Spanish.
    assert "5 de septiembre de 2012" in " ".join(out.split())


def test_the_default_is_english(named_db, run) -> None:
    out = run("report", "status", "--campaign", "tp-2012", "--as-of", AS_OF).output
    assert out.startswith("Campaign ")
    assert "REGION" in out and "STANCE" in out and "5 September 2012" in " ".join(out.split())
    assert re.search(r"^OAS\s", out, re.M)


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_every_table_is_translated_and_fits(named_db, code: str) -> None:
    english = ("Campaign ", "Figures ", "By region", "ANSWERED", "STANCE", "recipients")
    texts = _three_reports(named_db, code, "table")
    for text in texts:
        for word in english:
            assert word not in text, (code, word)
    catalog = i18n.catalog(code)
    assert catalog["Figures"] in texts[0] and catalog["Dialogue"] in texts[1]
    assert catalog["YEAR"] in texts[2]


def test_history_and_dialogue_in_russian_and_portuguese(named_db, run) -> None:
    out = run("report", "history", "--org", "AU", "--language", "ru").output
    assert "АС: Африканский союз" in out
    assert "ГОД" in out and "КАМПАНИЯ" in out and "Африка" in out
    out = run("report", "dialogue", "--dialogue", "ga-2012", "--language", "pt").output
    assert "CAMPANHA" in out and "Diálogo" in out and "Assembleia Geral" in out
    assert "5 de setembro de 2012" in " ".join(out.split())
    assert re.search(r"^OEA\s", out, re.M)


# --- Markdown ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "heading", "section"),
    [
        ("fr", "# État de la campagne", "## Synthèse"),
        ("es", "# Estado de la campaña", "## Resumen"),
        ("ar", "# حالة الحملة", "## الملخص"),
        ("ru", "# Ход кампании", "## Сводка"),
        ("zh", "活动进展", "## 概要"),
        ("pt", "# Situação da campanha", "## Resumo"),
    ],
)
def test_markdown_in_every_language(named_db, run, code, heading, section) -> None:
    out = run(
        "report", "status", "--campaign", "tp-2012", "--as-of", AS_OF,
        "--format", "md", "--language", code,
    ).output
    assert heading in out and section in out
    assert "## Summary" not in out and "| Recipients |" not in out
    catalog = i18n.catalog(code)
    assert f"| {catalog['Org']} | {catalog['Name']} |" in out
    if code == "fr":
        assert "| UA | Union africaine |" in out
        assert "| OEA | Organisation des États américains |" in out


# --- CSV and JSON: machine data -----------------------------------------------------


def test_csv_and_json_keep_english_keys_with_local_names(named_db, run) -> None:
    out = run(
        "report", "status", "--campaign", "tp-2012", "--as-of", AS_OF,
        "--format", "csv", "--language", "fr",
    ).output
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == STATUS_CSV_COLUMNS
    by_acronym = {row[0]: row for row in rows[1:]}
    assert by_acronym["UA"][1] == "Union africaine"
    assert by_acronym["UA"][4] == "sent"  # stored values, not words
    out = run(
        "report", "status", "--campaign", "tp-2012", "--as-of", AS_OF,
        "--format", "json", "--language", "fr",
    ).output
    data = json.loads(out)
    assert {"campaign", "totals", "recipients"} <= set(data)
    names = {r["acronym"]: r["name"] for r in data["recipients"]}
    assert names["OEA"] == "Organisation des États américains"
    assert {r["region_label"] for r in data["recipients"]} >= {"Africa"}


# --- HTML --------------------------------------------------------------------------


def test_html_in_arabic_is_right_to_left_with_arabic_charts(named_db, run) -> None:
    page = run(
        "report", "status", "--campaign", "tp-2012", "--as-of", AS_OF,
        "--format", "html", "--language", "ar",
    ).output
    assert '<html lang="ar" dir="rtl">' in page
    assert "الملخص" in page and "المنظمات" in page
    # The charts' titles and labels, kept as text in the SVG.
    assert 'aria-label="نسبة الردود حسب المنطقة"' in page
    assert "أفريقيا" in page and "الرسائل المرسلة" in page
    assert "الاتحاد الأفريقي" in page
    assert "Response rate by region" not in page and ">Summary<" not in page
    assert "September" not in page


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_every_html_page_has_its_language(named_db, code: str) -> None:
    pages = _three_reports(named_db, code, "html", timeline=True)
    opening = f'<html lang="{code}" dir="rtl">' if code == "ar" else f'<html lang="{code}">'
    catalog = i18n.catalog(code)
    for page in pages:
        assert opening in page
        assert "Made by outreach." not in page and ">Organization<" not in page
    assert catalog["Charts"] in pages[0] and catalog["Outcome"] in pages[1]
    assert catalog["Year by year"] in pages[2]
    assert "September" not in pages[1]
