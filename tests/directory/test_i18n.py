"""Text per language on the directory (issue 13): the pure helpers, edits,
import and export, parents and organs, and the shipped directory."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from outreach.directory import get_contact, get_organization
from outreach.directory.fields import FieldError
from outreach.directory.i18n import (
    HONORIFICS,
    LANGUAGES,
    clean_i18n,
    contact_texts,
    flat_field,
    localized,
    merge_i18n,
    organization_names,
    organization_texts,
    parse_honorific,
)
from outreach.directory.importing import import_file, load_shipped_directory
from outreach.errors import ValidationError
from outreach.schema.models import Contact, Organization

from ..conftest import table_dump

AU_BASE = {"name": "African Union", "acronym": "AU"}
AU_I18N = {
    "en": {"definite": "the African Union"},
    "fr": {"name": "Union africaine", "acronym": "UA", "definite": "l'Union africaine"},
    "ar": {"name": "الاتحاد الأفريقي"},
}

# --- the pure helpers --------------------------------------------------------------


def test_languages_and_honorifics():
    assert LANGUAGES == ("en", "fr", "es", "ar", "ru", "zh", "pt")
    assert set(HONORIFICS) == {
        "excellency",
        "honourable",
        "ambassador",
        "dr",
        "professor",
        "mr",
        "ms",
    }
    assert parse_honorific("His Excellency") == "excellency"
    assert parse_honorific("H.E.") == "excellency"
    assert parse_honorific("Honorable") == "honourable"
    assert parse_honorific("") is None
    with pytest.raises(FieldError, match="not one of: excellency"):
        parse_honorific("king")


def test_localized_values_and_fallbacks():
    values, fallbacks = organization_texts(AU_BASE, AU_I18N, "fr")
    assert values == {"name": "Union africaine", "acronym": "UA", "definite": "l'Union africaine"}
    assert fallbacks == []
    # Arabic has no acronym here: the base one is used, and said.
    values, fallbacks = organization_texts(AU_BASE, AU_I18N, "ar")
    assert values["name"] == values["definite"] == "الاتحاد الأفريقي"
    assert values["acronym"] == "AU" and fallbacks == ["acronym"]
    # No Portuguese at all: everything falls back.
    values, fallbacks = organization_texts(AU_BASE, AU_I18N, "pt")
    assert values["name"] == "African Union" and fallbacks == ["name", "acronym", "definite"]
    # English is the base columns' language: no fallback.
    values, fallbacks = organization_texts(AU_BASE, AU_I18N, "en")
    assert values["definite"] == "the African Union" and fallbacks == []
    assert localized({"position": None}, {}, "fr") == ({"position": None}, [])


def test_contact_texts_never_lend_a_salutation_across_languages():
    i18n = {"en": {"salutation": "Your Excellency"}, "fr": {"position": "Président"}}
    values, fallbacks = contact_texts({"position": "President", "salutation": None}, i18n, "fr")
    assert values == {"position": "Président", "salutation": None} and fallbacks == []
    values, fallbacks = contact_texts({"position": "President", "salutation": None}, i18n, "es")
    assert values == {"position": "President", "salutation": None}
    assert fallbacks == ["position"]


def test_organization_names_for_templates():
    names = organization_names(AU_BASE, AU_I18N)
    assert list(names) == ["en", "fr", "ar"]
    assert names["fr"]["acronym"] == "UA" and names["en"]["name"] == "African Union"


def test_clean_and_merge():
    assert clean_i18n("organization", {"FR": {"name": "  Union\tafricaine "}}) == {
        "fr": {"name": "Union africaine"}
    }
    assert clean_i18n("organization", '{"French": {"acronym": "UA"}}') == {"fr": {"acronym": "UA"}}
    with pytest.raises(FieldError, match=r"fr\.position: 'position' cannot be given per language"):
        clean_i18n("organization", {"fr": {"position": "x"}})
    with pytest.raises(FieldError, match=r"'xx' is not an ISO 639-1"):
        clean_i18n("contact", {"xx": {"position": "x"}})
    with pytest.raises(FieldError, match=r"control|bidirectional|refused|character"):
        clean_i18n("contact", {"fr": {"position": "a\u202eb"}})
    merged = merge_i18n(
        {"fr": {"name": "A", "acronym": "B"}}, {"fr": {"name": None}, "es": {"name": "C"}}
    )
    assert merged == {"fr": {"acronym": "B"}, "es": {"name": "C"}}
    assert list(merged) == ["fr", "es"]
    assert merge_i18n({"fr": {"name": "A"}}, {"fr": {"name": None}}) == {}
    assert flat_field("name_fr", "organization") == ("fr", "name")
    assert flat_field("Position (AR)", "contact") == ("ar", "position")
    assert flat_field("name_xx", "organization") is None
    assert flat_field("position_fr", "organization") is None


def test_i18n_module_loads_without_sqlalchemy():
    code = (
        "import sys; import outreach.directory.i18n as m; "
        "print('sqlalchemy' in sys.modules, m.localized({'name': 'x'}, {}, 'fr'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False ({'name': 'x'}, ['name'])"


# --- the commands ------------------------------------------------------------------


def _oas(run):
    run(
        "orgs",
        "add",
        "OAS",
        "Organization of American States",
        "--languages",
        "es,en,pt,fr",
        "--name-in",
        "es",
        "Organización de los Estados Americanos",
        "--acronym-in",
        "es",
        "OEA",
    )


def test_orgs_edit_names_per_language(run):
    run("orgs", "add", "AU", "African Union")
    out = run(
        "orgs",
        "edit",
        "AU",
        "--name-in",
        "fr",
        "Union africaine",
        "--acronym-in",
        "fr",
        "UA",
        "--definite-in",
        "fr",
        "l'Union africaine",
        "--name-in",
        "pt",
        "União Africana",
    ).stdout
    assert "AU: name_fr: - -> Union africaine" in out
    assert "AU: definite_fr: - -> l'Union africaine" in out
    shown = run("orgs", "show", "AU").stdout
    assert "Names by language:" in shown
    assert "l'Union africaine" in shown and "União Africana" in shown
    out = run("orgs", "edit", "AU", "--name-in", "pt", "").stdout
    assert "AU: name_pt: União Africana -> -" in out
    data = json.loads(run("orgs", "show", "AU", "--format", "json").stdout)
    assert data["i18n"] == {
        "fr": {"name": "Union africaine", "acronym": "UA", "definite": "l'Union africaine"}
    }
    bad = run("orgs", "edit", "AU", "--name-in", "zz", "Quelque", expect=1)
    assert "'zz' is not an ISO 639-1 language code" in bad.stderr


def test_parent_organs_and_filter(run):
    _oas(run)
    run("orgs", "add", "IACHR", "Inter-American Commission on Human Rights", "--parent", "OAS")
    run("orgs", "add", "IACtHR", "Inter-American Court of Human Rights")
    run("orgs", "add", "AU", "African Union")
    assert "IACtHR: parent: - -> OAS" in run("orgs", "edit", "IACtHR", "--parent", "oas").stdout
    listing = list(
        csv.DictReader(
            run("orgs", "list", "--parent", "OAS", "--format", "csv").stdout.splitlines()
        )
    )
    assert [(r["acronym"], r["parent"]) for r in listing] == [("IACHR", "OAS"), ("IACtHR", "OAS")]
    shown = json.loads(run("orgs", "show", "OAS", "--format", "json").stdout)
    assert shown["organs"] == ["IACHR", "IACtHR"] and shown["parent"] is None
    assert "organs       IACHR, IACtHR" in run("orgs", "show", "OAS").stdout
    circle = run("orgs", "edit", "OAS", "--parent", "IACHR", expect=1)
    assert "cannot be an organ of IACHR, one of its own organs" in circle.stderr
    assert "organ of itself" in run("orgs", "edit", "OAS", "--parent", "OAS", expect=1).stderr
    missing = run("orgs", "edit", "AU", "--parent", "NOPE", expect=1)
    assert "no organization 'NOPE'" in missing.stderr
    assert "IACtHR: parent: OAS -> -" in run("orgs", "edit", "IACtHR", "--parent", "").stdout


def test_contacts_edit_positions_salutations_honorific_channel(run, db):
    _oas(run)
    run(
        "contacts",
        "add",
        "OAS",
        "Office of the Secretary General",
        "--kind",
        "office",
        "--honorific",
        "excellency",
        "--channel",
        "post",
        "--position-in",
        "es",
        "Secretario General de la OEA",
    )
    with db.session() as s:
        (contact,) = s.scalars(sa.select(Contact)).all()
        cid = contact.id
        assert contact.honorific == "excellency" and contact.preferred_channel.value == "post"
    out = run(
        "contacts",
        "edit",
        str(cid),
        "--salutation-in",
        "es",
        "Excelencia",
        "--salutation-in",
        "en",
        "Your Excellency",
        "--channel",
        "email",
    ).stdout
    assert "salutation_es: - -> Excelencia" in out and "preferred_channel: post -> email" in out
    shown = run("contacts", "show", str(cid)).stdout
    assert "position_es" in shown and "Secretario General de la OEA" in shown
    with db.session() as s:
        contact = get_contact(s, cid)
        assert contact.salutation is None
        assert contact.i18n == {
            "en": {"salutation": "Your Excellency"},
            "es": {"position": "Secretario General de la OEA", "salutation": "Excelencia"},
        }
    bad = run("contacts", "edit", str(cid), "--honorific", "majesty", expect=1)
    assert "'majesty' is not one of: excellency" in bad.stderr
    bad = run("contacts", "edit", str(cid), "--channel", "pigeon", expect=1)
    assert "'pigeon' is not one of: email, post" in bad.stderr
    assert (
        "honorific: excellency -> -" in run("contacts", "edit", str(cid), "--honorific", "").stdout
    )


# --- import and export --------------------------------------------------------------


def test_flat_csv_import_and_round_trip(db, db_url, tmp_path, run):
    orgs = tmp_path / "orgs.csv"
    orgs.write_text(
        "acronym,name,parent,name_fr,acronym_fr,definite_fr,Name (es)\n"
        "IACHR,Inter-American Commission on Human Rights,OAS,"
        "Commission interaméricaine des droits de l'homme,CIDH,"
        "la Commission interaméricaine des droits de l'homme,"
        "Comisión Interamericana de Derechos Humanos\n",
        encoding="utf-8",
    )
    _oas(run)
    with db.session() as s:
        result = import_file(orgs, session=s, kind="organization")
    assert result.created == 1
    with db.session() as s:
        org = get_organization(s, "IACHR")
        assert org.parent.acronym == "OAS"
        assert org.i18n["fr"]["acronym"] == "CIDH"
        assert org.i18n["es"] == {"name": "Comisión Interamericana de Derechos Humanos"}
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "organization,name,position,honorific,preferred_channel,position_fr,salutation_fr,"
        "salutation_ar\n"
        "IACHR,Office of the Executive Secretary,Executive Secretary,dr,post,"
        "Secrétaire exécutif,Monsieur le Secrétaire exécutif,سعادة الأمين التنفيذي\n",
        encoding="utf-8",
    )
    with db.session() as s:
        assert import_file(contacts, session=s, kind="contact").created == 1
    # Export, import again: nothing changes, nothing is duplicated.
    for group in ("orgs", "contacts"):
        for fmt in ("csv", "json"):
            out = tmp_path / f"{group}.{fmt}"
            run(group, "export", "--out", str(out))
            before = table_dump(db_url)
            result = run(group, "import", str(out)).stdout
            assert "0 created, 0 updated" in result, (group, fmt, result)
            assert table_dump(db_url) == before
    exported = list(csv.DictReader((tmp_path / "contacts.csv").read_text("utf-8-sig").splitlines()))
    assert exported[0]["salutation_ar"] == "سعادة الأمين التنفيذي"
    assert exported[0]["honorific"] == "dr" and exported[0]["preferred_channel"] == "post"
    org_rows = list(csv.DictReader((tmp_path / "orgs.csv").read_text("utf-8-sig").splitlines()))
    iachr = next(r for r in org_rows if r["acronym"] == "IACHR")
    assert iachr["parent"] == "OAS" and iachr["definite_fr"].startswith("la Commission")
    data = json.loads((tmp_path / "orgs.json").read_text("utf-8"))
    iachr = next(o for o in data["organizations"] if o["acronym"] == "IACHR")
    assert iachr["i18n"]["fr"]["acronym"] == "CIDH" and iachr["parent"] == "OAS"
    assert iachr["contacts"][0]["i18n"]["fr"]["position"] == "Secrétaire exécutif"


def test_import_adds_texts_and_never_erases(db, tmp_path, run):
    _oas(run)
    path = tmp_path / "more.json"
    path.write_text(
        json.dumps(
            {
                "organizations": [
                    {
                        "acronym": "OAS",
                        "name": "Organization of American States",
                        "i18n": {"fr": {"acronym": "OEA"}},
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    with db.session() as s:
        assert import_file(path, session=s, kind="organization").updated == 1
    with db.session() as s:
        assert get_organization(s, "OAS").i18n == {
            "es": {"name": "Organización de los Estados Americanos", "acronym": "OEA"},
            "fr": {"acronym": "OEA"},
        }


@pytest.mark.parametrize(
    ("header", "cell", "message"),
    [
        ("parent", "NOPE", "orgs.csv:2: parent: no organization 'NOPE'"),
        ("parent", "X", "orgs.csv:2: parent: X would make a circle of parents"),
        ("name_fr", "a\u202eb", "orgs.csv:2: name_fr: "),
        ("i18n", '{"fr": {"position": "x"}}', "orgs.csv:2: i18n: fr.position: "),
    ],
)
def test_bad_values_name_row_and_field(db, tmp_path, header, cell, message):
    path = tmp_path / "orgs.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["acronym", "name", header], ["X", "Example", cell]])
    with db.session() as s, pytest.raises(ValidationError) as exc:
        import_file(path, session=s, kind="organization", display="orgs.csv")
    assert any(line.startswith(message) for line in exc.value.problems), exc.value.problems
    assert len(exc.value.problems) == 1


def test_unknown_language_column_is_refused(db, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text("acronym,name,name_qq\nX,Example,Ex\n", encoding="utf-8")
    with db.session() as s, pytest.raises(ValidationError) as exc:
        import_file(path, session=s, kind="organization")
    assert "name_qq: unknown column" in exc.value.problems[0]
    assert "name_fr, acronym_fr, definite_fr" in exc.value.problems[0]


# --- the shipped directory ----------------------------------------------------------


def test_shipped_names_organs_and_salutations(db):
    with db.session() as s:
        load_shipped_directory(session=s)
    with db.session() as s:

        def names(acronym):
            return get_organization(s, acronym).i18n

        assert names("AU")["fr"] == {
            "name": "Union africaine",
            "acronym": "UA",
            "definite": "l'Union africaine",
        }
        assert names("AU")["ar"]["name"] == "الاتحاد الأفريقي"
        assert names("AU")["pt"]["definite"] == "a União Africana"
        assert names("AU")["es"]["definite"] == "la Unión Africana"
        assert names("AU")["zh"] == {"name": "非洲联盟", "acronym": "非盟"}
        assert names("OAS")["es"]["acronym"] == "OEA"
        assert names("OAS")["fr"]["definite"] == "l'Organisation des États américains"
        assert names("OAS")["pt"]["definite"] == "a Organização dos Estados Americanos"
        assert names("EU")["fr"]["acronym"] == names("EU")["es"]["acronym"] == "UE"
        assert names("LAS")["fr"]["definite"] == "la Ligue des États arabes"
        assert names("LAS")["zh"]["name"] == "阿拉伯国家联盟"
        assert names("ECOWAS")["fr"]["acronym"] == names("ECOWAS")["pt"]["acronym"] == "CEDEAO"
        assert names("GCC")["ar"]["name"] == "مجلس التعاون لدول الخليج العربية"
        assert (
            names("OSCE")["ru"]["acronym"] == "ОБСЕ"
            and names("OSCE")["zh"]["acronym"] == "欧安组织"
        )
        organs = {
            o.acronym: o.parent.acronym
            for o in s.scalars(sa.select(Organization).where(Organization.parent_id.is_not(None)))
        }
        assert organs == {"IACHR": "OAS", "IACtHR": "OAS", "CCJ": "SICA", "PARLACEN": "SICA"}
        assert names("IACtHR")["es"]["acronym"] == "Corte IDH"
        assert names("CCJ")["es"]["name"] == "Corte Centroamericana de Justicia"
        au_office = get_organization(s, "AU").contacts[0]
        assert au_office.salutation is None and au_office.honorific == "excellency"
        assert au_office.i18n["fr"]["position"] == "Président de la Commission de l'Union africaine"
        assert au_office.i18n["fr"]["salutation"] == "Excellence"
        assert au_office.i18n["en"]["salutation"] == "Your Excellency"


def test_shipped_directory_completes_an_older_one(db, db_url, tmp_path):
    """Loading the shipped directory over one loaded from an older file (base
    salutations in English, no texts per language, no organs) completes it:
    no duplicates, local edits kept, the English-only base salutation moved."""
    from outreach.directory import update_organization
    from outreach.resources import contacts_path

    data = json.loads((contacts_path() / "directory.json").read_text("utf-8"))
    old = []
    for org in data["organizations"]:
        if org.get("parent"):
            continue
        org = {k: v for k, v in org.items() if k != "i18n"}
        org["contacts"] = [
            {
                **{k: v for k, v in c.items() if k not in ("i18n", "honorific")},
                "salutation": "Your Excellency",
            }
            for c in org["contacts"]
        ]
        old.append(org)
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"organizations": old}), encoding="utf-8")
    with db.session() as s:
        import_file(path, session=s, kind="organization")
    with db.session() as s:
        update_organization(
            get_organization(s, "AU"),
            session=s,
            website="https://example.org",
            i18n={"fr": {"definite": "l'UA"}},
        )
    with db.session() as s:
        result = load_shipped_directory(session=s)
        assert result.by_kind["organization"]["created"] == 4  # the organs
    counts = {t: len(rows) for t, rows in table_dump(db_url).items()}
    with db.session() as s:
        au = get_organization(s, "AU")
        assert au.website == "https://example.org"
        assert au.i18n["fr"]["definite"] == "l'UA"  # the user's text stays
        assert au.i18n["fr"]["name"] == "Union africaine"  # the missing ones come
        office = au.contacts[0]
        assert office.salutation is None and office.honorific == "excellency"
        assert office.i18n["en"]["salutation"] == "Your Excellency"
        assert get_organization(s, "PARLACEN").parent.acronym == "SICA"
        assert s.scalar(sa.select(sa.func.count()).select_from(Organization)) == 23
    with db.session() as s:
        again = load_shipped_directory(session=s)
        assert again.created == again.updated == 0
    assert {t: len(rows) for t, rows in table_dump(db_url).items()} == counts


# --- merges with several recipients per organization -----------------------------


def test_merges_keep_one_recipient_row_each(db):
    from outreach.directory import add_contact, add_organization, merge_contacts
    from outreach.directory.organizations import merge_organizations
    from outreach.schema.models import Campaign, CampaignRecipient

    with db.session() as s:
        oas = add_organization(
            session=s,
            acronym="OAS",
            name="Organization of American States",
            i18n={"es": {"acronym": "OEA"}},
        )
        dup = add_organization(
            session=s,
            acronym="OEA",
            name="Organización de los Estados Americanos",
            i18n={
                "es": {"name": "Organización de los Estados Americanos"},
                "fr": {"acronym": "OEA"},
            },
        )
        organ = add_organization(session=s, acronym="IACHR", name="IACHR", parent="OEA")
        a = add_contact(session=s, organization=oas, name="Office A")
        b = add_contact(session=s, organization=oas, name="Office B")
        c = add_contact(session=s, organization=dup, name="Office C")
        campaign = Campaign(slug="c1", title="Campaign")
        s.add(campaign)
        s.flush()
        for org, contact in ((oas, a), (oas, b), (oas, None), (dup, c), (dup, None)):
            s.add(
                CampaignRecipient(
                    campaign_id=campaign.id,
                    organization_id=org.id,
                    contact_id=contact.id if contact else None,
                )
            )
        s.flush()
        merge_contacts(a, b, session=s)
        merge_organizations(oas, dup, session=s)
        assert organ.parent is oas
    with db.session() as s:
        oas = get_organization(s, "OAS")
        rows = s.execute(
            sa.select(CampaignRecipient.organization_id, CampaignRecipient.contact_id)
        ).all()
        assert len(rows) == 3 and {r.organization_id for r in rows} == {oas.id}
        assert oas.i18n == {
            "es": {"name": "Organización de los Estados Americanos", "acronym": "OEA"},
            "fr": {"acronym": "OEA"},
        }
        assert get_organization(s, "IACHR").parent.acronym == "OAS"
