"""The directory shipped with outreach (contacts/directory.json)."""

from __future__ import annotations

import sqlalchemy as sa

from outreach.directory import get_organization
from outreach.directory.importing import load_shipped_directory
from outreach.schema.models import Organization

from ..conftest import row_counts, table_dump

EXPECTED = {
    "ASEAN",
    "AU",
    "CARICOM",
    "EU",
    "EAC",
    "ECOWAS",
    "GCC",
    "IGAD",
    "ICGLR",
    "LAS",
    "OAS",
    "OSCE",
    "OIC",
    "SADC",
    "UNASUR",
    "CELAC",
    "SICA",
    "PIF",
}


def test_shipped_directory_loads_twice_without_change(db, db_url):
    with db.session() as s:
        first = load_shipped_directory(session=s)
    assert first.by_kind["organization"]["created"] >= len(EXPECTED)
    before = table_dump(db_url)
    with db.session() as s:
        again = load_shipped_directory(session=s)
    assert again.created == again.updated == 0
    assert table_dump(db_url) == before
    with db.session() as s:
        orgs = {o.acronym: o for o in s.scalars(sa.select(Organization))}
        assert set(orgs) >= EXPECTED
        assert orgs["AU"].languages[:4] == ["en", "fr", "ar", "pt"]
        assert orgs["OAS"].languages == ["es", "en", "pt", "fr"]
        assert orgs["LAS"].languages == ["ar"] and orgs["GCC"].languages == ["ar"]
        assert orgs["ECOWAS"].languages == ["en", "fr", "pt"]
        for org in orgs.values():
            assert org.kind.value in ("regional", "sub-regional")
            (office,) = org.contacts
            assert office.kind.value == "office" and office.email is None
            assert office.position and office.salutation is None
            assert office.i18n["en"]["position"] == office.position
            if office.honorific == "excellency":
                assert office.i18n["en"]["salutation"] == "Your Excellency"
            for lang in ("fr", "es", "pt", "ar", "ru", "zh"):
                salutation = office.i18n.get(lang, {}).get("salutation") or ""
                assert "Excellency" not in salutation
            assert "en" in org.i18n and org.i18n["en"]["definite"].startswith("the ")
            for lang in org.languages:
                if lang in ("en", "fr", "es", "ar", "ru", "zh", "pt"):
                    assert org.i18n[lang]["name"], (org.acronym, lang)


def test_shipped_directory_keeps_local_edits(db):
    with db.session() as s:
        load_shipped_directory(session=s)
    with db.session() as s:
        from outreach.directory import update_organization

        update_organization(get_organization(s, "AU"), session=s, website="https://example.org")
    with db.session() as s:
        load_shipped_directory(session=s)
        assert get_organization(s, "AU").website == "https://example.org"


def test_init_with_directory(empty_db_url, run):
    from click.testing import CliRunner

    from outreach.cli import cli

    runner = CliRunner()
    first = runner.invoke(cli, ["--db", empty_db_url, "init", "--with-directory"])
    assert first.exit_code == 0, first.output
    assert "created" in first.stdout
    counts = row_counts(empty_db_url)
    again = runner.invoke(cli, ["--db", empty_db_url, "init", "--with-directory"])
    assert again.exit_code == 0
    assert "0 created, 0 updated" in again.stdout
    assert row_counts(empty_db_url) == counts
    assert counts["organizations"] >= 18


def test_orgs_import_of_shipped_file(run, db_url):
    from outreach.resources import contacts_path

    out = run("orgs", "import", contacts_path() / "directory.json").stdout
    assert "organizations:" in out
    before = table_dump(db_url)
    run("orgs", "import", contacts_path() / "directory.json")
    assert table_dump(db_url) == before
