"""Import of CSV, JSON and vCard files: reading, checking, matching, all or nothing."""

from __future__ import annotations

import csv
import json

import pytest
import sqlalchemy as sa

from outreach.directory import get_contact, get_organization
from outreach.directory.importing import import_file
from outreach.errors import ValidationError
from outreach.schema.models import Activity, Contact, Organization

from ..conftest import table_dump
from ._fixtures import CONTACTS_CSV, import_contacts, write


def test_orgs_csv_with_aliases(orgs):
    with orgs.session() as s:
        au = get_organization(s, "AU")
        assert (au.hq_city, au.hq_country, au.languages) == (
            "Addis Ababa",
            "ET",
            ["en", "fr", "ar", "pt"],
        )
        assert get_organization(s, "ECOWAS").languages == ["en", "fr", "pt"]


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("comma", lambda t: t.encode()),
        ("bom-crlf", lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode()),
        ("semicolon", lambda t: t.replace(",", ";").encode()),
        ("tab", lambda t: t.replace(",", "\t").encode()),
    ],
)
def test_contacts_csv_dialects(orgs, tmp_path, name, transform):
    path = write(tmp_path, f"{name}.csv", transform(CONTACTS_CSV))
    result = import_contacts(orgs, path)
    assert (result.created, result.updated, result.rejected) == (3, 0, 0)
    with orgs.session() as s:
        amina = get_contact(s, "AMINA@example.org")
        assert amina.organization.acronym == "AU"
        assert amina.position == "Political Affairs Officer"
        assert amina.language == "fr"
        office = s.scalar(sa.select(Contact).where(Contact.email.is_(None)))
        assert office.organization.acronym == "AU"


def test_map_option(orgs, tmp_path, run):
    path = write(
        tmp_path,
        "m.csv",
        "Org,Addressee,Epost,Internal ref\nAU,Amina Diallo,amina@example.org,R-17\n",
    )
    result = run("contacts", "import", path, expect=1)
    assert "Epost: unknown column" in result.stderr
    assert "Internal ref: unknown column" in result.stderr
    out = run("contacts", "import", path, "--map", "Epost=email", "--map", "Internal ref=-")
    assert "1 created" in out.stdout
    result = run("contacts", "import", path, "--map", "Epost=mail_address", expect=1)
    assert "unknown field 'mail_address'" in result.stderr
    # a mapped header the file does not have is a typo, not a no-op
    result = run("contacts", "import", path, "--map", "Internal reference=-", expect=1)
    assert result.stderr.strip().splitlines() == [
        f"Error: --map: 'Internal reference' is not a column of {path} (its columns: Org, "
        "Addressee, Epost, Internal ref)"
    ]


def test_every_problem_reported_and_nothing_written(orgs, tmp_path, db_url, run):
    path = write(
        tmp_path,
        "bad.csv",
        "Organisation,Name,E-mail,Language\n"
        "AU,Amina Diallo,amina@example,fr\n"  # bad e-mail
        "AU,,kofi@example.org,en\n"  # empty required field
        "ECOWAS,Kofi Mensah,KOFI@example.org,xx\n"  # duplicate e-mail, bad language
        "XYZ,Nobody,nobody@example.org,en\n"  # unknown organization
        "AU,Good Row,good@example.org,en\n",
    )
    before = table_dump(db_url)
    result = run("contacts", "import", path, expect=1)
    lines = result.stderr.splitlines()
    assert any(ln.startswith(f"{path}:2: E-mail: ") and "amina@example" in ln for ln in lines)
    assert f"{path}:3: Name: is required (the cell is empty)" in lines
    assert f"{path}:4: E-mail: repeats line 3" in lines
    assert any(ln.startswith(f"{path}:4: Language: 'xx'") for ln in lines)
    assert any(ln.startswith(f"{path}:5: Organisation: no organization 'XYZ'") for ln in lines)
    assert lines[-1].startswith("Error: ") and "nothing imported" in lines[-1]
    assert table_dump(db_url) == before


def test_duplicate_rows_inside_one_file(orgs, tmp_path, db_url):
    path = write(
        tmp_path,
        "dup.csv",
        "organization,name,email\nAU,Amina Diallo,\nau,amina diallo,\n",
    )
    before = table_dump(db_url)
    with pytest.raises(ValidationError) as info:
        import_contacts(orgs, path)
    assert info.value.problems == [f"{path}:3: name: repeats line 2 (same organization)"]
    assert table_dump(db_url) == before
    orgs_dup = write(
        tmp_path, "o.csv", "acronym,name\nOAS,Organization of American States\noas,OAS again\n"
    )
    with pytest.raises(ValidationError) as info, orgs.session() as s:
        import_file(orgs_dup, session=s, kind="organization")
    assert info.value.problems == [f"{orgs_dup}:3: acronym: repeats line 2"]


def test_unknown_column_stops_everything(orgs, tmp_path, db_url):
    path = write(tmp_path, "u.csv", "organization,name,favourite colour\nAU,Amina,blue\n")
    before = table_dump(db_url)
    with pytest.raises(ValidationError) as info:
        import_contacts(orgs, path, skip_invalid=True)
    assert info.value.problems[0].startswith(f"{path}:1: favourite colour: unknown column")
    assert table_dump(db_url) == before


def test_not_utf8_is_read_as_cp1252_and_said(orgs, tmp_path, run):
    text = "organization,name\nAU,Amina Diallo\nAU,Côte d'Ivoire desk\n"
    path = write(tmp_path, "latin1.csv", text, encoding="latin-1")
    result = run("contacts", "import", path)
    assert f"{path}: read as cp1252 (Windows Western): the file is not UTF-8." in result.stdout
    assert "2 created" in result.stdout
    with orgs.session() as s:
        assert s.scalar(sa.select(Contact.name).where(Contact.name.like("C%"))) == (
            "Côte d'Ivoire desk"
        )


def test_truncated_rows(orgs, tmp_path, db_url):
    short = write(
        tmp_path, "short.csv", "organization,name,email\nAU,Amina,a@example.org\nAU,Kofi\n"
    )
    before = table_dump(db_url)
    with pytest.raises(ValidationError) as info:
        import_contacts(orgs, short)
    assert info.value.problems == [
        f"{short}:3: row has 2 cells but the header has 3 (truncated row?)"
    ]
    cut = write(tmp_path, "cut.csv", 'organization,name,notes\nAU,Amina,"unfinished note\n')
    with pytest.raises(ValidationError) as info:
        import_contacts(orgs, cut)
    assert "a quoted cell is probably not closed" in info.value.problems[0]
    assert table_dump(db_url) == before


def test_skip_invalid_writes_good_rows_and_rejects(orgs, tmp_path, run):
    path = write(
        tmp_path,
        "mixed.csv",
        "organization,name,email\nAU,Amina,amina@example.org\nAU,Bad,bad@@example.org\n"
        "ECOWAS,Kofi,kofi@example.org\n",
    )
    rejects = tmp_path / "rejected.csv"
    result = run("contacts", "import", path, "--skip-invalid", "--rejects", rejects)
    assert "2 created" in result.stdout and "1 rejected" in result.stdout
    assert f"{path}:3: email:" in result.stderr
    rows = list(csv.DictReader(rejects.open(encoding="utf-8-sig")))
    assert len(rows) == 1
    assert list(rows[0]) == ["organization", "name", "email", "problems"]
    assert rows[0]["name"] == "Bad"
    assert rows[0]["problems"].startswith("line 3: email: ")
    # default location, beside the file
    run("contacts", "import", path, "--skip-invalid", "--on-match", "skip")
    assert (tmp_path / "mixed.rejects.csv").exists()


def test_dry_run_writes_nothing(orgs, tmp_path, db_url, run):
    path = write(tmp_path, "c.csv", CONTACTS_CSV)
    before = table_dump(db_url)
    out = run("contacts", "import", path, "--dry-run").stdout
    assert "created   contact      Amina Diallo (AU)" in out
    assert "3 would be created" in out and "Nothing was written" in out
    assert table_dump(db_url) == before


def test_on_match_modes(orgs, tmp_path, db_url, run):
    run("contacts", "import", write(tmp_path, "c.csv", CONTACTS_CSV))
    changed = write(
        tmp_path,
        "c2.csv",
        "org,name,email,position\nAU,Amina Diallo,AMINA@example.org,Head of Unit\n"
        "AU,Office of the Chairperson of the Commission,,\n",
    )
    before = table_dump(db_url)
    out = run("contacts", "import", changed, "--on-match", "skip").stdout
    assert "1 skipped" in out and "1 unchanged" in out
    assert table_dump(db_url) == before
    result = run("contacts", "import", changed, "--on-match", "error", expect=1)
    assert "already exists (matches are refused)" in result.stderr
    assert table_dump(db_url) == before
    out = run("contacts", "import", changed).stdout
    assert "1 updated" in out and "1 unchanged" in out
    with orgs.session() as s:
        amina = get_contact(s, "amina@example.org")
        assert amina.position == "Head of Unit"
        assert amina.language == "fr"  # not in the file: left alone
        update = s.scalar(
            sa.select(Activity).where(Activity.action == "update", Activity.entity == "contact")
        )
        assert update.changes == {"position": ["Political Affairs Officer", "Head of Unit"]}


def test_empty_cells_never_erase(orgs, tmp_path):
    import_contacts(orgs, write(tmp_path, "c.csv", CONTACTS_CSV))
    thin = write(tmp_path, "thin.csv", "organization,name,email,language\nAU,Amina Diallo,,\n")
    result = import_contacts(orgs, thin)
    assert result.unchanged == 1
    with orgs.session() as s:
        assert get_contact(s, "amina@example.org").language == "fr"


def test_unknown_org_created_with_its_name(db, tmp_path):
    path = write(
        tmp_path,
        "new.csv",
        "organization,organization_name,name\nSICA,Central American Integration System,"
        "Office of the Secretary General\nSICA,Central American Integration System,Desk\n",
    )
    result = import_contacts(db, path)
    assert result.by_kind == {"organization": {"created": 1}, "contact": {"created": 2}}
    with db.session() as s:
        sica = get_organization(s, "sica")
        assert sica.name == "Central American Integration System"
        assert len(sica.contacts) == 2


def test_json_import_with_line_numbers(orgs, tmp_path, db_url):
    data = {
        "contacts": [
            {
                "organization": "AU",
                "name": "Amina Diallo",
                "email": "amina@example.org",
                "tags": ["focal-point", "2012"],
                "is_primary": True,
            },
            {"organization": "AU", "name": "Broken", "email": "broken@"},
        ]
    }
    path = write(tmp_path, "c.json", json.dumps(data, indent=2))
    before = table_dump(db_url)
    with pytest.raises(ValidationError) as info:
        import_contacts(orgs, path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}:13: email: 'broken@'")
    assert table_dump(db_url) == before
    data["contacts"].pop()
    path.write_text(json.dumps(data), encoding="utf-8")
    assert import_contacts(orgs, path).created == 1
    with orgs.session() as s:
        amina = get_contact(s, "amina@example.org")
        assert amina.tags == ["focal-point", "2012"] and amina.is_primary


def test_json_unknown_key_and_bad_json(orgs, tmp_path):
    path = write(tmp_path, "k.json", '[{"organization": "AU", "name": "X", "shoe size": 9}]')
    with pytest.raises(ValidationError) as info:
        import_contacts(orgs, path)
    assert info.value.problems[0].startswith(f"{path}:1: shoe size: unknown column")
    broken = write(tmp_path, "b.json", '[{"organization": "AU",\n "name": ')
    with pytest.raises(ValidationError) as info:
        import_contacts(orgs, broken)
    assert info.value.problems[0].startswith(f"{broken}:2: not valid JSON")


VCARD3 = """BEGIN:VCARD
VERSION:3.0
FN:Amina Diallo
N:Diallo;Amina;;;
ORG:African Union;Political Affairs
TITLE:Political Affairs Officer
EMAIL;TYPE=INTERNET:amina@example.org
TEL:+251 11 551 7700
CATEGORIES:focal-point,2012
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Kofi Mensah
ORG:ECOWAS
EMAIL:kofi@example.org
END:VCARD
"""


VCARD4 = """BEGIN:VCARD\r
VERSION:4.0\r
KIND:org\r
FN:Office of the Chairperson of the Commission\r
ORG:African Union\r
LANG:fr\r
ADR:;;Roosevelt Street;Addis Ababa;;;Ethiopia\r
END:VCARD\r
"""


def test_vcard_3_and_4(orgs, tmp_path):
    result = import_contacts(orgs, write(tmp_path, "people.vcf", VCARD3))
    assert result.created == 2
    result = import_contacts(orgs, write(tmp_path, "office.vcf", VCARD4))
    assert result.created == 1
    with orgs.session() as s:
        amina = get_contact(s, "amina@example.org")
        assert amina.organization.acronym == "AU"  # matched on the full name
        assert amina.phone == "+251 11 551 7700"
        assert amina.tags == ["focal-point", "2012"]
        office = s.scalar(sa.select(Contact).where(Contact.kind == "office"))
        assert office.language == "fr"
        assert office.postal_address == "Roosevelt Street\nAddis Ababa\nEthiopia"


def test_vcard_problems(orgs, tmp_path, db_url):
    bad = VCARD3.replace("amina@example.org", "amina at example.org").replace(
        "ORG:ECOWAS", "ORG:Nowhere Council"
    )
    path = write(tmp_path, "bad.vcf", bad)
    before = table_dump(db_url)
    with pytest.raises(ValidationError) as info:
        import_contacts(orgs, path)
    assert info.value.problems[0].startswith(f"{path}:1: EMAIL: ")
    assert info.value.problems[1].startswith(f"{path}:11: ORG: no organization 'Nowhere Council'")
    truncated = write(tmp_path, "t.vcf", VCARD3.rsplit("END:VCARD", 1)[0])
    with pytest.raises(ValidationError) as info:
        import_contacts(orgs, truncated)
    assert "no END:VCARD" in info.value.problems[0]
    assert table_dump(db_url) == before


def test_import_activity_logged(orgs, tmp_path):
    import_contacts(orgs, write(tmp_path, "c.csv", CONTACTS_CSV))
    with orgs.session() as s:
        au = get_organization(s, "AU")
        rows = s.scalars(
            sa.select(Activity).where(
                Activity.organization_id == au.id, Activity.action == "import"
            )
        ).all()
        assert [r.summary for r in rows] == ["imported 2 contact(s) at AU from c.csv"]
        assert s.scalar(sa.select(sa.func.count()).select_from(Organization)) == 2


def test_format_option_and_unknown_suffix(orgs, tmp_path, run):
    path = write(tmp_path, "people.dat", CONTACTS_CSV.replace(",", "\t"))
    result = run("contacts", "import", path, expect=1)
    assert "name it: csv, json, vcard or xlsx (--from)" in result.stderr
    assert "3 created" in run("contacts", "import", path, "--input-format", "csv").stdout


def test_orgs_json_update_and_nested_contacts(orgs, tmp_path, db_url):
    data = {
        "organizations": [
            {
                "acronym": "au",
                "name": "African Union",
                "website": "https://au.int/en",
                "contacts": [{"name": "Office of the Legal Counsel", "kind": "office"}],
            },
            {"acronym": "SICA", "name": "Central American Integration System", "kind": "bogus"},
        ]
    }
    path = write(tmp_path, "o.json", json.dumps(data, indent=2))
    before = table_dump(db_url)
    with pytest.raises(ValidationError) as info, orgs.session() as s:
        import_file(path, session=s, kind="organization")
    assert info.value.problems == [
        f"{path}:14: kind: 'bogus' is not one of: regional, sub-regional, un-body, "
        "member-state, civil-society, other"
    ]
    assert table_dump(db_url) == before
    data["organizations"].pop()
    path.write_text(json.dumps(data), encoding="utf-8")
    with orgs.session() as s:
        result = import_file(path, session=s, kind="organization")
    assert result.by_kind == {"organization": {"updated": 1}, "contact": {"created": 1}}
    with orgs.session() as s:
        au = get_organization(s, "AU")
        assert au.website == "https://au.int/en"
        assert [c.name for c in au.contacts] == ["Office of the Legal Counsel"]
        update = s.scalar(
            sa.select(Activity).where(
                Activity.entity == "organization", Activity.action == "update"
            )
        )
        assert update.changes == {"website": ["https://au.int", "https://au.int/en"]}


def test_contacts_file_given_to_orgs_import(orgs, tmp_path, run):
    path = write(tmp_path, "c.csv", CONTACTS_CSV)
    result = run("orgs", "import", path, expect=1)
    assert f"{path}:1: E-mail: is a contact column" in result.stderr


def test_import_does_not_quietly_move_a_contact_to_another_organization(run, db_url, tmp_path):
    """An e-mail that is already a contact at another organization is a row
    problem: moving a contact (with its letters and replies) is done on
    purpose with `contacts edit --org`, never as a side effect of an import."""
    first = tmp_path / "first.csv"
    first.write_text(
        "Organisation,organization_name,Name,E-mail\n"
        "AU,African Union,Amina Diallo,amina@example.org\n"
        "ECOWAS,Economic Community of West African States,Desk,desk@example.org\n",
        encoding="utf-8",
    )
    run("contacts", "import", str(first))
    before = table_dump(db_url)
    moved = tmp_path / "moved.csv"
    moved.write_text("Organisation,Name,E-mail\nECOWAS,Amina Diallo,amina@example.org\n", "utf-8")
    result = run("contacts", "import", str(moved), expect=1)
    assert "moved.csv:2: " in result.stderr
    assert "amina@example.org belongs to Amina Diallo at AU" in result.stderr
    assert "contacts edit amina@example.org --org ECOWAS" in result.stderr
    assert table_dump(db_url) == before


def test_nul_character_is_a_row_problem_on_every_backend(run, db_url, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_text(
        "Organisation,organization_name,Name,E-mail\nAU,African Union,Ami\x00na,a@example.org\n",
        encoding="utf-8",
    )
    before = table_dump(db_url)
    result = run("contacts", "import", str(path), expect=1)
    assert "nul.csv:2: Name: contains a NUL character" in result.stderr
    assert table_dump(db_url) == before
