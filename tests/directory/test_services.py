"""The organization and contact services: add, edit, list, remove, merge and
the one-primary-contact rule."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from outreach.directory import (
    add_contact,
    add_organization,
    get_contact,
    get_organization,
    list_contacts,
    list_organizations,
    merge_contacts,
    merge_organizations,
    remove_contact,
    remove_organization,
    update_contact,
    update_organization,
)
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.schema.models import (
    Activity,
    Contact,
    Letter,
    OrgKind,
    Region,
    Response,
)

from ..conftest import row_counts, table_dump
from ._fixtures import _letter_and_response


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
