"""Templates: language choice, context, filters, and errors that stop the batch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from outreach.db import Database
from outreach.letters import generate
from outreach.templating import TemplateError, TemplateSet, format_date, salutation

from .._letters_fixtures import seed
from ..conftest import row_counts, table_dump


def _letters(db: Database) -> dict[str, tuple[str, str, str]]:
    from sqlalchemy import select

    from outreach.schema.models import Letter, Organization

    with db.session() as s:
        rows = s.execute(
            select(Organization.acronym, Letter.language, Letter.subject, Letter.body).join(
                Organization, Letter.organization_id == Organization.id
            )
        ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_language_fallback(db: Database) -> None:
    seed(db)
    with db.write() as s:
        generate(s, campaign="tp", today=dt.date(2012, 3, 20))
    letters = _letters(db)
    # AU: no contact language; first working language with a variant is English (default).
    assert letters["AU"][0] == "en"
    # ECOWAS: Portuguese first, and there is a Portuguese variant now (not French).
    assert letters["ECOWAS"][0] == "pt"
    assert "Assunto: O diálogo da Assembleia Geral" in letters["ECOWAS"][2]
    assert "5 de setembro de 2012" in letters["ECOWAS"][2]
    assert letters["LAS"][0] == "ar"
    assert "الموضوع" in letters["LAS"][2]
    assert letters["OAS"][0] == "es"
    assert "5 de septiembre de 2012" in letters["OAS"][2]
    # GCC works in Arabic, but its contact prefers English: the contact wins.
    assert letters["GCC"][0] == "en"
    assert letters["GCC"][1].startswith("The General Assembly dialogue")
    # English dates day first (not US style) unless the campaign says date_style = "us"
    assert "5 September 2012" in letters["GCC"][2]
    assert "September 5" not in letters["GCC"][2]


def test_choose_language_rules() -> None:
    ts = TemplateSet()
    pick = ts.choose_language
    assert pick("third-pillar", default="en", contact_language="fr", org_languages=["ar"]) == "fr"
    assert pick("third-pillar", default="en", contact_language="pt", org_languages=["ar"]) == "pt"
    assert pick("third-pillar", default="en", contact_language="de", org_languages=["ar"]) == "ar"
    assert pick("third-pillar", default="en", contact_language=None, org_languages=["it"]) == "en"
    assert sorted(ts.variants("third-pillar")) == ["ar", "es", "fr", "pt", "ru", "zh"]


def test_filters() -> None:
    assert format_date(dt.date(2012, 7, 12), "fr") == "12 juillet 2012"
    assert format_date(dt.date(2012, 7, 12), "es") == "12 de julio de 2012"
    assert "يوليو" in format_date(dt.date(2012, 7, 12), "ar")
    assert salutation({"salutation": "Your Excellency", "name": "X"}, "en") == "Your Excellency,"
    assert salutation({"kind": "office", "name": "Office"}, "fr") == "Madame, Monsieur,"
    assert salutation({"kind": "person", "name": "Ana Pérez"}, "es") == "Estimado/a Ana Pérez:"
    assert salutation({"kind": "office", "name": "x"}, "ar").endswith("،")


def _user_templates(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "mine.md.j2").write_text(
        '{% extends "letterhead.md.j2" %}\n{% block subject %}Hello{% endblock %}\n'
        "{% block body %}\n" + body + "\n{% endblock %}\n",
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Dear {{ organization.acronym }},\n{{ no_such_variable }}", "unknown variable"),
        ("{% if organization.acronym %}never closed", "syntax error"),
        ("{{ ''.__class__.__mro__ }}", "sandbox"),
        ("{{ organization.__class__ }}", "sandbox"),
        ("{{ campaign.variables.update({'x': 1}) }}", "sandbox"),
        ("{{ 'a' * 10**9 }}", "sandbox"),
        ("{{ 10 ** 10 ** 10 }}", "sandbox"),
        ("{{ [1, 2] * 1000000 }}", "sandbox"),
    ],
)
def test_template_errors_stop_the_batch(
    db: Database, db_url: str, tmp_path: Path, run, body: str, expected: str
) -> None:
    folder = _user_templates(tmp_path, body)
    seed(db, template="mine", templates=str(folder))
    before = table_dump(db_url)
    out = tmp_path / "out"
    result = run(
        "letters", "generate", "--campaign", "tp", "--templates", folder, "--out", out, expect=1
    )
    message = result.stderr
    assert expected in message, message
    assert "mine.md.j2" in message
    assert "nothing was written" in message
    if expected != "syntax error":
        assert "line 5" in message or "line" in message
        assert "while writing to" in message  # names the recipient
    else:
        assert "line 5" in message
    assert table_dump(db_url) == before
    assert not out.exists()


def test_missing_variable_names_line_and_recipient(db: Database, tmp_path: Path) -> None:
    folder = _user_templates(tmp_path, "First line.\n\n{{ missing_thing }}")
    seed(db, template="mine", templates=str(folder))
    with pytest.raises(TemplateError) as err, db.write() as s:
        generate(s, campaign="tp", templates=folder)
    text = str(err.value)
    assert "mine.md.j2, line 6" in text
    assert "missing_thing" in text
    assert "while writing to AU (Secretary-General of AU)" in text
    assert row_counts(db.url)["letters"] == 0


def test_template_hash_covers_the_base(tmp_path: Path) -> None:
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "base.md.j2").write_text(
        "{% block subject %}{% endblock %}\nA\n{% block body %}{% endblock %}\n"
    )
    (folder / "x.md.j2").write_text(
        '{% extends "base.md.j2" %}'
        "{% block subject %}S{% endblock %}{% block body %}B{% endblock %}"
    )
    first = TemplateSet(folder).compile("x", "en", "en")
    assert set(first.sources) == {"base.md.j2", "x.md.j2"}
    (folder / "base.md.j2").write_text(
        "{% block subject %}{% endblock %}\nB\n{% block body %}{% endblock %}\n"
    )
    second = TemplateSet(folder).compile("x", "en", "en")
    assert first.hash != second.hash


def test_an_edited_template_is_what_the_next_letters_say(tmp_path: Path) -> None:
    """Compiled templates are kept for the whole process: an edit, to the
    letter or to what it extends or includes, still shows in the next set."""
    from outreach.templating import render

    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "part.md.j2").write_text("Dear {{ name }},")
    (folder / "x.md.j2").write_text(
        "{% block subject %}S{% endblock %}\n{% include 'part.md.j2' %}\nFirst text.\n"
    )

    def body() -> str:
        compiled = TemplateSet(folder).compile("x", "en", "en")
        return render(compiled, {"name": "Amina"}, recipient="Amina").body

    assert "Dear Amina," in body() and "First text." in body()
    (folder / "x.md.j2").write_text(
        "{% block subject %}S{% endblock %}\n{% include 'part.md.j2' %}\nSecond text.\n"
    )
    assert "Second text." in body() and "First text." not in body()
    (folder / "part.md.j2").write_text("Madam {{ name }},")
    assert "Madam Amina," in body()
    (folder / "x.md.j2").write_text("{% block subject %}S{% endblock %}\n{{ name ")
    with pytest.raises(TemplateError, match="syntax error"):
        TemplateSet(folder).compile("x", "en", "en")


def test_html_templates_autoescape(tmp_path: Path) -> None:
    from outreach.templating import make_environment

    (tmp_path / "a.html.j2").write_text("<p>{{ name }}</p>")
    (tmp_path / "a.md.j2").write_text("{{ name }}")
    env = make_environment([tmp_path])
    assert (
        env.get_template("a.html.j2").render(name="<b>&</b>") == "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>"
    )
    assert env.get_template("a.md.j2").render(name="<b>") == "<b>"


def test_unknown_template_is_refused(db: Database) -> None:
    from outreach.campaigns import create_campaign
    from outreach.errors import OutreachError

    with pytest.raises(OutreachError, match=r"no template nope\.md\.j2"), db.session() as s:
        create_campaign(s, slug="x", title="X", template="nope")


def test_tidy_trims_trailing_spaces_and_blank_runs() -> None:
    from outreach.templating.templates import _tidy

    assert _tidy("Dear AU,\n\nWe write.\n") == "Dear AU,\n\nWe write.\n"  # already tidy
    assert _tidy("\n\nDear AU,  \n\n\n\nWe write.\t\n\n") == "Dear AU,\n\nWe write.\n"
    assert _tidy("Dear AU,\u00a0\n") == "Dear AU,\n"
    assert _tidy("Dear AU,") == "Dear AU,\n"
    assert _tidy("") == "\n"
