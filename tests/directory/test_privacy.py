"""Forgetting a person and exporting what is held about them."""

from __future__ import annotations

import json

import sqlalchemy as sa

from outreach.directory import (
    FORGOTTEN_NAME,
    export_person,
    forget_contact,
    get_contact,
    list_contacts,
)
from outreach.schema.models import (
    Activity,
    Contact,
    Letter,
    Response,
)

from ._fixtures import _letter_and_response


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
