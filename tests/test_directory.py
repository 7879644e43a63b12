"""The directory services and the `orgs` / `contacts` commands."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from outreach.directory import (
    FORGOTTEN_NAME,
    add_contact,
    add_organization,
    export_person,
    forget_contact,
    get_contact,
    get_organization,
    list_contacts,
    list_organizations,
    merge_contacts,
    merge_organizations,
    organization_history,
    remove_contact,
    remove_organization,
    update_contact,
    update_organization,
)
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.models import (
    Activity,
    Campaign,
    Contact,
    Letter,
    LetterStatus,
    OrgKind,
    Region,
    Response,
    Stance,
)

from .conftest import row_counts, table_dump


@pytest.fixture
def directory(db):
    """AU and ECOWAS with two contacts, and a GCC office."""
    with db.session() as s:
        au = add_organization(
            session=s,
            acronym="AU",
            name="African Union",
            kind="regional",
            region="africa",
            hq_city="Addis Ababa",
            hq_country="Ethiopia",
            languages="en, fr, ar, pt",
            tags=["addressed-2012"],
        )
        add_contact(
            session=s,
            organization=au,
            kind="office",
            name="Office of the Chairperson of the Commission",
            position="Chairperson of the African Union Commission",
            salutation="Your Excellency",
        )
        add_contact(
            session=s,
            organization=au,
            name="Amina Diallo",
            position="Political Affairs Officer",
            email="Amina.Diallo@Example.ORG",
            language="fr",
            tags=["focal-point"],
        )
        add_organization(
            session=s,
            acronym="ECOWAS",
            name="Economic Community of West African States",
            kind="sub-regional",
            region="africa",
            languages=["en", "fr", "pt"],
        )
        gcc = add_organization(
            session=s,
            acronym="GCC",
            name="Cooperation Council for the Arab States of the Gulf",
            kind="subregional",
            region="Middle East and North Africa",
            languages="Arabic",
        )
        add_contact(
            session=s,
            organization=gcc,
            kind="office",
            name="Office of the Secretary-General",
            email="sg@gcc.example.org",
        )
    return db


def _letter_and_response(db, acronym: str, email_or_id) -> None:
    """A campaign letter to the contact and a response from it."""
    with db.session() as s:
        contact = get_contact(s, email_or_id)
        org = get_organization(s, acronym)
        campaign = s.scalar(sa.select(Campaign).where(Campaign.slug == "ga-2012"))
        if campaign is None:
            campaign = Campaign(slug="ga-2012", title="Third pillar dialogue 2012")
            s.add(campaign)
            s.flush()
        letter = Letter(
            campaign=campaign,
            organization=org,
            contact=contact,
            language="en",
            subject=f"Letter to {contact.name}",
            body=f"Dear {contact.name}, ... write to {contact.email}",
            template_name="third-pillar",
            template_hash="0" * 64,
            status=LetterStatus.SENT,
            to_address=contact.email,
            sent_at=dt.datetime(2012, 3, 20, tzinfo=dt.UTC),
        )
        s.add(letter)
        s.flush()
        s.add(
            Response(
                campaign=campaign,
                organization=org,
                letter=letter,
                contact_id=contact.id,
                received_at=dt.datetime(2012, 4, 2, tzinfo=dt.UTC),
                sender=f"{contact.name} <{contact.email}>",
                stance=Stance.SUPPORTIVE,
                summary=f"{contact.name} welcomed the letter.",
            )
        )


# --- library -------------------------------------------------------------------


def test_add_normalises_and_logs(directory):
    with directory.session() as s:
        au = get_organization(s, "au")
        assert au.hq_country == "ET"
        assert au.languages == ["en", "fr", "ar", "pt"]
        gcc = get_organization(s, "GCC")
        assert gcc.kind is OrgKind.SUBREGIONAL
        assert gcc.region is Region.MENA
        assert gcc.languages == ["ar"]
        amina = get_contact(s, "amina.diallo@example.org")
        assert amina.email == "Amina.Diallo@example.org"  # domain normalised, local part kept
        created = s.scalars(sa.select(Activity).where(Activity.action == "create")).all()
        assert len(created) == 6
        assert all(a.actor == "tester" for a in created)


def test_add_refuses_duplicates_and_bad_values(directory):
    with directory.session() as s:
        with pytest.raises(ConflictError, match="already exists"):
            add_organization(session=s, acronym="au", name="Another")
        with pytest.raises(ConflictError, match="already has the name"):
            add_organization(session=s, acronym="XAU", name="african union")
        with pytest.raises(ConflictError, match="already belongs"):
            add_contact(
                session=s, organization="ECOWAS", name="X", email="AMINA.diallo@example.org"
            )
        with pytest.raises(ValidationError) as info:
            add_organization(
                session=s, acronym="", name="N", languages="en, klingon", hq_country="Atlantis"
            )
        problems = "\n".join(info.value.problems)
        assert "acronym: is required" in problems
        assert "'klingon' is not an ISO 639-1" in problems
        assert "'Atlantis' is not a country" in problems
        with pytest.raises(ValidationError, match="problem") as info:
            add_contact(session=s, organization="AU", name="Bad", email="not-an-email")
        assert "email:" in info.value.problems[0]
        with pytest.raises(NotFoundError):
            add_contact(session=s, organization="NOPE", name="Someone")


def test_update_records_before_and_after(directory):
    with directory.session() as s:
        au = get_organization(s, "AU")
        changes = update_organization(au, session=s, website="au.int", hq_city="")
        assert changes == {
            "website": [None, "https://au.int"],
            "hq_city": ["Addis Ababa", None],
        }
        assert update_organization(au, session=s, website="https://au.int") == {}
    with directory.session() as s:
        row = s.scalars(
            sa.select(Activity).where(Activity.action == "update").order_by(Activity.id)
        ).all()
        assert len(row) == 1
        assert row[0].changes["website"] == [None, "https://au.int"]
        assert row[0].organization_id == get_organization(s, "AU").id


def test_update_contact_moves_and_checks(directory):
    with directory.session() as s:
        amina = get_contact(s, "amina.diallo@example.org")
        changes = update_contact(amina, session=s, organization="ECOWAS", is_primary=True)
        assert changes["organization"] == ["AU", "ECOWAS"]
        assert changes["is_primary"] == [False, True]
        with pytest.raises(ConflictError):
            update_contact(amina, session=s, email="sg@gcc.example.org")


def test_list_filters(directory):
    with directory.session() as s:
        assert [o.acronym for o in list_organizations(session=s)] == ["AU", "ECOWAS", "GCC"]
        assert [o.acronym for o in list_organizations(session=s, kind="sub-regional")] == [
            "ECOWAS",
            "GCC",
        ]
        assert [o.acronym for o in list_organizations(session=s, region="mena")] == ["GCC"]
        assert [o.acronym for o in list_organizations(session=s, language="pt")] == [
            "AU",
            "ECOWAS",
        ]
        assert [o.acronym for o in list_organizations(session=s, tag="ADDRESSED-2012")] == ["AU"]
        # free text reaches contacts' positions and e-mails too
        assert [o.acronym for o in list_organizations(session=s, search="political")] == ["AU"]
        assert [o.acronym for o in list_organizations(session=s, search="gcc.example")] == ["GCC"]
        names = [c.name for c in list_contacts(session=s, search="diallo")]
        assert names == ["Amina Diallo"]
        assert [c.name for c in list_contacts(session=s, organization="AU", kind="office")] == [
            "Office of the Chairperson of the Commission"
        ]
        # the office has no language of its own: the AU's working languages count
        assert len(list_contacts(session=s, language="ar")) == 2
        assert [c.name for c in list_contacts(session=s, tag="focal-point")] == ["Amina Diallo"]
        with pytest.raises(ValidationError):
            list_organizations(session=s, region="atlantis")


def test_non_ascii_search(db):
    with db.session() as s:
        org = add_organization(session=s, acronym="CIV", name="Côte d'Ivoire mission")
        add_contact(session=s, organization=org, name="Émile Kouassi")
    with db.session() as s:
        assert [o.acronym for o in list_organizations(session=s, search="CÔTE")] == ["CIV"]
        assert [c.name for c in list_contacts(session=s, search="émile")] == ["Émile Kouassi"]


def test_remove_without_history_deletes(directory):
    with directory.session() as s:
        assert remove_organization(get_organization(s, "GCC"), session=s) == "removed"
        assert remove_contact(get_contact(s, "amina.diallo@example.org"), session=s) == "removed"
    with directory.session() as s:
        assert get_organization(s, "AU")
        with pytest.raises(NotFoundError):
            get_organization(s, "GCC")
        assert s.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1
        removed = s.scalars(sa.select(Activity).where(Activity.action == "remove")).all()
        assert {a.entity for a in removed} == {"organization", "contact"}


def test_remove_with_history_refused_unless_forced(directory, db_url):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    before = table_dump(db_url)
    with pytest.raises(ConflictError, match="--force"), directory.session() as s:
        remove_organization(get_organization(s, "AU"), session=s)
    with pytest.raises(ConflictError, match="--force"), directory.session() as s:
        remove_contact(get_contact(s, "amina.diallo@example.org"), session=s)
    assert table_dump(db_url) == before
    with directory.session() as s:
        assert remove_organization(get_organization(s, "AU"), session=s, force=True) == "archived"
    with directory.session() as s:
        au = get_organization(s, "AU")
        assert au.archived_at is not None
        assert all(c.archived_at is not None for c in au.contacts)
        assert [o.acronym for o in list_organizations(session=s)] == ["ECOWAS", "GCC"]
        assert "AU" in [o.acronym for o in list_organizations(session=s, archived=True)]
        assert len(list_contacts(session=s)) == 1
    assert row_counts(db_url)["letters"] == 1


def test_merge_organizations_moves_everything(directory):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    with directory.session() as s:
        dup = add_organization(
            session=s, acronym="UA", name="Union africaine", website="https://au.int", tags="fr"
        )
        add_contact(session=s, organization=dup, name="Jean Dupont", email="jd@example.org")
        keep = get_organization(s, "AU")
        moved = merge_organizations(keep, get_organization(s, "UA"), session=s)
        assert moved["contacts"] == 1
    with directory.session() as s:
        au = get_organization(s, "AU")
        assert au.website == "https://au.int"
        assert au.tags == ["addressed-2012", "fr"]
        assert {c.name for c in au.contacts} >= {"Jean Dupont", "Amina Diallo"}
        assert s.scalar(sa.select(sa.func.count()).where(Letter.organization_id == au.id)) == 1
        with pytest.raises(NotFoundError):
            get_organization(s, "UA")
        merge = s.scalar(sa.select(Activity).where(Activity.action == "merge"))
        assert merge.changes["merged_from"][0]["acronym"] == "UA"
        # the duplicate's own activity now belongs to AU's log
        assert s.scalar(
            sa.select(sa.func.count()).where(
                Activity.organization_id == au.id, Activity.summary.like("%UA%")
            )
        )


def test_merge_contacts_moves_letters_and_responses(directory):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    with directory.session() as s:
        keep = add_contact(session=s, organization="AU", name="A. Diallo", phone="+251 11 000")
        drop = get_contact(s, "amina.diallo@example.org")
        moved = merge_contacts(keep, drop, session=s)
        assert moved == {"letters": 1, "responses": 1, "activity": 1}
    with directory.session() as s:
        merged = get_contact(s, "amina.diallo@example.org")  # the e-mail came along
        assert merged.name == "A. Diallo"
        assert merged.language == "fr"
        assert s.scalar(sa.select(Letter.contact_id)) == merged.id
        assert s.scalar(sa.select(Response.contact_id)) == merged.id


def test_forget_keeps_counts_and_erases_data(directory):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    with directory.session() as s:
        contact = get_contact(s, "amina.diallo@example.org")
        contact_id = contact.id
        forget_contact(contact, session=s)
    with directory.session() as s:
        c = s.get(Contact, contact_id)
        assert c.name == FORGOTTEN_NAME
        assert c.email is None and c.phone is None and c.notes is None
        assert c.forgotten_at is not None and c.do_not_contact
        letter = s.scalar(sa.select(Letter))
        assert letter.contact_id == contact_id
        assert "Amina" not in letter.body and "example.org" not in letter.body
        assert letter.to_address is None
        response = s.scalar(sa.select(Response))
        assert response.sender is None and "Amina" not in response.summary
        everything = json.dumps([a.summary for a in s.scalars(sa.select(Activity))])
        assert "Amina" not in everything
        assert list_contacts(session=s, search="forgotten") == []
        assert export_person(c, session=s)["letters"][0]["campaign"] == "ga-2012"


def test_export_person_has_everything(directory):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    with directory.session() as s:
        data = export_person(get_contact(s, "amina.diallo@example.org"), session=s)
    assert data["contact"]["name"] == "Amina Diallo"
    assert data["contact"]["organization"] == "AU"
    assert data["letters"][0]["subject"] == "Letter to Amina Diallo"
    assert data["responses"][0]["stance"] == "supportive"
    assert data["activity"][0]["action"] == "create"
    json.dumps(data)  # JSON-ready


def test_history_newest_first(directory):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    with directory.session() as s:
        history = organization_history(get_organization(s, "AU"), session=s)
    assert [h["what"] for h in history] == ["response", "letter"]


# --- commands --------------------------------------------------------------------


def test_cli_orgs_add_list_show_edit(run):
    out = run(
        "orgs",
        "add",
        "OAS",
        "Organization of American States",
        "--kind",
        "regional",
        "--region",
        "americas",
        "--languages",
        "es,en,pt,fr",
        "--hq-country",
        "US",
    ).stdout
    assert "Added OAS" in out
    run(
        "contacts",
        "add",
        "OAS",
        "Office of the Secretary General",
        "--kind",
        "office",
        "--salutation",
        "Your Excellency",
        "--primary",
    )
    listing = run("orgs", "list", "--format", "json").stdout
    (org,) = json.loads(listing)
    assert org["acronym"] == "OAS" and org["languages"] == ["es", "en", "pt", "fr"]
    assert org["contacts"] == 1
    shown = run("orgs", "show", "oas").stdout
    assert "Organization of American States" in shown and "Office of the Secretary General" in shown
    data = json.loads(run("orgs", "show", "OAS", "--format", "json").stdout)
    assert data["contacts"][0]["salutation"] == "Your Excellency"
    assert data["history"] == []
    csv_out = run("orgs", "list", "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "acronym,name,kind,region,hq,languages,contacts"
    edited = run("orgs", "edit", "OAS", "--website", "www.oas.org", "--add-tag", "americas").stdout
    assert "website: - -> https://www.oas.org" in edited
    assert run("orgs", "list", "--tag", "americas", "--format", "csv").stdout.count("\n") == 2


def test_cli_show_history(directory, run):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    out = run("orgs", "show", "AU").stdout
    assert "History" in out
    assert out.index("response") < out.index("letter  ")


def test_cli_errors_are_one_line(directory, run, db_url):
    before = table_dump(db_url)
    result = run("orgs", "show", "NOPE", expect=1)
    assert "Error: no organization 'NOPE'" in result.stderr
    result = run("contacts", "add", "AU", "X", "--email", "bad@", expect=1)
    assert "email:" in result.stderr and "Traceback" not in result.stderr
    result = run("orgs", "add", "AU", "Dup", expect=1)
    assert "already exists" in result.stderr
    assert table_dump(db_url) == before


def test_cli_remove_and_archive(directory, run):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    result = run("orgs", "remove", "AU", "--yes", expect=1)
    assert "--force" in result.stderr
    assert "archived" in run("orgs", "remove", "AU", "--yes", "--force").stdout
    assert "AU" not in run("orgs", "list", "--format", "csv").stdout
    assert "AU," in run("orgs", "list", "--archived", "--format", "csv").stdout
    assert "removed" in run("orgs", "remove", "ECOWAS", "--yes").stdout


def test_cli_contacts_commands(directory, run):
    rows = json.loads(run("contacts", "list", "--org", "AU", "--format", "json").stdout)
    assert [r["name"] for r in rows] == [
        "Amina Diallo",
        "Office of the Chairperson of the Commission",
    ]
    shown = json.loads(
        run("contacts", "show", "AMINA.DIALLO@example.org", "--format", "json").stdout
    )
    assert shown["letters"] == 0 and shown["language"] == "fr"
    out = run(
        "contacts",
        "edit",
        "amina.diallo@example.org",
        "--do-not-contact",
        "--reason",
        "asked not to be written to",
    ).stdout
    assert "do_not_contact: no -> yes" in out
    run("contacts", "add", "AU", "A. Diallo")
    dup_id = json.loads(run("contacts", "list", "-s", "A. Diallo", "--format", "json").stdout)[0][
        "id"
    ]
    merged = run("contacts", "merge", "amina.diallo@example.org", str(dup_id), "--yes").stdout
    assert "Merged" in merged
    person = json.loads(run("contacts", "export-person", "amina.diallo@example.org").stdout)
    assert person["contact"]["do_not_contact"] is True
    out = run("contacts", "forget", "amina.diallo@example.org", "--yes").stdout
    assert "forgotten" in out
    run("contacts", "show", "amina.diallo@example.org", expect=1)
    assert "Amina" not in run("contacts", "list", "--archived", "--format", "csv").stdout


@pytest.mark.parametrize("group", ["orgs", "contacts"])
def test_help_for_every_command(run, group):
    from outreach.cli import cli

    assert run(group, "--help").exit_code == 0
    command = cli.get_command(None, group)  # type: ignore[arg-type]
    for name in command.list_commands(None):  # type: ignore[arg-type]
        out = run(group, name, "--help").stdout
        assert "Usage:" in out


def test_one_primary_contact_per_organization(directory):
    with directory.session() as s:
        office = s.scalar(
            sa.select(Contact).where(Contact.kind == "office", Contact.email.is_(None))
        )
        update_contact(office, session=s, is_primary=True)
        amina = get_contact(s, "amina.diallo@example.org")
        update_contact(amina, session=s, is_primary=True)
    with directory.session() as s:
        au = get_organization(s, "AU")
        assert [c.name for c in au.contacts if c.is_primary] == ["Amina Diallo"]


def test_iso_639_1_list_matches_pycountry():
    import pycountry

    from outreach.directory import ISO_639_1, parse_language

    assert {lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2")} == ISO_639_1
    assert [parse_language(v) for v in ("FR", "fra", "French", "ar")] == ["fr", "fr", "fr", "ar"]
