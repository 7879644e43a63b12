"""Shared directory data: three organizations with contacts, a letter and a
response, and the files the import tests read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.directory import (
    add_contact,
    add_organization,
    get_contact,
    get_organization,
)
from outreach.directory.importing import import_file
from outreach.schema.models import (
    Campaign,
    Letter,
    LetterStatus,
    Response,
    Stance,
)


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


ORGS_CSV = (
    "Acronym,Full name,Kind,Region,Headquarters,Country,Working languages,Website\n"
    'AU,African Union,regional,africa,Addis Ababa,Ethiopia,"en,fr,ar,pt",https://au.int\n'
    "ECOWAS,Economic Community of West African States,sub-regional,africa,Abuja,NG,"
    '"en, fr, pt",https://ecowas.int\n'
)


CONTACTS_CSV = (
    "Organisation,Name,Position,E-mail,Language\n"
    "AU,Amina Diallo,Political Affairs Officer,amina@example.org,fr\n"
    "ECOWAS,Kofi Mensah,Director,kofi@example.org,en\n"
    "au,Office of the Chairperson of the Commission,Chairperson,,\n"
)


def write(tmp_path: Path, name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def orgs(db, tmp_path):
    with db.session() as s:
        import_file(write(tmp_path, "orgs.csv", ORGS_CSV), session=s, kind="organization")
    return db


def import_contacts(db, path, **kw):
    with db.session() as s:
        return import_file(path, session=s, kind="contact", **kw)


@pytest.fixture
def filled(orgs, tmp_path):
    import_contacts(orgs, write(tmp_path, "c.csv", CONTACTS_CSV))
    with orgs.session() as s:
        add_contact(
            session=s,
            organization="ECOWAS",
            name='=HYPERLINK("http://evil.example")',
            position="-2+3",
            email="evil@example.org",
            phone="+234 9 314 7647",
            notes="@SUM(A1)\nsecond line",
            postal_address="101 Yakubu Gowon Crescent\nAbuja",
            tags=["x", "y"],
            do_not_contact=True,
            do_not_contact_reason="asked us not to write",
        )
    return orgs
