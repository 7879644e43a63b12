"""Export to CSV, JSON and vCard, and round trips through import."""

from __future__ import annotations

import csv
import json

import pytest
import sqlalchemy as sa

from outreach.directory.importing import import_file
from outreach.schema.models import Contact

from ..conftest import table_dump


def test_csv_export_neutralises_formulas(filled, run):
    out = run("contacts", "export").stdout
    rows = list(csv.DictReader(out.splitlines(keepends=True)))
    evil = next(r for r in rows if r["email"] == "evil@example.org")
    assert evil["name"] == '\'=HYPERLINK("http://evil.example")'
    assert evil["position"] == "'-2+3"
    assert evil["phone"] == "'+234 9 314 7647"
    assert evil["notes"].startswith("'@SUM")
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r"
    listing = run("contacts", "list", "--format", "csv").stdout
    assert "'=HYPERLINK" in listing


@pytest.mark.parametrize(
    ("group", "suffix"),
    [
        ("contacts", "csv"),
        ("contacts", "json"),
        ("contacts", "vcf"),
        ("orgs", "csv"),
        ("orgs", "json"),
        ("orgs", "vcf"),
    ],
)
def test_round_trip_changes_nothing(filled, run, db_url, tmp_path, group, suffix):
    path = tmp_path / f"export.{suffix}"
    run(group, "export", "-o", path)
    before = table_dump(db_url)
    out = run(group, "import", path).stdout
    assert "0 created, 0 updated" in out
    assert table_dump(db_url) == before


@pytest.mark.parametrize("suffix", ["csv", "json", "vcf"])
def test_round_trip_into_empty_database(filled, run, tmp_path, empty_db_url, suffix):
    """Contacts exported from one database recreate the same directory in another."""
    from outreach.db import Database

    path = tmp_path / f"all.{suffix}"
    run("contacts", "export", "-o", path)
    fresh = Database(empty_db_url, actor="tester")
    fresh.init()
    with fresh.session() as s:
        result = import_file(path, session=s, kind="contact")
    assert result.created == 6  # 2 organizations + 4 contacts
    with fresh.session() as s, filled.session() as t:

        def snapshot(session):
            return sorted(
                (
                    c.organization.acronym,
                    c.name,
                    c.email,
                    c.position,
                    c.phone,
                    c.notes,
                    c.postal_address,
                    tuple(c.tags),
                    c.do_not_contact,
                    c.do_not_contact_reason,
                )
                for c in session.scalars(sa.select(Contact))
            )

        assert snapshot(s) == snapshot(t)
    fresh.dispose()


def test_json_export_shape(filled, run):
    data = json.loads(run("orgs", "export", "--format", "json").stdout)
    au = data["organizations"][0]
    assert au["acronym"] == "AU" and au["languages"] == ["en", "fr", "ar", "pt"]
    assert {c["name"] for c in au["contacts"]} == {
        "Amina Diallo",
        "Office of the Chairperson of the Commission",
    }
    vcards = run("contacts", "export", "--format", "vcard").stdout
    assert vcards.count("BEGIN:VCARD") == 4
    assert "X-OUTREACH-ORGANIZATION:ECOWAS" in vcards


def test_contacts_and_orgs_commands_merge_and_archive(filled, run):
    run("orgs", "add", "CEDEAO", "Communauté économique des États de l'Afrique de l'Ouest")
    run("contacts", "add", "CEDEAO", "Bureau du Président", "--kind", "office")
    out = run("orgs", "merge", "ECOWAS", "CEDEAO", "--yes").stdout
    assert "1 contacts moved" in out
    shown = json.loads(run("orgs", "show", "ECOWAS", "--format", "json").stdout)
    assert "Bureau du Président" in [c["name"] for c in shown["contacts"]]
    run("orgs", "show", "CEDEAO", expect=1)
